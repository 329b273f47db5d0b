// sf_axil_slave: an AXI4-Lite slave front end (32-bit data) with a simple register port.
//
// It does the AW/W/B and AR/R handshakes and nothing else; the registers live behind it
// (sf_control). A write is accepted when AWVALID and WVALID are both high and no write
// response is waiting: AWREADY and WREADY rise together in that cycle (combinationally),
// reg_wr_en tells the register block to write at this clock edge, and BVALID rises in the
// next cycle and stays until BREADY. A read is accepted when ARVALID is high and no read
// data is waiting: ARREADY rises, reg_rd_en tells the register block a read happens at
// this clock edge (for clear-on-read bits), the value the block presents for reg_rd_addr
// is registered into RDATA and RVALID rises in the next cycle, held until RREADY. One
// response per channel at a time: with BREADY (RREADY) high, a write (read) every other
// cycle; reads and writes are independent and may be accepted in the same cycle.
// BRESP and RRESP are always OKAY. Addresses are passed on as received (byte addresses;
// an unaligned address is not aligned here).
//
// Parameters:
//   ADDR_BITS      width of AWADDR, ARADDR and the register port's addresses, >= 2
//
// Ports:
//   clk            clock
//   rst            synchronous reset, active high: clears BVALID and RVALID (RDATA keeps
//                  its value). The ready and strobe outputs are combinational and follow
//                  the valid inputs during reset too; the register block ignores them then.
//   s_axil_awaddr, s_axil_awvalid, s_axil_awready       write address channel
//   s_axil_wdata, s_axil_wstrb, s_axil_wvalid, s_axil_wready
//                                                       write data channel
//   s_axil_bresp, s_axil_bvalid, s_axil_bready          write response channel
//   s_axil_araddr, s_axil_arvalid, s_axil_arready       read address channel
//   s_axil_rdata, s_axil_rresp, s_axil_rvalid, s_axil_rready
//                                                       read data channel
//                  (no AWPROT/ARPROT: protection is not looked at)
//   reg_wr_en      out: a write happens at this clock edge (one cycle per transaction)
//   reg_wr_addr    out: its byte address (AWADDR)
//   reg_wr_data    out: its data (WDATA)
//   reg_wr_strb    out: its byte strobes (WSTRB; bit b enables reg_wr_data[8*b+:8])
//   reg_rd_en      out: a read happens at this clock edge (one cycle per transaction)
//   reg_rd_addr    out: the byte address to read (ARADDR, valid with reg_rd_en)
//   reg_rd_data    in:  the value at reg_rd_addr, from the register block combinationally;
//                  registered into RDATA at the edge where reg_rd_en is high

`default_nettype none

module sf_axil_slave #(
    parameter int ADDR_BITS = 8  // address bits, >= 2
) (
    input  wire logic                 clk,
    input  wire logic                 rst,
    // AXI4-Lite slave
    input  wire logic [ADDR_BITS-1:0] s_axil_awaddr,
    input  wire logic                 s_axil_awvalid,
    output logic                      s_axil_awready,
    input  wire logic [31:0]          s_axil_wdata,
    input  wire logic [3:0]           s_axil_wstrb,
    input  wire logic                 s_axil_wvalid,
    output logic                      s_axil_wready,
    output logic      [1:0]           s_axil_bresp,
    output logic                      s_axil_bvalid,
    input  wire logic                 s_axil_bready,
    input  wire logic [ADDR_BITS-1:0] s_axil_araddr,
    input  wire logic                 s_axil_arvalid,
    output logic                      s_axil_arready,
    output logic      [31:0]          s_axil_rdata,
    output logic      [1:0]           s_axil_rresp,
    output logic                      s_axil_rvalid,
    input  wire logic                 s_axil_rready,
    // register port
    output logic                      reg_wr_en,
    output logic      [ADDR_BITS-1:0] reg_wr_addr,
    output logic      [31:0]          reg_wr_data,
    output logic      [3:0]           reg_wr_strb,
    output logic                      reg_rd_en,
    output logic      [ADDR_BITS-1:0] reg_rd_addr,
    input  wire logic [31:0]          reg_rd_data
);
  if (ADDR_BITS < 2) begin : g_bad_addr_bits
    $error("sf_axil_slave: ADDR_BITS must be >= 2");
  end

  // ---- write: address and data together, one response at a time ----
  assign reg_wr_en = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;
  assign reg_wr_addr = s_axil_awaddr;
  assign reg_wr_data = s_axil_wdata;
  assign reg_wr_strb = s_axil_wstrb;
  assign s_axil_awready = reg_wr_en;
  assign s_axil_wready = reg_wr_en;
  assign s_axil_bresp = 2'b00;  // OKAY

  // ---- read: one response at a time, the value registered ----
  assign reg_rd_en = s_axil_arvalid && !s_axil_rvalid;
  assign reg_rd_addr = s_axil_araddr;
  assign s_axil_arready = reg_rd_en;
  assign s_axil_rresp = 2'b00;  // OKAY

  always_ff @(posedge clk) begin
    if (rst) begin
      s_axil_bvalid <= 1'b0;
      s_axil_rvalid <= 1'b0;
    end else begin
      if (reg_wr_en) s_axil_bvalid <= 1'b1;
      else if (s_axil_bready) s_axil_bvalid <= 1'b0;
      if (reg_rd_en) begin
        s_axil_rvalid <= 1'b1;
        s_axil_rdata <= reg_rd_data;
      end else if (s_axil_rready) s_axil_rvalid <= 1'b0;
    end
  end
endmodule

`default_nettype wire

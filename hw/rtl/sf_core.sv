// sf_core: the spiking network core, with the ports Vitis HLS gives the HLS top
// (docs/hardware-contract.md): ap_clk, ap_rst_n, AXI4-Stream in_r / out_r, AXI4-Lite
// s_axi_control and interrupt.
//
//   in_r -> sf_input -> sf_stage 0 -> sf_link -> sf_stage 1 -> ... -> sf_output -> out_r
//   s_axi_control -> sf_control (sf_axil_slave; registers, ap_ctrl, run)
//
// Everything network-specific comes from the generated package sf_params and its memory
// files (sw/spikeforge/rtl): sf_stage reads its layer's slice and passes it to the modules
// below it as parameters; the logic is the same for every network.

`default_nettype none

module sf_core #(
    localparam int AW = sf_params::AXIL_AW
) (
    input  wire logic          ap_clk,
    input  wire logic          ap_rst_n,
    // in_r: input elements
    input  wire logic [31:0]   in_r_TDATA,
    input  wire logic          in_r_TVALID,
    output logic               in_r_TREADY,
    input  wire logic [3:0]    in_r_TKEEP,
    input  wire logic [3:0]    in_r_TSTRB,
    input  wire logic [0:0]    in_r_TLAST,
    // out_r: spike counts and the class
    output logic      [31:0]   out_r_TDATA,
    output logic               out_r_TVALID,
    input  wire logic          out_r_TREADY,
    output logic      [3:0]    out_r_TKEEP,
    output logic      [3:0]    out_r_TSTRB,
    output logic      [0:0]    out_r_TLAST,
    // s_axi_control
    input  wire logic [AW-1:0] s_axi_control_AWADDR,
    input  wire logic          s_axi_control_AWVALID,
    output logic               s_axi_control_AWREADY,
    input  wire logic [31:0]   s_axi_control_WDATA,
    input  wire logic [3:0]    s_axi_control_WSTRB,
    input  wire logic          s_axi_control_WVALID,
    output logic               s_axi_control_WREADY,
    output logic      [1:0]    s_axi_control_BRESP,
    output logic               s_axi_control_BVALID,
    input  wire logic          s_axi_control_BREADY,
    input  wire logic [AW-1:0] s_axi_control_ARADDR,
    input  wire logic          s_axi_control_ARVALID,
    output logic               s_axi_control_ARREADY,
    output logic      [31:0]   s_axi_control_RDATA,
    output logic      [1:0]    s_axi_control_RRESP,
    output logic               s_axi_control_RVALID,
    input  wire logic          s_axi_control_RREADY,
    // the Vitis port name, although C++ knows the word
    /* verilator lint_off SYMRSVDWORD */
    output logic               interrupt
    /* verilator lint_on SYMRSVDWORD */
);
  localparam int NS = sf_params::NS;
  localparam int K = sf_params::K;
  localparam int NB = sf_params::NB;
  localparam int VB = sf_params::VB;
  localparam int EYB = sf_params::EYB, EXB = sf_params::EXB, ECB = sf_params::ECB;
  localparam int EVB = sf_params::EVB;  // an input element (the analog events' value)

  logic rst;
  assign rst = !ap_rst_n;

  logic run_start, sat_clear, run_done, err_early, err_missing;
  logic [31:0] run_images;
  logic [15:0] run_steps;
  logic [NS*32-1:0] sat;

  sf_control u_control (
      .clk(ap_clk),
      .rst,
      .awaddr(s_axi_control_AWADDR),
      .awvalid(s_axi_control_AWVALID),
      .awready(s_axi_control_AWREADY),
      .wdata(s_axi_control_WDATA),
      .wstrb(s_axi_control_WSTRB),
      .wvalid(s_axi_control_WVALID),
      .wready(s_axi_control_WREADY),
      .bresp(s_axi_control_BRESP),
      .bvalid(s_axi_control_BVALID),
      .bready(s_axi_control_BREADY),
      .araddr(s_axi_control_ARADDR),
      .arvalid(s_axi_control_ARVALID),
      .arready(s_axi_control_ARREADY),
      .rdata(s_axi_control_RDATA),
      .rresp(s_axi_control_RRESP),
      .rvalid(s_axi_control_RVALID),
      .rready(s_axi_control_RREADY),
      .interrupt,
      .run_start,
      .run_images,
      .run_steps,
      .sat_clear,
      .run_done,
      .err_early,
      .err_missing,
      .sat
  );

  // event links: link l feeds stage l (the input encoder, then sf_link l after stage
  // l - 1, whose output is s_*[l])
  localparam int EW = 1 + EYB + EXB + ECB;  // an event {eos, y, x, c}
  logic [NS-1:0] l_valid, l_ready, l_eos;
  logic [NS*EYB-1:0] l_y;
  logic [NS*EXB-1:0] l_x;
  logic [NS*ECB-1:0] l_c;
  logic [NS:1] s_valid, s_ready, s_eos;
  logic [(NS+1)*EYB-1:EYB] s_y;
  logic [(NS+1)*EXB-1:EXB] s_x;
  logic [(NS+1)*ECB-1:ECB] s_c;
  logic [EVB-1:0] element;

  sf_input u_input (
      .clk(ap_clk),
      .rst,
      .run_start,
      .n_images(run_images),
      .t_steps(run_steps),
      .s_tdata(in_r_TDATA),
      .s_tvalid(in_r_TVALID),
      .s_tready(in_r_TREADY),
      .s_tlast(in_r_TLAST[0]),
      .ev_valid(l_valid[0]),
      .ev_ready(l_ready[0]),
      .ev_eos(l_eos[0]),
      .ev_y(l_y[0+:EYB]),
      .ev_x(l_x[0+:EXB]),
      .ev_c(l_c[0+:ECB]),
      .ev_val(element),
      .err_early,
      .err_missing
  );

  logic [NS-1:0] fin_valid;
  logic fin_ready;
  logic [NS*K*NB-1:0] fin_count;
  logic [NS*K*VB-1:0] fin_v;
  for (genvar l = 0; l < NS; l++) begin : g_stage
    sf_stage #(
        .L(l)
    ) u_stage (
        .clk(ap_clk),
        .rst,
        .t_steps(run_steps),
        .sat_clear,
        .sat_count(sat[32*l+:32]),
        .ev_valid(l_valid[l]),
        .ev_ready(l_ready[l]),
        .ev_eos(l_eos[l]),
        .ev_y(l_y[l*EYB+:EYB]),
        .ev_x(l_x[l*EXB+:EXB]),
        .ev_c(l_c[l*ECB+:ECB]),
        .ev_val(l == 0 ? element : EVB'(1)),
        .oev_valid(s_valid[l+1]),
        .oev_ready(s_ready[l+1]),
        .oev_eos(s_eos[l+1]),
        .oev_y(s_y[(l+1)*EYB+:EYB]),
        .oev_x(s_x[(l+1)*EXB+:EXB]),
        .oev_c(s_c[(l+1)*ECB+:ECB]),
        .fin_valid(fin_valid[l]),
        .fin_ready(l == NS - 1 ? fin_ready : 1'b0),
        .fin_count(fin_count[l*K*NB+:K*NB]),
        .fin_v(fin_v[l*K*VB+:K*VB])
    );
  end
  for (genvar l = 1; l < NS; l++) begin : g_link
    sf_link #(
        .WIDTH(EW),
        .DEPTH(int'(sf_params::S_LINK[32*l+:32]))
    ) u_link (
        .clk(ap_clk),
        .rst,
        .i_valid(s_valid[l]),
        .i_ready(s_ready[l]),
        .i_data({s_eos[l], s_y[l*EYB+:EYB], s_x[l*EXB+:EXB], s_c[l*ECB+:ECB]}),
        .o_valid(l_valid[l]),
        .o_ready(l_ready[l]),
        .o_data({l_eos[l], l_y[l*EYB+:EYB], l_x[l*EXB+:EXB], l_c[l*ECB+:ECB]})
    );
  end
  // the last stage is the class layer: it emits no events
  assign s_ready[NS] = 1'b1;

  sf_output u_output (
      .clk(ap_clk),
      .rst,
      .run_start,
      .n_images(run_images),
      .run_done,
      .fin_valid(fin_valid[NS-1]),
      .fin_ready,
      .fin_count(fin_count[(NS-1)*K*NB+:K*NB]),
      .fin_v(fin_v[(NS-1)*K*VB+:K*VB]),
      .m_tdata(out_r_TDATA),
      .m_tvalid(out_r_TVALID),
      .m_tready(out_r_TREADY),
      .m_tlast(out_r_TLAST[0])
  );
  assign out_r_TKEEP = 4'hF;
  assign out_r_TSTRB = 4'hF;

  logic unused;
  assign unused = ^{in_r_TKEEP, in_r_TSTRB, s_valid[NS], s_eos[NS], s_y[NS*EYB+:EYB],
                    s_x[NS*EXB+:EXB], s_c[NS*ECB+:ECB], fin_valid, fin_count, fin_v};
endmodule

`default_nettype wire

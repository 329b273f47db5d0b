// sf_control: the s_axi_control register file and the run sequencer.
//
// The AXI4-Lite handshakes are sf_axil_slave's; this module is the register block behind
// its register port (a write strobe with address, data and byte strobes; a read strobe
// with the address, answered combinationally) and the ap_ctrl_hs run sequencer.
//
// Register map (generated from sw/spikeforge/contract.py, docs/hardware-contract.md):
// Vitis ap_ctrl_hs block control at 0x00-0x0C, then TIMESTEPS, N_IMAGES, BUILD_ID,
// CYCLES, STATUS, MAX_TIMESTEPS and one saturation counter per stage.
//
// A run: ap_start latches TIMESTEPS and N_IMAGES, clears CYCLES/STATUS/SAT_i and lets the
// input unit read N_IMAGES images; ap_done (and ap_ready) rise when the output unit has
// sent the last result. TIMESTEPS outside 1 .. MAX_TIMESTEPS runs nothing (STATUS bit 2).

`default_nettype none

module sf_control #(
    localparam int AW = sf_params::AXIL_AW,  // address bits
    localparam int NS = sf_params::NS
) (
    input  wire logic              clk,
    input  wire logic              rst,
    // s_axi_control
    input  wire logic [AW-1:0]     awaddr,
    input  wire logic              awvalid,
    output logic                   awready,
    input  wire logic [31:0]       wdata,
    input  wire logic [3:0]        wstrb,
    input  wire logic              wvalid,
    output logic                   wready,
    output logic      [1:0]        bresp,
    output logic                   bvalid,
    input  wire logic              bready,
    input  wire logic [AW-1:0]     araddr,
    input  wire logic              arvalid,
    output logic                   arready,
    output logic      [31:0]       rdata,
    output logic      [1:0]        rresp,
    output logic                   rvalid,
    input  wire logic              rready,
    output logic                   interrupt,
    // the run
    output logic                   run_start,  // pulse: images may flow
    output logic      [31:0]       run_images,
    output logic      [15:0]       run_steps,
    output logic                   sat_clear,  // pulse at ap_start
    input  wire logic              run_done,
    input  wire logic              err_early,
    input  wire logic              err_missing,
    input  wire logic [NS*32-1:0]  sat
);
  localparam logic [2:0] IDLE = 3'd0, LAUNCH = 3'd1, RUN = 3'd2, FINISH = 3'd3;
  logic [2:0] state_q;
  logic ap_start_q, ap_done_q, ap_ready_q, auto_restart_q, gie_q;
  logic [sf_params::IER_WIDTH-1:0] ier_q, isr_q;  // IER and ISR share their bit positions
  logic [31:0] timesteps_q, n_images_q, cycles_q;
  logic [sf_params::STATUS_WIDTH-1:0] status_q;

  // ---- the AXI4-Lite front end ----
  logic wr, rd;
  logic [AW-1:0] wr_addr, rd_addr;
  logic [31:0] wr_data, rvalue;
  logic [3:0] wr_strb;
  sf_axil_slave #(
      .ADDR_BITS(AW)
  ) u_axil (
      .clk,
      .rst,
      .s_axil_awaddr(awaddr),
      .s_axil_awvalid(awvalid),
      .s_axil_awready(awready),
      .s_axil_wdata(wdata),
      .s_axil_wstrb(wstrb),
      .s_axil_wvalid(wvalid),
      .s_axil_wready(wready),
      .s_axil_bresp(bresp),
      .s_axil_bvalid(bvalid),
      .s_axil_bready(bready),
      .s_axil_araddr(araddr),
      .s_axil_arvalid(arvalid),
      .s_axil_arready(arready),
      .s_axil_rdata(rdata),
      .s_axil_rresp(rresp),
      .s_axil_rvalid(rvalid),
      .s_axil_rready(rready),
      .reg_wr_en(wr),
      .reg_wr_addr(wr_addr),
      .reg_wr_data(wr_data),
      .reg_wr_strb(wr_strb),
      .reg_rd_en(rd),
      .reg_rd_addr(rd_addr),
      .reg_rd_data(rvalue)
  );

  function automatic logic [31:0] merge(input logic [31:0] old, input logic [31:0] data,
                                        input logic [3:0] strb);
    for (int b = 0; b < 4; b++) merge[8*b+:8] = strb[b] ? data[8*b+:8] : old[8*b+:8];
  endfunction

  // ---- the value read at rd_addr ----
  always_comb begin
    rvalue = '0;
    case (32'(rd_addr))
      sf_params::REG_CTRL: begin
        rvalue[sf_params::CTRL_AP_START] = ap_start_q;
        rvalue[sf_params::CTRL_AP_DONE] = ap_done_q;
        rvalue[sf_params::CTRL_AP_IDLE] = state_q == IDLE;
        rvalue[sf_params::CTRL_AP_READY] = ap_ready_q;
        rvalue[sf_params::CTRL_AUTO_RESTART] = auto_restart_q;
      end
      sf_params::REG_GIE: rvalue[sf_params::GIE_ENABLE] = gie_q;
      sf_params::REG_IER: rvalue = 32'(ier_q);
      sf_params::REG_ISR: rvalue = 32'(isr_q);
      sf_params::REG_TIMESTEPS: rvalue = timesteps_q;
      sf_params::REG_N_IMAGES: rvalue = n_images_q;
      sf_params::REG_BUILD_ID: rvalue = sf_params::BUILD_ID;
      sf_params::REG_CYCLES: rvalue = cycles_q;
      sf_params::REG_STATUS: rvalue = 32'(status_q);
      sf_params::REG_MAX_TIMESTEPS: rvalue = 32'(sf_params::MAX_T);
      default: begin
        for (int i = 0; i < NS; i++) begin
          if (32'(rd_addr) == sf_params::SAT_BASE + sf_params::REG_STRIDE * i) begin
            rvalue = sat[32*i+:32];
          end
        end
      end
    endcase
  end

  // ---- registers and the run sequencer ----
  logic steps_ok;
  assign steps_ok = timesteps_q >= 32'd1 && timesteps_q <= 32'(sf_params::MAX_T);
  assign interrupt = gie_q && (isr_q != '0);
  assign run_start = state_q == LAUNCH;
  assign sat_clear = state_q == IDLE && ap_start_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      state_q <= IDLE;
      ap_start_q <= 1'b0;
      ap_done_q <= 1'b0;
      ap_ready_q <= 1'b0;
      auto_restart_q <= 1'b0;
      gie_q <= 1'b0;
      ier_q <= '0;
      isr_q <= '0;
      timesteps_q <= 32'(sf_params::DEFAULT_T);
      n_images_q <= 32'd1;
      cycles_q <= '0;
      status_q <= '0;
      run_images <= '0;
      run_steps <= '0;
    end else begin
      // bus writes
      if (wr) begin
        case (32'(wr_addr))
          sf_params::REG_CTRL:
          if (wr_strb[0]) begin
            if (wr_data[sf_params::CTRL_AP_START]) ap_start_q <= 1'b1;
            auto_restart_q <= wr_data[sf_params::CTRL_AUTO_RESTART];
          end
          sf_params::REG_GIE: if (wr_strb[0]) gie_q <= wr_data[sf_params::GIE_ENABLE];
          sf_params::REG_IER: if (wr_strb[0]) ier_q <= wr_data[sf_params::IER_WIDTH-1:0];
          sf_params::REG_ISR:
          if (wr_strb[0]) isr_q <= isr_q ^ wr_data[sf_params::IER_WIDTH-1:0];
          sf_params::REG_TIMESTEPS: timesteps_q <= merge(timesteps_q, wr_data, wr_strb);
          sf_params::REG_N_IMAGES: n_images_q <= merge(n_images_q, wr_data, wr_strb);
          default: ;
        endcase
      end
      // bus reads (ap_done and ap_ready clear on read)
      if (rd && 32'(rd_addr) == sf_params::REG_CTRL) begin
        ap_done_q <= 1'b0;
        ap_ready_q <= 1'b0;
      end

      case (state_q)
        IDLE:
        if (ap_start_q) begin
          cycles_q <= '0;
          status_q <= '0;
          run_images <= n_images_q;
          run_steps <= 16'(timesteps_q);
          if (!steps_ok) begin
            status_q[sf_params::STATUS_BAD_TIMESTEPS] <= 1'b1;
            state_q <= FINISH;
          end else if (n_images_q == 32'd0) state_q <= FINISH;
          else state_q <= LAUNCH;
        end
        LAUNCH: state_q <= RUN;
        RUN: begin
          if (cycles_q != '1) cycles_q <= cycles_q + 1'b1;
          if (err_early) status_q[sf_params::STATUS_TLAST_EARLY] <= 1'b1;
          if (err_missing) status_q[sf_params::STATUS_TLAST_MISSING] <= 1'b1;
          if (run_done) state_q <= FINISH;
        end
        FINISH: begin
          ap_done_q <= 1'b1;
          ap_ready_q <= 1'b1;
          isr_q <= isr_q | ier_q;
          if (!auto_restart_q) ap_start_q <= 1'b0;
          state_q <= IDLE;
        end
        default: state_q <= IDLE;
      endcase
      // a read of CTRL in the FINISH cycle must not hide this run's completion
      if (rd && 32'(rd_addr) == sf_params::REG_CTRL && state_q == FINISH) begin
        ap_done_q <= 1'b1;
        ap_ready_q <= 1'b1;
      end
    end
  end
endmodule

`default_nettype wire

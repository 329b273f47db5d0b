// sf_stage: one neuron layer of the network, with its optional max-pool gate.
//
// Input: events (y, x, c[, value]) and end-of-step tokens. Output: the spikes of every
// step as events followed by an end-of-step token or, for the final (class) layer, the
// counts and membranes after the last step. Each stage runs its own step loop:
//
//   accumulate: events until the end-of-step token, into a free current set (each synapse
//               bank on its own: the token goes down every bank's queue)
//   fire:       one neuron-unit pass over a set every bank is done with, which then is
//               free (cleared) again
//
// With two current sets (double buffering) both run at once on different sets. The
// analog first layer accumulates the image's input elements once and fires that set T
// times. Stages only talk through their event streams, so layer l works on step t while
// layer l+1 is still on step t-1, and the first stage starts the next image as soon as it
// is done with this one.

`default_nettype none

module sf_stage #(
    parameter int L = 0,  // stage index into sf_params, 0 .. NS-1
    // derived (do not override)
    localparam int K = sf_params::K,  // classes
    localparam int NB = sf_params::NB,
    localparam int VB = sf_params::VB,
    localparam int EYB = sf_params::EYB,
    localparam int EXB = sf_params::EXB,
    localparam int ECB = sf_params::ECB,
    localparam int EVB = sf_params::EVB
) (
    input  wire logic                clk,
    input  wire logic                rst,
    input  wire logic [15:0]         t_steps,    // T of the current run, 1 .. MAX_T
    input  wire logic                sat_clear,  // start of a run
    output logic      [31:0]         sat_count,  // clamp events since sat_clear (saturating)
    // input events
    input  wire logic                ev_valid,
    output logic                     ev_ready,
    input  wire logic                ev_eos,
    input  wire logic [EYB-1:0]      ev_y,
    input  wire logic [EXB-1:0]      ev_x,
    input  wire logic [ECB-1:0]      ev_c,
    input  wire logic [EVB-1:0]      ev_val,     // an analog stage's input element
    // output events (hidden stages)
    output logic                     oev_valid,
    input  wire logic                oev_ready,
    output logic                     oev_eos,
    output logic      [EYB-1:0]      oev_y,
    output logic      [EXB-1:0]      oev_x,
    output logic      [ECB-1:0]      oev_c,
    // output counts and membranes after the last step (final stage)
    output logic                     fin_valid,
    input  wire logic                fin_ready,
    output logic      [K*NB-1:0]     fin_count,
    output logic      [K*VB-1:0]     fin_v
);
  // ---- this stage's slice of the package, read once and passed down by name ----
  /* verilator lint_off UNUSEDSIGNAL */  // the other stages' fields
  function automatic integer field(input logic [sf_params::NS*32-1:0] per_stage);
    field = int'(per_stage[32*L+:32]);
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */
  localparam int FLATTEN = field(sf_params::S_FLATTEN);  // a dense layer: flatten (y, x, c)
  localparam int ANALOG = field(sf_params::S_ANALOG);  // accumulate once per image
  localparam int GATE = field(sf_params::S_GATE);  // a max-pool gate follows
  localparam int FINAL = field(sf_params::S_FINAL);  // the class layer
  localparam int KEEP_COUNTS = field(sf_params::S_KEEP_COUNTS);  // store N (gate, final)
  localparam int SRC_ROWS = field(sf_params::S_SRC_ROWS);  // source shape (before flattening)
  localparam int SRC_COLS = field(sf_params::S_SRC_COLS);
  localparam int IN_ROWS = field(sf_params::S_IN_ROWS);  // synapse array input (1 if dense)
  localparam int IN_COLS = field(sf_params::S_IN_COLS);
  localparam int IN_CHANNELS = field(sf_params::S_IN_CHANNELS);
  localparam int OUT_ROWS = field(sf_params::S_OUT_ROWS);
  localparam int OUT_COLS = field(sf_params::S_OUT_COLS);
  localparam int CO = field(sf_params::S_OUT_CHANNELS);  // output channels
  localparam int CB = field(sf_params::S_CURRENT_BITS);  // current (partial sum) bits
  localparam int BANK_ROWS = field(sf_params::S_BANK_ROWS);  // current banks
  localparam int BANK_COLS = field(sf_params::S_BANK_COLS);
  localparam int BANK_DEPTH_Y = field(sf_params::S_BANK_DEPTH_Y);  // bank words along rows
  localparam int BANK_DEPTH_X = field(sf_params::S_BANK_DEPTH_X);
  localparam int GROUPS_Y = field(sf_params::S_GROUPS_Y);  // target groups per input row
  localparam int GROUPS_X = field(sf_params::S_GROUPS_X);
  localparam int KERNEL_ROWS = field(sf_params::S_KERNEL_ROWS);
  localparam int KERNEL_COLS = field(sf_params::S_KERNEL_COLS);
  localparam int TY = field(sf_params::S_TILE_ROWS);  // fire tile
  localparam int TX = field(sf_params::S_TILE_COLS);
  localparam int TILES_Y = field(sf_params::S_TILES_Y);  // fire tiles per pass
  localparam int TILES_X = field(sf_params::S_TILES_X);
  localparam int TILE_ORIGIN_Y = field(sf_params::S_TILE_ORIGIN_Y);
  localparam int TILE_ORIGIN_X = field(sf_params::S_TILE_ORIGIN_X);
  localparam int WINDOW_BANK_ROWS = field(sf_params::S_WINDOW_BANK_ROWS);  // gate only
  localparam int WINDOW_BANK_COLS = field(sf_params::S_WINDOW_BANK_COLS);
  localparam int WINDOW_DEPTH_Y = field(sf_params::S_WINDOW_DEPTH_Y);
  localparam int WINDOW_DEPTH_X = field(sf_params::S_WINDOW_DEPTH_X);
  localparam int GATE_ROWS = field(sf_params::S_GATE_ROWS);
  localparam int GATE_COLS = field(sf_params::S_GATE_COLS);
  localparam int POOL_ROWS = field(sf_params::S_POOL_ROWS);
  localparam int POOL_COLS = field(sf_params::S_POOL_COLS);
  localparam int NSET = field(sf_params::S_CURRENT_SETS);  // current sets: 1 or 2
  localparam int CH_BASE = field(sf_params::S_CH_BASE);  // first per-channel constant
  localparam STEM = sf_params::mem_stem(L);  // this stage's memory files: STEM_<table>.hex
  localparam int TP = TY * TX;
  localparam int NBK = BANK_ROWS * BANK_COLS;
  localparam int DEPTH = BANK_DEPTH_Y * BANK_DEPTH_X;
  localparam int DAB = sf_util::bits(DEPTH);
  localparam int TYB = sf_util::bits(TILES_Y);
  localparam int TXB = sf_util::bits(TILES_X);
  localparam int GB = WINDOW_BANK_ROWS * WINDOW_BANK_COLS;
  localparam int MS = GATE != 0 ? GB : TP;  // members per output item
  localparam int IW = FINAL != 0 ? 1 + CO * (NB + VB) : 1 + MS * (EYB + EXB + CO);
  localparam int FIFO_DEPTH = 16;

  if (L < 0 || L >= sf_params::NS) begin : g_bad_l
    $error("sf_stage: L outside 0 .. NS-1");
  end
  if (FINAL != 0 && (CO != K || TP != 1 || GATE != 0)) begin : g_bad_final
    $error("sf_stage: the final stage must be a dense layer of K neurons without a gate");
  end

  // ---- accumulate: after reset, a pass that marks every current word stale ----
  logic clearing_q;
  logic [DAB-1:0] clr_q;
  logic f_set_q;  // the set being fired
  logic [1:0] syn_done;  // per set: every bank is done with its unit
  logic nu_busy, nu_issuing, nu_start;
  logic unit_freed;
  always_ff @(posedge clk) begin
    if (rst) begin
      clearing_q <= 1'b1;
      clr_q <= '0;
    end else if (clearing_q) begin
      clr_q <= clr_q + 1'b1;
      if (clr_q == DAB'(DEPTH - 1)) clearing_q <= 1'b0;
    end
  end

  // ---- fire process: one pass per step (T passes per image for the analog layer) ----
  localparam logic [1:0] F_WAIT = 2'd0, F_START = 2'd1, F_PASS = 2'd2;
  logic [1:0] f_state_q;
  logic [15:0] t_q;
  logic step_last;
  assign step_last = t_q == t_steps - 16'd1;
  assign nu_start = f_state_q == F_START && !nu_busy;
  assign unit_freed = f_state_q == F_PASS && !nu_issuing && (ANALOG == 0 || step_last);
  always_ff @(posedge clk) begin
    if (rst) begin
      f_state_q <= F_WAIT;
      f_set_q <= 1'b0;
      t_q <= '0;
    end else begin
      case (f_state_q)
        F_WAIT: if (syn_done[f_set_q]) f_state_q <= F_START;
        F_START: if (nu_start) f_state_q <= F_PASS;
        F_PASS:
        // every tile and the end token issued: the set's last reads (and their tag writes)
        // happen at this edge at the latest, before the set is freed by the flip at it
        if (!nu_issuing) begin
          t_q <= step_last ? 16'd0 : t_q + 16'd1;
          if (unit_freed) begin
            f_set_q <= NSET > 1 ? !f_set_q : 1'b0;
            f_state_q <= F_WAIT;
          end else f_state_q <= F_START;
        end
        default: f_state_q <= F_WAIT;
      endcase
    end
  end

  // ---- synapse array ----
  logic syn_ev_ready;
  logic [NBK*DAB-1:0] syn_addr;
  logic [NBK-1:0] syn_last;
  logic [NSET*NBK*CO*CB-1:0] syn_rdata;
  logic [NSET*NBK-1:0] syn_rvalid;
  assign ev_ready = !clearing_q && syn_ev_ready;

  sf_synapse #(
      .FLATTEN(FLATTEN),
      .ANALOG(ANALOG),
      .SRC_ROWS(SRC_ROWS),
      .SRC_COLS(SRC_COLS),
      .IN_ROWS(IN_ROWS),
      .IN_COLS(IN_COLS),
      .IN_CHANNELS(IN_CHANNELS),
      .CO(CO),
      .CB(CB),
      .WB(sf_params::WB),
      .KERNEL_ROWS(KERNEL_ROWS),
      .KERNEL_COLS(KERNEL_COLS),
      .BANK_ROWS(BANK_ROWS),
      .BANK_COLS(BANK_COLS),
      .BANK_DEPTH_Y(BANK_DEPTH_Y),
      .BANK_DEPTH_X(BANK_DEPTH_X),
      .GROUPS_Y(GROUPS_Y),
      .GROUPS_X(GROUPS_X),
      .NSET(NSET),
      .EYB(EYB),
      .EXB(EXB),
      .ECB(ECB),
      .EVB(EVB),
      .VALUE_SIGNED(sf_params::IN_SIGNED),
      .ROW_TARGETS_FILE({STEM, "_sar.hex"}),
      .COL_TARGETS_FILE({STEM, "_sac.hex"}),
      .ROW_COUNTS_FILE({STEM, "_sgr.hex"}),
      .COL_COUNTS_FILE({STEM, "_sgc.hex"}),
      .FLAT_BASE_FILE({STEM, "_flat.hex"}),  // read only if FLATTEN
      .WEIGHTS_FILE({STEM, "_w.hex"})
  ) u_synapse (
      .clk,
      .rst,
      .ev_valid(ev_valid && !clearing_q),
      .ev_ready(syn_ev_ready),
      .ev_eos,
      .ev_y,
      .ev_x,
      .ev_c,
      .ev_val,
      .done(syn_done),
      .clr_en(clearing_q),
      .clr_addr(clr_q),
      .free(unit_freed),
      .free_set(f_set_q),
      .nu_en(nu_issuing),
      .nu_set(f_set_q),
      .nu_addr(syn_addr),
      .nu_last(syn_last),
      .nu_rdata(syn_rdata),
      .nu_rvalid(syn_rvalid)
  );

  // ---- neuron unit ----
  logic [8:0] fifo_free;
  logic [1:0] s_held;  // items between the neuron unit and the FIFO (inside the gate)
  logic r_valid, r_eos, r_first, r_last;
  logic [NB-1:0] r_tag;
  logic [TYB-1:0] r_ty;
  logic [TXB-1:0] r_tx;
  logic [TY*EYB-1:0] r_oy;
  logic [TX*EXB-1:0] r_ox;
  logic [TP*CO-1:0] r_spike;
  logic [TP*CO*NB-1:0] r_count;
  logic [TP*CO*VB-1:0] r_v;
  logic [7:0] sat_inc;

  sf_neuron #(
      .CO(CO),
      .CB(CB),
      .OUT_ROWS(OUT_ROWS),
      .OUT_COLS(OUT_COLS),
      .TY(TY),
      .TX(TX),
      .TILES_Y(TILES_Y),
      .TILES_X(TILES_X),
      .TILE_ORIGIN_Y(TILE_ORIGIN_Y),
      .TILE_ORIGIN_X(TILE_ORIGIN_X),
      .BANK_ROWS(BANK_ROWS),
      .BANK_COLS(BANK_COLS),
      .BANK_DEPTH_Y(BANK_DEPTH_Y),
      .BANK_DEPTH_X(BANK_DEPTH_X),
      .NSET(NSET),
      .KEEP_COUNTS(KEEP_COUNTS),
      .NB(NB),
      .VB(VB),
      .SB(sf_params::SB),
      .EYB(EYB),
      .EXB(EXB),
      .RESET_ZERO(sf_params::RESET_ZERO),
      .THETA(sf_params::CH_THETA[64*CH_BASE+:64*CO]),
      .BIAS(sf_params::CH_BIAS[64*CH_BASE+:64*CO]),
      .V_INIT(sf_params::CH_VINIT[64*CH_BASE+:64*CO]),
      .ROW_TILES_FILE({STEM, "_nur.hex"}),
      .COL_TILES_FILE({STEM, "_nuc.hex"})
  ) u_neuron (
      .clk,
      .rst,
      .start(nu_start),
      .step_first(t_q == 16'd0),
      .step_last,
      .read_set(f_set_q),
      .last_read(ANALOG == 0 || step_last),
      .step_tag(NB'(t_q + 16'd1)),
      .busy(nu_busy),
      .issuing(nu_issuing),
      .out_free(fifo_free - 9'(s_held)),  // credits: free >= items in flight >= s_held
      .syn_addr,
      .syn_last,
      .syn_rdata,
      .syn_rvalid,
      .r_valid,
      .r_eos,
      .r_first,
      .r_tag,
      .r_ty,
      .r_tx,
      .r_oy,
      .r_ox,
      .r_spike,
      .r_count,
      .r_v,
      .r_last,
      .sat_inc
  );

  always_ff @(posedge clk) begin
    if (rst || sat_clear) sat_count <= '0;
    else if ({24'd0, sat_inc} > ~sat_count) sat_count <= '1;
    else sat_count <= sat_count + 32'(sat_inc);
  end

  // ---- output items ----
  logic push;
  logic [IW-1:0] item;
  logic fifo_ready, o_valid, o_ready;
  logic [IW-1:0] o_data;

  if (FINAL != 0) begin : g_final
    assign push = r_valid && !r_eos && r_last;
    assign s_held = 2'd0;
    assign item = {r_v, r_count, 1'b0};
    assign fin_valid = o_valid;
    assign o_ready = fin_ready;
    assign fin_count = o_data[1+:K*NB];
    assign fin_v = o_data[1+K*NB+:K*VB];
    assign oev_valid = 1'b0;
    assign oev_eos = 1'b0;
    assign oev_y = '0;
    assign oev_x = '0;
    assign oev_c = '0;
    logic unused_final;
    assign unused_final = ^{r_first, r_tag, r_ty, r_tx, r_oy, r_ox, r_spike, oev_ready, o_data[0]};
  end else begin : g_hidden
    logic [MS-1:0] m_any;
    logic [MS*EYB-1:0] m_y;
    logic [MS*EXB-1:0] m_x;
    logic [MS*CO-1:0] m_mask;
    logic s_valid, s_eos;  // the item stream (a tile or a token) beside m_*
    if (GATE != 0) begin : g_gate
      logic [GB-1:0] g_valid;
      sf_gate #(
          .CO(CO),
          .TY(TY),
          .TX(TX),
          .TILES_Y(TILES_Y),
          .TILES_X(TILES_X),
          .POOL_ROWS(POOL_ROWS),
          .POOL_COLS(POOL_COLS),
          .GATE_ROWS(GATE_ROWS),
          .GATE_COLS(GATE_COLS),
          .WINDOW_BANK_ROWS(WINDOW_BANK_ROWS),
          .WINDOW_BANK_COLS(WINDOW_BANK_COLS),
          .WINDOW_DEPTH_Y(WINDOW_DEPTH_Y),
          .WINDOW_DEPTH_X(WINDOW_DEPTH_X),
          .RUNNING_MAX(sf_params::RUNNING_MAX),
          .NB(NB),
          .EYB(EYB),
          .EXB(EXB),
          .ROW_TABLE_FILE({STEM, "_gr.hex"}),
          .COL_TABLE_FILE({STEM, "_gc.hex"})
      ) u_gate (
          .clk,
          .rst,
          .i_valid(r_valid && !r_eos),
          .i_eos(r_valid && r_eos),
          .i_first(r_first),
          .i_tag(r_tag),
          .i_ty(r_ty),
          .i_tx(r_tx),
          .i_spike(r_spike),
          .i_count(r_count),
          .o_step(s_valid),
          .o_held(s_held),  // items the FIFO must have room for
          .o_eos(s_eos),
          .o_valid(g_valid),
          .o_y(m_y),
          .o_x(m_x),
          .o_mask(m_mask)
      );
      assign m_any = g_valid;
      logic unused_gate;
      assign unused_gate = ^{r_oy, r_ox};
    end else begin : g_plain
      for (genvar dy = 0; dy < TY; dy++) begin : g_dy
        for (genvar dx = 0; dx < TX; dx++) begin : g_dx
          localparam int M = dy * TX + dx;
          assign m_y[M*EYB+:EYB] = r_oy[dy*EYB+:EYB];
          assign m_x[M*EXB+:EXB] = r_ox[dx*EXB+:EXB];
          assign m_mask[M*CO+:CO] = r_spike[M*CO+:CO];
          assign m_any[M] = r_spike[M*CO+:CO] != '0;
        end
      end
      assign s_valid = r_valid;
      assign s_eos = r_eos;
      assign s_held = 2'd0;
      logic unused_plain;
      assign unused_plain = ^{r_first, r_tag, r_ty, r_tx, r_count};
    end
    for (genvar m = 0; m < MS; m++) begin : g_pack
      assign item[1+m*(EYB+EXB+CO)+:EYB+EXB+CO] = {
        m_any[m] ? m_mask[m*CO+:CO] : CO'(0), m_x[m*EXB+:EXB], m_y[m*EYB+:EYB]
      };
    end
    assign item[0] = s_eos;
    assign push = s_valid && (s_eos || m_any != '0);

    sf_serializer #(
        .MS(MS),
        .CO(CO),
        .YB(EYB),
        .XB(EXB),
        .CB(ECB)
    ) u_serializer (
        .clk,
        .rst,
        .i_valid(o_valid),
        .i_ready(o_ready),
        .i_data(o_data),
        .o_valid(oev_valid),
        .o_ready(oev_ready),
        .o_eos(oev_eos),
        .o_y(oev_y),
        .o_x(oev_x),
        .o_c(oev_c)
    );
    assign fin_valid = 1'b0;
    assign fin_count = '0;
    assign fin_v = '0;
    logic unused_hidden;
    assign unused_hidden = ^{r_last, r_v, fin_ready};
  end

  sf_fifo #(
      .WIDTH(IW),
      .DEPTH(FIFO_DEPTH),
      .CREDITED(1'b1)  // credits guarantee room for every push (asserted)
  ) u_fifo (
      .clk,
      .rst,
      .i_valid(push),
      .i_ready(fifo_ready),
      .i_data(item),
      .o_valid,
      .o_ready,
      .o_data,
      .free(fifo_free)
  );
  logic unused;
  assign unused = fifo_ready;  // credits guarantee room for every push
endmodule

`default_nettype wire

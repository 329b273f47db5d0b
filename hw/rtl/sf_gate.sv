// sf_gate: spiking max-pool on the fire tiles of a stage (docs/spec.md, config.pool).
//
// Per window and channel the gate keeps the highest input count M, the winner's position P
// inside the window and the step tag G of its last emission. Only members that spiked in
// a step can raise M or take the lead, so a tile's spiking members are compared with the
// stored state in any order:
//   gate:        take over when count > M, or count == M and position < P (the winner is
//                the first highest count in row-major window order); a take-over means the
//                winner spiked in this step.
//   running_max: take over when count > M; the output count then equals M after every
//                step (M grows by at most one per step).
// The window emits once per step (the first take-over, G != t + 1). The first tile of a
// window at step 0 starts from M = 0, so state left by the previous image never needs
// clearing.
//
// One tile meets at most one window per window bank (generated tables). Four stages: P
// finds each window's first highest count among the tile's spiking members (registered),
// R reads the window's state (a registered, block-RAM read), E compares and writes it (a
// tile whose window the tile ahead of it is writing takes that tile's new state instead of
// its stale read), and F registers the emissions (the compare does not reach the output
// FIFO).

`default_nettype none

module sf_gate #(
    // the layer (sf_stage passes its slice of sf_params)
    parameter int CO = 1,             // channels
    parameter int TY = 1,             // fire tile rows and columns
    parameter int TX = 1,
    parameter int TILES_Y = 1,        // fire tiles per pass (rows, columns)
    parameter int TILES_X = 1,
    parameter int POOL_ROWS = 1,      // pool window
    parameter int POOL_COLS = 1,
    parameter int GATE_ROWS = 1,      // gate output (pooled) rows and columns
    parameter int GATE_COLS = 1,
    // window banks: WINDOW_BANK_ROWS x WINDOW_BANK_COLS memories of window states, each
    // WINDOW_DEPTH_Y x WINDOW_DEPTH_X words
    parameter int WINDOW_BANK_ROWS = 1,
    parameter int WINDOW_BANK_COLS = 1,
    parameter int WINDOW_DEPTH_Y = 1,
    parameter int WINDOW_DEPTH_X = 1,
    parameter int RUNNING_MAX = 0,    // 1: running max, 0: gate (first highest count wins)
    parameter int NB = 8,             // spike count bits
    parameter int EYB = 1,            // coordinate bits of emitted events
    parameter int EXB = 1,
    // $readmemh files (generated: sw/spikeforge/rtl/params.py)
    parameter ROW_TABLE_FILE = "",  // per tile row: each window bank row's window and members
    parameter COL_TABLE_FILE = "",  // per tile column: the same for columns
    // derived (do not override)
    localparam int TP = TY * TX,
    localparam int GB = WINDOW_BANK_ROWS * WINDOW_BANK_COLS,
    localparam int TYB = sf_util::bits(TILES_Y),
    localparam int TXB = sf_util::bits(TILES_X)
) (
    input  wire logic                 clk,
    input  wire logic                 rst,
    input  wire logic                 i_valid,  // a tile (not an end-of-step token)
    input  wire logic                 i_eos,    // an end-of-step token
    input  wire logic                 i_first,  // step 0 of an image
    input  wire logic [NB-1:0]        i_tag,    // t + 1
    input  wire logic [TYB-1:0]       i_ty,
    input  wire logic [TXB-1:0]       i_tx,
    input  wire logic [TP*CO-1:0]     i_spike,
    input  wire logic [TP*CO*NB-1:0]  i_count,
    // the stream three cycles later: a tile or token, then per window bank its emissions
    output logic                      o_step,   // a tile or an end-of-step token
    output logic      [1:0]           o_held,   // tiles and tokens inside the gate (0 .. 3)
    output logic                      o_eos,
    output logic      [GB-1:0]        o_valid,  // the bank's window emits at least one spike
    output logic      [GB*EYB-1:0]    o_y,
    output logic      [GB*EXB-1:0]    o_x,
    output logic      [GB*CO-1:0]     o_mask
);
  localparam int POS_BITS = sf_util::bits(POOL_ROWS * POOL_COLS);  // position inside a window
  localparam int WIN_COL_BITS = sf_util::bits(POOL_COLS);
  localparam int WIN_COL_ADDR_BITS = sf_util::bits(WINDOW_DEPTH_X);
  localparam int OUT_ROW_BITS = sf_util::bits(GATE_ROWS), OUT_COL_BITS = sf_util::bits(GATE_COLS);
  localparam int WIN_ADDR_BITS = sf_util::bits(WINDOW_DEPTH_Y * WINDOW_DEPTH_X);  // window bank address
  // table layouts (LSB first), per window bank: valid, first, address, coordinate, then
  // per tile member: inside, offset; the row table's address and offsets come multiplied
  // by WINDOW_DEPTH_X and POOL_COLS (adds, no multipliers)
  localparam int ROW_ENTRY_BITS = 2 + WIN_ADDR_BITS + OUT_ROW_BITS + TY * (1 + POS_BITS);
  localparam int COL_ENTRY_BITS = 2 + WIN_COL_ADDR_BITS + OUT_COL_BITS + TX * (1 + WIN_COL_BITS);
  localparam int STATE_BITS = NB + POS_BITS + NB;  // per channel: M, P, G

  if (GB < 1 || POOL_ROWS < 1 || POOL_COLS < 1) begin : g_bad_geometry
    $error("sf_gate: window banks and pool must be >= 1");
  end

  logic [WINDOW_BANK_ROWS*ROW_ENTRY_BITS-1:0] rtab[0:TILES_Y-1];
  logic [WINDOW_BANK_COLS*COL_ENTRY_BITS-1:0] ctab[0:TILES_X-1];
  if (ROW_TABLE_FILE != "") begin : g_load_rtab
    initial $readmemh(ROW_TABLE_FILE, rtab);
  end
  if (COL_TABLE_FILE != "") begin : g_load_ctab
    initial $readmemh(COL_TABLE_FILE, ctab);
  end
  // ---- P: tables and the tile's best member per window bank and channel ----
  logic [WINDOW_BANK_ROWS*ROW_ENTRY_BITS-1:0] rent;
  logic [WINDOW_BANK_COLS*COL_ENTRY_BITS-1:0] cent;
  assign rent = rtab[32'(i_ty)];
  assign cent = ctab[32'(i_tx)];
  logic p_step_q, p_eos_q, p_first_q;
  logic [NB-1:0] p_tag_q;
  always_ff @(posedge clk) begin
    if (rst) p_step_q <= 1'b0;
    else p_step_q <= i_valid || i_eos;
    p_eos_q <= i_eos;
    p_first_q <= i_first;
    p_tag_q <= i_tag;
  end
  // ---- R: the stream while the window states are read ----
  logic r_step_q, r_eos_q, r_first_q;
  logic [NB-1:0] r_tag_q;
  always_ff @(posedge clk) begin
    if (rst) r_step_q <= 1'b0;
    else r_step_q <= p_step_q;
    r_eos_q <= p_eos_q;
    r_first_q <= p_first_q;
    r_tag_q <= p_tag_q;
  end
  // ---- F: the emissions, registered ----
  logic f_step_q, f_eos_q;
  logic [GB-1:0] e_valid;
  logic [GB*EYB-1:0] e_y;
  logic [GB*EXB-1:0] e_x;
  logic [GB*CO-1:0] e_mask;
  always_ff @(posedge clk) begin
    if (rst) f_step_q <= 1'b0;
    else f_step_q <= r_step_q;
    f_eos_q <= r_eos_q;
    o_valid <= e_valid;
    o_y <= e_y;
    o_x <= e_x;
    o_mask <= e_mask;
  end
  assign o_step = f_step_q;
  assign o_eos = f_eos_q;
  assign o_held = 2'(p_step_q) + 2'(r_step_q) + 2'(f_step_q);

  for (genvar gy = 0; gy < WINDOW_BANK_ROWS; gy++) begin : g_gy
    for (genvar gx = 0; gx < WINDOW_BANK_COLS; gx++) begin : g_gx
      localparam int G = gy * WINDOW_BANK_COLS + gx;
      localparam int ROW_OFS = gy * ROW_ENTRY_BITS, COL_OFS = gx * COL_ENTRY_BITS;
      logic bank_q, fresh_q;
      logic [WIN_ADDR_BITS-1:0] addr_q;
      logic [EYB-1:0] oy_q;
      logic [EXB-1:0] ox_q;
      logic [CO-1:0] found_q;
      logic [CO*NB-1:0] best_q;
      logic [CO*POS_BITS-1:0] best_pos_q;
      logic [WIN_ADDR_BITS-1:0] p_addr;
      logic p_bank;
      assign p_addr = rent[ROW_OFS+2+:WIN_ADDR_BITS] + WIN_ADDR_BITS'(cent[COL_OFS+2+:WIN_COL_ADDR_BITS]);
      assign p_bank = i_valid && rent[ROW_OFS] && cent[COL_OFS];
      always_ff @(posedge clk) begin
        bank_q <= p_bank;
        fresh_q <= rent[ROW_OFS+1] && cent[COL_OFS+1];
        addr_q <= p_addr;
        oy_q <= EYB'(rent[ROW_OFS+2+WIN_ADDR_BITS+:OUT_ROW_BITS]);
        ox_q <= EXB'(cent[COL_OFS+2+WIN_COL_ADDR_BITS+:OUT_COL_BITS]);
      end
      for (genvar c = 0; c < CO; c++) begin : g_best
        // the first highest count among the tile's spiking members inside the window
        // (members come in row-major order, as their window positions do)
        logic found;
        logic [NB-1:0] best;
        logic [POS_BITS-1:0] best_pos;
        always_comb begin
          found = 1'b0;
          best = '0;
          best_pos = '0;
          for (int dy = 0; dy < TY; dy++) begin
            for (int dx = 0; dx < TX; dx++) begin
              if (rent[ROW_OFS+2+WIN_ADDR_BITS+OUT_ROW_BITS+dy*(1+POS_BITS)] && cent[COL_OFS+2+WIN_COL_ADDR_BITS+OUT_COL_BITS+dx*(1+WIN_COL_BITS)] &&
                  i_spike[(dy*TX+dx)*CO+c] &&
                  (!found || i_count[((dy*TX+dx)*CO+c)*NB+:NB] > best)) begin
                found = 1'b1;
                best = i_count[((dy*TX+dx)*CO+c)*NB+:NB];
                best_pos = rent[ROW_OFS+2+WIN_ADDR_BITS+OUT_ROW_BITS+dy*(1+POS_BITS)+1+:POS_BITS] +
                           POS_BITS'(cent[COL_OFS+2+WIN_COL_ADDR_BITS+OUT_COL_BITS+dx*(1+WIN_COL_BITS)+1+:WIN_COL_BITS]);
              end
            end
          end
        end
        always_ff @(posedge clk) begin
          found_q[c] <= found;
          best_q[c*NB+:NB] <= best;
          best_pos_q[c*POS_BITS+:POS_BITS] <= best_pos;
        end
      end

      // ---- R: the window's state, read at the tile's address as it arrives (the memory's
      // address register is P's) and registered as it comes out ----
      logic [CO*STATE_BITS-1:0] mem[0:WINDOW_DEPTH_Y*WINDOW_DEPTH_X-1];
      logic [CO*STATE_BITS-1:0] rd_q, state_q, wd, wd_q, wd2_q;
      // the state reaches E after two more writes: the one of the tile in E while this
      // tile's address went in (fwd2, its state wd2) and the one while it was read (fwd,
      // wd) take the place of the stale read
      logic fwd_p_q, fwd2_q, fwd_q;
      logic r_bank_q, r_fresh_q;
      logic [WIN_ADDR_BITS-1:0] r_addr_q;
      logic [EYB-1:0] r_oy_q;
      logic [EXB-1:0] r_ox_q;
      logic [CO-1:0] r_found_q;
      logic [CO*NB-1:0] r_best_q;
      logic [CO*POS_BITS-1:0] r_best_pos_q;
      always_ff @(posedge clk) begin
        rd_q <= mem[p_addr];
        state_q <= rd_q;
        wd_q <= wd;
        wd2_q <= wd_q;
        fwd_p_q <= p_bank && r_bank_q && p_addr == r_addr_q;
        fwd2_q <= fwd_p_q;
        fwd_q <= bank_q && r_bank_q && addr_q == r_addr_q;
        if (rst) r_bank_q <= 1'b0;
        else r_bank_q <= bank_q;
        r_fresh_q <= fresh_q;
        r_addr_q <= addr_q;
        r_oy_q <= oy_q;
        r_ox_q <= ox_q;
        r_found_q <= found_q;
        r_best_q <= best_q;
        r_best_pos_q <= best_pos_q;
      end
      assign e_y[G*EYB+:EYB] = r_oy_q;
      assign e_x[G*EXB+:EXB] = r_ox_q;

      // ---- E: compare with the tile's best and write the window's state ----
      logic [CO*STATE_BITS-1:0] state;
      logic fresh;
      logic [CO-1:0] emit;
      assign fresh = r_first_q && r_fresh_q;
      assign state = fwd_q ? wd_q : fwd2_q ? wd2_q : state_q;
      assign e_valid[G] = r_bank_q && (emit != '0);
      assign e_mask[G*CO+:CO] = emit;
      for (genvar c = 0; c < CO; c++) begin : g_ch
        logic [NB-1:0] m_old, g_old, best, m_new, g_new;
        logic [POS_BITS-1:0] p_old, best_pos, p_new;
        logic take;
        assign best = r_best_q[c*NB+:NB];
        assign best_pos = r_best_pos_q[c*POS_BITS+:POS_BITS];
        assign m_old = fresh ? '0 : state[c*STATE_BITS+:NB];
        assign p_old = fresh ? '0 : state[c*STATE_BITS+NB+:POS_BITS];
        assign g_old = fresh ? '0 : state[c*STATE_BITS+NB+POS_BITS+:NB];
        assign take = r_found_q[c] &&
                      (best > m_old ||
                       (RUNNING_MAX == 0 && best == m_old && best_pos < p_old));
        assign m_new = take ? best : m_old;
        assign p_new = take ? best_pos : p_old;
        assign g_new = take ? r_tag_q : g_old;
        assign emit[c] = take && g_old != r_tag_q;
        assign wd[c*STATE_BITS+:STATE_BITS] = {g_new, p_new, m_new};
      end
      always_ff @(posedge clk) begin
        if (r_bank_q) mem[r_addr_q] <= wd;
      end
    end
  end
endmodule

`default_nettype wire

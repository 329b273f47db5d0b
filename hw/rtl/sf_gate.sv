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
//
// Parameters (sf_stage passes its slice of sf_params; only sf_util is read here)
//   CO                 channels
//   TY, TX             fire tile rows and columns (members, row-major)
//   TILES_Y, TILES_X   fire tiles per pass along each axis (the tables' depths)
//   POOL_ROWS/COLS     pool window
//   GATE_ROWS/COLS     gate output (pooled map) rows and columns
//   WINDOW_BANK_ROWS/COLS  window banks per axis: the most windows one tile meets
//   WINDOW_DEPTH_Y/X   window states per bank along each axis (words: their product)
//   RUNNING_MAX        1: running max, 0: gate (first highest count wins)
//   NB                 spike count bits (also the step tag's)
//   EYB, EXB           coordinate bits of the emitted events
//   ROW_TABLE_FILE     $readmemh file, one entry per tile row (params.gate_table): per
//                      window bank {valid, first, address x WINDOW_DEPTH_X, window row,
//                      per tile row {inside, offset x POOL_COLS}}, LSB first
//   COL_TABLE_FILE     the same per tile column (address and offset not multiplied)
//
// Ports
//   i_valid            a tile (tiles of a step come in row-major tile order)
//   i_eos              an end-of-step token (never with i_valid)
//   i_first            the item belongs to step 0 of an image
//   i_tag              t + 1 of the item's step
//   i_ty, i_tx         the tile's indices
//   i_spike            per member and channel (member-major) its spike this step
//   i_count            per member and channel its count N, this step's spike included
//   o_step, o_eos      the item three cycles later (a tile or a token)
//   o_held             items inside the gate (0 .. 3): the output FIFO's credits
//   o_valid[g]         window bank g's window emits (with a tile only)
//   o_y, o_x, o_mask   per window bank its window's coordinates and channel mask

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
  localparam int POS_BITS = sf_util::bits(POOL_ROWS * POOL_COLS);  // position in a window
  localparam int WIN_COL_BITS = sf_util::bits(POOL_COLS);  // column inside a window
  localparam int OUT_ROW_BITS = sf_util::bits(GATE_ROWS);
  localparam int OUT_COL_BITS = sf_util::bits(GATE_COLS);
  localparam int WIN_WORDS = WINDOW_DEPTH_Y * WINDOW_DEPTH_X;  // window states per bank
  localparam int WIN_ADDR_BITS = sf_util::bits(WIN_WORDS);  // window bank address
  localparam int WIN_COL_ADDR_BITS = sf_util::bits(WINDOW_DEPTH_X);
  // table layouts (LSB first), per window bank: valid, first, address, coordinate, then
  // per tile member: inside, offset; the row table's address and offsets come multiplied
  // by WINDOW_DEPTH_X and POOL_COLS (adds, no multipliers)
  localparam int VALID_AT = 0, FIRST_AT = 1, ADDR_AT = 2;  // the same in both tables
  localparam int ROW_COORD_AT = ADDR_AT + WIN_ADDR_BITS;
  localparam int ROW_MEMBERS_AT = ROW_COORD_AT + OUT_ROW_BITS;
  localparam int ROW_MEMBER_BITS = 1 + POS_BITS;  // inside, offset x POOL_COLS
  localparam int ROW_ENTRY_BITS = ROW_MEMBERS_AT + TY * ROW_MEMBER_BITS;
  localparam int COL_COORD_AT = ADDR_AT + WIN_COL_ADDR_BITS;
  localparam int COL_MEMBERS_AT = COL_COORD_AT + OUT_COL_BITS;
  localparam int COL_MEMBER_BITS = 1 + WIN_COL_BITS;  // inside, offset
  localparam int COL_ENTRY_BITS = COL_MEMBERS_AT + TX * COL_MEMBER_BITS;
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
      // this window bank's fields of the tile's table entries
      logic [ROW_ENTRY_BITS-1:0] row;
      logic [COL_ENTRY_BITS-1:0] col;
      assign row = rent[gy*ROW_ENTRY_BITS+:ROW_ENTRY_BITS];
      assign col = cent[gx*COL_ENTRY_BITS+:COL_ENTRY_BITS];
      logic [WIN_ADDR_BITS-1:0] row_addr, p_addr;
      logic [WIN_COL_ADDR_BITS-1:0] col_addr;
      logic p_bank;
      assign row_addr = row[ADDR_AT+:WIN_ADDR_BITS];  // window row x WINDOW_DEPTH_X
      assign col_addr = col[ADDR_AT+:WIN_COL_ADDR_BITS];
      assign p_addr = row_addr + WIN_ADDR_BITS'(col_addr);
      assign p_bank = i_valid && row[VALID_AT] && col[VALID_AT];
      // per tile member (row-major, as the window positions are): inside the window, and
      // its position there (row offset x POOL_COLS + column offset)
      logic [TP-1:0] member_in_window;
      logic [TP*POS_BITS-1:0] member_pos;
      for (genvar dy = 0; dy < TY; dy++) begin : g_my
        for (genvar dx = 0; dx < TX; dx++) begin : g_mx
          localparam int M = dy * TX + dx;
          localparam int ROW_MEMBER_AT = ROW_MEMBERS_AT + dy * ROW_MEMBER_BITS;
          localparam int COL_MEMBER_AT = COL_MEMBERS_AT + dx * COL_MEMBER_BITS;
          assign member_in_window[M] = row[ROW_MEMBER_AT] && col[COL_MEMBER_AT];
          assign member_pos[M*POS_BITS+:POS_BITS] =
              row[ROW_MEMBER_AT+1+:POS_BITS] + POS_BITS'(col[COL_MEMBER_AT+1+:WIN_COL_BITS]);
        end
      end
      logic bank_q, fresh_q;
      logic [WIN_ADDR_BITS-1:0] addr_q;
      logic [EYB-1:0] oy_q;
      logic [EXB-1:0] ox_q;
      logic [CO-1:0] found_q;
      logic [CO*NB-1:0] best_q;
      logic [CO*POS_BITS-1:0] best_pos_q;
      always_ff @(posedge clk) begin
        bank_q <= p_bank;
        fresh_q <= row[FIRST_AT] && col[FIRST_AT];
        addr_q <= p_addr;
        oy_q <= EYB'(row[ROW_COORD_AT+:OUT_ROW_BITS]);
        ox_q <= EXB'(col[COL_COORD_AT+:OUT_COL_BITS]);
      end
      for (genvar c = 0; c < CO; c++) begin : g_best
        // the first highest count among the tile's spiking members inside the window
        logic found;
        logic [NB-1:0] best;
        logic [POS_BITS-1:0] best_pos;
        always_comb begin
          found = 1'b0;
          best = '0;
          best_pos = '0;
          for (int m = 0; m < TP; m++) begin
            if (member_in_window[m] && i_spike[m*CO+c] &&
                (!found || i_count[(m*CO+c)*NB+:NB] > best)) begin
              found = 1'b1;
              best = i_count[(m*CO+c)*NB+:NB];
              best_pos = member_pos[m*POS_BITS+:POS_BITS];
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
      logic [CO*STATE_BITS-1:0] mem[0:WIN_WORDS-1];
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

`ifdef SF_ASSERTIONS
      // the window states as last written, with no read latency and no forward: the state a
      // tile compares with must be its window's (a stale read or a wrong forward differs)
      logic [CO*STATE_BITS-1:0] written[0:WIN_WORDS-1];
      always_ff @(posedge clk) begin
        if (r_bank_q) written[r_addr_q] <= wd;
      end
      a_state_current: assert property (@(posedge clk) disable iff (rst)
          (r_bank_q && !fresh) |-> state == written[r_addr_q])
        else $error("sf_gate: bank %0d read a stale state of window address %0d", G, r_addr_q);
      for (genvar c = 0; c < CO; c++) begin : g_check
        // within an image a window's M only grows; only the first tile at step 0 restarts it
        a_count_kept: assert property (@(posedge clk) disable iff (rst)
            (r_bank_q && !fresh) |-> g_ch[c].m_new >= written[r_addr_q][c*STATE_BITS+:NB])
          else $error("sf_gate: bank %0d channel %0d lowered the count M of window address %0d",
                      G, c, r_addr_q);
      end
`endif
    end
  end

`ifdef SF_ASSERTIONS
  a_tile_or_token: assert property (@(posedge clk) disable iff (rst) !(i_valid && i_eos))
    else $error("sf_gate: a tile and an end-of-step token in the same cycle");
  a_tile_index: assert property (@(posedge clk) disable iff (rst)
      i_valid |-> (32'(i_ty) < TILES_Y && 32'(i_tx) < TILES_X))
    else $error("sf_gate: tile (%0d, %0d) outside the %0d x %0d tiles", i_ty, i_tx, TILES_Y,
                TILES_X);
  // the items held fit o_held's two bits (never more than 3: the credits stay exact)
  a_held_range: assert property (@(posedge clk) disable iff (rst)
      {1'b0, o_held} == 3'(p_step_q) + 3'(r_step_q) + 3'(f_step_q))
    else $error("sf_gate: more than 3 items held");
  a_emit_with_tile: assert property (@(posedge clk) disable iff (rst)
      (o_valid != '0) |-> (o_step && !o_eos))
    else $error("sf_gate: emissions without a tile");
`endif
endmodule

`default_nettype wire

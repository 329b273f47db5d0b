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
    parameter int L = 0,  // stage index into sf_params, 0 .. NS-1
    // derived (do not override)
    localparam int CO = int'(sf_params::S_CO[32*L+:32]),  // channels
    localparam int TY = int'(sf_params::S_TY[32*L+:32]),  // tile rows
    localparam int TX = int'(sf_params::S_TX[32*L+:32]),  // tile columns
    localparam int TP = TY * TX,
    localparam int GBY = int'(sf_params::S_GBY[32*L+:32]),  // window bank rows
    localparam int GBX = int'(sf_params::S_GBX[32*L+:32]),  // window bank columns
    localparam int GB = GBY * GBX,
    localparam int TYB = sf_params::bits(int'(sf_params::S_NTY[32*L+:32])),
    localparam int TXB = sf_params::bits(int'(sf_params::S_NTX[32*L+:32])),
    localparam int NB = sf_params::NB,
    localparam int EYB = sf_params::EYB,
    localparam int EXB = sf_params::EXB
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
  localparam int NTY = int'(sf_params::S_NTY[32*L+:32]);  // fire tile rows
  localparam int NTX = int'(sf_params::S_NTX[32*L+:32]);  // fire tile columns
  localparam int GNAY = int'(sf_params::S_GNAY[32*L+:32]);  // window bank depth (rows)
  localparam int GNAX = int'(sf_params::S_GNAX[32*L+:32]);  // window bank depth (columns)
  localparam int GH = int'(sf_params::S_GH[32*L+:32]);  // gate output rows
  localparam int GW = int'(sf_params::S_GW[32*L+:32]);  // gate output columns
  localparam int PH = int'(sf_params::S_GPH[32*L+:32]);  // pool rows
  localparam int PW = int'(sf_params::S_GPW[32*L+:32]);  // pool columns
  localparam int PB = sf_params::bits(PH * PW);  // position inside a window
  localparam int WXB = sf_params::bits(PW);
  localparam int GAXB = sf_params::bits(GNAX);
  localparam int GOYB = sf_params::bits(GH), GOXB = sf_params::bits(GW);
  localparam int GAB = sf_params::bits(GNAY * GNAX);  // window bank address
  // table layouts (LSB first), per window bank: valid, first, address, coordinate, then
  // per tile member: inside, offset; the row table's address and offsets come multiplied
  // by GNAX and PW (adds, no multipliers)
  localparam int RBW = 2 + GAB + GOYB + TY * (1 + PB);
  localparam int CBW = 2 + GAXB + GOXB + TX * (1 + WXB);
  localparam int SWD = NB + PB + NB;  // per channel: M, P, G

  if (L < 0 || L >= sf_params::NS) begin : g_bad_l
    $error("sf_gate: L outside 0 .. NS-1");
  end
  if (GB < 1 || PH < 1 || PW < 1) begin : g_bad_geometry
    $error("sf_gate: window banks and pool must be >= 1");
  end

  logic [GBY*RBW-1:0] rtab[0:NTY-1];
  logic [GBX*CBW-1:0] ctab[0:NTX-1];
  initial begin
    $readmemh({sf_params::MEM_PREFIX, "s", 8'(48 + L / 10), 8'(48 + L % 10), "_gr.hex"}, rtab);
    $readmemh({sf_params::MEM_PREFIX, "s", 8'(48 + L / 10), 8'(48 + L % 10), "_gc.hex"}, ctab);
  end
  // ---- P: tables and the tile's best member per window bank and channel ----
  logic [GBY*RBW-1:0] rent;
  logic [GBX*CBW-1:0] cent;
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

  for (genvar gy = 0; gy < GBY; gy++) begin : g_gy
    for (genvar gx = 0; gx < GBX; gx++) begin : g_gx
      localparam int G = gy * GBX + gx;
      localparam int RO = gy * RBW, CO_ = gx * CBW;
      logic bank_q, fresh_q;
      logic [GAB-1:0] addr_q;
      logic [EYB-1:0] oy_q;
      logic [EXB-1:0] ox_q;
      logic [CO-1:0] found_q;
      logic [CO*NB-1:0] best_q;
      logic [CO*PB-1:0] best_pos_q;
      logic [GAB-1:0] p_addr;
      logic p_bank;
      assign p_addr = rent[RO+2+:GAB] + GAB'(cent[CO_+2+:GAXB]);
      assign p_bank = i_valid && rent[RO] && cent[CO_];
      always_ff @(posedge clk) begin
        bank_q <= p_bank;
        fresh_q <= rent[RO+1] && cent[CO_+1];
        addr_q <= p_addr;
        oy_q <= EYB'(rent[RO+2+GAB+:GOYB]);
        ox_q <= EXB'(cent[CO_+2+GAXB+:GOXB]);
      end
      for (genvar c = 0; c < CO; c++) begin : g_best
        // the first highest count among the tile's spiking members inside the window
        // (members come in row-major order, as their window positions do)
        logic found;
        logic [NB-1:0] best;
        logic [PB-1:0] best_pos;
        always_comb begin
          found = 1'b0;
          best = '0;
          best_pos = '0;
          for (int dy = 0; dy < TY; dy++) begin
            for (int dx = 0; dx < TX; dx++) begin
              if (rent[RO+2+GAB+GOYB+dy*(1+PB)] && cent[CO_+2+GAXB+GOXB+dx*(1+WXB)] &&
                  i_spike[(dy*TX+dx)*CO+c] &&
                  (!found || i_count[((dy*TX+dx)*CO+c)*NB+:NB] > best)) begin
                found = 1'b1;
                best = i_count[((dy*TX+dx)*CO+c)*NB+:NB];
                best_pos = rent[RO+2+GAB+GOYB+dy*(1+PB)+1+:PB] +
                           PB'(cent[CO_+2+GAXB+GOXB+dx*(1+WXB)+1+:WXB]);
              end
            end
          end
        end
        always_ff @(posedge clk) begin
          found_q[c] <= found;
          best_q[c*NB+:NB] <= best;
          best_pos_q[c*PB+:PB] <= best_pos;
        end
      end

      // ---- R: the window's state, read at the tile's address as it arrives (the memory's
      // address register is P's) and registered as it comes out ----
      logic [CO*SWD-1:0] mem[0:GNAY*GNAX-1];
      logic [CO*SWD-1:0] rd_q, state_q, wd, wd_q, wd2_q;
      // the state reaches E after two more writes: the one of the tile in E while this
      // tile's address went in (fwd2, its state wd2) and the one while it was read (fwd,
      // wd) take the place of the stale read
      logic fwd_p_q, fwd2_q, fwd_q;
      logic r_bank_q, r_fresh_q;
      logic [GAB-1:0] r_addr_q;
      logic [EYB-1:0] r_oy_q;
      logic [EXB-1:0] r_ox_q;
      logic [CO-1:0] r_found_q;
      logic [CO*NB-1:0] r_best_q;
      logic [CO*PB-1:0] r_best_pos_q;
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
      logic [CO*SWD-1:0] state;
      logic fresh;
      logic [CO-1:0] emit;
      assign fresh = r_first_q && r_fresh_q;
      assign state = fwd_q ? wd_q : fwd2_q ? wd2_q : state_q;
      assign e_valid[G] = r_bank_q && (emit != '0);
      assign e_mask[G*CO+:CO] = emit;
      for (genvar c = 0; c < CO; c++) begin : g_ch
        logic [NB-1:0] m_old, g_old, best, m_new, g_new;
        logic [PB-1:0] p_old, best_pos, p_new;
        logic take;
        assign best = r_best_q[c*NB+:NB];
        assign best_pos = r_best_pos_q[c*PB+:PB];
        assign m_old = fresh ? '0 : state[c*SWD+:NB];
        assign p_old = fresh ? '0 : state[c*SWD+NB+:PB];
        assign g_old = fresh ? '0 : state[c*SWD+NB+PB+:NB];
        assign take = r_found_q[c] &&
                      (best > m_old ||
                       (sf_params::RUNNING_MAX == 0 && best == m_old && best_pos < p_old));
        assign m_new = take ? best : m_old;
        assign p_new = take ? best_pos : p_old;
        assign g_new = take ? r_tag_q : g_old;
        assign emit[c] = take && g_old != r_tag_q;
        assign wd[c*SWD+:SWD] = {g_new, p_new, m_new};
      end
      always_ff @(posedge clk) begin
        if (r_bank_q) mem[r_addr_q] <= wd;
      end
    end
  end
endmodule

`default_nettype wire

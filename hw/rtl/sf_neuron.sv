// sf_neuron: the integrate-and-fire pass of one stage.
//
// A pass visits every fire tile (TY x TX output positions, all Co channels) once, in
// row-major tile order, and ends with an end-of-step token. Per neuron (docs/spec.md):
//   V = V + I + b; clamp to [Vmin, Vmax] (counting clamps); spike = V >= theta;
//   V -= theta (subtract) or V = 0 (zero) where it spiked; N += spike.
// At the first step of an image V and N start from v_init and 0 (the stored values are
// ignored), so no clear pass is needed between images.
//
// Pipeline: I issue (tile counter, tables) -> R (bank read addresses) -> A (the banks
// register them) -> D (bank words, V/N memory reads) -> S1 (V + I + b) -> S2 (clamp) ->
// S3 (fire, reset, count; V/N write-back) -> S4 (result registers). A tile is issued only when the output FIFO will have room for it and
// everything in flight (credits).

`default_nettype none

module sf_neuron #(
    // the layer (sf_stage passes its slice of sf_params)
    parameter int CO = 1,            // output channels
    parameter int CB = 16,           // current bits
    parameter int OUT_ROWS = 1,      // output positions
    parameter int OUT_COLS = 1,
    parameter int TY = 1,            // fire tile: TY x TX positions, all CO channels
    parameter int TX = 1,
    parameter int TILES_Y = 1,       // fire tiles per pass (rows, columns)
    parameter int TILES_X = 1,
    parameter int TILE_ORIGIN_Y = 0,  // aligned tiles: bank of the tile's first member
    parameter int TILE_ORIGIN_X = 0,
    parameter int BANK_ROWS = 1,     // the synapse array's current banks
    parameter int BANK_COLS = 1,
    parameter int BANK_DEPTH_Y = 1,
    parameter int BANK_DEPTH_X = 1,
    parameter int NSET = 1,          // current sets: 1 or 2
    parameter int KEEP_COUNTS = 0,   // 1: store the spike counts (a gate or the class layer)
    parameter int NB = 8,            // spike count bits
    parameter int VB = 16,           // membrane bits
    parameter int SB = 20,           // V + I + b before the clamp (> VB, > CB, <= 64)
    parameter int EYB = 1,           // coordinate bits of emitted events
    parameter int EXB = 1,
    parameter int RESET_ZERO = 0,    // 1: reset to zero, 0: by subtraction
    // per-channel constants, channel c at [64*c +: 64] (two's complement)
    parameter logic [64*CO-1:0] THETA = '0,
    parameter logic [64*CO-1:0] BIAS = '0,
    parameter logic [64*CO-1:0] V_INIT = '0,
    // $readmemh files (generated: sw/spikeforge/rtl/params.py)
    parameter ROW_TILES_FILE = "",  // per tile row: each member row's bank, address, row
    parameter COL_TILES_FILE = "",  // per tile column: the same for columns
    // derived (do not override)
    localparam int TP = TY * TX,  // tile members
    localparam int NBK = BANK_ROWS * BANK_COLS,
    localparam int DAB = sf_util::bits(BANK_DEPTH_Y * BANK_DEPTH_X),  // bank address bits
    localparam int TYB = sf_util::bits(TILES_Y),  // tile row bits
    localparam int TXB = sf_util::bits(TILES_X)  // tile column bits
) (
    input  wire logic                  clk,
    input  wire logic                  rst,
    // pass control
    input  wire logic                  start,       // begin a pass (when !busy)
    input  wire logic                  step_first,  // the pass is step 0 of an image
    input  wire logic                  step_last,   // the pass is step T-1
    input  wire logic                  read_set,    // the current set the pass reads
    input  wire logic                  last_read,   // the set's last pass: free it after
    input  wire logic [NB-1:0]         step_tag,    // t + 1
    output logic                       busy,
    output logic                       issuing,     // the pass has tiles or its token left
    input  wire logic [8:0]            out_free,    // free slots of the output FIFO
    // synapse array port
    output logic      [NBK*DAB-1:0]         syn_addr,
    output logic      [NBK-1:0]             syn_last,
    input  wire logic [NSET*NBK*CO*CB-1:0]  syn_rdata,
    input  wire logic [NSET*NBK-1:0]        syn_rvalid,
    // results (S3)
    output logic                       r_valid,
    output logic                       r_eos,
    output logic                       r_first,
    output logic      [NB-1:0]         r_tag,
    output logic      [TYB-1:0]        r_ty,
    output logic      [TXB-1:0]        r_tx,
    output logic      [TY*EYB-1:0]     r_oy,        // output row of each tile row
    output logic      [TX*EXB-1:0]     r_ox,        // output column of each tile column
    output logic      [TP*CO-1:0]      r_spike,     // member-major, channel-minor
    output logic      [TP*CO*NB-1:0]   r_count,     // counts after this step
    output logic      [TP*CO*VB-1:0]   r_v,         // membranes after this step
    output logic                       r_last,
    output logic      [7:0]            sat_inc      // clamp events of the tile in S4
);
  localparam int TILES = TILES_Y * TILES_X;  // tiles per pass
  localparam int TILE_INDEX_BITS = sf_util::bits(TILES + 1);  // tile index, TILES = the end token
  // table layouts (LSB first), per member: valid, bank, address, coordinate; the row
  // table's bank and address come multiplied by BANK_COLS and BANK_DEPTH_X (adds, no multipliers)
  localparam int ROW_BANK_BITS = sf_util::bits(NBK), COL_BANK_BITS = sf_util::bits(BANK_COLS);
  localparam int COL_ADDR_BITS = sf_util::bits(BANK_DEPTH_X);
  localparam int OUT_ROW_BITS = sf_util::bits(OUT_ROWS), OUT_COL_BITS = sf_util::bits(OUT_COLS);
  localparam int ROW_ENTRY_BITS = 1 + ROW_BANK_BITS + DAB + OUT_ROW_BITS, COL_ENTRY_BITS = 1 + COL_BANK_BITS + COL_ADDR_BITS + OUT_COL_BITS;
  // membrane range, spelled out bit by bit (yosys mis-evaluates a negated size cast)
  localparam logic signed [SB-1:0] VMAX = {{(SB - VB + 1) {1'b0}}, {(VB - 1) {1'b1}}};
  localparam logic signed [SB-1:0] VMIN = {{(SB - VB + 1) {1'b1}}, {(VB - 1) {1'b0}}};

  if (TY > BANK_ROWS || TX > BANK_COLS || TP * CO > 255) begin : g_bad_tile
    $error("sf_neuron: tile members need distinct banks (TY <= BANK_ROWS, TX <= BANK_COLS), <= 255 lanes");
  end
  if (SB > 64 || SB <= VB || SB <= CB) begin : g_bad_width
    $error("sf_neuron: SB must exceed VB and CB, and be at most 64");
  end

  logic [TY*ROW_ENTRY_BITS-1:0] rtab[0:TILES_Y-1];
  logic [TX*COL_ENTRY_BITS-1:0] ctab[0:TILES_X-1];
  if (ROW_TILES_FILE != "") begin : g_load_rtab
    initial $readmemh(ROW_TILES_FILE, rtab);
  end
  if (COL_TILES_FILE != "") begin : g_load_ctab
    initial $readmemh(COL_TILES_FILE, ctab);
  end

  // ---- I: issue (tile counter and tables) ----
  logic active_q, first_q, last_q, set_q, last_read_q;
  logic [NB-1:0] tag_q;
  logic [TYB-1:0] ty_q;
  logic [TXB-1:0] tx_q;
  logic [TILE_INDEX_BITS-1:0] ti_q;
  logic vr_q, va_q, vd_q, v1_q, v2_q, v3_q, v4_q;
  logic issue, issue_eos;
  logic [2:0] inflight;
  assign inflight = 3'(vr_q) + 3'(va_q) + 3'(vd_q) + 3'(v1_q) + 3'(v2_q) + 3'(v3_q) + 3'(v4_q);
  assign issue = active_q && (out_free > 9'(inflight));
  assign issue_eos = ti_q == TILE_INDEX_BITS'(TILES);
  assign issuing = active_q;
  assign busy = active_q || vr_q || va_q || vd_q || v1_q || v2_q || v3_q || v4_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      active_q <= 1'b0;
    end else if (start && !busy) begin
      active_q <= 1'b1;
      ty_q <= '0;
      tx_q <= '0;
      ti_q <= '0;
      first_q <= step_first;
      last_q <= step_last;
      set_q <= read_set;
      last_read_q <= last_read;
      tag_q <= step_tag;
    end else if (issue) begin
      if (issue_eos) active_q <= 1'b0;
      ti_q <= ti_q + 1'b1;
      if (tx_q == TXB'(TILES_X - 1)) begin
        tx_q <= '0;
        ty_q <= ty_q + 1'b1;
      end else tx_q <= tx_q + 1'b1;
    end
  end

  logic [TY*ROW_ENTRY_BITS-1:0] rent;
  logic [TX*COL_ENTRY_BITS-1:0] cent;
  assign rent = rtab[issue_eos ? 0 : 32'(ty_q)];
  assign cent = ctab[issue_eos ? 0 : 32'(tx_q)];

  // registered per member: valid, bank row/column, bank address
  logic eosr_q;
  logic [TILE_INDEX_BITS-1:0] tir_q;
  logic [TYB-1:0] tyr_q;
  logic [TXB-1:0] txr_q;
  logic [TP-1:0] mvr_q;
  logic [TP*ROW_BANK_BITS-1:0] mrb_q;
  logic [TP*COL_BANK_BITS-1:0] mcb_q;
  logic [TP*DAB-1:0] maddr_q;
  logic [TY*EYB-1:0] oyr_q, oy1_q, oy2_q, oy3_q;
  logic [TX*EXB-1:0] oxr_q, ox1_q, ox2_q, ox3_q;
  for (genvar dy = 0; dy < TY; dy++) begin : g_my
    for (genvar dx = 0; dx < TX; dx++) begin : g_mx
      localparam int M = dy * TX + dx;
      always_ff @(posedge clk) begin
        mvr_q[M] <= rent[dy*ROW_ENTRY_BITS] && cent[dx*COL_ENTRY_BITS] && !issue_eos;
        mrb_q[M*ROW_BANK_BITS+:ROW_BANK_BITS] <= rent[dy*ROW_ENTRY_BITS+1+:ROW_BANK_BITS];
        mcb_q[M*COL_BANK_BITS+:COL_BANK_BITS] <= cent[dx*COL_ENTRY_BITS+1+:COL_BANK_BITS];
        maddr_q[M*DAB+:DAB] <= rent[dy*ROW_ENTRY_BITS+1+ROW_BANK_BITS+:DAB] + DAB'(cent[dx*COL_ENTRY_BITS+1+COL_BANK_BITS+:COL_ADDR_BITS]);
      end
    end
  end
  for (genvar dy = 0; dy < TY; dy++) begin : g_oy
    always_ff @(posedge clk) oyr_q[dy*EYB+:EYB] <= EYB'(rent[dy*ROW_ENTRY_BITS+1+ROW_BANK_BITS+DAB+:OUT_ROW_BITS]);
  end
  for (genvar dx = 0; dx < TX; dx++) begin : g_ox
    always_ff @(posedge clk) oxr_q[dx*EXB+:EXB] <= EXB'(cent[dx*COL_ENTRY_BITS+1+COL_BANK_BITS+COL_ADDR_BITS+:OUT_COL_BITS]);
  end
  always_ff @(posedge clk) begin
    if (rst) vr_q <= 1'b0;
    else vr_q <= issue;
    eosr_q <= issue_eos;
    tir_q <= ti_q;
    tyr_q <= ty_q;
    txr_q <= tx_q;
  end

  // ---- R: bank reads (each bank serves at most one member) ----
  for (genvar b = 0; b < NBK; b++) begin : g_bank
    always_comb begin
      syn_addr[b*DAB+:DAB] = '0;
      syn_last[b] = 1'b0;
      for (int m = 0; m < TP; m++) begin
        if (mvr_q[m] && 32'(mrb_q[m*ROW_BANK_BITS+:ROW_BANK_BITS]) + 32'(mcb_q[m*COL_BANK_BITS+:COL_BANK_BITS]) == b) begin
          syn_addr[b*DAB+:DAB] = maddr_q[m*DAB+:DAB];
          syn_last[b] = vr_q && last_read_q;
        end
      end
    end
  end
  // ---- A: the banks register the read addresses; the rest of the tile waits here ----
  logic eosa_q;
  logic [TILE_INDEX_BITS-1:0] tia_q;
  logic [TYB-1:0] tya_q;
  logic [TXB-1:0] txa_q;
  logic [TP-1:0] mva_q;
  logic [TP*ROW_BANK_BITS-1:0] mrba_q;
  logic [TP*COL_BANK_BITS-1:0] mcba_q;
  logic [TY*EYB-1:0] oya_q;
  logic [TX*EXB-1:0] oxa_q;
  always_ff @(posedge clk) begin
    if (rst) va_q <= 1'b0;
    else va_q <= vr_q;
    eosa_q <= eosr_q;
    tia_q <= tir_q;
    tya_q <= tyr_q;
    txa_q <= txr_q;
    mva_q <= mvr_q;
    mrba_q <= mrb_q;
    mcba_q <= mcb_q;
    oya_q <= oyr_q;
    oxa_q <= oxr_q;
  end
  // ---- D: the bank words arrive (synchronous reads) ----
  logic eosd_q;
  logic [TILE_INDEX_BITS-1:0] tid_q;
  logic [TYB-1:0] tyd_q;
  logic [TXB-1:0] txd_q;
  logic [TP-1:0] mvd_q;
  logic [TP*ROW_BANK_BITS-1:0] mrbd_q;
  logic [TP*COL_BANK_BITS-1:0] mcbd_q;
  logic [TY*EYB-1:0] oyd_q;
  logic [TX*EXB-1:0] oxd_q;
  always_ff @(posedge clk) begin
    if (rst) vd_q <= 1'b0;
    else vd_q <= va_q;
    eosd_q <= eosa_q;
    tid_q <= tia_q;
    tyd_q <= tya_q;
    txd_q <= txa_q;
    mvd_q <= mva_q;
    mrbd_q <= mrba_q;
    mcbd_q <= mcba_q;
    oyd_q <= oya_q;
    oxd_q <= oxa_q;
  end
  // each member's currents, a stale word reading as zero
  logic [TP*CO*CB-1:0] m_cur;
  if (TY == BANK_ROWS && TX == BANK_COLS) begin : g_aligned
    // a tile covers every bank once, each member the same bank in every tile: wires
    for (genvar dy = 0; dy < TY; dy++) begin : g_my
      for (genvar dx = 0; dx < TX; dx++) begin : g_mx
        localparam int B = ((dy + BANK_ROWS - TILE_ORIGIN_Y) % BANK_ROWS) * BANK_COLS + (dx + BANK_COLS - TILE_ORIGIN_X) % BANK_COLS;
        localparam int M = dy * TX + dx;
        logic [CO*CB-1:0] word;
        logic ok;
        assign word = (NSET > 1 && set_q) ? syn_rdata[((NSET-1)*NBK+B)*CO*CB+:CO*CB]
                                          : syn_rdata[B*CO*CB+:CO*CB];
        assign ok = (NSET > 1 && set_q) ? syn_rvalid[(NSET-1)*NBK+B] : syn_rvalid[B];
        assign m_cur[M*CO*CB+:CO*CB] = ok ? word : '0;
      end
    end
    logic unused_banks;
    assign unused_banks = ^{mrbd_q, mcbd_q};
  end else begin : g_mux
    // an AND-OR multiplexer over the (set, bank) words (a variable part-select would
    // synthesize to a barrel shifter across all banks' data)
    for (genvar m = 0; m < TP; m++) begin : g_mcur
      always_comb begin
        m_cur[m*CO*CB+:CO*CB] = '0;
        for (int st = 0; st < NSET; st++) begin
          for (int b = 0; b < NBK; b++) begin
            if ((NSET == 1 || 32'(set_q) == st) && syn_rvalid[st*NBK+b] &&
                32'(mrbd_q[m*ROW_BANK_BITS+:ROW_BANK_BITS]) + 32'(mcbd_q[m*COL_BANK_BITS+:COL_BANK_BITS]) == b) begin
              m_cur[m*CO*CB+:CO*CB] =
                  m_cur[m*CO*CB+:CO*CB] | syn_rdata[(st*NBK+b)*CO*CB+:CO*CB];
            end
          end
        end
      end
    end
  end

  // ---- S1: V + I + b ----
  logic v1_eos_q, v2_eos_q, v3_eos_q;
  logic [TILE_INDEX_BITS-1:0] ti1_q, ti2_q, ti3_q;
  logic [TYB-1:0] ty1_q, ty2_q, ty3_q;
  logic [TXB-1:0] tx1_q, tx2_q, tx3_q;
  logic [TP-1:0] mv1_q, mv2_q, mv3_q;
  logic [TP*CO*CB-1:0] cur1_q;
  logic [TP*CO*VB-1:0] vrd;
  logic [TP*CO*NB-1:0] nrd;
  logic [TP*CO*SB-1:0] sum1;
  logic [TP*CO*NB-1:0] nold1;
  logic [TP*CO*SB-1:0] sum2_q;
  logic [TP*CO*NB-1:0] nold2_q, nold3_q;
  logic [TP*CO*SB-1:0] vclamp2;
  logic [TP*CO*SB-1:0] vclamp3_q;
  logic [TP*CO-1:0] sat3_q;  // clamp events, counted in S3 (not behind the clamp's compare)

  always_ff @(posedge clk) begin
    if (rst) begin
      v1_q <= 1'b0;
      v2_q <= 1'b0;
      v3_q <= 1'b0;
    end else begin
      v1_q <= vd_q;
      v2_q <= v1_q;
      v3_q <= v2_q;
    end
    v1_eos_q <= eosd_q;
    ti1_q <= tid_q;
    ty1_q <= tyd_q;
    tx1_q <= txd_q;
    mv1_q <= mvd_q;
    cur1_q <= m_cur;
    oy1_q <= oyd_q;
    ox1_q <= oxd_q;
    v2_eos_q <= v1_eos_q;
    ti2_q <= ti1_q;
    ty2_q <= ty1_q;
    tx2_q <= tx1_q;
    mv2_q <= mv1_q;
    sum2_q <= sum1;
    nold2_q <= nold1;
    oy2_q <= oy1_q;
    ox2_q <= ox1_q;
    v3_eos_q <= v2_eos_q;
    ti3_q <= ti2_q;
    ty3_q <= ty2_q;
    tx3_q <= tx2_q;
    mv3_q <= mv2_q;
    vclamp3_q <= vclamp2;
    sat3_q <= sat2;
    nold3_q <= nold2_q;
    oy3_q <= oy2_q;
    ox3_q <= ox2_q;
  end

  // ---- S2: clamp; S3: fire, reset, count and write back ----
  logic [TP*CO*VB-1:0] vnew3;
  logic [TP*CO*NB-1:0] nnew3;
  logic [TP*CO-1:0] fire3, sat2;

  for (genvar m = 0; m < TP; m++) begin : g_member
    logic [CO*VB-1:0] vmem[0:TILES-1];
    logic [CO*VB-1:0] vrd_q;
    always_ff @(posedge clk) begin
      vrd_q <= vmem[32'(tid_q)];
      if (v3_q && !v3_eos_q) vmem[32'(ti3_q)] <= vnew3[m*CO*VB+:CO*VB];
    end
    assign vrd[m*CO*VB+:CO*VB] = vrd_q;
    if (KEEP_COUNTS != 0) begin : g_counts
      logic [CO*NB-1:0] nmem[0:TILES-1];
      logic [CO*NB-1:0] nrd_q;
      always_ff @(posedge clk) begin
        nrd_q <= nmem[32'(tid_q)];
        if (v3_q && !v3_eos_q) nmem[32'(ti3_q)] <= nnew3[m*CO*NB+:CO*NB];
      end
      assign nrd[m*CO*NB+:CO*NB] = nrd_q;
    end else begin : g_no_counts
      assign nrd[m*CO*NB+:CO*NB] = '0;
    end

    for (genvar co = 0; co < CO; co++) begin : g_lane
      localparam int I = m * CO + co;
      // per-channel constants: the low bits of the two's complement fields
      localparam logic signed [SB-1:0] LANE_THETA = THETA[64*co+:SB];
      localparam logic signed [SB-1:0] LANE_BIAS = BIAS[64*co+:SB];
      localparam logic [VB-1:0] LANE_V_INIT = V_INIT[64*co+:VB];
      // S1 (SB > VB and SB > CB: operands sign-extended by replication)
      logic signed [SB-1:0] vold, cur_ext;
      assign cur_ext = {{(SB - CB) {cur1_q[I*CB+CB-1]}}, cur1_q[I*CB+:CB]};
      assign vold = first_q ? SB'(LANE_V_INIT) : {{(SB - VB) {vrd[I*VB+VB-1]}}, vrd[I*VB+:VB]};
      assign nold1[I*NB+:NB] = first_q ? '0 : nrd[I*NB+:NB];
      assign sum1[I*SB+:SB] = vold + cur_ext + LANE_BIAS;
      // S2
      logic signed [SB-1:0] sum, v;
      assign sum = $signed(sum2_q[I*SB+:SB]);
      always_comb begin
        sat2[I] = 1'b0;
        v = sum;
        if (sum > VMAX) begin
          v = VMAX;
          sat2[I] = mv2_q[m];
        end else if (sum < VMIN) begin
          v = VMIN;
          sat2[I] = mv2_q[m];
        end
      end
      assign vclamp2[I*SB+:SB] = v;
      // S3
      logic signed [SB-1:0] vc, vr, vnext;
      logic fire;
      assign vc = $signed(vclamp3_q[I*SB+:SB]);
      assign fire = vc >= LANE_THETA;
      assign vr = RESET_ZERO != 0 ? '0 : vc - LANE_THETA;
      assign fire3[I] = fire && mv3_q[m];
      assign vnext = fire ? vr : vc;
      assign vnew3[I*VB+:VB] = vnext[VB-1:0];  // within [Vmin, Vmax]
      assign nnew3[I*NB+:NB] = nold3_q[I*NB+:NB] + NB'(fire);
      logic unused_vnext;
      assign unused_vnext = ^vnext[SB-1:VB];
    end
  end

  logic [7:0] sat_sum;
  always_comb begin
    sat_sum = '0;
    for (int i = 0; i < TP * CO; i++) sat_sum = sat_sum + 8'(sat3_q[i]);
  end

  // ---- S4: results ----
  always_ff @(posedge clk) begin
    if (rst) v4_q <= 1'b0;
    else v4_q <= v3_q;
    r_eos <= v3_eos_q;
    r_ty <= ty3_q;
    r_tx <= tx3_q;
    r_oy <= oy3_q;
    r_ox <= ox3_q;
    r_spike <= fire3;
    r_count <= nnew3;
    r_v <= vnew3;
    sat_inc <= v3_q ? sat_sum : 8'd0;
  end
  assign r_valid = v4_q;
  assign r_first = first_q;
  assign r_last = last_q;
  assign r_tag = tag_q;

  logic unused;
  assign unused = ti1_q[0];
endmodule

`default_nettype wire

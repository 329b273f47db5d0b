// sf_neuron: the integrate-and-fire pass of one stage (the neuron unit).
//
// A pass visits every fire tile (TY x TX output positions, all CO channels) once, in
// row-major tile order, and ends with an end-of-step token. Per neuron (docs/spec.md):
//   V = V + I + b; clamp to [Vmin, Vmax] (counting clamps); spike = V >= theta;
//   V -= theta (subtract) or V = 0 (zero) where it spiked; N += spike.
// At the first step of an image V and N start from v_init and 0 (the stored values are
// ignored), so no clear pass is needed between images.
//
// The unit is four parts:
//   sf_tile_issue     I: the tile counter, the tile tables, credits against out_free
//   sf_bank_crossbar  R: read addresses to the current banks; D: each member's words back
//   sf_if_lane        S1-S3: one neuron's arithmetic, TY x TX x CO of them
//   this module       the V and N memories (one per tile member, a word per tile), the
//                     result registers, and the pipeline that carries each tile's side
//                     signals (tile_t, through sf_pipe) alongside
// Pipeline: I issue -> R (bank read addresses) -> A (the banks register them) -> D (bank
// words, V/N memory reads) -> S1 (V + I + b) -> S2 (clamp) -> S3 (fire, reset, count; V/N
// write-back) -> S4 (result registers). Nothing stalls: a tile is issued only when the
// output FIFO will have room for it and everything in flight (credits).
//
// Parameters (sf_stage passes its slice of sf_params):
//   CO                          output channels
//   CB                          current bits
//   OUT_ROWS, OUT_COLS          output positions
//   TY, TX                      fire tile: TY x TX positions, all CO channels
//   TILES_Y, TILES_X            fire tiles per pass (rows, columns)
//   TILE_ORIGIN_Y, TILE_ORIGIN_X aligned tiles: the bank of the tile's first member
//   BANK_ROWS, BANK_COLS        the synapse array's current banks
//   BANK_DEPTH_Y, BANK_DEPTH_X  output rows and columns per bank
//   NSET                        current sets: 1 or 2
//   KEEP_COUNTS                 1: store the spike counts (a gate or the class layer follows)
//   NB, VB                      spike count and membrane bits
//   SB                          V + I + b before the clamp (> VB, > CB, <= 64)
//   EYB, EXB                    coordinate bits of emitted events
//   RESET_ZERO                  1: reset to zero, 0: by subtraction
//   THETA, BIAS, V_INIT         per channel, channel c at [64*c +: 64] (two's complement)
//   ROW_TILES_FILE, COL_TILES_FILE  the tile tables ($readmemh, sw/spikeforge/rtl/params.py)
//
// Ports:
//   clk, rst                    clock, synchronous active-high reset
//   start                       begin a pass (only when !busy)
//   step_first, step_last       the pass is step 0 / step T-1 of an image
//   read_set                    the current set the pass reads
//   last_read                   the set's last pass: free it after
//   step_tag                    t + 1, returned on r_tag
//   busy                        a pass or its tiles are in the pipeline
//   issuing                     the pass has tiles or its token left to issue
//   out_free                    free slots of the output FIFO (credits)
//   syn_addr, syn_last          per bank: read address, tag the word read (stage R)
//   syn_rdata, syn_rvalid       per set and bank: the word read, present (stage D)
//   r_valid                     S4: a result (a tile or the end-of-step token)
//   r_eos                       the result is the end-of-step token
//   r_first, r_last, r_tag      the pass's step_first, step_last, step_tag
//   r_ty, r_tx                  the tile's row and column of tiles
//   r_oy, r_ox                  the output row of each tile row, column of each tile column
//   r_spike                     spikes, member-major, channel-minor (valid members only)
//   r_count                     counts after this step
//   r_v                         membranes after this step
//   sat_inc                     clamp events of the tile in S4 (valid members only)

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
    // results (S4)
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
  localparam int TILE_INDEX_BITS = sf_util::bits(TILES + 1);  // tile index, TILES: the token
  localparam int ROW_BANK_BITS = sf_util::bits(NBK), COL_BANK_BITS = sf_util::bits(BANK_COLS);
  localparam int PIPE_STAGES = 7;  // behind issue: R, A, D, S1, S2, S3, S4

  if (TY > BANK_ROWS || TX > BANK_COLS || TP * CO > 255) begin : g_bad_tile
    $error("sf_neuron: tile members need distinct banks (TY <= BANK_ROWS, TX <= BANK_COLS), %s",
           "<= 255 lanes");
  end

  // a tile's side signals, carried down the pipeline beside its data
  typedef struct packed {
    logic eos;                                     // the end-of-step token, no tile
    logic [TILE_INDEX_BITS-1:0] index;             // index in the pass: V/N memory address
    logic [TYB-1:0] row;                           // row and column of tiles
    logic [TXB-1:0] col;
    logic [TP-1:0] member_valid;                   // members inside the map
    logic [TP*ROW_BANK_BITS-1:0] member_bank_row;  // their banks (row x BANK_COLS, column)
    logic [TP*COL_BANK_BITS-1:0] member_bank_col;
    logic [TP*DAB-1:0] member_addr;                // their bank addresses (read in R)
    logic [TY*EYB-1:0] out_row;                    // output row of each tile row
    logic [TX*EXB-1:0] out_col;                    // output column of each tile column
  } tile_t;

  // ---- I: issue ----
  tile_t tile_i;
  localparam int TILE_BITS = $bits(tile_i);  // (yosys takes $bits of a signal, not a type)
  logic issue;
  logic pass_first, pass_last, pass_set, pass_last_read;
  logic [NB-1:0] pass_tag;
  logic [PIPE_STAGES-1:0] pipe_valid;  // [0] R ... [6] S4
  logic issue_eos;
  logic [TILE_INDEX_BITS-1:0] issue_index;
  logic [TYB-1:0] issue_row;
  logic [TXB-1:0] issue_col;
  logic [TP-1:0] issue_member_valid;
  logic [TP*ROW_BANK_BITS-1:0] issue_bank_row;
  logic [TP*COL_BANK_BITS-1:0] issue_bank_col;
  logic [TP*DAB-1:0] issue_addr;
  logic [TY*EYB-1:0] issue_out_row;
  logic [TX*EXB-1:0] issue_out_col;
  sf_tile_issue #(
      .TY(TY),
      .TX(TX),
      .TILES_Y(TILES_Y),
      .TILES_X(TILES_X),
      .OUT_ROWS(OUT_ROWS),
      .OUT_COLS(OUT_COLS),
      .BANK_ROWS(BANK_ROWS),
      .BANK_COLS(BANK_COLS),
      .BANK_DEPTH_Y(BANK_DEPTH_Y),
      .BANK_DEPTH_X(BANK_DEPTH_X),
      .NB(NB),
      .EYB(EYB),
      .EXB(EXB),
      .PIPE_STAGES(PIPE_STAGES),
      .ROW_TILES_FILE(ROW_TILES_FILE),
      .COL_TILES_FILE(COL_TILES_FILE)
  ) u_issue (
      .clk,
      .rst,
      .start,
      .step_first,
      .step_last,
      .read_set,
      .last_read,
      .step_tag,
      .out_free,
      .pipe_valid,
      .busy,
      .issuing,
      .pass_first,
      .pass_last,
      .pass_set,
      .pass_last_read,
      .pass_tag,
      .issue,
      .issue_eos,
      .tile_index(issue_index),
      .tile_row(issue_row),
      .tile_col(issue_col),
      .member_valid(issue_member_valid),
      .member_bank_row(issue_bank_row),
      .member_bank_col(issue_bank_col),
      .member_addr(issue_addr),
      .out_row(issue_out_row),
      .out_col(issue_out_col)
  );
  assign tile_i.eos = issue_eos;
  assign tile_i.index = issue_index;
  assign tile_i.row = issue_row;
  assign tile_i.col = issue_col;
  assign tile_i.member_valid = issue_member_valid;
  assign tile_i.member_bank_row = issue_bank_row;
  assign tile_i.member_bank_col = issue_bank_col;
  assign tile_i.member_addr = issue_addr;
  assign tile_i.out_row = issue_out_row;
  assign tile_i.out_col = issue_out_col;

  // ---- R: bank read addresses; A: the banks register them; D: the words arrive ----
  tile_t tile_r, tile_d;
  logic valid_r, valid_d;
  sf_pipe #(
      .WIDTH(TILE_BITS),
      .STAGES(1)
  ) u_pipe_r (
      .clk,
      .rst,
      .i_valid(issue),
      .i_data(tile_i),
      .o_valid(valid_r),
      .o_data(tile_r),
      .stage_valid(pipe_valid[0+:1])
  );
  sf_pipe #(
      .WIDTH(TILE_BITS),
      .STAGES(2)
  ) u_pipe_a_d (
      .clk,
      .rst,
      .i_valid(valid_r),
      .i_data(tile_r),
      .o_valid(valid_d),
      .o_data(tile_d),
      .stage_valid(pipe_valid[1+:2])
  );

  logic [TP*CO*CB-1:0] member_current;  // D: each member's currents, a stale word as zero
  sf_bank_crossbar #(
      .TY(TY),
      .TX(TX),
      .CO(CO),
      .CB(CB),
      .NSET(NSET),
      .BANK_ROWS(BANK_ROWS),
      .BANK_COLS(BANK_COLS),
      .TILE_ORIGIN_Y(TILE_ORIGIN_Y),
      .TILE_ORIGIN_X(TILE_ORIGIN_X),
      .DAB(DAB)
  ) u_crossbar (
      .clk,
      .rst,
      .req_valid(valid_r),
      .req_last_read(pass_last_read),
      .req_member_valid(tile_r.member_valid),
      .req_bank_row(tile_r.member_bank_row),
      .req_bank_col(tile_r.member_bank_col),
      .req_addr(tile_r.member_addr),
      .syn_addr,
      .syn_last,
      .rsp_set(pass_set),
      .rsp_bank_row(tile_d.member_bank_row),
      .rsp_bank_col(tile_d.member_bank_col),
      .syn_rdata,
      .syn_rvalid,
      .member_current
  );

  // ---- S1 .. S3: the lanes (V + I + b, clamp, fire) ----
  tile_t tile_s3, tile_s4;
  logic valid_s3, valid_s4;
  sf_pipe #(
      .WIDTH(TILE_BITS),
      .STAGES(3)
  ) u_pipe_s1_s3 (
      .clk,
      .rst,
      .i_valid(valid_d),
      .i_data(tile_d),
      .o_valid(valid_s3),
      .o_data(tile_s3),
      .stage_valid(pipe_valid[3+:3])
  );

  logic [TP*CO*CB-1:0] current_s1_q;  // the members' currents in S1
  always_ff @(posedge clk) current_s1_q <= member_current;

  logic [TP*CO*VB-1:0] v_read, v_s3;  // membranes: read (S1), after the step (S3)
  logic [TP*CO*NB-1:0] count_read, count_s3;  // spike counts: read (S1), after the step (S3)
  logic [TP*CO-1:0] fire_s3, clamped_s3, spike_s3, sat_s3;
  logic write_back;  // S3 holds a tile: write its V and N back
  assign write_back = valid_s3 && !tile_s3.eos;

  for (genvar m = 0; m < TP; m++) begin : g_member
    // V and N: one word (CO channels) per tile, read in D, written back in S3
    logic [CO*VB-1:0] v_mem[0:TILES-1];
    logic [CO*VB-1:0] v_read_q;
    always_ff @(posedge clk) begin
      v_read_q <= v_mem[32'(tile_d.index)];
      if (write_back) v_mem[32'(tile_s3.index)] <= v_s3[m*CO*VB+:CO*VB];
    end
    assign v_read[m*CO*VB+:CO*VB] = v_read_q;
    if (KEEP_COUNTS != 0) begin : g_counts
      logic [CO*NB-1:0] count_mem[0:TILES-1];
      logic [CO*NB-1:0] count_read_q;
      always_ff @(posedge clk) begin
        count_read_q <= count_mem[32'(tile_d.index)];
        if (write_back) count_mem[32'(tile_s3.index)] <= count_s3[m*CO*NB+:CO*NB];
      end
      assign count_read[m*CO*NB+:CO*NB] = count_read_q;
    end else begin : g_no_counts
      assign count_read[m*CO*NB+:CO*NB] = '0;
    end

    for (genvar co = 0; co < CO; co++) begin : g_lane
      localparam int I = m * CO + co;
      sf_if_lane #(
          .CB(CB),
          .VB(VB),
          .NB(NB),
          .SB(SB),
          .THETA(THETA[64*co+:64]),
          .BIAS(BIAS[64*co+:64]),
          .V_INIT(V_INIT[64*co+:64]),
          .RESET_ZERO(RESET_ZERO)
      ) u_lane (
          .clk,
          .i_first(pass_first),
          .i_current(current_s1_q[I*CB+:CB]),
          .i_v(v_read[I*VB+:VB]),
          .i_count(count_read[I*NB+:NB]),
          .o_clamped(clamped_s3[I]),
          .o_fire(fire_s3[I]),
          .o_v(v_s3[I*VB+:VB]),
          .o_count(count_s3[I*NB+:NB])
      );
      // members outside the map neither spike nor count clamps
      assign spike_s3[I] = fire_s3[I] && tile_s3.member_valid[m];
      assign sat_s3[I] = clamped_s3[I] && tile_s3.member_valid[m];
    end
  end

  logic [7:0] sat_sum;
  always_comb begin
    sat_sum = '0;
    for (int i = 0; i < TP * CO; i++) sat_sum = sat_sum + 8'(sat_s3[i]);
  end

  // ---- S4: results ----
  sf_pipe #(
      .WIDTH(TILE_BITS),
      .STAGES(1)
  ) u_pipe_s4 (
      .clk,
      .rst,
      .i_valid(valid_s3),
      .i_data(tile_s3),
      .o_valid(valid_s4),
      .o_data(tile_s4),
      .stage_valid(pipe_valid[6+:1])
  );
  always_ff @(posedge clk) begin
    r_spike <= spike_s3;
    r_count <= count_s3;
    r_v <= v_s3;
    sat_inc <= valid_s3 ? sat_sum : 8'd0;
  end
  assign r_valid = valid_s4;
  assign r_eos = tile_s4.eos;
  assign r_ty = tile_s4.row;
  assign r_tx = tile_s4.col;
  assign r_oy = tile_s4.out_row;
  assign r_ox = tile_s4.out_col;
  assign r_first = pass_first;
  assign r_last = pass_last;
  assign r_tag = pass_tag;

  logic unused_tile_s4;  // S4 needs only the tile's place and the token flag
  assign unused_tile_s4 = ^{tile_s4.index, tile_s4.member_valid, tile_s4.member_bank_row,
                            tile_s4.member_bank_col, tile_s4.member_addr};
endmodule

`default_nettype wire

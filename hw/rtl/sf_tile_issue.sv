// sf_tile_issue: the issue stage of the neuron unit (sf_neuron): which fire tile goes next.
//
// A pass, begun by `start`, issues every fire tile (TY x TX output positions) once in
// row-major tile order, then an end-of-step token, one per cycle at most. The tile's
// members are decoded from two generated tables, one entry per tile row and per tile
// column (ROW_TILES_FILE, COL_TILES_FILE; sw/spikeforge/rtl/tables.py), each member's
// entry holding, LSB first: valid (inside the map), bank, bank address, output coordinate.
// The row table's bank and address come multiplied by BANK_COLS and BANK_DEPTH_X, so a
// member's bank is row bank + column bank and its address row address + column address.
//
// Credits: everything the unit issues becomes at most one item of the output FIFO, and
// the pipeline behind issue never stalls, so a tile is issued only when the FIFO's free
// slots (out_free) exceed the tiles already in flight (pipe_valid: the valid bit of every
// pipeline stage behind this one). The pass's flags are latched at start and held until
// the next start, which comes only when nothing is in flight (busy low).
//
// Parameters:
//   TY, TX               fire tile: TY x TX members (member m = dy * TX + dx)
//   TILES_Y, TILES_X     fire tiles per pass (rows, columns)
//   OUT_ROWS, OUT_COLS   output positions (the coordinate fields' widths)
//   BANK_ROWS, BANK_COLS the synapse array's current banks
//   BANK_DEPTH_Y         rows and columns of output positions per bank (bank addresses)
//   BANK_DEPTH_X
//   NB                   step tag bits
//   EYB, EXB             coordinate bits of the emitted output rows and columns
//   PIPE_STAGES          pipeline stages behind issue (the width of pipe_valid)
//   ROW_TILES_FILE       $readmemh file of the row table (loaded only when given)
//   COL_TILES_FILE       $readmemh file of the column table (loaded only when given)
//
// Ports:
//   clk, rst             clock, synchronous active-high reset
//   start                begin a pass (only when !busy)
//   step_first ...       the pass's flags, latched at start and held on pass_*:
//     step_first         the pass is an image's first step
//     step_last          the pass is the image's last step
//     read_set           the current set the pass reads
//     last_read          the set's last pass (its words are tagged as read)
//     step_tag           t + 1, the step's tag on the results
//   out_free             free slots of the output FIFO (<= 256)
//   pipe_valid           the valid bit of every pipeline stage behind issue
//   busy                 a pass is issuing or anything is still in flight
//   issuing              the pass has tiles or its token left to issue
//   issue                a tile or the token is issued this cycle
//   issue_eos            what is issued is the end-of-step token (no members valid)
//   tile_index           the tile's index in the pass (TILES for the token)
//   tile_row, tile_col   the tile's row and column of tiles
//   member_valid         per member: inside the map (never for the token)
//   member_bank_row      per member: its bank's row x BANK_COLS
//   member_bank_col      per member: its bank's column
//   member_addr          per member: its address in the bank
//   out_row              per tile row: the output row
//   out_col              per tile column: the output column

`default_nettype none

module sf_tile_issue #(
    parameter int TY = 1,
    parameter int TX = 1,
    parameter int TILES_Y = 1,
    parameter int TILES_X = 1,
    parameter int OUT_ROWS = 1,
    parameter int OUT_COLS = 1,
    parameter int BANK_ROWS = 1,
    parameter int BANK_COLS = 1,
    parameter int BANK_DEPTH_Y = 1,
    parameter int BANK_DEPTH_X = 1,
    parameter int NB = 8,
    parameter int EYB = 1,
    parameter int EXB = 1,
    parameter int PIPE_STAGES = 1,
    parameter ROW_TILES_FILE = "",
    parameter COL_TILES_FILE = "",
    // derived (do not override)
    localparam int TP = TY * TX,
    localparam int NBK = BANK_ROWS * BANK_COLS,
    localparam int DAB = sf_util::bits(BANK_DEPTH_Y * BANK_DEPTH_X),  // bank address bits
    localparam int ROW_BANK_BITS = sf_util::bits(NBK),
    localparam int COL_BANK_BITS = sf_util::bits(BANK_COLS),
    localparam int TILE_INDEX_BITS = sf_util::bits(TILES_Y * TILES_X + 1),
    localparam int TYB = sf_util::bits(TILES_Y),
    localparam int TXB = sf_util::bits(TILES_X)
) (
    input  wire logic                       clk,
    input  wire logic                       rst,
    input  wire logic                       start,
    input  wire logic                       step_first,
    input  wire logic                       step_last,
    input  wire logic                       read_set,
    input  wire logic                       last_read,
    input  wire logic [NB-1:0]              step_tag,
    input  wire logic [8:0]                 out_free,
    input  wire logic [PIPE_STAGES-1:0]     pipe_valid,
    output logic                            busy,
    output logic                            issuing,
    output logic                            pass_first,
    output logic                            pass_last,
    output logic                            pass_set,
    output logic                            pass_last_read,
    output logic      [NB-1:0]              pass_tag,
    output logic                            issue,
    output logic                            issue_eos,
    output logic      [TILE_INDEX_BITS-1:0] tile_index,
    output logic      [TYB-1:0]             tile_row,
    output logic      [TXB-1:0]             tile_col,
    output logic      [TP-1:0]              member_valid,
    output logic      [TP*ROW_BANK_BITS-1:0] member_bank_row,
    output logic      [TP*COL_BANK_BITS-1:0] member_bank_col,
    output logic      [TP*DAB-1:0]          member_addr,
    output logic      [TY*EYB-1:0]          out_row,
    output logic      [TX*EXB-1:0]          out_col
);
  localparam int TILES = TILES_Y * TILES_X;  // tiles per pass; tile index TILES: the token
  localparam int COL_ADDR_BITS = sf_util::bits(BANK_DEPTH_X);
  localparam int OUT_ROW_BITS = sf_util::bits(OUT_ROWS), OUT_COL_BITS = sf_util::bits(OUT_COLS);
  localparam int ROW_ENTRY_BITS = 1 + ROW_BANK_BITS + DAB + OUT_ROW_BITS;
  localparam int COL_ENTRY_BITS = 1 + COL_BANK_BITS + COL_ADDR_BITS + OUT_COL_BITS;
  localparam int FLIGHT_BITS = sf_util::bits(PIPE_STAGES + 1);

  if (PIPE_STAGES >= 256) begin : g_bad_stages
    $error("sf_tile_issue: PIPE_STAGES must be below 256 (the credit compare is 9 bits)");
  end

  logic [TY*ROW_ENTRY_BITS-1:0] row_table[0:TILES_Y-1];
  logic [TX*COL_ENTRY_BITS-1:0] col_table[0:TILES_X-1];
  if (ROW_TILES_FILE != "") begin : g_load_row_table
    initial $readmemh(ROW_TILES_FILE, row_table);
  end
  if (COL_TILES_FILE != "") begin : g_load_col_table
    initial $readmemh(COL_TILES_FILE, col_table);
  end

  // ---- the pass: tile counter and flags ----
  logic active_q;
  logic [TILE_INDEX_BITS-1:0] tile_index_q;
  logic [TYB-1:0] tile_row_q;
  logic [TXB-1:0] tile_col_q;
  logic [FLIGHT_BITS-1:0] in_flight;
  always_comb begin
    in_flight = '0;
    for (int s = 0; s < PIPE_STAGES; s++) in_flight = in_flight + FLIGHT_BITS'(pipe_valid[s]);
  end
  assign issue = active_q && (out_free > 9'(in_flight));
  assign issue_eos = tile_index_q == TILE_INDEX_BITS'(TILES);
  assign issuing = active_q;
  assign busy = active_q || (|pipe_valid);

  always_ff @(posedge clk) begin
    if (rst) begin
      active_q <= 1'b0;
    end else if (start && !busy) begin
      active_q <= 1'b1;
      tile_row_q <= '0;
      tile_col_q <= '0;
      tile_index_q <= '0;
      pass_first <= step_first;
      pass_last <= step_last;
      pass_set <= read_set;
      pass_last_read <= last_read;
      pass_tag <= step_tag;
    end else if (issue) begin
      if (issue_eos) active_q <= 1'b0;
      tile_index_q <= tile_index_q + 1'b1;
      if (tile_col_q == TXB'(TILES_X - 1)) begin
        tile_col_q <= '0;
        tile_row_q <= tile_row_q + 1'b1;
      end else tile_col_q <= tile_col_q + 1'b1;
    end
  end
  assign tile_index = tile_index_q;
  assign tile_row = tile_row_q;
  assign tile_col = tile_col_q;

  // ---- the tile's members from the tables ----
  logic [TY*ROW_ENTRY_BITS-1:0] row_entry;
  logic [TX*COL_ENTRY_BITS-1:0] col_entry;
  assign row_entry = row_table[issue_eos ? 0 : 32'(tile_row_q)];
  assign col_entry = col_table[issue_eos ? 0 : 32'(tile_col_q)];
  for (genvar dy = 0; dy < TY; dy++) begin : g_member_row
    localparam int R = dy * ROW_ENTRY_BITS;  // this tile row's entry
    for (genvar dx = 0; dx < TX; dx++) begin : g_member_col
      localparam int C = dx * COL_ENTRY_BITS;  // this tile column's entry
      localparam int M = dy * TX + dx;
      assign member_valid[M] = row_entry[R] && col_entry[C] && !issue_eos;
      assign member_bank_row[M*ROW_BANK_BITS+:ROW_BANK_BITS] = row_entry[R+1+:ROW_BANK_BITS];
      assign member_bank_col[M*COL_BANK_BITS+:COL_BANK_BITS] = col_entry[C+1+:COL_BANK_BITS];
      assign member_addr[M*DAB+:DAB] = row_entry[R+1+ROW_BANK_BITS+:DAB]
          + DAB'(col_entry[C+1+COL_BANK_BITS+:COL_ADDR_BITS]);
    end
    assign out_row[dy*EYB+:EYB] = EYB'(row_entry[R+1+ROW_BANK_BITS+DAB+:OUT_ROW_BITS]);
  end
  for (genvar dx = 0; dx < TX; dx++) begin : g_out_col
    localparam int C = dx * COL_ENTRY_BITS;
    assign out_col[dx*EXB+:EXB] =
        EXB'(col_entry[C+1+COL_BANK_BITS+COL_ADDR_BITS+:OUT_COL_BITS]);
  end

`ifdef SF_ASSERTIONS
  // a pass begins only when the previous one has left the pipeline (its flags would change
  // under the tiles still in flight)
  a_start_idle: assert property (@(posedge clk) disable iff (rst) start |-> !busy)
    else $error("sf_tile_issue: start while busy");
  // credits never negative: the FIFO has room for every tile in flight (a free count above
  // 256, the deepest FIFO, is a wrapped negative one)
  a_credits: assert property (@(posedge clk) disable iff (rst)
      out_free <= 9'd256 && out_free >= 9'(in_flight))
    else $error("sf_tile_issue: %0d free FIFO slots, %0d tiles in flight", out_free, in_flight);
`endif
endmodule

`default_nettype wire

// sf_bank_crossbar: the neuron unit's (sf_neuron) path to the synapse array's current banks.
//
// Two halves, two cycles apart in the neuron unit's pipeline:
//   request (stage R): each valid tile member sends its bank address to its bank; a
//     tile's members lie in distinct banks (the plan and the tables guarantee it, and an
//     assertion checks it), so a bank serves at most one member. On the set's last pass
//     the request also tags the words read (syn_last).
//   response (stage D, the banks' synchronous read words): each member takes its bank's
//     word of the current set the pass reads; a word that is not of the set's present
//     unit (syn_rvalid low) reads as zero.
// When a tile covers every bank once (TY = BANK_ROWS, TX = BANK_COLS) each member lies in
// the same bank in every tile and the response is wiring; otherwise it is an AND-OR
// multiplexer over the (set, bank) words.
//
// Parameters:
//   TY, TX                       fire tile: TY x TX members (member m = dy * TX + dx)
//   CO                           channels per bank word
//   CB                           current bits
//   NSET                         current sets: 1 or 2
//   BANK_ROWS, BANK_COLS         the current banks (bank b = row * BANK_COLS + column)
//   TILE_ORIGIN_Y, TILE_ORIGIN_X aligned tiles: the bank row and column of member 0
//   DAB                          bank address bits
//
// Ports:
//   clk, rst         clock and synchronous reset: for the assertions only
//   req_valid        R: a tile (not the end-of-step token) is in stage R
//   req_last_read    R: the pass is the set's last: tag the words read
//   req_member_valid R: per member, inside the map
//   req_bank_row     R: per member, its bank's row x BANK_COLS
//   req_bank_col     R: per member, its bank's column
//   req_addr         R: per member, its address in its bank
//   syn_addr         per bank: the read address (0 when no member reads it)
//   syn_last         per bank: tag the word read (the set's last pass)
//   rsp_set          D: the current set the pass reads
//   rsp_bank_row     D: per member, its bank's row x BANK_COLS
//   rsp_bank_col     D: per member, its bank's column
//   syn_rdata        per set and bank: the word read (set-major, channel-minor)
//   syn_rvalid       per set and bank: the word belongs to the set's present unit
//   member_current   D: per member, its CO currents (member-major, channel-minor)

`default_nettype none

module sf_bank_crossbar #(
    parameter int TY = 1,
    parameter int TX = 1,
    parameter int CO = 1,
    parameter int CB = 16,
    parameter int NSET = 1,
    parameter int BANK_ROWS = 1,
    parameter int BANK_COLS = 1,
    parameter int TILE_ORIGIN_Y = 0,
    parameter int TILE_ORIGIN_X = 0,
    parameter int DAB = 1,
    // derived (do not override)
    localparam int TP = TY * TX,
    localparam int NBK = BANK_ROWS * BANK_COLS,
    localparam int ROW_BANK_BITS = sf_util::bits(NBK),
    localparam int COL_BANK_BITS = sf_util::bits(BANK_COLS)
) (
    /* verilator lint_off UNUSEDSIGNAL */  // only the assertions read them
    input  wire logic                          clk,
    input  wire logic                          rst,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire logic                          req_valid,
    input  wire logic                          req_last_read,
    input  wire logic [TP-1:0]                 req_member_valid,
    input  wire logic [TP*ROW_BANK_BITS-1:0]   req_bank_row,
    input  wire logic [TP*COL_BANK_BITS-1:0]   req_bank_col,
    input  wire logic [TP*DAB-1:0]             req_addr,
    output logic      [NBK*DAB-1:0]            syn_addr,
    output logic      [NBK-1:0]                syn_last,
    input  wire logic                          rsp_set,
    input  wire logic [TP*ROW_BANK_BITS-1:0]   rsp_bank_row,
    input  wire logic [TP*COL_BANK_BITS-1:0]   rsp_bank_col,
    input  wire logic [NSET*NBK*CO*CB-1:0]     syn_rdata,
    input  wire logic [NSET*NBK-1:0]           syn_rvalid,
    output logic      [TP*CO*CB-1:0]           member_current
);
  // ---- request: each bank serves at most one member ----
  for (genvar b = 0; b < NBK; b++) begin : g_bank
    always_comb begin
      syn_addr[b*DAB+:DAB] = '0;
      syn_last[b] = 1'b0;
      for (int m = 0; m < TP; m++) begin
        if (req_member_valid[m] && 32'(req_bank_row[m*ROW_BANK_BITS+:ROW_BANK_BITS])
            + 32'(req_bank_col[m*COL_BANK_BITS+:COL_BANK_BITS]) == b) begin
          syn_addr[b*DAB+:DAB] = req_addr[m*DAB+:DAB];
          syn_last[b] = req_valid && req_last_read;
        end
      end
    end
  end

  // ---- response: each member's currents ----
  if (TY == BANK_ROWS && TX == BANK_COLS) begin : g_aligned
    // a tile covers every bank once, each member the same bank in every tile: wires
    for (genvar dy = 0; dy < TY; dy++) begin : g_member_row
      for (genvar dx = 0; dx < TX; dx++) begin : g_member_col
        localparam int B = ((dy + BANK_ROWS - TILE_ORIGIN_Y) % BANK_ROWS) * BANK_COLS
            + (dx + BANK_COLS - TILE_ORIGIN_X) % BANK_COLS;
        localparam int M = dy * TX + dx;
        logic [CO*CB-1:0] word;
        logic word_valid;
        assign word = (NSET > 1 && rsp_set) ? syn_rdata[((NSET-1)*NBK+B)*CO*CB+:CO*CB]
                                            : syn_rdata[B*CO*CB+:CO*CB];
        assign word_valid = (NSET > 1 && rsp_set) ? syn_rvalid[(NSET-1)*NBK+B] : syn_rvalid[B];
        assign member_current[M*CO*CB+:CO*CB] = word_valid ? word : '0;
      end
    end
    logic unused_banks;
    assign unused_banks = ^{rsp_bank_row, rsp_bank_col};
  end else begin : g_mux
    // an AND-OR multiplexer over the (set, bank) words (a variable part-select would
    // synthesize to a barrel shifter across all banks' data)
    for (genvar m = 0; m < TP; m++) begin : g_member
      always_comb begin
        member_current[m*CO*CB+:CO*CB] = '0;
        for (int st = 0; st < NSET; st++) begin
          for (int b = 0; b < NBK; b++) begin
            if ((NSET == 1 || 32'(rsp_set) == st) && syn_rvalid[st*NBK+b] &&
                32'(rsp_bank_row[m*ROW_BANK_BITS+:ROW_BANK_BITS])
                + 32'(rsp_bank_col[m*COL_BANK_BITS+:COL_BANK_BITS]) == b) begin
              member_current[m*CO*CB+:CO*CB] =
                  member_current[m*CO*CB+:CO*CB] | syn_rdata[(st*NBK+b)*CO*CB+:CO*CB];
            end
          end
        end
      end
    end
  end

`ifdef SF_ASSERTIONS
  // no bank conflict: in a tile, each bank is read by at most one valid member
  for (genvar b = 0; b < NBK; b++) begin : g_bank_check
    logic [TP-1:0] readers;
    for (genvar m = 0; m < TP; m++) begin : g_member
      assign readers[m] = req_member_valid[m]
          && 32'(req_bank_row[m*ROW_BANK_BITS+:ROW_BANK_BITS])
          + 32'(req_bank_col[m*COL_BANK_BITS+:COL_BANK_BITS]) == b;
    end
    a_one_reader: assert property (@(posedge clk) disable iff (rst)
        req_valid |-> $onehot0(readers))
      else $error("sf_bank_crossbar: bank %0d read by members %b in one tile", b, readers);
  end
`endif
endmodule

`default_nettype wire

// sf_synapse: the event-driven synapse array of one stage.
//
// The stage's currents live in BANK_ROWS x BANK_COLS banks (output row mod BANK_ROWS,
// column mod BANK_COLS), each a memory of CO-channel words. One input event (y, x, c[,
// input value]) reaches a footprint of output positions; every bank has its own queue of
// the events that reach it and works through them on its own, one target per cycle, so no
// bank idles while another finishes an event: the array takes one event per cycle and
// updates up to BANK_ROWS * BANK_COLS * CO neurons per cycle. The end of a unit (a step,
// or the analog image) is a token in every queue, so a bank that is done with a step goes
// on with the next one while others finish theirs; a set is done (`done`) when every bank
// has landed it. Every bank has its own copy of the kernel, one word of CO weights per
// (input channel, kernel row, kernel column), read at its target's index.
//
// This module is the composition; per bank:
//   sf_event_dispatch    Q (the queue), L (the head event, target by target), A (the
//                        geometry tables: the target's bank address and weight address)
//   here                 B (the weight word: a synchronous read of the bank's kernel
//                        copy), [M (analog only: weight x input value, registered)]
//   sf_accumulator_bank  U (read of the addressed words), W (add and write back, the sum
//                        of the update ahead forwarded), the current sets with their epochs
//                        and tags, the neuron unit's reads, the landed flags
// and here too: a dense layer's flattening of (y, x, c) to channels (a table), the
// array's ready (every queue has room) and `done` (every bank has landed the set). The
// bank's update port takes a target a cycle before its increment (A then B; analog: B then
// M). The neuron unit reads the banks through the nu_* port, the data two cycles after the
// address; a set is cleared by flipping its epoch (sf_accumulator_bank).
//
// Parameters (sf_stage passes its slice of sf_params):
//   FLATTEN               1: a dense layer; events (y, x, c) flatten to channels
//   ANALOG                1: events carry input values (the analog first layer: M stage)
//   SRC_ROWS, SRC_COLS    source shape before flattening
//   IN_ROWS, IN_COLS, IN_CHANNELS  the array's input (rows and columns 1 if dense)
//   CO, CB, WB            output channels (one bank word), current bits, weight bits
//   KERNEL_ROWS, KERNEL_COLS  kernel size
//   BANK_ROWS, BANK_COLS  banks; BANK_DEPTH_Y, BANK_DEPTH_X: a bank's outputs (its words)
//   GROUPS_Y, GROUPS_X    target groups per input row / column (the tables)
//   NSET                  current sets: 1, or 2 (double buffering)
//   EYB, EXB, ECB         event coordinate bits (the widest link's; this stage may use
//                         fewer)
//   EVB, VALUE_SIGNED     an event's value bits and signedness (analog)
//   ROW_TARGETS_FILE, COL_TARGETS_FILE, ROW_COUNTS_FILE, COL_COUNTS_FILE  the geometry
//                         tables ($readmemh, generated: sw/spikeforge/rtl/params.py)
//   FLAT_BASE_FILE        dense: (y * SRC_COLS + x) * channels per (y, x)
//   WEIGHTS_FILE          per (input channel, kernel position): CO weights
//
// Ports:
//   ev_valid, ev_ready    input events and end-of-unit tokens (ev_eos): (ev_y, ev_x, ev_c)
//                         and the analog value ev_val
//   done                  per set: its unit is accumulated in every bank
//   clr_en, clr_addr      after reset: mark word clr_addr of every set of every bank stale
//   free, free_set        a set's fire pass is over: its words become stale (zero) and
//                         the banks may accumulate their next unit there
//   nu_en, nu_set         the neuron unit reads set nu_set: per bank an address (nu_addr)
//                         and whether it is the word's last read this unit (nu_last)
//   nu_rdata, nu_rvalid   per set and bank, two cycles after the address: the word, and
//                         whether it holds the unit's current (else the current is zero)

`default_nettype none

module sf_synapse #(
    // the layer (sf_stage passes its slice of sf_params)
    parameter int FLATTEN = 0,       // 1: a dense layer; events (y, x, c) flatten to channels
    parameter int ANALOG = 0,        // 1: events carry input values (the analog first layer)
    parameter int SRC_ROWS = 1,      // source shape before flattening (rows, columns)
    parameter int SRC_COLS = 1,
    parameter int IN_ROWS = 1,       // array input: rows, columns (1 if dense), channels
    parameter int IN_COLS = 1,
    parameter int IN_CHANNELS = 1,
    parameter int CO = 1,            // output channels (one bank word holds all of them)
    parameter int CB = 16,           // current (partial sum) bits
    parameter int WB = 8,            // weight bits
    parameter int KERNEL_ROWS = 1,
    parameter int KERNEL_COLS = 1,
    // the current banks: BANK_ROWS x BANK_COLS memories of BANK_DEPTH_Y x BANK_DEPTH_X words
    parameter int BANK_ROWS = 1,
    parameter int BANK_COLS = 1,
    parameter int BANK_DEPTH_Y = 1,
    parameter int BANK_DEPTH_X = 1,
    parameter int GROUPS_Y = 1,      // target groups per input row / column (tables)
    parameter int GROUPS_X = 1,
    parameter int NSET = 1,          // current sets: 1, or 2 (double buffering)
    // events: coordinate bits and the analog value's bits and signedness
    parameter int EYB = 1,
    parameter int EXB = 1,
    parameter int ECB = 1,
    parameter int EVB = 8,
    parameter int VALUE_SIGNED = 0,
    // $readmemh files (generated: sw/spikeforge/rtl/params.py)
    parameter ROW_TARGETS_FILE = "",  // per input row and group: bank address, kernel row
    parameter COL_TARGETS_FILE = "",  // per input column and group: the same for columns
    parameter ROW_COUNTS_FILE = "",  // per input row: targets in each bank row
    parameter COL_COUNTS_FILE = "",  // per input column: targets in each bank column
    parameter FLAT_BASE_FILE = "",  // dense: (y * SRC_COLS + x) * channels per (y, x)
    parameter WEIGHTS_FILE = "",  // per (input channel, kernel position): CO weights
    // derived (do not override)
    localparam int NBK = BANK_ROWS * BANK_COLS,  // banks
    localparam int DAB = sf_util::bits(BANK_DEPTH_Y * BANK_DEPTH_X)  // bank address bits
) (
    input  wire logic                        clk,
    input  wire logic                        rst,
    // input events and end-of-unit tokens (the end of a step, or of the analog image)
    input  wire logic                        ev_valid,
    output logic                             ev_ready,
    input  wire logic                        ev_eos,
    input  wire logic [EYB-1:0]              ev_y,
    input  wire logic [EXB-1:0]              ev_x,
    input  wire logic [ECB-1:0]              ev_c,
    input  wire logic [EVB-1:0]              ev_val,
    output logic      [1:0]                  done,      // per set: its unit is accumulated
    // after reset: mark every word of every set stale (address clr_addr of every bank)
    input  wire logic                        clr_en,
    input  wire logic [DAB-1:0]              clr_addr,
    // a set's fire pass is over: all its words become stale, i.e. zero, and the banks may
    // accumulate their next unit there
    input  wire logic                        free,
    input  wire logic                        free_set,
    // neuron unit port on set nu_set: per bank, a read address; per set and bank, the
    // word and whether it holds this unit's current (else the current is zero), two
    // cycles after the address
    input  wire logic                        nu_en,
    input  wire logic                        nu_set,
    input  wire logic [NBK*DAB-1:0]          nu_addr,
    input  wire logic [NBK-1:0]              nu_last,   // last read of the word this unit
    output logic      [NSET*NBK*CO*CB-1:0]   nu_rdata,
    output logic      [NSET*NBK-1:0]         nu_rvalid
);
  localparam int DEPTH = BANK_DEPTH_Y * BANK_DEPTH_X;  // words per bank
  localparam int WDEPTH = IN_CHANNELS * KERNEL_ROWS * KERNEL_COLS;  // weight words of a bank
  localparam int WW = CO * WB;  // weight word bits
  // an analog event's value: EVB bits of an input element, two's complement if VALUE_SIGNED;
  // as a signed number it takes VW bits, a weight x value product PB
  localparam int VW = EVB + 1 - VALUE_SIGNED;
  localparam int PB = WB + VW;
  localparam int CIB = sf_util::bits(IN_CHANNELS);  // array channel index bits
  localparam int IYB = sf_util::bits(IN_ROWS);  // array coordinates
  localparam int IXB = sf_util::bits(IN_COLS);
  localparam int WAB = sf_util::bits(WDEPTH);  // weight address bits
  localparam int SYB = sf_util::bits(SRC_ROWS);  // source coordinates
  localparam int SXB = sf_util::bits(SRC_COLS);
  localparam int QUEUE_DEPTH = 64;  // events a bank may lag behind the array's input

  if (NSET < 1 || NSET > 2) begin : g_bad_sets
    $error("sf_synapse: NSET must be 1 or 2");
  end
  if (BANK_ROWS < 1 || BANK_COLS < 1 || GROUPS_Y < 1 || GROUPS_X < 1 ||
      CB <= (ANALOG != 0 ? PB : WB) || CB > 62) begin : g_bad_geometry
    $error("sf_synapse: bank and group counts must be >= 1, CB in WB+1 (PB+1 analog) .. 62");
  end

  // ---- the array's input: source coordinates -> array coordinates (a dense layer
  // flattens them); every bank queues the events with a target there and every token ----
  logic [IYB-1:0] in_y;
  logic [IXB-1:0] in_x;
  logic [CIB-1:0] in_c;
  if (FLATTEN != 0) begin : g_flatten
    // (y * SRC_COLS + x) * SC from a table indexed by {y, x}: no multiplier on the event path
    logic [CIB-1:0] flat_base[0:(1<<(SYB+SXB))-1];
    if (FLAT_BASE_FILE != "") begin : g_load_flat_base
      initial $readmemh(FLAT_BASE_FILE, flat_base);
    end
    assign in_y = '0;
    assign in_x = '0;
    assign in_c = flat_base[{ev_y[SYB-1:0], ev_x[SXB-1:0]}] + CIB'(ev_c);
  end else begin : g_direct
    assign in_y = IYB'(ev_y);
    assign in_x = IXB'(ev_x);
    assign in_c = CIB'(ev_c);
  end
  // event coordinates are as wide as the widest link; this stage may use fewer bits
  logic unused_coords;
  assign unused_coords = ^{ev_y, ev_x, ev_c};
  logic [NBK-1:0] queue_room;  // per bank: its queue has room for one more
  assign ev_ready = !clr_en && &queue_room;

  // the side signals of a bank's target on its way to the bank's update port (the analog
  // layer's B stage)
  typedef struct packed {
    logic set;
    logic [DAB-1:0] addr;
    logic [EVB-1:0] value;
  } target_t;
  localparam int TW = 1 + DAB + EVB;  // target_t's bits (yosys has no $bits of a type)

  logic [2*NBK-1:0] landed;  // per set and bank: the unit's token has left the bank's W
  for (genvar st = 0; st < 2; st++) begin : g_done
    assign done[st] = &landed[st*NBK+:NBK];
  end
  for (genvar b = 0; b < NBK; b++) begin : g_bank
    // ---- Q, L, A: the bank's queue, its events' targets and their table entries ----
    logic target_valid, target_set, token_valid, token_set;
    logic [DAB-1:0] target_addr;
    logic [WAB-1:0] target_waddr;
    logic [EVB-1:0] target_value;
    sf_event_dispatch #(
        .BANK_ROW(b / BANK_COLS),
        .BANK_COL(b % BANK_COLS),
        .BANK_ROWS(BANK_ROWS),
        .BANK_COLS(BANK_COLS),
        .IN_ROWS(IN_ROWS),
        .IN_COLS(IN_COLS),
        .IN_CHANNELS(IN_CHANNELS),
        .KERNEL_ROWS(KERNEL_ROWS),
        .KERNEL_COLS(KERNEL_COLS),
        .BANK_DEPTH_Y(BANK_DEPTH_Y),
        .BANK_DEPTH_X(BANK_DEPTH_X),
        .GROUPS_Y(GROUPS_Y),
        .GROUPS_X(GROUPS_X),
        .NSET(NSET),
        .EVB(EVB),
        .QUEUE_DEPTH(QUEUE_DEPTH),
        .ROW_TARGETS_FILE(ROW_TARGETS_FILE),
        .COL_TARGETS_FILE(COL_TARGETS_FILE),
        .ROW_COUNTS_FILE(ROW_COUNTS_FILE),
        .COL_COUNTS_FILE(COL_COUNTS_FILE)
    ) u_dispatch (
        .clk,
        .rst,
        .in_take(ev_valid && ev_ready),
        .in_eos(ev_eos),
        .in_y,
        .in_x,
        .in_c,
        .in_value(ev_val),
        .in_room(queue_room[b]),
        .free,
        .free_set,
        .target_valid,
        .target_set,
        .target_addr,
        .target_waddr,
        .target_value,
        .token_valid,
        .token_set
    );

    // ---- B: the weight word (a synchronous read of the bank's own kernel copy) ----
    logic [WW-1:0] kernel[0:WDEPTH-1];
    logic [WW-1:0] weight_q;
    if (WEIGHTS_FILE != "") begin : g_load_kernel
      initial $readmemh(WEIGHTS_FILE, kernel);
    end
    always_ff @(posedge clk) weight_q <= kernel[target_waddr];

    // the update port of the bank: the target a cycle before its increment (P), and the
    // increment (U); the token beside it
    logic update_valid, update_set, update_token, update_token_set;
    logic [DAB-1:0] update_addr;
    logic [CO*CB-1:0] update_incr;
    if (ANALOG != 0) begin : g_analog
      // P is B; M (U): weight x input value, registered before the update
      target_t target_a, target_b;
      logic [1:0] unused_stage_valid;
      assign target_a = {target_set, target_addr, target_value};
      sf_pipe #(
          .WIDTH(TW),
          .STAGES(1)
      ) u_target_pipe (
          .clk,
          .rst,
          .i_valid(target_valid),
          .i_data(target_a),
          .o_valid(update_valid),
          .o_data(target_b),
          .stage_valid(unused_stage_valid[0])
      );
      sf_pipe #(
          .WIDTH(1),
          .STAGES(1)
      ) u_token_pipe (
          .clk,
          .rst,
          .i_valid(token_valid),
          .i_data(token_set),
          .o_valid(update_token),
          .o_data(update_token_set),
          .stage_valid(unused_stage_valid[1])
      );
      for (genvar co = 0; co < CO; co++) begin : g_mul
        logic signed [WB-1:0] weight;
        logic signed [VW-1:0] value;  // unsigned inputs: zero-extended by one bit
        logic signed [PB-1:0] product;
        logic [CB-1:0] product_q;
        assign weight = weight_q[co*WB+:WB];
        assign value = VW'(target_b.value);
        assign product = weight * value;
        // CB > PB (generator): sign-extend the product
        always_ff @(posedge clk) product_q <= {{(CB - PB) {product[PB-1]}}, product};
        assign update_incr[co*CB+:CB] = product_q;
      end
      assign update_set = target_b.set;
      assign update_addr = target_b.addr;
    end else begin : g_binary
      // P is A; U is B
      for (genvar co = 0; co < CO; co++) begin : g_ext
        // CB > WB (generator): sign-extend the weight
        assign update_incr[co*CB+:CB] = {{(CB - WB) {weight_q[co*WB+WB-1]}}, weight_q[co*WB+:WB]};
      end
      assign update_valid = target_valid;
      assign update_set = target_set;
      assign update_addr = target_addr;
      assign update_token = token_valid;
      assign update_token_set = token_set;
      logic unused_value;
      assign unused_value = ^target_value;
    end

    // ---- U, W: the bank's current sets ----
    logic [NSET*CO*CB-1:0] bank_rdata;
    logic [NSET-1:0] bank_rvalid;
    sf_accumulator_bank #(
        .CO(CO),
        .CB(CB),
        .DEPTH(DEPTH),
        .NSET(NSET)
    ) u_bank (
        .clk,
        .rst,
        .clr_en,
        .clr_addr,
        .free,
        .free_set,
        .update_valid,
        .update_set,
        .update_addr,
        .update_incr,
        .token_valid(update_token),
        .token_set(update_token_set),
        .nu_en,
        .nu_set,
        .nu_addr(nu_addr[b*DAB+:DAB]),
        .nu_last(nu_last[b]),
        .nu_rdata(bank_rdata),
        .nu_rvalid(bank_rvalid),
        .landed({landed[NBK+b], landed[b]})
    );
    for (genvar st = 0; st < NSET; st++) begin : g_out
      assign nu_rdata[(st*NBK+b)*CO*CB+:CO*CB] = bank_rdata[st*CO*CB+:CO*CB];
      assign nu_rvalid[st*NBK+b] = bank_rvalid[st];
    end

`ifdef SF_ASSERTIONS
    // `done` for a set only when every bank has landed it: no target or token of the set
    // is left in the bank's A or B stage (the bank checks U and W: a_no_update_landed)
    for (genvar st = 0; st < 2; st++) begin : g_check_done
      a_done_drained: assert property (@(posedge clk) disable iff (rst)
          done[st] |-> !(target_valid && target_set == st[0]) &&
                       !(token_valid && token_set == st[0]) &&
                       !(update_valid && update_set == st[0]) &&
                       !(update_token && update_token_set == st[0]))
        else $error("sf_synapse: set %0d done with a target of bank %0d in flight", st, b);
    end
`endif
  end
endmodule

`default_nettype wire

// sf_event_dispatch: one synapse bank's event queue and target expansion.
//
// A stage's currents live in BANK_ROWS x BANK_COLS banks (output row mod BANK_ROWS, column
// mod BANK_COLS); this module serves the bank at (BANK_ROW, BANK_COL). An input event
// (y, x, c[, value]) reaches a footprint of output positions; the generated tables list,
// per input coordinate and bank, the targets in that bank (address and kernel index, the
// bank's n-th target in group n) and how many there are. The bank queues every event with
// a target here and every end-of-unit token, and expands the queue's head into its targets,
// one per cycle (row-major over the bank's target groups), on its own pace: the array
// takes an event whenever every bank's queue has room. The end-of-unit token moves the
// bank on to the other current set (with two), which it takes only once that set's last
// unit has been fired and freed.
//
// Pipeline: Q (the queue) -> L (the head event, target by target) -> A (the tables: the
// target's bank address and the weight address in the bank's kernel copy; registered
// outputs). The A stage's target and the end-of-unit token may leave in the same cycle
// (the token follows the event's last target): they leave side by side.
//
// Parameters:
//   BANK_ROW, BANK_COL    this bank's place among the banks (0 ..)
//   BANK_ROWS, BANK_COLS  banks per output row / column (the tables' entry layout)
//   IN_ROWS, IN_COLS      the array's input rows and columns (1 for a dense layer)
//   IN_CHANNELS           the array's input channels
//   KERNEL_ROWS, KERNEL_COLS  kernel size (weight words per input channel: their product)
//   BANK_DEPTH_Y, BANK_DEPTH_X  words of a bank (rows x columns of outputs it owns)
//   GROUPS_Y, GROUPS_X    target groups per input row / column
//   NSET                  current sets: 1, or 2 (double buffering)
//   EVB                   bits of an event's value (carried to the analog multiply)
//   QUEUE_DEPTH           events the bank may lag behind the array's input
//   ROW_TARGETS_FILE      $readmemh: per {input row, group}, every bank's {kernel row x
//                         KERNEL_COLS, bank address row x BANK_DEPTH_X}
//   COL_TARGETS_FILE      per {input column, group}: every bank's {kernel column, column}
//   ROW_COUNTS_FILE       per input row: every bank row's target count
//   COL_COUNTS_FILE       per input column: every bank column's target count
//
// Ports:
//   in_take               the array takes in_* this cycle (every bank's queue has room)
//   in_eos                it is an end-of-unit token (queued by every bank)
//   in_y, in_x, in_c      an event's array coordinates (queued only with a target here)
//   in_value              an event's input value (the analog layer)
//   in_room               the queue has room for one more
//   free, free_set        the neuron unit is done with set free_set: the bank may take it
//   target_valid          a target is in A (target_*: its fields)
//   target_set            the current set it adds to
//   target_addr           its word in the bank
//   target_waddr          its weight word in the bank's kernel copy
//   target_value          its event's input value
//   token_valid           the bank's end-of-unit token of set token_set is in A (it follows
//                         the unit's last target, possibly in the same cycle)

`default_nettype none

module sf_event_dispatch #(
    parameter int BANK_ROW = 0,
    parameter int BANK_COL = 0,
    parameter int BANK_ROWS = 1,
    parameter int BANK_COLS = 1,
    parameter int IN_ROWS = 1,
    parameter int IN_COLS = 1,
    parameter int IN_CHANNELS = 1,
    parameter int KERNEL_ROWS = 1,
    parameter int KERNEL_COLS = 1,
    parameter int BANK_DEPTH_Y = 1,
    parameter int BANK_DEPTH_X = 1,
    parameter int GROUPS_Y = 1,
    parameter int GROUPS_X = 1,
    parameter int NSET = 1,
    parameter int EVB = 8,
    parameter int QUEUE_DEPTH = 64,
    parameter ROW_TARGETS_FILE = "",
    parameter COL_TARGETS_FILE = "",
    parameter ROW_COUNTS_FILE = "",
    parameter COL_COUNTS_FILE = "",
    // derived (do not override)
    localparam int DAB = sf_util::bits(BANK_DEPTH_Y * BANK_DEPTH_X),  // bank address bits
    localparam int WAB = sf_util::bits(IN_CHANNELS * KERNEL_ROWS * KERNEL_COLS),  // weights
    localparam int IYB = sf_util::bits(IN_ROWS),  // array input coordinates
    localparam int IXB = sf_util::bits(IN_COLS),
    localparam int CIB = sf_util::bits(IN_CHANNELS)
) (
    input  wire logic           clk,
    input  wire logic           rst,
    input  wire logic           in_take,
    input  wire logic           in_eos,
    input  wire logic [IYB-1:0] in_y,
    input  wire logic [IXB-1:0] in_x,
    input  wire logic [CIB-1:0] in_c,
    input  wire logic [EVB-1:0] in_value,
    output logic                in_room,
    input  wire logic           free,
    input  wire logic           free_set,
    output logic                target_valid,
    output logic                target_set,
    output logic      [DAB-1:0] target_addr,
    output logic      [WAB-1:0] target_waddr,
    output logic      [EVB-1:0] target_value,
    output logic                token_valid,
    output logic                token_set
);
  localparam int KHW = KERNEL_ROWS * KERNEL_COLS;  // weight words per input channel
  // table entry layouts (LSB first): per bank {address, kernel index}; the row table's
  // address and kernel row come multiplied by BANK_DEPTH_X and KERNEL_COLS (adds, no
  // multipliers)
  localparam int COL_ADDR_BITS = sf_util::bits(BANK_DEPTH_X);
  localparam int ROW_KERN_BITS = sf_util::bits(KHW), COL_KERN_BITS = sf_util::bits(KERNEL_COLS);
  localparam int ROW_FIELD_BITS = DAB + ROW_KERN_BITS;  // a bank's field in a table entry
  localparam int COL_FIELD_BITS = COL_ADDR_BITS + COL_KERN_BITS;
  localparam int GYB = sf_util::bits(GROUPS_Y), GXB = sf_util::bits(GROUPS_X);
  localparam int NYB = sf_util::bits(GROUPS_Y + 1);  // target counts
  localparam int NXB = sf_util::bits(GROUPS_X + 1);
  localparam int QW = 1 + EVB + CIB + IXB + IYB;  // a queue entry's bits

  if (BANK_ROW < 0 || BANK_ROW >= BANK_ROWS || BANK_COL < 0 || BANK_COL >= BANK_COLS ||
      NSET < 1 || NSET > 2) begin : g_bad_bank
    $error("sf_event_dispatch: BANK_ROW/BANK_COL outside the banks, or NSET not 1 or 2");
  end

  // ---- the tables (every bank's fields; this bank reads its own) ----
  logic [BANK_ROWS*ROW_FIELD_BITS-1:0] row_targets[0:(1<<(IYB+GYB))-1];  // {y, group}
  logic [BANK_COLS*COL_FIELD_BITS-1:0] col_targets[0:(1<<(IXB+GXB))-1];  // {x, group}
  logic [BANK_ROWS*NYB-1:0] row_counts[0:(1<<IYB)-1];  // 0: no target in the bank row
  logic [BANK_COLS*NXB-1:0] col_counts[0:(1<<IXB)-1];
  if (ROW_TARGETS_FILE != "") begin : g_load_row_targets
    initial $readmemh(ROW_TARGETS_FILE, row_targets);
  end
  if (COL_TARGETS_FILE != "") begin : g_load_col_targets
    initial $readmemh(COL_TARGETS_FILE, col_targets);
  end
  if (ROW_COUNTS_FILE != "") begin : g_load_row_counts
    initial $readmemh(ROW_COUNTS_FILE, row_counts);
  end
  if (COL_COUNTS_FILE != "") begin : g_load_col_counts
    initial $readmemh(COL_COUNTS_FILE, col_counts);
  end

  // ---- Q: every event with a target in this bank, and every end-of-unit token ----
  typedef struct packed {
    logic mark;  // an end-of-unit token
    logic [EVB-1:0] value;
    logic [CIB-1:0] channel;
    logic [IXB-1:0] x;
    logic [IYB-1:0] y;
  } queue_entry_t;
  logic in_hit, queue_push, queue_valid, queue_pop;
  queue_entry_t queue_in, queue_head;
  logic [QW-1:0] queue_head_bits;
  logic [8:0] queue_free;
  assign in_hit = row_counts[in_y][BANK_ROW*NYB+:NYB] != '0 &&
                  col_counts[in_x][BANK_COL*NXB+:NXB] != '0;
  assign queue_push = in_take && (in_eos || in_hit);
  assign queue_in = {in_eos, in_value, in_c, in_x, in_y};
  sf_fifo #(
      .WIDTH(QW),
      .DEPTH(QUEUE_DEPTH),
      .CREDITED(1'b1)  // the array offers an event only when every queue has room
  ) u_queue (
      .clk,
      .rst,
      .i_valid(queue_push),
      .i_ready(in_room),
      .i_data(queue_in),
      .o_valid(queue_valid),
      .o_ready(queue_pop),
      .o_data(queue_head_bits),
      .free(queue_free)
  );
  assign queue_head = queue_head_bits;
  logic unused_queue_free;
  assign unused_queue_free = ^queue_free;

  // ---- the current set: an end-of-unit token moves the bank on to the other one, which it
  // takes only once that set's last unit has been fired and freed; the banks move from
  // unit to unit each on its own, and only the neuron unit waits for all of them ----
  logic set_q;  // the set the bank accumulates
  logic [1:0] set_passed_q;  // per set: the bank has taken its unit's end-of-unit token
  logic set_busy;  // the set is still accumulated (by other banks) or being fired
  logic mark_pop;
  assign set_busy = set_passed_q[set_q];
  assign mark_pop = queue_valid && queue_pop && queue_head.mark;
  always_ff @(posedge clk) begin
    if (rst) begin
      set_q <= 1'b0;
      set_passed_q <= '0;
    end else begin
      if (mark_pop && NSET > 1) set_q <= !set_q;
      for (int st = 0; st < 2; st++) begin
        if (free && free_set == st[0]) set_passed_q[st] <= 1'b0;
        else if (mark_pop && set_q == st[0]) set_passed_q[st] <= 1'b1;
      end
    end
  end

  // ---- L: the head event, target by target (its groups row-major) ----
  logic event_valid_q, event_pop;
  logic [IYB-1:0] event_y_q;
  logic [IXB-1:0] event_x_q;
  logic [WAB-1:0] event_wbase_q;  // the input channel's first weight word
  logic [EVB-1:0] event_value_q;
  logic [GYB-1:0] group_y_q, group_y_last_q;
  logic [GXB-1:0] group_x_q, group_x_last_q;
  logic last_target;
  logic [NYB-1:0] head_rows;  // the head event's target groups in this bank
  logic [NXB-1:0] head_cols;
  assign head_rows = row_counts[queue_head.y][BANK_ROW*NYB+:NYB];
  assign head_cols = col_counts[queue_head.x][BANK_COL*NXB+:NXB];
  assign last_target = group_y_q == group_y_last_q && group_x_q == group_x_last_q;
  assign queue_pop = !set_busy && (!event_valid_q || last_target);
  assign event_pop = queue_valid && queue_pop && !queue_head.mark;
  always_ff @(posedge clk) begin
    if (rst) begin
      event_valid_q <= 1'b0;
      group_y_q <= '0;
      group_x_q <= '0;
    end else if (event_pop) begin
      event_valid_q <= 1'b1;
      group_y_q <= '0;
      group_x_q <= '0;
    end else if (event_valid_q) begin
      if (last_target) event_valid_q <= 1'b0;
      else if (group_x_q == group_x_last_q) begin
        group_x_q <= '0;
        group_y_q <= group_y_q + 1'b1;
      end else group_x_q <= group_x_q + 1'b1;
    end
    if (event_pop) begin
      event_y_q <= queue_head.y;
      event_x_q <= queue_head.x;
      event_wbase_q <= WAB'(32'(queue_head.channel) * KHW);
      group_y_last_q <= GYB'(head_rows - 1'b1);  // queued events have targets: counts >= 1
      group_x_last_q <= GXB'(head_cols - 1'b1);
      event_value_q <= queue_head.value;
    end
  end

  // ---- A: the target's address in the bank and its weight word in the kernel copy ----
  logic [DAB-1:0] row_addr;
  logic [ROW_KERN_BITS-1:0] row_kern;
  logic [COL_ADDR_BITS-1:0] col_addr;
  logic [COL_KERN_BITS-1:0] col_kern;
  assign {row_kern, row_addr} =
      row_targets[{event_y_q, group_y_q}][BANK_ROW*ROW_FIELD_BITS+:ROW_FIELD_BITS];
  assign {col_kern, col_addr} =
      col_targets[{event_x_q, group_x_q}][BANK_COL*COL_FIELD_BITS+:COL_FIELD_BITS];
  // the target's side signals and the token (with its set) leave A side by side, each
  // with its own valid bit: both may leave in one cycle
  typedef struct packed {
    logic set;
    logic [DAB-1:0] addr;
    logic [WAB-1:0] waddr;
    logic [EVB-1:0] value;
  } target_t;
  localparam int TW = 1 + DAB + WAB + EVB;  // target_t's bits (yosys has no $bits of a type)
  target_t target_in, target;
  logic [DAB-1:0] addr_sum;
  logic [WAB-1:0] waddr_sum;
  logic [1:0] unused_stage_valid;
  assign addr_sum = row_addr + DAB'(col_addr);
  assign waddr_sum = event_wbase_q + WAB'(row_kern) + WAB'(col_kern);
  assign target_in = {set_q, addr_sum, waddr_sum, event_value_q};
  sf_pipe #(
      .WIDTH(TW),
      .STAGES(1)
  ) u_target_pipe (
      .clk,
      .rst,
      .i_valid(event_valid_q),
      .i_data(target_in),
      .o_valid(target_valid),
      .o_data(target),
      .stage_valid(unused_stage_valid[0])
  );
  assign target_set = target.set;
  assign target_addr = target.addr;
  assign target_waddr = target.waddr;
  assign target_value = target.value;
  sf_pipe #(
      .WIDTH(1),
      .STAGES(1)
  ) u_token_pipe (
      .clk,
      .rst,
      .i_valid(mark_pop),
      .i_data(set_q),
      .o_valid(token_valid),
      .o_data(token_set),
      .stage_valid(unused_stage_valid[1])
  );

`ifdef SF_ASSERTIONS
  // (the queue never overflows: it is a CREDITED sf_fifo, g_credited.a_push_has_room)
  // only events with a target in this bank are queued (the group counters count from 0 to
  // the counts less one)
  a_head_has_targets: assert property (@(posedge clk) disable iff (rst)
      (queue_valid && !queue_head.mark) |-> (head_rows != '0 && head_cols != '0))
    else $error("sf_event_dispatch: bank (%0d, %0d) queued an event without a target there",
                BANK_ROW, BANK_COL);
  a_groups_in_range: assert property (@(posedge clk) disable iff (rst)
      event_valid_q |-> (group_y_q <= group_y_last_q && group_x_q <= group_x_last_q))
    else $error("sf_event_dispatch: bank (%0d, %0d) expanded past its last target group",
                BANK_ROW, BANK_COL);
`endif
endmodule

`default_nettype wire

// sf_fifo: synchronous FIFO with valid/ready ports and a free-slot count.
//
// The free count lets a pipelined producer issue only what the FIFO can take when the
// items in flight arrive (credit-based flow control), so no pipeline ever stalls.
// Reads are first-word-fall-through from registers: o_valid means o_data is the head.
// CREDITED = 1 declares a credit-driven producer: it pushes only when the free count said
// there is room, so a push the FIFO refuses is a bug upstream (an assertion when
// SF_ASSERTIONS is defined; the FIFO itself behaves the same either way).

`default_nettype none

module sf_fifo #(
    parameter int WIDTH = 8,  // item width in bits, >= 1
    parameter int DEPTH = 4,  // items, 2 .. 256
    /* verilator lint_off UNUSEDPARAM */  // only the assertions read it
    parameter bit CREDITED = 1'b0  // a push without room is a bug (asserted, see above)
    /* verilator lint_on UNUSEDPARAM */
) (
    input  wire logic             clk,
    input  wire logic             rst,      // synchronous, active high
    input  wire logic             i_valid,
    output logic                  i_ready,
    input  wire logic [WIDTH-1:0] i_data,
    output logic                  o_valid,
    input  wire logic             o_ready,
    output logic      [WIDTH-1:0] o_data,
    output logic      [8:0]       free      // empty slots, 0 .. DEPTH
);
  if (WIDTH < 1) begin : g_bad_width
    $error("sf_fifo: WIDTH must be >= 1");
  end
  if (DEPTH < 2 || DEPTH > 256) begin : g_bad_depth
    $error("sf_fifo: DEPTH must be in 2 .. 256");
  end

  localparam int AW = $clog2(DEPTH);

  logic [WIDTH-1:0] mem_q[0:DEPTH-1];
  logic [AW-1:0] rd_q, wr_q;
  logic [8:0] count_q;

  logic push, pop;
  assign i_ready = count_q != 9'(DEPTH);
  assign o_valid = count_q != 9'd0;
  assign o_data = mem_q[rd_q];
  assign free = 9'(DEPTH) - count_q;
  assign push = i_valid && i_ready;
  assign pop = o_valid && o_ready;

  function automatic logic [AW-1:0] next(input logic [AW-1:0] ptr);
    next = (ptr == AW'(DEPTH - 1)) ? '0 : ptr + 1'b1;
  endfunction

  always_ff @(posedge clk) begin
    if (push) mem_q[wr_q] <= i_data;
    if (rst) begin
      rd_q <= '0;
      wr_q <= '0;
      count_q <= '0;
    end else begin
      if (push) wr_q <= next(wr_q);
      if (pop) rd_q <= next(rd_q);
      if (push && !pop) count_q <= count_q + 1'b1;
      else if (pop && !push) count_q <= count_q - 1'b1;
    end
  end

`ifdef SF_ASSERTIONS
  // the output stream: a head offered and not taken stays offered, unchanged
  a_out_stable: assert property (@(posedge clk) disable iff (rst)
      (o_valid && !o_ready) |=> (o_valid && $stable(o_data)))
    else $error("sf_fifo: o_valid dropped or o_data changed while o_ready was low");
  a_count_range: assert property (@(posedge clk) disable iff (rst) count_q <= 9'(DEPTH))
    else $error("sf_fifo: %0d items held, DEPTH is %0d", count_q, DEPTH);
  a_no_pop_empty: assert property (@(posedge clk) disable iff (rst) pop |-> count_q != '0)
    else $error("sf_fifo: popped while empty");
  if (CREDITED) begin : g_credited
    a_push_has_room: assert property (@(posedge clk) disable iff (rst) i_valid |-> i_ready)
      else $error("sf_fifo: a credited producer pushed into a full FIFO (DEPTH %0d)", DEPTH);
  end
`endif
endmodule

`default_nettype wire

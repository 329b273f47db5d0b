// sf_fifo: synchronous FIFO with valid/ready ports and a free-slot count.
//
// The free count lets a pipelined producer issue only what the FIFO can take when the
// items in flight arrive (credit-based flow control), so no pipeline ever stalls.
// Reads are first-word-fall-through from registers: o_valid means o_data is the head.

`default_nettype none

module sf_fifo #(
    parameter int WIDTH = 8,  // item width in bits, >= 1
    parameter int DEPTH = 4   // items, 2 .. 256
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
endmodule

`default_nettype wire

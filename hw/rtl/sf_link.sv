// sf_link: the event stream between two stages, a deep FIFO in block RAM.
//
// A stage fires a whole pass per step whatever its spikes, so the first steps of an
// image (few spikes) take the analog layer as long as the busiest ones. With room for
// many events between the stages, a stage runs ahead of its successor through the busy
// steps and the successor finds the next image's first events already waiting, instead
// of idling while they are fired. Items go through a memory with a registered read port
// (block RAM) into an output register: one item per cycle, two cycles from i_* to o_*.

`default_nettype none

module sf_link #(
    parameter int WIDTH = 8,    // item width in bits, >= 1
    parameter int DEPTH = 1024  // items held in the memory, >= 2 (plus one in o_data)
) (
    input  wire logic             clk,
    input  wire logic             rst,      // synchronous, active high
    input  wire logic             i_valid,
    output logic                  i_ready,
    input  wire logic [WIDTH-1:0] i_data,
    output logic                  o_valid,
    input  wire logic             o_ready,
    output logic      [WIDTH-1:0] o_data
);
  if (WIDTH < 1) begin : g_bad_width
    $error("sf_link: WIDTH must be >= 1");
  end
  if (DEPTH < 2) begin : g_bad_depth
    $error("sf_link: DEPTH must be >= 2");
  end

  localparam int AW = $clog2(DEPTH);
  localparam int CW = $clog2(DEPTH + 1);

  logic [WIDTH-1:0] mem_q[0:DEPTH-1];
  logic [AW-1:0] rd_q, wr_q;
  logic [CW-1:0] count_q;  // items in the memory

  logic push, read;
  assign i_ready = count_q != CW'(DEPTH);
  assign push = i_valid && i_ready;
  assign read = count_q != '0 && (!o_valid || o_ready);  // refill the output register

  function automatic logic [AW-1:0] next(input logic [AW-1:0] ptr);
    next = (ptr == AW'(DEPTH - 1)) ? '0 : ptr + 1'b1;
  endfunction

  always_ff @(posedge clk) begin
    if (push) mem_q[wr_q] <= i_data;
    if (read) o_data <= mem_q[rd_q];
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      rd_q <= '0;
      wr_q <= '0;
      count_q <= '0;
      o_valid <= 1'b0;
    end else begin
      if (push) wr_q <= next(wr_q);
      if (read) rd_q <= next(rd_q);
      if (push && !read) count_q <= count_q + 1'b1;
      else if (read && !push) count_q <= count_q - 1'b1;
      if (read) o_valid <= 1'b1;
      else if (o_ready) o_valid <= 1'b0;
    end
  end

`ifdef SF_ASSERTIONS
  // the output stream: an item offered and not taken stays offered, unchanged
  a_out_stable: assert property (@(posedge clk) disable iff (rst)
      (o_valid && !o_ready) |=> (o_valid && $stable(o_data)))
    else $error("sf_link: o_valid dropped or o_data changed while o_ready was low");
  a_count_range: assert property (@(posedge clk) disable iff (rst) count_q <= CW'(DEPTH))
    else $error("sf_link: %0d items in the memory, DEPTH is %0d", count_q, DEPTH);
`endif
endmodule

`default_nettype wire

// sf_serializer: spike vectors -> one event per cycle.
//
// An item holds MS members, each an output position (y, x) with a channel mask, or an
// end-of-step token. The serializer emits the set mask bits one per cycle (member-major,
// then channel) as events (y, x, c) through an output register, and takes the next item
// in the cycle it moves the last bit of the current one out, so a stream of one-spike
// items flows at full rate.
// An end-of-step item carries no spikes (the stage's tokens never do): the token goes out
// after the item's last event only when no next item is taken in that cycle.

`default_nettype none

module sf_serializer #(
    parameter int MS = 1,  // members per item, >= 1
    parameter int CO = 1,  // channels per member, >= 1
    parameter int YB = 1,  // coordinate bits
    parameter int XB = 1,
    parameter int CB = 1,  // channel index bits of the output events, >= bits(CO)
    // derived (do not override)
    localparam int IW = 1 + MS * (YB + XB + CO)  // item: eos, then per member {mask, x, y}
) (
    input  wire logic          clk,
    input  wire logic          rst,
    input  wire logic          i_valid,
    output logic               i_ready,
    input  wire logic [IW-1:0] i_data,
    output logic               o_valid,
    input  wire logic          o_ready,
    output logic               o_eos,
    output logic      [YB-1:0] o_y,
    output logic      [XB-1:0] o_x,
    output logic      [CB-1:0] o_c
);
  if (MS < 1 || CO < 1 || (1 << CB) < CO) begin : g_bad
    $error("sf_serializer: MS and CO must be >= 1 and CB wide enough for CO channels");
  end

  localparam int NBITS = MS * CO;
  localparam int MB = (MS > 1) ? $clog2(MS) : 1;

  logic [NBITS-1:0] pend_q;
  logic [MS*YB-1:0] y_q;
  logic [MS*XB-1:0] x_q;
  logic eos_q;

  // lowest pending bit
  logic [NBITS-1:0] lowest;
  logic [MB-1:0] member;
  logic [CB-1:0] channel;
  always_comb begin
    lowest = pend_q & (~pend_q + 1'b1);
    member = '0;
    channel = '0;
    for (int m = 0; m < MS; m++) begin
      for (int c = 0; c < CO; c++) begin
        if (lowest[m*CO+c]) begin
          member = MB'(m);
          channel = CB'(c);
        end
      end
    end
  end

  // output register: the next event is moved in when it is free or being taken
  logic o_valid_q, o_eos_q;
  logic [YB-1:0] o_y_q;
  logic [XB-1:0] o_x_q;
  logic [CB-1:0] o_c_q;
  logic single, out_free, move;
  assign single = (pend_q & (pend_q - 1'b1)) == '0;  // at most one bit (or just the token)
  assign out_free = !o_valid_q || o_ready;
  assign move = out_free && ((pend_q != '0) || eos_q);
  assign i_ready = ((pend_q == '0) && !eos_q) || (move && single);
  assign o_valid = o_valid_q;
  assign o_eos = o_eos_q;
  assign o_y = o_y_q;
  assign o_x = o_x_q;
  assign o_c = o_c_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      pend_q <= '0;
      eos_q <= 1'b0;
      o_valid_q <= 1'b0;
    end else begin
      if (out_free) o_valid_q <= move;
      if (i_valid && i_ready) begin
        eos_q <= i_data[0];
        for (int m = 0; m < MS; m++) begin
          pend_q[m*CO+:CO] <= i_data[1+m*(YB+XB+CO)+YB+XB+:CO];
        end
      end else if (move) begin
        if (pend_q == '0) eos_q <= 1'b0;
        else pend_q <= pend_q & (pend_q - 1'b1);
      end
    end
    if (move) begin
      o_eos_q <= pend_q == '0;
      o_y_q <= y_q[32'(member)*YB+:YB];
      o_x_q <= x_q[32'(member)*XB+:XB];
      o_c_q <= channel;
    end
    if (i_valid && i_ready) begin
      for (int m = 0; m < MS; m++) begin
        y_q[m*YB+:YB] <= i_data[1+m*(YB+XB+CO)+:YB];
        x_q[m*XB+:XB] <= i_data[1+m*(YB+XB+CO)+YB+:XB];
      end
    end
  end

`ifdef SF_ASSERTIONS
  logic [NBITS-1:0] i_masks;  // the input item's spikes
  always_comb begin
    for (int m = 0; m < MS; m++) i_masks[m*CO+:CO] = i_data[1+m*(YB+XB+CO)+YB+XB+:CO];
  end
  // the output stream: an event offered and not taken stays offered, unchanged
  a_out_stable: assert property (@(posedge clk) disable iff (rst)
      (o_valid && !o_ready) |=> (o_valid && $stable({o_eos, o_y, o_x, o_c})))
    else $error("sf_serializer: o_valid dropped or the event changed while o_ready was low");
  // the input stream: an item offered and not taken stays offered, unchanged (upstream)
  a_in_stable: assert property (@(posedge clk) disable iff (rst)
      (i_valid && !i_ready) |=> (i_valid && $stable(i_data)))
    else $error("sf_serializer: i_valid dropped or i_data changed while i_ready was low");
  // no event out of nothing: idle without an item offered, it stays idle
  a_idle: assert property (@(posedge clk) disable iff (rst)
      (pend_q == '0 && !eos_q && !i_valid) |=> (pend_q == '0 && !eos_q))
    else $error("sf_serializer: work appeared without an input item");
  a_channel_range: assert property (@(posedge clk) disable iff (rst)
      (o_valid && !o_eos) |-> 32'(o_c) < CO)
    else $error("sf_serializer: event channel %0d, CO is %0d", o_c, CO);
  // an end-of-step item with spikes would lose its token behind a following item
  a_eos_no_spikes: assert property (@(posedge clk) disable iff (rst)
      (i_valid && i_data[0]) |-> i_masks == '0)
    else $error("sf_serializer: an end-of-step item carries spikes");
`endif
endmodule

`default_nettype wire

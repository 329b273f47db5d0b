// sf_if_lane: one integrate-and-fire neuron's update for one timestep, in three stages.
//
// The arithmetic of docs/spec.md section 3 and of update_group in the HLS library
// (hls/include/spikeforge/if_neuron.h), one neuron per lane:
//   S1  V + I + b, in SB bits (V from V_INIT and the count from 0 at an image's first step)
//   S2  clamp to [Vmin, Vmax] = [-2^(VB-1), 2^(VB-1) - 1], flagging a clamp
//   S3  spike = V >= theta; V -= theta (or V = 0 with RESET_ZERO) where it spiked;
//       count + spike
// Inputs are taken in S1, the results come out of S3 two cycles later (S1 -> S2 and
// S2 -> S3 registers, no reset, no stall: a new neuron may enter every cycle). The lane
// holds no state of its own: the neuron unit (sf_neuron) reads V and the count from its
// memories and writes the results back, and qualifies the spike and clamp flags with
// the tile member's valid bit.
//
// Parameters:
//   CB          current bits (two's complement)
//   VB          membrane bits (two's complement)
//   NB          spike count bits (unsigned; the count wraps, the core sizes NB for T)
//   SB          width of V + I + b before the clamp: > VB, > CB, <= 64
//   THETA       threshold, two's complement, low SB bits used
//   BIAS        bias added every step, two's complement, low SB bits used
//   V_INIT      membrane at an image's first step, two's complement, low VB bits used
//   RESET_ZERO  1: a spike sets V to 0; 0: it subtracts THETA
//
// Ports:
//   clk        clock
//   i_first    S1: the step is an image's first (V_INIT and 0 replace i_v and i_count)
//   i_current  S1: the neuron's synaptic current I of the step
//   i_v        S1: its membrane after the previous step
//   i_count    S1: its spike count after the previous step
//   o_clamped  S3: S2 clamped V + I + b (a saturation event)
//   o_fire     S3: the neuron spikes
//   o_v        S3: its membrane after this step
//   o_count    S3: its spike count after this step

`default_nettype none

module sf_if_lane #(
    parameter int CB = 16,
    parameter int VB = 16,
    parameter int NB = 8,
    parameter int SB = 20,
    parameter logic [63:0] THETA = 64'd1,
    parameter logic [63:0] BIAS = 64'd0,
    parameter logic [63:0] V_INIT = 64'd0,
    parameter int RESET_ZERO = 0
) (
    input  wire logic          clk,
    input  wire logic          i_first,
    input  wire logic [CB-1:0] i_current,
    input  wire logic [VB-1:0] i_v,
    input  wire logic [NB-1:0] i_count,
    output logic               o_clamped,
    output logic               o_fire,
    output logic      [VB-1:0] o_v,
    output logic      [NB-1:0] o_count
);
  if (SB > 64 || SB <= VB || SB <= CB) begin : g_bad_width
    $error("sf_if_lane: SB must exceed VB and CB, and be at most 64");
  end

  localparam logic signed [SB-1:0] LANE_THETA = THETA[SB-1:0];
  localparam logic signed [SB-1:0] LANE_BIAS = BIAS[SB-1:0];
  localparam logic [VB-1:0] LANE_V_INIT = V_INIT[VB-1:0];
  // membrane range, spelled out bit by bit (yosys mis-evaluates a negated size cast)
  localparam logic signed [SB-1:0] VMAX = {{(SB - VB + 1) {1'b0}}, {(VB - 1) {1'b1}}};
  localparam logic signed [SB-1:0] VMIN = {{(SB - VB + 1) {1'b1}}, {(VB - 1) {1'b0}}};

  // ---- S1: V + I + b (operands sign-extended by replication) ----
  logic signed [SB-1:0] v_old, current;
  assign current = {{(SB - CB) {i_current[CB-1]}}, i_current};
  assign v_old = i_first ? {{(SB - VB) {LANE_V_INIT[VB-1]}}, LANE_V_INIT}
                          : {{(SB - VB) {i_v[VB-1]}}, i_v};
  logic signed [SB-1:0] sum_s2_q;
  logic [NB-1:0] count_s2_q;
  always_ff @(posedge clk) begin
    sum_s2_q <= v_old + current + LANE_BIAS;
    count_s2_q <= i_first ? '0 : i_count;
  end

  // ---- S2: clamp ----
  logic signed [SB-1:0] v_clamped;
  logic clamped;
  always_comb begin
    clamped = 1'b0;
    v_clamped = sum_s2_q;
    if (sum_s2_q > VMAX) begin
      v_clamped = VMAX;
      clamped = 1'b1;
    end else if (sum_s2_q < VMIN) begin
      v_clamped = VMIN;
      clamped = 1'b1;
    end
  end
  logic signed [SB-1:0] v_s3_q;
  logic clamped_s3_q;
  logic [NB-1:0] count_s3_q;
  always_ff @(posedge clk) begin
    v_s3_q <= v_clamped;
    clamped_s3_q <= clamped;
    count_s3_q <= count_s2_q;
  end

  // ---- S3: fire, reset, count ----
  logic signed [SB-1:0] v_reset, v_next;
  logic fire;
  assign fire = v_s3_q >= LANE_THETA;
  assign v_reset = RESET_ZERO != 0 ? '0 : v_s3_q - LANE_THETA;
  assign v_next = fire ? v_reset : v_s3_q;
  assign o_v = v_next[VB-1:0];  // within [Vmin, Vmax] for thresholds of 1 .. Vmax
  assign o_fire = fire;
  assign o_clamped = clamped_s3_q;
  assign o_count = count_s3_q + NB'(fire);
  logic unused_v_next;
  assign unused_v_next = ^v_next[SB-1:VB];
endmodule

`default_nettype wire

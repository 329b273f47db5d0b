// sf_output: class decision and the out_r stream.
//
// Per image: K beats of spike counts (class 0 first), then the class index with TLAST.
// The class is the most spikes, ties broken by the larger membrane relative to the
// threshold (V_a * theta_b > V_b * theta_a, exact), then the lowest index: a scan over
// k = 1 .. K-1 that replaces the best only on a strictly better candidate (docs/spec.md).
// Each candidate takes two cycles: the products are registered before the comparison.

`default_nettype none

module sf_output #(
    localparam int K = sf_params::K,
    localparam int NB = sf_params::NB,
    localparam int VB = sf_params::VB
) (
    input  wire logic              clk,
    input  wire logic              rst,
    input  wire logic              run_start,
    input  wire logic [31:0]       n_images,
    output logic                   run_done,   // n_images results have been sent
    // final stage results
    input  wire logic              fin_valid,
    output logic                   fin_ready,
    input  wire logic [K*NB-1:0]   fin_count,
    input  wire logic [K*VB-1:0]   fin_v,
    // out_r
    output logic      [31:0]       m_tdata,
    output logic                   m_tvalid,
    input  wire logic              m_tready,
    output logic                   m_tlast
);
  localparam int TB = sf_params::TB;
  localparam int BASE = int'(sf_params::S_CH_BASE[32*(sf_params::NS-1)+:32]);
  localparam int KB = sf_util::bits(K + 1);  // 0 .. K
  localparam int PB = VB + TB + 1;  // V x theta

  if (K < 2) begin : g_bad_k
    $error("sf_output: at least two classes");
  end

  localparam logic [1:0] WAIT = 2'd0, DECIDE = 2'd1, SEND = 2'd2;
  logic [1:0] state_q;
  logic [K*NB-1:0] cnt_q;
  logic [K*VB-1:0] v_q;
  logic [KB-1:0] k_q, best_q, word_q;
  logic phase_q;  // DECIDE: 0 = products, 1 = compare
  logic [31:0] sent_q, n_q;

  function automatic logic [TB-1:0] theta(input int k);
    theta = TB'(sf_params::CH_THETA[64*(BASE+k)+:64]);
  endfunction

  logic [NB-1:0] cnt_k, cnt_b;
  logic signed [VB-1:0] v_k, v_b;
  logic [TB-1:0] th_k, th_b;
  logic signed [PB-1:0] lhs, rhs, lhs_q, rhs_q;
  logic [NB-1:0] cnt_k_q, cnt_b_q;
  logic better;
  always_comb begin
    cnt_k = '0;
    cnt_b = '0;
    v_k = '0;
    v_b = '0;
    th_k = '0;
    th_b = '0;
    for (int k = 0; k < K; k++) begin
      if (k_q == KB'(k)) begin
        cnt_k = cnt_q[k*NB+:NB];
        v_k = v_q[k*VB+:VB];
        th_k = theta(k);
      end
      if (best_q == KB'(k)) begin
        cnt_b = cnt_q[k*NB+:NB];
        v_b = v_q[k*VB+:VB];
        th_b = theta(k);
      end
    end
  end
  logic signed [PB-1:0] vk_ext, vb_ext;  // sign-extended (PB > VB)
  assign vk_ext = {{(PB - VB) {v_k[VB-1]}}, v_k};
  assign vb_ext = {{(PB - VB) {v_b[VB-1]}}, v_b};
  assign lhs = vk_ext * $signed({1'b0, th_b});
  assign rhs = vb_ext * $signed({1'b0, th_k});
  assign better = cnt_k_q > cnt_b_q || (cnt_k_q == cnt_b_q && lhs_q > rhs_q);
  always_ff @(posedge clk) begin
    lhs_q <= lhs;
    rhs_q <= rhs;
    cnt_k_q <= cnt_k;
    cnt_b_q <= cnt_b;
  end

  assign fin_ready = state_q == WAIT;
  assign m_tvalid = state_q == SEND;
  assign m_tlast = word_q == KB'(K);
  always_comb begin
    m_tdata = 32'(best_q);
    for (int k = 0; k < K; k++) begin
      if (word_q == KB'(k)) m_tdata = 32'(cnt_q[k*NB+:NB]);
    end
  end
  assign run_done = sent_q == n_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      state_q <= WAIT;
      sent_q <= '0;
      n_q <= '0;
    end else begin
      if (run_start) begin
        sent_q <= '0;
        n_q <= n_images;
      end
      case (state_q)
        WAIT:
        if (fin_valid) begin
          cnt_q <= fin_count;
          v_q <= fin_v;
          k_q <= KB'(1);
          best_q <= '0;
          phase_q <= 1'b0;
          state_q <= DECIDE;
        end
        DECIDE: begin
          phase_q <= !phase_q;
          if (phase_q) begin
            if (better) best_q <= k_q;
            k_q <= k_q + 1'b1;
            if (k_q == KB'(K - 1)) begin
              word_q <= '0;
              state_q <= SEND;
            end
          end
        end
        SEND:
        if (m_tready) begin
          word_q <= word_q + 1'b1;
          if (m_tlast) begin
            state_q <= WAIT;
            sent_q <= sent_q + 1'b1;
          end
        end
        default: state_q <= WAIT;
      endcase
    end
  end
endmodule

`default_nettype wire

// sf_input: the in_r element stream -> input events of the first stage.
//
// The input is H x W x C elements of EB bits (8 or 16; two's complement if SIGNED),
// row-major (h, w, c): a feature vector is 1 x 1 x N, a sequence 1 x L x C. Beats carry
// EPB = 32 / EB elements, the first in the low bits; an image is BEATS beats with TLAST on
// the last (zero-padded). Malformed images (docs/hardware-contract.md):
//   * TLAST early: the image ends there, missing elements are 0; err_early pulses.
//   * no TLAST on the last beat: the image is complete; the beats up to and including
//     the next TLAST are dropped before the next image; err_missing pulses.
//
// Analog input: every nonzero element becomes an event carrying its EB bits (the first
// stage's multipliers read them as signed or unsigned), then one end-of-image token (the
// first stage accumulates the image's current once).
// Poisson input (8-bit unsigned pixels only): the image is buffered; every step each pixel
// (in order) draws from xorshift32 (seeded per image) and spikes when pixel > the draw's
// top byte; each step ends with an end-of-step token.

`default_nettype none

module sf_input #(
    localparam int EYB = sf_params::EYB,
    localparam int EXB = sf_params::EXB,
    localparam int ECB = sf_params::ECB,
    localparam int EB = sf_params::IN_EB  // element bits, 8 or 16 (events carry them)
) (
    input  wire logic            clk,
    input  wire logic            rst,
    input  wire logic            run_start,    // load n_images (a run begins)
    input  wire logic [31:0]     n_images,
    input  wire logic [15:0]     t_steps,
    // in_r
    input  wire logic [31:0]     s_tdata,
    input  wire logic            s_tvalid,
    output logic                 s_tready,
    input  wire logic            s_tlast,
    // events to the first stage
    output logic                 ev_valid,
    input  wire logic            ev_ready,
    output logic                 ev_eos,
    output logic      [EYB-1:0]  ev_y,
    output logic      [EXB-1:0]  ev_x,
    output logic      [ECB-1:0]  ev_c,
    output logic      [EB-1:0]   ev_val,
    output logic                 err_early,    // pulses
    output logic                 err_missing
);
  localparam int H = sf_params::IN_H;  // input rows
  localparam int W = sf_params::IN_W;  // input columns
  localparam int C = sf_params::IN_C;  // input channels
  localparam int PIXELS = H * W * C;  // input elements
  localparam int EPB = 32 / EB;  // elements per beat
  localparam int LB = sf_util::bits(EPB);  // element index within a beat
  localparam int BEATS = sf_params::BEATS;  // ceil(PIXELS / EPB)
  localparam int BB_ = sf_util::bits(BEATS + 1);  // beat index and count
  localparam int POISSON = sf_params::POISSON;

  if (EB != 8 && EB != 16) begin : g_bad_eb
    $error("sf_input: IN_EB must be 8 or 16");
  end
  if (BEATS * EPB < PIXELS || BEATS * EPB >= PIXELS + EPB) begin : g_bad_beats
    $error("sf_input: BEATS must be ceil(PIXELS / EPB)");
  end
  if (POISSON != 0 && (EB != 8 || sf_params::IN_SIGNED != 0)) begin : g_bad_poisson
    $error("sf_input: Poisson input takes 8-bit unsigned pixels");
  end

  // ---- pixel coordinates {y, x, c}, advanced in row-major (h, w, c) order ----
  localparam int PW = EYB + EXB + ECB;
  function automatic logic [PW-1:0] advance(input logic [PW-1:0] p);
    logic [EYB-1:0] y;
    logic [EXB-1:0] x;
    logic [ECB-1:0] c;
    {y, x, c} = p;
    if (32'(c) + 1 < C) c = c + 1'b1;
    else begin
      c = '0;
      if (32'(x) + 1 < W) x = x + 1'b1;
      else begin
        x = '0;
        y = y + 1'b1;
      end
    end
    advance = {y, x, c};
  endfunction

  // a beat's element k sits EPB elements after the previous beat's element k: one carry
  // chain (c, then x, then y) per lane instead of EPB chained single steps
  localparam int SKIP_C = EPB % C;
  localparam int SKIP_X = (EPB / C) % W;
  localparam int SKIP_Y = EPB / (C * W);
  function automatic logic [PW-1:0] skip(input logic [PW-1:0] p);
    logic [EYB-1:0] y;
    logic [EXB-1:0] x;
    logic [ECB-1:0] c;
    logic [ECB:0] c_sum;
    logic [EXB:0] x_sum;
    logic c_wrap, x_wrap;
    {y, x, c} = p;
    c_sum = {1'b0, c} + (ECB + 1)'(SKIP_C);
    c_wrap = 32'(c_sum) >= C;
    x_sum = {1'b0, x} + (EXB + 1)'(SKIP_X) + (EXB + 1)'(c_wrap);
    x_wrap = 32'(x_sum) >= W;
    c = c_wrap ? ECB'(32'(c_sum) - C) : c_sum[ECB-1:0];
    x = x_wrap ? EXB'(32'(x_sum) - W) : x_sum[EXB-1:0];
    y = y + EYB'(SKIP_Y) + EYB'(x_wrap);
    skip = {y, x, c};
  endfunction

  // coordinates of element i of an image
  function automatic logic [PW-1:0] pixel_pos(input int i);
    pixel_pos = {EYB'(i / (W * C)), EXB'((i / C) % W), ECB'(i % C)};
  endfunction

  // ---- output register ----
  logic out_valid_q, out_eos_q;
  logic [PW-1:0] out_pos_q;
  logic [EB-1:0] out_val_q;
  logic out_free;
  assign out_free = !out_valid_q || ev_ready;
  assign ev_valid = out_valid_q;
  assign ev_eos = out_eos_q;
  assign {ev_y, ev_x, ev_c} = out_pos_q;
  assign ev_val = out_val_q;

  // ---- beats and image boundaries ----
  logic [31:0] left_q;  // images of the run still to be read
  logic [BB_-1:0] beat_q;
  logic drop_q;
  logic take_image;  // the image path can take a beat this cycle
  logic beat, image_beat, last_beat, image_end;
  assign s_tready = drop_q || (left_q != 0 && take_image);
  assign beat = s_tvalid && s_tready;
  assign image_beat = beat && !drop_q;
  assign last_beat = beat_q == BB_'(BEATS - 1);
  assign image_end = image_beat && (s_tlast || last_beat);
  assign err_early = image_beat && s_tlast && !last_beat;
  assign err_missing = image_beat && last_beat && !s_tlast;

  always_ff @(posedge clk) begin
    if (rst) begin
      left_q <= '0;
      beat_q <= '0;
      drop_q <= 1'b0;
    end else begin
      if (run_start) left_q <= n_images;
      else if (image_end) left_q <= left_q - 1'b1;
      if (drop_q) begin
        if (beat && s_tlast) drop_q <= 1'b0;
      end else if (err_missing) drop_q <= 1'b1;
      if (image_end) beat_q <= '0;
      else if (image_beat) beat_q <= beat_q + 1'b1;
    end
  end

  if (POISSON == 0) begin : g_analog
    // the beat being emitted: pending elements (nonzero, inside the image), then the
    // token; an element's value is its EB bits as they came (signed or not)
    logic [EPB-1:0] pend_q;
    logic [31:0] pix_q;
    logic [EPB*PW-1:0] ppos_q;
    logic end_q;
    logic [EPB*PW-1:0] ppos;  // coordinates of the next beat's elements
    logic [EPB*PW-1:0] first_ppos;  // ... of the first beat
    logic [EPB-1:0] pend;
    for (genvar k = 0; k < EPB; k++) begin : g_pixel
      assign first_ppos[k*PW+:PW] = pixel_pos(k);
      assign pend[k] = s_tdata[EB*k+:EB] != '0 && 32'(beat_q) * EPB + k < PIXELS;
    end
    logic [LB-1:0] low;
    always_comb begin
      low = '0;
      for (int k = EPB - 1; k >= 0; k--) if (pend_q[k]) low = LB'(k);
    end
    logic busy, emit;
    assign busy = pend_q != '0 || end_q;
    assign emit = busy && out_free;
    // take a beat when nothing is pending, or when emitting the last pending item
    assign take_image = !busy || (emit && (pend_q == '0 || (pend_q & (pend_q - 1'b1)) == '0 && !end_q));

    always_ff @(posedge clk) begin
      if (rst) begin
        pend_q <= '0;
        end_q <= 1'b0;
        ppos <= first_ppos;
        out_valid_q <= 1'b0;
      end else begin
        if (out_free) out_valid_q <= emit;
        if (emit) begin
          if (pend_q != '0) pend_q[low] <= 1'b0;
          else end_q <= 1'b0;
        end
        if (image_beat) begin
          pend_q <= pend;
          end_q <= image_end;
          pix_q <= s_tdata;
          ppos_q <= ppos;
          for (int k = 0; k < EPB; k++)
            ppos[k*PW+:PW] <= image_end ? first_ppos[k*PW+:PW] : skip(ppos[k*PW+:PW]);
        end
      end
      if (emit) begin
        out_eos_q <= pend_q == '0;
        out_pos_q <= ppos_q[32'(low)*PW+:PW];
        out_val_q <= pix_q[EB*low+:EB];
      end
    end
    logic unused_analog;
    assign unused_analog = ^t_steps;
  end else begin : g_poisson
    // receive the image, then T steps of generation
    logic [31:0] pbuf[0:BEATS-1];
    logic gen_q;
    logic [BB_-1:0] nvalid_q;  // beats received (an early TLAST leaves the rest 0)
    logic [BB_-1:0] word_q;
    logic [1:0] byte_q;
    logic [PW-1:0] pos_q;
    logic [15:0] t_q;
    logic [31:0] x_q;
    logic [31:0] x_next;
    logic [7:0] pixel;
    logic at_end, step_end, spike, advance_gen;
    assign take_image = !gen_q;
    assign x_next = x_q ^ (x_q << 13);
    logic [31:0] x_b, x_c;
    assign x_b = x_next ^ (x_next >> 17);
    assign x_c = x_b ^ (x_b << 5);
    assign pixel = word_q < nvalid_q ? pbuf[word_q][8*byte_q+:8] : 8'd0;
    assign at_end = 32'(word_q) * 4 + 32'(byte_q) == PIXELS;  // the token slot
    assign spike = !at_end && pixel > x_c[31:24];
    assign advance_gen = gen_q && ((!spike && !at_end) || out_free);
    assign step_end = at_end && advance_gen;

    always_ff @(posedge clk) begin
      if (image_beat) pbuf[beat_q] <= s_tdata;
      if (rst) begin
        gen_q <= 1'b0;
        out_valid_q <= 1'b0;
      end else begin
        if (out_free) out_valid_q <= advance_gen && (spike || at_end);
        if (image_end) begin
          gen_q <= 1'b1;
          nvalid_q <= beat_q + 1'b1;
          word_q <= '0;
          byte_q <= '0;
          pos_q <= '0;
          t_q <= '0;
          x_q <= sf_params::SEED;
        end else if (advance_gen) begin
          if (step_end) begin
            word_q <= '0;
            byte_q <= '0;
            pos_q <= '0;
            t_q <= t_q + 1'b1;
            if (t_q == t_steps - 16'd1) gen_q <= 1'b0;
          end else begin
            x_q <= x_c;
            pos_q <= advance(pos_q);
            byte_q <= byte_q + 1'b1;
            if (byte_q == 2'd3) word_q <= word_q + 1'b1;
          end
        end
      end
      if (advance_gen && out_free) begin
        out_eos_q <= at_end;
        out_pos_q <= pos_q;
        out_val_q <= EB'(1);
      end
    end
  end
endmodule

`default_nettype wire

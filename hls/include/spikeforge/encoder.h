// spikeforge HLS library: the input stage. Reads one image from in_r (4 uint8 pixels
// per 32-bit beat, the first in the low byte, row-major (h, w, c); TLAST on the last beat)
// and encodes it for the first neuron layer:
//   analog:  once per image, one event per pixel position with any nonzero channel,
//            carrying the C pixel values (VB = 8);
//   poisson: every timestep, one event per position with any spiking channel; channel
//            i spikes when pixel[i] > (x >> 24) for the next state x of the spec's
//            xorshift32 generator, seeded at every image, stepped in (h, w, c) order.
// Malformed streams (docs/hardware-contract.md): TLAST early ends the image, the rest
// reads as 0 (STATUS bit 0); TLAST missing on the last beat sets STATUS bit 1 and the
// beats up to and including the next TLAST are dropped before the next image is read,
// even if that image belongs to the next run (the flag is kept across calls; ap_rst_n
// clears it). ap_done does not wait for that TLAST.
//
// CFG: height, width, channels, beats, stage, poisson, seed, out_word_t (G = channels).
#ifndef SPIKEFORGE_ENCODER_H_
#define SPIKEFORGE_ENCODER_H_

#include "axis.h"
#include "trace.h"
#include "types.h"

#ifndef __SYNTHESIS__
#include <cstdio>
#include <cstdlib>
#endif

namespace spikeforge {

// A blocking read of in_r. C simulation cannot block: reading past the end of the
// testbench's data would be a hang in hardware, so it stops with that message.
inline axis_word read_beat(hls::stream<axis_word>& in) {
#pragma HLS INLINE
#ifndef __SYNTHESIS__
    if (in.empty()) {
        std::fprintf(stderr, "spikeforge csim: in_r is empty where the core waits for a beat "
                             "(the hardware would stall here)\n");
        std::exit(3);
    }
#endif
    return in.read();
}

// One step of Marsaglia's xorshift32 (13, 17, 5).
inline ap_uint<32> xorshift32(ap_uint<32> x) {
#pragma HLS INLINE
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

template <class CFG>
void read_image(hls::stream<axis_word>& in, ap_uint<8> pixels[CFG::beats * 4],
                status_t& flags) {
    static bool drain = false;
#pragma HLS RESET variable = drain
    if (drain) {
    drain_loop:
        while (true) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = CFG::beats
            SPIKEFORGE_TRACE(CFG::stage, LOOP_DRAIN);
            axis_word beat = read_beat(in);
            if (beat.last) break;
        }
        drain = false;
    }
    bool ended = false;
read_loop:
    for (unsigned b = 0; b < CFG::beats; b++) {
#pragma HLS PIPELINE II = 1
        SPIKEFORGE_TRACE(CFG::stage, LOOP_READ);
        ap_uint<32> data = 0;
        if (!ended) {
            axis_word beat = read_beat(in);
            data = beat.data;
            if (beat.last && b < CFG::beats - 1) {
                ended = true;
                flags |= STATUS_TLAST_EARLY;
            }
            if (!beat.last && b == CFG::beats - 1) {
                flags |= STATUS_TLAST_MISSING;
                drain = true;
            }
        }
        for (int q = 0; q < 4; q++) {
#pragma HLS UNROLL
            pixels[4 * b + q] = data.range(8 * q + 7, 8 * q);
        }
    }
}

// Analog input: the nonzero pixel positions with their C values, then end of step.
template <class CFG>
void encode_analog(const ap_uint<8> pixels[CFG::beats * 4],
                   hls::stream<typename CFG::out_word_t>& out) {
    typedef typename CFG::out_word_t word_t;
encode_loop:
    for (unsigned y = 0; y < CFG::height; y++) {
        for (unsigned x = 0; x < CFG::width; x++) {
#pragma HLS PIPELINE II = 1
            SPIKEFORGE_TRACE(CFG::stage, LOOP_ENCODE);
            word_t word;
            word.y = y;
            word.x = x;
            word.g = 0;
            word.last = 0;
            for (unsigned c = 0; c < CFG::channels; c++) {
#pragma HLS UNROLL
                word.values.range(8 * c + 7, 8 * c) = pixels[(y * CFG::width + x) * CFG::channels + c];
            }
            if (word.values != 0) out.write(word);
        }
    }
    out.write(end_of_step<word_t>());
}

// Poisson input for step t; state carries the generator across steps of one image.
template <class CFG>
void encode_poisson(const ap_uint<8> pixels[CFG::beats * 4], ap_uint<32>& state,
                    hls::stream<typename CFG::out_word_t>& out) {
    typedef typename CFG::out_word_t word_t;
    ap_uint<32> x = state;
encode_loop:
    for (unsigned y = 0; y < CFG::height; y++) {
        for (unsigned xx = 0; xx < CFG::width; xx++) {
#pragma HLS PIPELINE II = 1
            SPIKEFORGE_TRACE(CFG::stage, LOOP_ENCODE);
            word_t word;
            word.y = y;
            word.x = xx;
            word.g = 0;
            word.last = 0;
            for (unsigned c = 0; c < CFG::channels; c++) {
#pragma HLS UNROLL
                x = xorshift32(x);
                ap_uint<8> draw = x.range(31, 24);
                word.values[c] = pixels[(y * CFG::width + xx) * CFG::channels + c] > draw;
            }
            if (word.values != 0) out.write(word);
        }
    }
    out.write(end_of_step<word_t>());
    state = x;
}

// The input process of one image: read, then encode (once, or every step).
template <class CFG>
void input_stage(hls::stream<axis_word>& in, hls::stream<typename CFG::out_word_t>& out,
                 steps_t timesteps, status_t& flags) {
    static ap_uint<8> pixels[CFG::beats * 4];
#pragma HLS ARRAY_PARTITION variable = pixels type = cyclic factor = CFG::pixel_banks
    flags = 0;
    read_image<CFG>(in, pixels, flags);
    if (CFG::poisson) {
        ap_uint<32> state = CFG::seed;
    step_loop:
        for (steps_t t = 0; t < timesteps; t++) {
            encode_poisson<CFG>(pixels, state, out);
        }
    } else {
        encode_analog<CFG>(pixels, out);
    }
}

}  // namespace spikeforge

#endif

// spikeforge HLS library: the input stage. Reads one input from in_r (32-bit beats of
// EB-bit elements, 4 x 8 or 2 x 16 bits, the first in the low bits, two's complement when
// signed, row-major (h, w, c); TLAST on the last beat) and encodes it for the first neuron
// layer, in words of G consecutive channels of a position (all C of them, or groups when
// C is wide, e.g. a feature vector's N elements at its single position):
//   analog:  once per input, one event per (position, group) with any nonzero element,
//            carrying the G element values (the word's value_t: EB bits, signed or not);
//   poisson: every timestep, one event per (position, group) with any spiking channel;
//            channel i spikes when pixel[i] > (x >> 24) for the next state x of the spec's
//            xorshift32 generator, seeded at every image, stepped in (h, w, c) order
//            (Poisson input takes uint8 pixels only, docs/spec.md).
// The element format is the out word's: EB = value_bits and value_t for analog input,
// uint8 for Poisson input (whose words carry 1-bit spikes).
// Malformed streams (docs/hardware-contract.md): TLAST early ends the image, the rest
// reads as 0 (STATUS bit 0); TLAST missing on the last beat sets STATUS bit 1 and the
// beats up to and including the next TLAST are dropped before the next image is read,
// even if that image belongs to the next run (the flag is kept across calls; ap_rst_n
// clears it). ap_done does not wait for that TLAST.
//
// CFG: the input's config (input_config, layer_config.h).
#ifndef SPIKEFORGE_ENCODER_H_
#define SPIKEFORGE_ENCODER_H_

#include "axis.h"
#include "layer_config.h"
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

// The input elements: the analog word's values, or uint8 pixels for Poisson input.
template <class CFG, bool POISSON = CFG::poisson>
struct input_element {
    typedef typename CFG::out_word_t::value_t type;
    static const unsigned bits = CFG::out_word_t::value_bits;
};
template <class CFG>
struct input_element<CFG, true> {
    typedef ap_uint<8> type;
    static const unsigned bits = 8;
};

template <class CFG>
struct input_layout {
    typedef typename input_element<CFG>::type element_t;
    static const unsigned element_bits = input_element<CFG>::bits;
    static const unsigned per_beat = 32 / element_bits;  // elements in one in_r beat
    static const unsigned size = CFG::beats * per_beat;  // the buffer, the last beat's padding included
    static const unsigned group = CFG::out_word_t::group;
    static const unsigned groups = CFG::channels / group;
};

template <class CFG>
void read_image(hls::stream<axis_word>& in, typename input_layout<CFG>::element_t elements[input_layout<CFG>::size],
                status_t& flags) {
    typedef input_layout<CFG> L;
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
        for (unsigned q = 0; q < L::per_beat; q++) {
#pragma HLS UNROLL
            // the element's bits: two's complement for a signed element_t
            elements[L::per_beat * b + q] = data.range(L::element_bits * q + L::element_bits - 1, L::element_bits * q);
        }
    }
}

// Analog input: the (position, group) words with a nonzero element and their G values,
// then end of step.
template <class CFG>
void encode_analog(const typename input_layout<CFG>::element_t elements[input_layout<CFG>::size],
                   hls::stream<typename CFG::out_word_t>& out) {
    typedef input_layout<CFG> L;
    typedef typename CFG::out_word_t word_t;
encode_loop:
    for (unsigned y = 0; y < CFG::height; y++) {
        for (unsigned x = 0; x < CFG::width; x++) {
            for (unsigned g = 0; g < L::groups; g++) {
#pragma HLS PIPELINE II = 1
                SPIKEFORGE_TRACE(CFG::stage, LOOP_ENCODE);
                word_t word;
                word.y = y;
                word.x = x;
                word.g = g;
                word.last = 0;
                for (unsigned c = 0; c < L::group; c++) {
#pragma HLS UNROLL
                    word.values.range(L::element_bits * c + L::element_bits - 1, L::element_bits * c) =
                        elements[(y * CFG::width + x) * CFG::channels + g * L::group + c];
                }
                if (word.values != 0) out.write(word);
            }
        }
    }
    out.write(end_of_step<word_t>());
}

// Poisson input for step t; state carries the generator across steps of one image.
template <class CFG>
void encode_poisson(const typename input_layout<CFG>::element_t elements[input_layout<CFG>::size],
                    ap_uint<32>& state, hls::stream<typename CFG::out_word_t>& out) {
    typedef input_layout<CFG> L;
    typedef typename CFG::out_word_t word_t;
    ap_uint<32> x = state;
encode_loop:
    for (unsigned y = 0; y < CFG::height; y++) {
        for (unsigned xx = 0; xx < CFG::width; xx++) {
            for (unsigned g = 0; g < L::groups; g++) {
#pragma HLS PIPELINE II = 1
                SPIKEFORGE_TRACE(CFG::stage, LOOP_ENCODE);
                word_t word;
                word.y = y;
                word.x = xx;
                word.g = g;
                word.last = 0;
                for (unsigned c = 0; c < L::group; c++) {
#pragma HLS UNROLL
                    x = xorshift32(x);
                    ap_uint<8> draw = x.range(31, 24);
                    word.values[c] = elements[(y * CFG::width + xx) * CFG::channels + g * L::group + c] > draw;
                }
                if (word.values != 0) out.write(word);
            }
        }
    }
    out.write(end_of_step<word_t>());
    state = x;
}

// The input process of one image: read, then encode (once, or every step).
template <class CFG>
void input_stage(hls::stream<axis_word>& in, hls::stream<typename CFG::out_word_t>& out,
                 steps_t timesteps, status_t& flags) {
    typedef input_layout<CFG> L;
    check_input_config<CFG>();
    static typename L::element_t elements[L::size];
#pragma HLS ARRAY_PARTITION variable = elements type = cyclic factor = CFG::pixel_banks
    flags = 0;
    read_image<CFG>(in, elements, flags);
    if (CFG::poisson) {
        ap_uint<32> state = CFG::seed;
    step_loop:
        for (steps_t t = 0; t < timesteps; t++) {
            encode_poisson<CFG>(elements, state, out);
        }
    } else {
        encode_analog<CFG>(elements, out);
    }
}

}  // namespace spikeforge

#endif

// spikeforge HLS library: common types.
//
// Processes of the per-image dataflow region exchange the events of one timestep as
// event_word beats: the values of G consecutive channels [g*G, g*G + G) at (y, x), then
// one beat with last = 1 that closes the step. Spikes carry VB = 1 bit per channel (a
// mask); the analog input carries the input elements, VB = 8 or 16 bits each, two's
// complement when VS (signed input; uint8 pixels by default).
#ifndef SPIKEFORGE_TYPES_H_
#define SPIKEFORGE_TYPES_H_

#include "ap_int.h"
#include "contract.h"  // generated per project from sw/spikeforge/contract.py
#include "hls_stream.h"

namespace spikeforge {

typedef ap_uint<16> steps_t;  // timesteps T of a run, 1 .. MAX_TIMESTEPS <= 65535
typedef ap_uint<32> reg_t;    // one AXI4-Lite register
typedef ap_uint<STATUS_WIDTH> status_t;  // STATUS flags (contract.h, generated)

// ap_uint<W>, or ap_int<W> when S.
template <int W, bool S>
struct ap_integer {
    typedef ap_uint<W> type;
};
template <int W>
struct ap_integer<W, true> {
    typedef ap_int<W> type;
};

template <int YB, int XB, int GB, int G, int VB, bool VS = false>
struct event_word {
    static const unsigned y_bits = YB, x_bits = XB, g_bits = GB;  // coordinate widths
    static const unsigned group = G;        // channels per word
    static const unsigned value_bits = VB;  // bits per channel
    typedef typename ap_integer<VB, VS>::type value_t;  // one channel's value
    ap_uint<YB> y;
    ap_uint<XB> x;
    ap_uint<GB> g;
    ap_uint<G * VB> values;
    ap_uint<1> last;
};

// The beat that closes a timestep.
template <class WORD>
WORD end_of_step() {
    WORD word;
    word.y = 0;
    word.x = 0;
    word.g = 0;
    word.values = 0;
    word.last = 1;
    return word;
}

// Register arithmetic that sticks at 2^32 - 1 instead of wrapping.
inline reg_t add_saturating(reg_t a, reg_t b) {
#pragma HLS INLINE
    ap_uint<33> sum = a;
    sum += b;
    return sum[32] ? reg_t(0xFFFFFFFFu) : reg_t(sum);
}

}  // namespace spikeforge

#endif

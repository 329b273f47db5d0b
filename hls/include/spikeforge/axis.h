// spikeforge HLS library: the 32-bit AXI4-Stream beat of in_r and out_r.
//
// Under Vitis HLS (C simulation, synthesis, co-simulation) this is ap_axiu<32, 0, 0, 0>
// from Vitis' ap_axi_sdata.h. For C simulation with plain g++, where that header does not
// exist, compile with -DSPIKEFORGE_GXX_CSIM to use a struct with the same members.
#ifndef SPIKEFORGE_AXIS_H_
#define SPIKEFORGE_AXIS_H_

#include "ap_int.h"

#ifdef SPIKEFORGE_GXX_CSIM
namespace spikeforge {
struct axis_word {
    ap_uint<32> data;
    ap_uint<4> keep;
    ap_uint<4> strb;
    ap_uint<1> last;
};
}  // namespace spikeforge
#else
#include "ap_axi_sdata.h"
namespace spikeforge {
typedef ap_axiu<32, 0, 0, 0> axis_word;
}  // namespace spikeforge
#endif

namespace spikeforge {

// A beat of out_r: all four bytes valid.
inline axis_word output_beat(ap_uint<32> data, bool last) {
#pragma HLS INLINE
    axis_word beat;
    beat.data = data;
    beat.keep = -1;
    beat.strb = -1;
    beat.last = last;
    return beat;
}

}  // namespace spikeforge

#endif

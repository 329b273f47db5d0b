// spikeforge HLS library: integrate-and-fire average-pooling layer. The converter turns
// AveragePooling2D into a convolution whose output channel c sees only input channel c,
// with the same weight at every window position; the generator recognises that shape and
// builds it depthwise: one weight per channel, lanes = the input's channel group, one
// synapse iteration per (event, output position) instead of per output channel group.
#ifndef SPIKEFORGE_IF_AVG_POOL_H_
#define SPIKEFORGE_IF_AVG_POOL_H_

#include "if_layer.h"
#include "window.h"

namespace spikeforge {

template <class CFG>
void if_avg_pool(hls::stream<typename CFG::in_word_t>& in,
                 hls::stream<typename CFG::out_word_t>& out, steps_t timesteps,
                 const typename CFG::weight_t weights[CFG::weight_depth][CFG::weight_group][CFG::lanes],
                 const typename CFG::bias_t bias[CFG::groups_out][CFG::lanes],
                 const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes],
                 ap_uint<32>& sat) {
#pragma HLS INLINE off
    static_assert(CFG::depthwise && CFG::lanes == CFG::group_in && CFG::weight_group == 1,
                  "an average pool runs depthwise, in its input's channel groups");
    if_layer<CFG, conv_geometry<CFG> >(in, out, timesteps, weights, bias, theta, sat);
}

}  // namespace spikeforge

#endif

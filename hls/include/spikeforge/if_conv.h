// spikeforge HLS library: integrate-and-fire convolution layer (any kernel, stride and
// asymmetric zero padding), event-driven. See if_layer.h, synapse.h, if_neuron.h.
#ifndef SPIKEFORGE_IF_CONV_H_
#define SPIKEFORGE_IF_CONV_H_

#include "if_layer.h"
#include "window.h"

namespace spikeforge {

template <class CFG>
void if_conv(hls::stream<typename CFG::in_word_t>& in,
             hls::stream<typename CFG::out_word_t>& out, steps_t timesteps,
             const typename CFG::weight_t weights[CFG::weight_depth][CFG::weight_group][CFG::lanes],
             const typename CFG::bias_t bias[CFG::groups_out][CFG::lanes],
             const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes],
             ap_uint<32>& sat) {
#pragma HLS INLINE off
    if_layer<CFG, conv_geometry<CFG> >(in, out, timesteps, weights, bias, theta, sat);
}

}  // namespace spikeforge

#endif

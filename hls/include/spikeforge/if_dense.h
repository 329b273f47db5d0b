// spikeforge HLS library: integrate-and-fire dense layer, event-driven. Its input is the
// previous layer's output flattened in (h, w, c) order, so an event at (y, x) group g
// selects weight rows (y * in_w + x) * in_c + g * G ..: a convolution whose kernel is the
// whole input, with a single output position. The output layer (if_output in output.h)
// is a dense layer that counts spikes instead of sending them.
#ifndef SPIKEFORGE_IF_DENSE_H_
#define SPIKEFORGE_IF_DENSE_H_

#include "if_layer.h"
#include "window.h"

namespace spikeforge {

template <class CFG>
void if_dense(hls::stream<typename CFG::in_word_t>& in,
              hls::stream<typename CFG::out_word_t>& out, steps_t timesteps,
              const typename CFG::weight_t weights[CFG::weight_depth][CFG::weight_group][CFG::lanes],
              const typename CFG::bias_t bias[CFG::groups_out][CFG::lanes],
              const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes],
              ap_uint<32>& sat) {
#pragma HLS INLINE off
    if_layer<CFG, dense_geometry<CFG> >(in, out, timesteps, weights, bias, theta, sat);
}

}  // namespace spikeforge

#endif

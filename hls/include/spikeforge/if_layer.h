// spikeforge HLS library: one hidden neuron layer as a dataflow process.
//
// CFG derives from conv_config, dense_config or avg_pool_config (layer_config.h): a
// convolution (any kernel, stride and asymmetric zero padding), a dense layer (a
// convolution whose kernel is its whole input, see window.h) or an average pool (the
// converter's depthwise convolution, one weight per channel, see synapse.h).
//
// Per image: initialise the state; for the analog first layer accumulate W * pixels
// once; then every timestep accumulate the step's input events (event-driven) and update
// the neuron array, sending this step's spikes downstream. The process runs step t while
// its successor runs step t - 1 on the spikes it has already sent.
#ifndef SPIKEFORGE_IF_LAYER_H_
#define SPIKEFORGE_IF_LAYER_H_

#include "if_neuron.h"
#include "layer_config.h"
#include "synapse.h"
#include "types.h"
#include "window.h"

namespace spikeforge {

template <class CFG>
void if_layer(hls::stream<typename CFG::in_word_t>& in,
              hls::stream<typename CFG::out_word_t>& out, steps_t timesteps,
              const typename CFG::weight_t weights[CFG::weight_depth][CFG::weight_group][CFG::lanes],
              const typename CFG::bias_t bias[CFG::groups_out][CFG::lanes],
              const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes],
              ap_uint<32>& sat) {
#pragma HLS INLINE off
    typedef typename layer_geometry<CFG>::type GEO;
    check_neuron_config<CFG>();
    static typename CFG::membrane_t V[CFG::acc_depth][CFG::lanes];
    static typename CFG::acc_t acc[CFG::acc_depth][CFG::lanes];
#pragma HLS ARRAY_RESHAPE variable = V type = complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = acc type = complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = weights type = complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = weights type = complete dim = 3
#pragma HLS ARRAY_PARTITION variable = bias type = complete dim = 2
#pragma HLS ARRAY_PARTITION variable = theta type = complete dim = 2
    ap_uint<32> clamps = 0;
    init_neurons<CFG>(V, acc, theta);
    if (CFG::keep_acc) synapse_step<CFG, GEO>(in, acc, weights);
step_loop:
    for (steps_t t = 0; t < timesteps; t++) {
        if (!CFG::keep_acc) synapse_step<CFG, GEO>(in, acc, weights);
        neuron_step<CFG>(V, acc, bias, theta, out, clamps);
    }
    sat = clamps;
}

}  // namespace spikeforge

#endif

// spikeforge HLS library: one hidden neuron layer as a dataflow process.
//
// Per image: initialise the state; for the analog first layer accumulate W * pixels
// once; then every timestep accumulate the step's input events (event-driven) and update
// the neuron array, sending this step's spikes downstream. The process runs step t while
// its successor runs step t - 1 on the spikes it has already sent.
#ifndef SPIKEFORGE_IF_LAYER_H_
#define SPIKEFORGE_IF_LAYER_H_

#include "if_neuron.h"
#include "synapse.h"
#include "types.h"

namespace spikeforge {

template <class CFG, class GEO>
void if_layer(hls::stream<typename CFG::in_word_t>& in,
              hls::stream<typename CFG::out_word_t>& out, steps_t timesteps,
              const typename CFG::weight_t weights[CFG::weight_depth][CFG::weight_group][CFG::lanes],
              const typename CFG::bias_t bias[CFG::groups_out][CFG::lanes],
              const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes],
              ap_uint<32>& sat) {
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

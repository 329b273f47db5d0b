// spikeforge HLS library: the integrate-and-fire neuron array of one layer.
//
// State per layer: membranes V and this step's synaptic sums (acc), both stored as
// [position * groups + group][lanes]: `lanes` output channels are updated side by side
// (the layer's unroll factor), the groups of a position one after the other.
// One timestep of a neuron (docs/spec.md section 3):
//     V = clamp(V + acc + bias) to [v_min, v_max], counting clamps
//     spike = V >= theta;  subtract: V -= theta;  zero: V = 0  (where spike)
// The analog first layer keeps acc (= W * pixels) for the whole image; every other layer
// clears it for the next step.
//
// CFG: a neuron layer's config (conv_config, layer_config.h); the clamp range is
//      membrane_t's, [-2^(membrane_bits - 1), 2^(membrane_bits - 1) - 1].
#ifndef SPIKEFORGE_IF_NEURON_H_
#define SPIKEFORGE_IF_NEURON_H_

#include "trace.h"
#include "types.h"

namespace spikeforge {

// V starts at CFG::v_init of its channel (docs/spec.md: the initial membrane), acc at 0;
// theta is no longer read here (kept so that the callers stay as they are).
template <class CFG>
void init_neurons(typename CFG::membrane_t V[CFG::acc_depth][CFG::lanes],
                  typename CFG::acc_t acc[CFG::acc_depth][CFG::lanes],
                  const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes]) {
init_loop:
    for (unsigned pos = 0; pos < CFG::out_h * CFG::out_w; pos++) {
        for (unsigned cg = 0; cg < CFG::groups_out; cg++) {
#pragma HLS PIPELINE II = 1
            SPIKEFORGE_TRACE(CFG::stage, LOOP_INIT);
            unsigned addr = pos * CFG::groups_out + cg;
            for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
                V[addr][p] = typename CFG::membrane_t(CFG::v_init(cg, p));
                acc[addr][p] = 0;
            }
        }
    }
}

// Update the lanes of one group; returns the spike mask, adds clamp events to sat.
template <class CFG>
ap_uint<CFG::lanes> update_group(typename CFG::membrane_t V[CFG::lanes],
                                 typename CFG::acc_t acc[CFG::lanes],
                                 const typename CFG::bias_t bias[CFG::lanes],
                                 const typename CFG::threshold_t theta[CFG::lanes],
                                 ap_uint<32>& sat) {
#pragma HLS INLINE
    ap_uint<CFG::lanes> spikes = 0;
    ap_uint<16> clamps = 0;
    for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
        typename CFG::sum_t v = V[p];
        v += acc[p];
        v += bias[p];
        const long long top = (1LL << (CFG::membrane_bits - 1)) - 1;  // membrane_t's range
        const typename CFG::sum_t v_max = top, v_min = -top - 1;
        if (v > v_max) {
            v = v_max;
            clamps++;
        } else if (v < v_min) {
            v = v_min;
            clamps++;
        }
        bool spike = v >= theta[p];
        if (spike) v = CFG::reset_zero ? typename CFG::sum_t(0) : typename CFG::sum_t(v - theta[p]);
        V[p] = v;
        spikes[p] = spike;
        if (!CFG::keep_acc) acc[p] = 0;
    }
    sat += clamps;
    return spikes;
}

// One timestep of a hidden layer: update every neuron, send the spikes, end the step.
template <class CFG>
void neuron_step(typename CFG::membrane_t V[CFG::acc_depth][CFG::lanes],
                 typename CFG::acc_t acc[CFG::acc_depth][CFG::lanes],
                 const typename CFG::bias_t bias[CFG::groups_out][CFG::lanes],
                 const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes],
                 hls::stream<typename CFG::out_word_t>& out, ap_uint<32>& sat) {
    typedef typename CFG::out_word_t word_t;
neuron_loop:
    for (unsigned y = 0; y < CFG::out_h; y++) {
        for (unsigned x = 0; x < CFG::out_w; x++) {
            for (unsigned cg = 0; cg < CFG::groups_out; cg++) {
#pragma HLS PIPELINE II = 1
                SPIKEFORGE_TRACE(CFG::stage, LOOP_NEURON);
                unsigned addr = (y * CFG::out_w + x) * CFG::groups_out + cg;
                ap_uint<CFG::lanes> spikes =
                    update_group<CFG>(V[addr], acc[addr], bias[cg], theta[cg], sat);
                if (spikes != 0) {
                    word_t word;
                    word.y = y;
                    word.x = x;
                    word.g = cg;
                    word.values = spikes;
                    word.last = 0;
                    out.write(word);
                }
            }
        }
    }
    out.write(end_of_step<word_t>());
}

// One timestep of the output layer (one position): update and count the spikes.
template <class CFG>
void output_step(typename CFG::membrane_t V[CFG::acc_depth][CFG::lanes],
                 typename CFG::acc_t acc[CFG::acc_depth][CFG::lanes],
                 const typename CFG::bias_t bias[CFG::groups_out][CFG::lanes],
                 const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes],
                 typename CFG::count_t counts[CFG::groups_out][CFG::lanes], ap_uint<32>& sat) {
neuron_loop:
    for (unsigned cg = 0; cg < CFG::groups_out; cg++) {
#pragma HLS PIPELINE II = 1
        SPIKEFORGE_TRACE(CFG::stage, LOOP_NEURON);
        ap_uint<CFG::lanes> spikes = update_group<CFG>(V[cg], acc[cg], bias[cg], theta[cg], sat);
        for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
            counts[cg][p] += spikes[p];
        }
    }
}

}  // namespace spikeforge

#endif

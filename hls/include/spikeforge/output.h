// spikeforge HLS library: the output layer and out_r.
//
// The last layer is dense; it counts its spikes over the T steps, then sends K count
// beats (class 0 first) and one beat with the class, TLAST on the class beat. The class
// (docs/spec.md section 4) is the most spikes, then the larger V / theta compared exactly
// as V_a * theta_b > V_b * theta_a, then the lowest index: scan k = 0 .. K-1 and replace
// the best only when the candidate is strictly better.
#ifndef SPIKEFORGE_OUTPUT_H_
#define SPIKEFORGE_OUTPUT_H_

#include "axis.h"
#include "if_neuron.h"
#include "layer_config.h"
#include "synapse.h"
#include "trace.h"
#include "types.h"
#include "window.h"

namespace spikeforge {

template <class CFG>
ap_uint<16> argmax_class(const typename CFG::count_t counts[CFG::groups_out][CFG::lanes],
                         const typename CFG::membrane_t V[CFG::acc_depth][CFG::lanes],
                         const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes]) {
    typedef ap_int<CFG::membrane_bits + CFG::threshold_bits + 2> product_t;
    ap_uint<16> best = 0;
    typename CFG::count_t best_count = counts[0][0];
    typename CFG::membrane_t best_v = V[0][0];
    typename CFG::threshold_t best_theta = theta[0][0];
argmax_loop:
    for (unsigned k = 1; k < CFG::groups_out * CFG::lanes; k++) {
#pragma HLS PIPELINE
        SPIKEFORGE_TRACE(CFG::stage, LOOP_OUTPUT);
        unsigned cg = k / CFG::lanes, p = k % CFG::lanes;
        product_t mine = product_t(V[cg][p]) * best_theta;
        product_t theirs = product_t(best_v) * theta[cg][p];
        bool better = counts[cg][p] > best_count || (counts[cg][p] == best_count && mine > theirs);
        if (better) {
            best = k;
            best_count = counts[cg][p];
            best_v = V[cg][p];
            best_theta = theta[cg][p];
        }
    }
    return best;
}

template <class CFG>
void write_output(const typename CFG::count_t counts[CFG::groups_out][CFG::lanes],
                  ap_uint<16> best, hls::stream<axis_word>& out) {
count_loop:
    for (unsigned k = 0; k < CFG::groups_out * CFG::lanes; k++) {
#pragma HLS PIPELINE II = 1
        SPIKEFORGE_TRACE(CFG::stage, LOOP_OUTPUT);
        out.write(output_beat(counts[k / CFG::lanes][k % CFG::lanes], false));
    }
    SPIKEFORGE_TRACE(CFG::stage, LOOP_OUTPUT);
    out.write(output_beat(best, true));
}

// The output layer process: a dense layer that counts, then writes out_r. CFG derives
// from dense_config (layer_config.h).
template <class CFG>
void if_output(hls::stream<typename CFG::in_word_t>& in, hls::stream<axis_word>& out,
               steps_t timesteps,
               const typename CFG::weight_t weights[CFG::weight_depth][CFG::weight_group][CFG::lanes],
               const typename CFG::bias_t bias[CFG::groups_out][CFG::lanes],
               const typename CFG::threshold_t theta[CFG::groups_out][CFG::lanes],
               ap_uint<32>& sat) {
#pragma HLS INLINE off
    check_neuron_config<CFG>();
    static_assert(CFG::dense, "output layer: a dense layer (CFG derives from dense_config)");
    static_assert(CFG::out_c <= 65536, "output layer: the class index is sent in 16 bits");
    static typename CFG::membrane_t V[CFG::acc_depth][CFG::lanes];
    static typename CFG::acc_t acc[CFG::acc_depth][CFG::lanes];
    typename CFG::count_t counts[CFG::groups_out][CFG::lanes];
#pragma HLS ARRAY_RESHAPE variable = V type = complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = acc type = complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = counts type = complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = weights type = complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = weights type = complete dim = 3
#pragma HLS ARRAY_PARTITION variable = bias type = complete dim = 2
#pragma HLS ARRAY_PARTITION variable = theta type = complete dim = 2
    ap_uint<32> clamps = 0;
    init_neurons<CFG>(V, acc, theta);
clear_counts:
    for (unsigned cg = 0; cg < CFG::groups_out; cg++) {
#pragma HLS PIPELINE II = 1
        SPIKEFORGE_TRACE(CFG::stage, LOOP_INIT);
        for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
            counts[cg][p] = 0;
        }
    }
    if (CFG::keep_acc) synapse_step<CFG, dense_geometry<CFG> >(in, acc, weights);
step_loop:
    for (steps_t t = 0; t < timesteps; t++) {
        if (!CFG::keep_acc) synapse_step<CFG, dense_geometry<CFG> >(in, acc, weights);
        output_step<CFG>(V, acc, bias, theta, counts, clamps);
    }
    sat = clamps;
    write_output<CFG>(counts, argmax_class<CFG>(counts, V, theta), out);
}

}  // namespace spikeforge

#endif

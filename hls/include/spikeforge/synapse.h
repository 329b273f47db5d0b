// spikeforge HLS library: event-driven synaptic accumulation (scatter).
//
// Only input events cause work. An event brings the values of G input channels at
// (y, x); it is added to every output position whose window contains (y, x) (GEO: conv
// or dense geometry), for all output channels, `lanes` at a time. One loop iteration
// handles one (event, output position, lane group) and sums G x lanes weights (the
// synapse units): for spikes a gated add, for the analog input a multiply-add of the
// input elements (the word's value_t: 8 or 16 bits, signed or unsigned).
// Iterations per step = sum over events of max(1, outputs fed x groups_out) + 1 (the
// end-of-step beat) at II = 1; the Python cycle model counts exactly this.
//
// Weights are stored [(row * groups_in + g) * groups_out + cg][G][lanes] with
// row = kernel_y * kernel_w + kernel_x, so one wide word holds everything an iteration
// needs.
//
// Depthwise layers (average pooling, which the converter turns into a convolution whose
// output channel c sees only input channel c, with one weight per channel) run with
// lanes = G: an event of group g feeds lane group g only, one iteration per output
// position, from weights [g][1][lanes].
//
// CFG: a neuron layer's config (conv_config, layer_config.h).
#ifndef SPIKEFORGE_SYNAPSE_H_
#define SPIKEFORGE_SYNAPSE_H_

#include "forward.h"
#include "trace.h"
#include "types.h"
#include "window.h"

namespace spikeforge {

// The sums one iteration adds to the lanes: over the G input channels of value x weight
// (a gated add for spikes, value_bits = 1; a multiply-add for analog input elements) ...
template <class CFG, bool DEPTHWISE = CFG::depthwise>
struct event_sums {
    typedef typename CFG::in_word_t::value_t value_t;
    static void of(const typename CFG::in_word_t& word,
                   const typename CFG::weight_t weights[CFG::weight_group][CFG::lanes],
                   typename CFG::acc_t sums[CFG::lanes]) {
#pragma HLS INLINE
        value_t values[CFG::group_in];
#pragma HLS ARRAY_PARTITION variable = values type = complete
        for (unsigned b = 0; b < CFG::group_in; b++) {
#pragma HLS UNROLL
            values[b] = word.values.range(CFG::value_bits * b + CFG::value_bits - 1, CFG::value_bits * b);
        }
        for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
            sums[p] = 0;
        }
        for (unsigned b = 0; b < CFG::group_in; b++) {
#pragma HLS UNROLL
            if (CFG::value_bits == 1) {
                if (values[b] == 0) continue;
                for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
                    sums[p] += weights[b][p];
                }
            } else {
                for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
                    sums[p] += values[b] * weights[b][p];
                }
            }
        }
    }
};

// ... or, depthwise, lane p takes input channel p of the event's group with its own weight.
template <class CFG>
struct event_sums<CFG, true> {
    typedef typename CFG::in_word_t::value_t value_t;
    static void of(const typename CFG::in_word_t& word,
                   const typename CFG::weight_t weights[CFG::weight_group][CFG::lanes],
                   typename CFG::acc_t sums[CFG::lanes]) {
#pragma HLS INLINE
        for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
            value_t value =
                word.values.range(CFG::value_bits * p + CFG::value_bits - 1, CFG::value_bits * p);
            sums[p] = value * weights[0][p];
        }
    }
};

// Accumulate the events of one step (up to its end-of-step beat) into acc.
template <class CFG, class GEO>
void synapse_step(hls::stream<typename CFG::in_word_t>& in,
                  typename CFG::acc_t acc[CFG::acc_depth][CFG::lanes],
                  const typename CFG::weight_t weights[CFG::weight_depth][CFG::weight_group][CFG::lanes]) {
    typedef ap_uint<CFG::acc_addr_bits> addr_t;
    const unsigned groups_fed = CFG::depthwise ? 1 : CFG::groups_out;  // per output position
    typename CFG::in_word_t word;
    ap_uint<CFG::acc_addr_bits> fwd_addr[FORWARD_DEPTH];
    bool fwd_valid[FORWARD_DEPTH];
    typename CFG::acc_t fwd_value[FORWARD_DEPTH][CFG::lanes];
#pragma HLS ARRAY_PARTITION variable = fwd_addr type = complete
#pragma HLS ARRAY_PARTITION variable = fwd_valid type = complete
#pragma HLS ARRAY_PARTITION variable = fwd_value type = complete dim = 0
    forward_clear(fwd_valid);
    bool busy = false;
    int a_y = 0, a_x = 0, oy = 0, ox = 0, ox_first = 0, oy_end = 0, ox_end = 0;
    unsigned cg = 0;
synapse_loop:
    while (true) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = CFG::synapse_trip_max
#pragma HLS DEPENDENCE variable = acc type = inter dependent = false
        SPIKEFORGE_TRACE(CFG::stage, LOOP_SYNAPSE);
        if (!busy) {
            word = in.read();
            if (word.last) break;
            axis_span rows = GEO::rows(word.y), cols = GEO::cols(word.x);
            a_y = int(word.y) + CFG::pad_top;
            a_x = int(word.x) + CFG::pad_left;
            oy = rows.first;
            oy_end = rows.first + rows.count;
            ox = ox_first = cols.first;
            ox_end = cols.first + cols.count;
            cg = 0;
            busy = rows.count > 0 && cols.count > 0;
            if (!busy) continue;  // an event that feeds no output still takes its cycle
        }
        unsigned row = (a_y - oy * CFG::stride_h) * CFG::kernel_w + (a_x - ox * CFG::stride_w);
        unsigned out_group = CFG::depthwise ? unsigned(word.g) : cg;
        unsigned waddr = CFG::depthwise ? unsigned(word.g)
                                        : (row * CFG::groups_in + unsigned(word.g)) * CFG::groups_out + cg;
        addr_t addr = (unsigned(oy) * CFG::out_w + unsigned(ox)) * CFG::groups_out + out_group;
        typename CFG::acc_t sums[CFG::lanes], value[CFG::lanes];
        event_sums<CFG>::of(word, weights[waddr], sums);
        for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
            value[p] = acc[addr][p];
        }
        forward_bypass<typename CFG::acc_t, CFG::lanes, CFG::acc_addr_bits>(
            fwd_addr, fwd_valid, fwd_value, addr, value);
        for (unsigned p = 0; p < CFG::lanes; p++) {
#pragma HLS UNROLL
            value[p] += sums[p];
            acc[addr][p] = value[p];
        }
        forward_push<typename CFG::acc_t, CFG::lanes, CFG::acc_addr_bits>(
            fwd_addr, fwd_valid, fwd_value, addr, value);
        if (++cg == groups_fed) {
            cg = 0;
            if (++ox == ox_end) {
                ox = ox_first;
                if (++oy == oy_end) busy = false;
            }
        }
    }
}

}  // namespace spikeforge

#endif

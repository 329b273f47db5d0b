// spikeforge HLS library: spiking max-pool over windows (any pool, stride, asymmetric
// padding), in the spec's two modes (docs/spec.md section 3, config.pool):
//   gate:        per window and channel, pass the spike of the input with the highest
//                count so far (this step included); ties go to the first position in
//                row-major window order; padding never wins.
//   running_max: spike when the window's highest input count exceeds the output's own
//                count. Every input spikes at most once per step, so the maximum rises by
//                at most one per step and the output count always equals it: the output
//                spikes exactly in the steps where the window's maximum rises.
// Counts only grow, so a window's state changes only when one of its inputs spikes. The
// gate keeps, per window and channel, a state of (count, aux), updated event by event:
//   gate:        the winner's count and its offset (dy, dx) in the window;
//   running_max: the window's maximum count and the step in which it last rose.
// One step:
//   count pass (event-driven): for each input event, add the spikes to the input counts
//     (gate: note the step of each spike), then for every window containing the position
//     update the state: gate: the spiking input replaces the winner with a higher count,
//     or an equal count at an earlier offset, and refreshes the count if it is the
//     winner; running_max: a count above the maximum raises it, in this step;
//   emit pass: for each window and channel group, a channel spikes when its winner
//     spiked in this step (gate) or its maximum rose in this step (running_max).
// Iterations per step: sum over events of max(1, windows containing the position) + 1,
// then out_h * out_w * groups.
//
// CFG: a max-pool's config (pool_gate_config, layer_config.h).
#ifndef SPIKEFORGE_POOL_GATE_H_
#define SPIKEFORGE_POOL_GATE_H_

#include "forward.h"
#include "layer_config.h"
#include "trace.h"
#include "types.h"
#include "window.h"

namespace spikeforge {

// A window lane's state: (count << aux_bits) | aux. Gate offsets (dy << dx_bits) | dx
// compare in row-major order.
template <class CFG>
struct pool_state {
    typedef ap_uint<CFG::count_bits + CFG::aux_bits> type;
    static type pack(ap_uint<CFG::count_bits> count, ap_uint<CFG::aux_bits> aux) {
#pragma HLS INLINE
        return (type(count) << CFG::aux_bits) | type(aux);
    }
    static ap_uint<CFG::count_bits> count(type s) {
#pragma HLS INLINE
        return s >> CFG::aux_bits;
    }
    static ap_uint<CFG::aux_bits> aux(type s) {
#pragma HLS INLINE
        return s;
    }
};

template <class CFG>
void gate_init(typename CFG::count_t counts[CFG::in_h * CFG::in_w * CFG::groups][CFG::group],
               typename CFG::step_t spiked[CFG::group][CFG::in_h * CFG::in_w * CFG::groups],
               typename pool_state<CFG>::type win[CFG::out_h * CFG::out_w * CFG::groups][CFG::group]) {
    typedef pool_state<CFG> S;
init_inputs:
    for (unsigned a = 0; a < CFG::in_h * CFG::in_w * CFG::groups; a++) {
#pragma HLS PIPELINE II = 1
        SPIKEFORGE_TRACE(CFG::stage, LOOP_INIT);
        for (unsigned b = 0; b < CFG::group; b++) {
#pragma HLS UNROLL
            counts[a][b] = 0;
            if (!CFG::running_max) spiked[b][a] = -1;  // all ones: no step t < MAX_TIMESTEPS
        }
    }
init_windows:
    for (unsigned oy = 0; oy < CFG::out_h; oy++) {
        for (unsigned ox = 0; ox < CFG::out_w; ox++) {
            for (unsigned g = 0; g < CFG::groups; g++) {
#pragma HLS PIPELINE II = 1
                SPIKEFORGE_TRACE(CFG::stage, LOOP_INIT);
                ap_uint<CFG::aux_bits> aux = -1;  // running_max: the maximum never rose
                if (!CFG::running_max) {
                    // the first real (unpadded) position of the window wins all ties at 0
                    int dy = CFG::pad_top - int(oy) * CFG::stride_h;
                    int dx = CFG::pad_left - int(ox) * CFG::stride_w;
                    aux = (ap_uint<CFG::aux_bits>(dy > 0 ? dy : 0) << CFG::dx_bits) |
                          ap_uint<CFG::aux_bits>(dx > 0 ? dx : 0);
                }
                for (unsigned b = 0; b < CFG::group; b++) {
#pragma HLS UNROLL
                    win[(oy * CFG::out_w + ox) * CFG::groups + g][b] = S::pack(0, aux);
                }
            }
        }
    }
}

// The new state of a window lane after its input at offset `off` reached count `fresh`.
template <class CFG>
typename pool_state<CFG>::type pool_update(typename pool_state<CFG>::type state,
                                           ap_uint<CFG::count_bits> fresh,
                                           ap_uint<CFG::aux_bits> off,
                                           typename CFG::step_t t) {
#pragma HLS INLINE
    typedef pool_state<CFG> S;
    ap_uint<CFG::count_bits> best = S::count(state);
    if (CFG::running_max) return fresh > best ? S::pack(fresh, t) : state;
    ap_uint<CFG::aux_bits> best_off = S::aux(state);
    bool wins = best_off == off || fresh > best || (fresh == best && off < best_off);
    return wins ? S::pack(fresh, off) : state;
}

template <class CFG>
void gate_count(hls::stream<typename CFG::in_word_t>& in, typename CFG::step_t t,
                typename CFG::count_t counts[CFG::in_h * CFG::in_w * CFG::groups][CFG::group],
                typename CFG::step_t spiked[CFG::group][CFG::in_h * CFG::in_w * CFG::groups],
                typename pool_state<CFG>::type win[CFG::out_h * CFG::out_w * CFG::groups][CFG::group]) {
    typedef typename pool_state<CFG>::type state_t;
    typename CFG::in_word_t word;
    typename CFG::count_t fresh[CFG::group];
#pragma HLS ARRAY_PARTITION variable = fresh type = complete
    ap_uint<CFG::win_addr_bits> fwd_addr[FORWARD_DEPTH];
    bool fwd_valid[FORWARD_DEPTH];
    state_t fwd_value[FORWARD_DEPTH][CFG::group];
#pragma HLS ARRAY_PARTITION variable = fwd_addr type = complete
#pragma HLS ARRAY_PARTITION variable = fwd_valid type = complete
#pragma HLS ARRAY_PARTITION variable = fwd_value type = complete dim = 0
    forward_clear(fwd_valid);
    bool busy = false;
    int a_y = 0, a_x = 0, oy = 0, ox = 0, ox_first = 0, oy_end = 0, ox_end = 0;
count_loop:
    while (true) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = CFG::count_trip_max
#pragma HLS DEPENDENCE variable = win type = inter dependent = false
// a layer sends each (y, x, g) at most once per step: no two events of a step share an
// input address, and the loop is left between steps
#pragma HLS DEPENDENCE variable = counts type = inter dependent = false
        SPIKEFORGE_TRACE(CFG::stage, LOOP_GATE_COUNT);
        if (!busy) {
            word = in.read();
            if (word.last) break;
            unsigned in_addr = (unsigned(word.y) * CFG::in_w + unsigned(word.x)) * CFG::groups + unsigned(word.g);
            for (unsigned b = 0; b < CFG::group; b++) {
#pragma HLS UNROLL
                fresh[b] = counts[in_addr][b] + word.values[b];
                counts[in_addr][b] = fresh[b];
                if (!CFG::running_max && word.values[b]) spiked[b][in_addr] = t;
            }
            axis_span rows = sliding_span<CFG::pool_h, CFG::stride_h, CFG::out_h>(int(word.y) + CFG::pad_top);
            axis_span cols = sliding_span<CFG::pool_w, CFG::stride_w, CFG::out_w>(int(word.x) + CFG::pad_left);
            a_y = int(word.y) + CFG::pad_top;
            a_x = int(word.x) + CFG::pad_left;
            oy = rows.first;
            oy_end = rows.first + rows.count;
            ox = ox_first = cols.first;
            ox_end = cols.first + cols.count;
            busy = rows.count > 0 && cols.count > 0;
            if (!busy) continue;  // a position in no window still takes its cycle
        }
        ap_uint<CFG::aux_bits> off = (ap_uint<CFG::aux_bits>(a_y - oy * CFG::stride_h) << CFG::dx_bits) |
                                     ap_uint<CFG::aux_bits>(a_x - ox * CFG::stride_w);
        ap_uint<CFG::win_addr_bits> addr = (unsigned(oy) * CFG::out_w + unsigned(ox)) * CFG::groups + unsigned(word.g);
        state_t state[CFG::group];
        for (unsigned b = 0; b < CFG::group; b++) {
#pragma HLS UNROLL
            state[b] = win[addr][b];
        }
        forward_bypass<state_t, CFG::group, CFG::win_addr_bits>(fwd_addr, fwd_valid, fwd_value, addr, state);
        for (unsigned b = 0; b < CFG::group; b++) {
#pragma HLS UNROLL
            if (word.values[b]) state[b] = pool_update<CFG>(state[b], fresh[b], off, t);
            win[addr][b] = state[b];
        }
        forward_push<state_t, CFG::group, CFG::win_addr_bits>(fwd_addr, fwd_valid, fwd_value, addr, state);
        if (++ox == ox_end) {
            ox = ox_first;
            if (++oy == oy_end) busy = false;
        }
    }
}

template <class CFG>
void gate_emit(typename CFG::step_t t,
               const typename CFG::step_t spiked[CFG::group][CFG::in_h * CFG::in_w * CFG::groups],
               const typename pool_state<CFG>::type win[CFG::out_h * CFG::out_w * CFG::groups][CFG::group],
               hls::stream<typename CFG::out_word_t>& out) {
    typedef pool_state<CFG> S;
    typedef typename CFG::out_word_t word_t;
emit_loop:
    for (unsigned oy = 0; oy < CFG::out_h; oy++) {
        for (unsigned ox = 0; ox < CFG::out_w; ox++) {
            for (unsigned g = 0; g < CFG::groups; g++) {
#pragma HLS PIPELINE II = 1
                SPIKEFORGE_TRACE(CFG::stage, LOOP_GATE_EMIT);
                unsigned addr = (oy * CFG::out_w + ox) * CFG::groups + g;
                ap_uint<CFG::group> spikes = 0;
                for (unsigned b = 0; b < CFG::group; b++) {
#pragma HLS UNROLL
                    ap_uint<CFG::aux_bits> aux = S::aux(win[addr][b]);
                    if (CFG::running_max) {
                        spikes[b] = aux == t;  // the maximum rose in this step
                    } else {
                        unsigned iy = oy * CFG::stride_h + unsigned(aux >> CFG::dx_bits) - CFG::pad_top;
                        unsigned ix = ox * CFG::stride_w + unsigned(aux & ((1u << CFG::dx_bits) - 1)) - CFG::pad_left;
                        spikes[b] = spiked[b][(iy * CFG::in_w + ix) * CFG::groups + g] == t;
                    }
                }
                if (spikes != 0) {
                    word_t word;
                    word.y = oy;
                    word.x = ox;
                    word.g = g;
                    word.values = spikes;
                    word.last = 0;
                    out.write(word);
                }
            }
        }
    }
    out.write(end_of_step<word_t>());
}

template <class CFG>
void pool_gate(hls::stream<typename CFG::in_word_t>& in, hls::stream<typename CFG::out_word_t>& out,
               steps_t timesteps) {
#pragma HLS INLINE off
    check_pool_gate_config<CFG>();
    static typename CFG::count_t counts[CFG::in_h * CFG::in_w * CFG::groups][CFG::group];
    static typename CFG::step_t spiked[CFG::group][CFG::in_h * CFG::in_w * CFG::groups];  // gate only
    static typename pool_state<CFG>::type win[CFG::out_h * CFG::out_w * CFG::groups][CFG::group];
#pragma HLS ARRAY_RESHAPE variable = counts type = complete dim = 2
#pragma HLS ARRAY_PARTITION variable = spiked type = complete dim = 1
#pragma HLS ARRAY_RESHAPE variable = win type = complete dim = 2
    gate_init<CFG>(counts, spiked, win);
step_loop:
    for (steps_t t = 0; t < timesteps; t++) {
        gate_count<CFG>(in, t, counts, spiked, win);
        gate_emit<CFG>(t, spiked, win, out);
    }
}

}  // namespace spikeforge

#endif

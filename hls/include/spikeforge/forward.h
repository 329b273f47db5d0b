// spikeforge HLS library: read-modify-write at II=1 with a forwarding window.
//
// A loop that does mem[a] += x every cycle on a block RAM cannot start its next
// iteration before the previous write has landed if both touch the same address; the
// scheduler would raise the II. The loops that need it declare the memory's inter-
// iteration dependence false and instead keep the last DEPTH (address, value) pairs
// they wrote in registers: a read whose address matches one of them takes the newest
// matching value (the classic histogram pattern). DEPTH covers the read-to-write
// latency of the pipeline. In C simulation the memory already holds the newest value,
// so forwarding returns what the read returned.
#ifndef SPIKEFORGE_FORWARD_H_
#define SPIKEFORGE_FORWARD_H_

#include "ap_int.h"

namespace spikeforge {

const int FORWARD_DEPTH = 4;

inline void forward_clear(bool valid[FORWARD_DEPTH]) {
#pragma HLS INLINE
    for (int d = 0; d < FORWARD_DEPTH; d++) {
#pragma HLS UNROLL
        valid[d] = false;
    }
}

// Replace value[] by the newest value written to addr within the window, if any.
template <class T, int LANES, int AB>
void forward_bypass(const ap_uint<AB> addrs[FORWARD_DEPTH], const bool valid[FORWARD_DEPTH],
                    const T values[FORWARD_DEPTH][LANES], ap_uint<AB> addr, T value[LANES]) {
#pragma HLS INLINE
    for (int d = FORWARD_DEPTH - 1; d >= 0; d--) {  // oldest first: the newest wins
#pragma HLS UNROLL
        if (valid[d] && addrs[d] == addr) {
            for (int l = 0; l < LANES; l++) {
#pragma HLS UNROLL
                value[l] = values[d][l];
            }
        }
    }
}

// Record a write; entry 0 is the newest.
template <class T, int LANES, int AB>
void forward_push(ap_uint<AB> addrs[FORWARD_DEPTH], bool valid[FORWARD_DEPTH],
                  T values[FORWARD_DEPTH][LANES], ap_uint<AB> addr, const T value[LANES]) {
#pragma HLS INLINE
    for (int d = FORWARD_DEPTH - 1; d > 0; d--) {
#pragma HLS UNROLL
        addrs[d] = addrs[d - 1];
        valid[d] = valid[d - 1];
        for (int l = 0; l < LANES; l++) {
#pragma HLS UNROLL
            values[d][l] = values[d - 1][l];
        }
    }
    addrs[0] = addr;
    valid[0] = true;
    for (int l = 0; l < LANES; l++) {
#pragma HLS UNROLL
        values[0][l] = value[l];
    }
}

}  // namespace spikeforge

#endif

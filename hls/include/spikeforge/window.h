// spikeforge HLS library: which outputs an input position feeds.
//
// Along one axis, input coordinate y (padded coordinate a = y + PAD) lies in the window
// of output o when o*S <= a <= o*S + K - 1, i.e. for o in
// [ceil((a - K + 1) / S), floor(a / S)] clipped to [0, O - 1]; its kernel index there is
// a - o*S. This serves convolutions (K = kernel, S = stride) and max-pool gates alike,
// for any stride and asymmetric zero padding. A dense layer is a convolution whose kernel
// covers its whole input: exactly one output position, kernel index = the coordinate.
#ifndef SPIKEFORGE_WINDOW_H_
#define SPIKEFORGE_WINDOW_H_

namespace spikeforge {

struct axis_span {
    int first;  // first output coordinate fed
    int count;  // number of output coordinates fed (may be 0)
};

template <int K, int S, int O>
axis_span sliding_span(int a) {
#pragma HLS INLINE
    int hi = a / S;
    if (hi > O - 1) hi = O - 1;
    int lo = (a - K + 1 <= 0) ? 0 : (a - K + S) / S;
    axis_span span;
    span.first = lo;
    span.count = (hi >= lo) ? hi - lo + 1 : 0;
    return span;
}

// Geometry of a convolution layer (CFG: kernel_h/w, stride_h/w, pad_top/left, out_h/w).
template <class CFG>
struct conv_geometry {
    static axis_span rows(int y) {
#pragma HLS INLINE
        return sliding_span<CFG::kernel_h, CFG::stride_h, CFG::out_h>(y + CFG::pad_top);
    }
    static axis_span cols(int x) {
#pragma HLS INLINE
        return sliding_span<CFG::kernel_w, CFG::stride_w, CFG::out_w>(x + CFG::pad_left);
    }
};

// Geometry of a dense layer: one output position, fed by every input position.
template <class CFG>
struct dense_geometry {
    static axis_span rows(int) {
#pragma HLS INLINE
        axis_span span = {0, 1};
        return span;
    }
    static axis_span cols(int) {
#pragma HLS INLINE
        axis_span span = {0, 1};
        return span;
    }
};

// The geometry a neuron layer's config asks for (CFG::dense, layer_config.h).
template <class CFG, bool DENSE = CFG::dense>
struct layer_geometry {
    typedef conv_geometry<CFG> type;
};
template <class CFG>
struct layer_geometry<CFG, true> {
    typedef dense_geometry<CFG> type;
};

}  // namespace spikeforge

#endif

// spikeforge HLS library: the default configs of the stages and the rules they obey.
//
// As in hls4ml, every stage template takes a config struct of compile-time constants and
// types. The generated configs (parameters.h) inherit these defaults and override the
// fields of their layer:
//     struct layer1_config : spikeforge::conv_config { static const unsigned lanes = 16; ... };
// The defaults describe the smallest valid stage of each kind (1 x 1 maps, one lane, the
// IR's default widths), so a config that sets only some fields still obeys the rules.
// The base picks the layer kind: conv_config, dense_config (a convolution whose kernel is
// its whole input) or avg_pool_config (a depthwise convolution, one weight per channel).
// Each stage template starts with check_*_config<CFG>(): static_asserts that refuse, at
// compile time and with the rule in the message, a config the template would run wrongly.
#ifndef SPIKEFORGE_LAYER_CONFIG_H_
#define SPIKEFORGE_LAYER_CONFIG_H_

#include "trace.h"
#include "types.h"

namespace spikeforge {

// Stage 0: reads the input from in_r and encodes it (encoder.h).
struct input_config {
    static const unsigned stage = 0;
    static const unsigned height = 1, width = 1, channels = 1;  // the input (H, W, C)
    static const unsigned beats = 1;        // in_r beats per input, the last one padded
    static const unsigned pixel_banks = 4;  // cyclic banks of the element buffer
    static const bool poisson = false;      // Poisson spikes every step, else analog values once
    static const unsigned seed = 1;         // xorshift32 seed (Poisson input)
    typedef event_word<1, 1, 1, 1, 8> out_word_t;  // G elements of EB bits (Poisson: 1-bit spikes)
};

// A neuron layer (if_layer.h, output.h): a convolution of integrate-and-fire neurons.
struct conv_config {
    static const unsigned stage = 1;
    static const unsigned in_h = 1, in_w = 1, in_c = 1;
    static const unsigned kernel_h = 1, kernel_w = 1;
    static const unsigned stride_h = 1, stride_w = 1;
    static const int pad_top = 0, pad_left = 0;  // zero padding before the first row, column
    static const unsigned out_h = 1, out_w = 1, out_c = 1;
    static const bool dense = false;      // one output position fed by every input position
    static const bool depthwise = false;  // output channel c sees input channel c only
    static const unsigned group_in = 1, groups_in = 1;  // input channels per event word, words
    static const unsigned lanes = 1, groups_out = 1;    // output channels updated side by side, groups
    static const unsigned value_bits = 1;  // bits per input channel: 1 (spikes), 8 or 16 (analog input)
    static const unsigned weight_group = 1, weight_depth = 1;  // weights [weight_depth][weight_group][lanes]
    static const unsigned acc_depth = 1, acc_addr_bits = 1;    // V and acc [acc_depth][lanes]
    static const unsigned synapse_trip_max = 2;  // synapse iterations per step, at most
    static const bool keep_acc = false;     // the analog first layer: acc = W * x for the whole image
    static const bool reset_zero = false;   // reset to zero, else by subtraction
    // V at an image's start of output channel cg * lanes + p (docs/spec.md, the initial
    // membrane, within the membrane range); the generator overrides it with the layer's table
    static long long v_init(unsigned /*cg*/, unsigned /*p*/) { return 0; }
    static const unsigned membrane_bits = 24, threshold_bits = 16, count_bits = 8;
    typedef ap_int<8> weight_t;
    typedef ap_int<20> bias_t;
    typedef ap_uint<16> threshold_t;
    typedef ap_int<16> acc_t;      // one step's synaptic sum
    typedef ap_int<24> membrane_t;
    typedef ap_int<26> sum_t;      // V + acc + bias before the clamp
    typedef ap_uint<8> count_t;    // the output layer's spike counts
    typedef event_word<1, 1, 1, 1, 1> in_word_t;
    typedef event_word<1, 1, 1, 1, 1> out_word_t;
};

struct dense_config : conv_config {
    static const bool dense = true;
};

struct avg_pool_config : conv_config {
    static const bool depthwise = true;
};

// A spiking max-pool (pool_gate.h), gate or running maximum.
struct pool_gate_config {
    static const unsigned stage = 2;
    static const unsigned in_h = 2, in_w = 2, channels = 1;
    static const unsigned out_h = 1, out_w = 1;
    static const unsigned pool_h = 2, pool_w = 2;
    static const unsigned stride_h = 2, stride_w = 2;
    static const int pad_top = 0, pad_left = 0;
    static const unsigned group = 1, groups = 1;  // channels per event word (the producer's lanes), words
    static const bool running_max = false;        // else the gate
    static const unsigned count_bits = 8;         // spike counts and step numbers
    static const unsigned dx_bits = 1, aux_bits = 2;  // window state (count, aux): aux = offset or step
    static const unsigned win_addr_bits = 1;
    static const unsigned count_trip_max = 5;  // count-pass iterations per step, at most
    typedef ap_uint<8> count_t;
    typedef ap_uint<8> step_t;
    typedef event_word<1, 1, 1, 1, 1> in_word_t;
    typedef event_word<1, 1, 1, 1, 1> out_word_t;
};

// Width and signedness of an ap_int / ap_uint field.
template <class T>
struct ap_type;
template <int W>
struct ap_type<ap_int<W> > {
    static const int width = W;
    static const bool is_signed = true;
};
template <int W>
struct ap_type<ap_uint<W> > {
    static const int width = W;
    static const bool is_signed = false;
};

template <class T>
constexpr bool is_ap_int(int width) {
    return ap_type<T>::is_signed && ap_type<T>::width == width;
}

template <class T>
constexpr bool is_ap_uint(int width) {
    return !ap_type<T>::is_signed && ap_type<T>::width == width;
}

constexpr int widest(int a, int b, int c) {
    return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

// An unsigned field of `bits` bits holds the indices 0 .. count - 1.
constexpr bool holds(unsigned bits, unsigned long long count) {
    return bits >= 64 || count <= (1ULL << bits);
}

// A word's y, x, g fields hold the positions of an h x w map of `groups` words each.
template <class WORD>
constexpr bool addresses(unsigned h, unsigned w, unsigned groups) {
    return holds(WORD::y_bits, h) && holds(WORD::x_bits, w) && holds(WORD::g_bits, groups);
}

template <class CFG>
void check_stage() {
#pragma HLS INLINE
#ifndef __SYNTHESIS__
    static_assert(CFG::stage < TRACE_STAGES, "stage must be below TRACE_STAGES (C simulation's counters)");
#endif
}

template <class CFG>
void check_input_config() {
#pragma HLS INLINE
    typedef typename CFG::out_word_t word_t;
    const unsigned element_bits = CFG::poisson ? 8 : word_t::value_bits;
    const unsigned per_beat = 32 / element_bits;
    check_stage<CFG>();
    static_assert(CFG::height > 0 && CFG::width > 0 && CFG::channels > 0,
                  "input: height, width and channels must be positive");
    static_assert(element_bits == 8 || element_bits == 16,
                  "input: elements are 8 or 16 bits (out_word_t::value_bits; uint8 for Poisson input)");
    static_assert(!CFG::poisson || word_t::value_bits == 1, "input: Poisson input sends 1-bit spikes");
    static_assert(!CFG::poisson || CFG::seed != 0, "input: a zero seed locks xorshift32");
    static_assert(CFG::channels % word_t::group == 0, "input: out_word_t's group must divide channels");
    static_assert(CFG::beats * per_beat >= CFG::height * CFG::width * CFG::channels,
                  "input: beats must hold the whole input");
    static_assert(CFG::pixel_banks >= per_beat && CFG::pixel_banks >= word_t::group,
                  "input: pixel_banks must cover the elements of a beat and of a word");
    static_assert(addresses<word_t>(CFG::height, CFG::width, CFG::channels / word_t::group),
                  "input: out_word_t's y, x, g fields are too narrow for the input");
}

template <class CFG>
void check_neuron_config() {
#pragma HLS INLINE
    typedef typename CFG::in_word_t in_t;
    typedef typename CFG::out_word_t out_t;
    typedef ap_type<typename CFG::sum_t> sum;
    const int operands = widest(ap_type<typename CFG::membrane_t>::width,
                                ap_type<typename CFG::acc_t>::width, ap_type<typename CFG::bias_t>::width);
    const unsigned rows = CFG::kernel_h * CFG::kernel_w;
    check_stage<CFG>();
    // shapes
    static_assert(CFG::in_h > 0 && CFG::in_w > 0 && CFG::in_c > 0,
                  "neuron layer: in_h, in_w, in_c must be positive");
    static_assert(CFG::out_h > 0 && CFG::out_w > 0 && CFG::out_c > 0,
                  "neuron layer: out_h, out_w, out_c must be positive");
    static_assert(CFG::kernel_h > 0 && CFG::kernel_w > 0 && CFG::stride_h > 0 && CFG::stride_w > 0,
                  "neuron layer: kernel and stride must be positive");
    static_assert(CFG::pad_top >= 0 && CFG::pad_left >= 0, "neuron layer: padding cannot be negative");
    static_assert(!CFG::dense || (CFG::kernel_h == CFG::in_h && CFG::kernel_w == CFG::in_w && CFG::out_h == 1 &&
                                  CFG::out_w == 1 && CFG::stride_h == 1 && CFG::stride_w == 1 &&
                                  CFG::pad_top == 0 && CFG::pad_left == 0),
                  "dense layer: the kernel is the whole input (in_h x in_w): one output position, stride 1, "
                  "no padding");
    // groups and lanes
    static_assert(CFG::group_in > 0 && CFG::in_c % CFG::group_in == 0 &&
                      CFG::groups_in == CFG::in_c / CFG::group_in,
                  "neuron layer: group_in must divide in_c, and groups_in = in_c / group_in");
    static_assert(CFG::lanes > 0 && CFG::out_c % CFG::lanes == 0 && CFG::groups_out == CFG::out_c / CFG::lanes,
                  "neuron layer: lanes (the unroll factor) must divide out_c, and groups_out = out_c / lanes");
    static_assert(!CFG::depthwise || (!CFG::dense && CFG::in_c == CFG::out_c && CFG::lanes == CFG::group_in),
                  "depthwise layer (average pool): a convolution with out_c == in_c that runs in its "
                  "input's groups (lanes == group_in)");
    // event words
    static_assert(CFG::value_bits == 1 || CFG::value_bits == 8 || CFG::value_bits == 16,
                  "neuron layer: value_bits is 1 (spikes), 8 or 16 (analog input elements)");
    static_assert(CFG::keep_acc == (CFG::value_bits > 1),
                  "neuron layer: keep_acc is set exactly for the analog first layer (value_bits > 1)");
    static_assert(in_t::group == CFG::group_in && in_t::value_bits == CFG::value_bits,
                  "neuron layer: in_word_t must carry group_in values of value_bits each");
    static_assert(out_t::group == CFG::lanes && out_t::value_bits == 1,
                  "neuron layer: out_word_t must carry the 1-bit spikes of `lanes` channels");
    static_assert(addresses<in_t>(CFG::in_h, CFG::in_w, CFG::groups_in),
                  "neuron layer: in_word_t's y, x, g fields are too narrow for the input");
    static_assert(addresses<out_t>(CFG::out_h, CFG::out_w, CFG::groups_out),
                  "neuron layer: out_word_t's y, x, g fields are too narrow for the output");
    // memories
    static_assert(CFG::depthwise ? CFG::weight_group == 1 && CFG::weight_depth == CFG::groups_in
                                 : CFG::weight_group == CFG::group_in &&
                                       CFG::weight_depth == rows * CFG::groups_in * CFG::groups_out,
                  "neuron layer: weights are [kernel_h * kernel_w * groups_in * groups_out][group_in]"
                  "[lanes], depthwise [groups_in][1][lanes]");
    static_assert(CFG::acc_depth == CFG::out_h * CFG::out_w * CFG::groups_out &&
                      holds(CFG::acc_addr_bits, CFG::acc_depth),
                  "neuron layer: acc_depth = out_h * out_w * groups_out, and acc_addr_bits must address it");
    static_assert(CFG::synapse_trip_max > 0, "neuron layer: synapse_trip_max must be positive");
    // widths
    static_assert(CFG::membrane_bits >= 2 && CFG::membrane_bits <= 63 &&
                      is_ap_int<typename CFG::membrane_t>(CFG::membrane_bits),
                  "neuron layer: membrane_t must be ap_int<membrane_bits>, 2 .. 63 bits");
    static_assert(CFG::threshold_bits + 2 <= CFG::membrane_bits &&
                      is_ap_uint<typename CFG::threshold_t>(CFG::threshold_bits),
                  "neuron layer: threshold_t must be ap_uint<threshold_bits>, at most membrane_bits - 2 bits");
    static_assert(ap_type<typename CFG::weight_t>::is_signed && ap_type<typename CFG::bias_t>::is_signed &&
                      ap_type<typename CFG::acc_t>::is_signed,
                  "neuron layer: weight_t, bias_t and acc_t must be ap_int");
    static_assert(sum::is_signed && sum::width >= operands + 2,
                  "neuron layer: sum_t must be an ap_int 2 bits wider than membrane_t, acc_t and bias_t "
                  "(V + acc + bias must not wrap)");
    static_assert(CFG::count_bits >= 1 && CFG::count_bits <= 32 &&
                      is_ap_uint<typename CFG::count_t>(CFG::count_bits),
                  "neuron layer: count_t must be ap_uint<count_bits>, 1 .. 32 bits (one out_r beat)");
}

template <class CFG>
void check_pool_gate_config() {
#pragma HLS INLINE
    typedef typename CFG::in_word_t in_t;
    typedef typename CFG::out_word_t out_t;
    const unsigned long long offsets = (((CFG::pool_h - 1ULL) << CFG::dx_bits) | (CFG::pool_w - 1)) + 1;
    check_stage<CFG>();
    static_assert(CFG::in_h > 0 && CFG::in_w > 0 && CFG::channels > 0 && CFG::out_h > 0 && CFG::out_w > 0,
                  "max-pool: in_h, in_w, channels, out_h, out_w must be positive");
    static_assert(CFG::pool_h > 0 && CFG::pool_w > 0 && CFG::stride_h > 0 && CFG::stride_w > 0,
                  "max-pool: pool and stride must be positive");
    static_assert(CFG::pad_top >= 0 && CFG::pad_left >= 0 && CFG::pad_top < int(CFG::pool_h) &&
                      CFG::pad_left < int(CFG::pool_w),
                  "max-pool: padding must be 0 .. pool - 1 (the first window needs a real input)");
    static_assert((CFG::out_h - 1) * CFG::stride_h < CFG::pad_top + CFG::in_h &&
                      (CFG::out_w - 1) * CFG::stride_w < CFG::pad_left + CFG::in_w,
                  "max-pool: the last window must start inside the input (out_h, out_w too large)");
    static_assert(CFG::group > 0 && CFG::channels % CFG::group == 0 && CFG::groups == CFG::channels / CFG::group,
                  "max-pool: group (its producer's lanes) must divide channels, groups = channels / group");
    static_assert(in_t::group == CFG::group && in_t::value_bits == 1 && out_t::group == CFG::group &&
                      out_t::value_bits == 1,
                  "max-pool: in_word_t and out_word_t must carry the 1-bit spikes of `group` channels");
    static_assert(addresses<in_t>(CFG::in_h, CFG::in_w, CFG::groups),
                  "max-pool: in_word_t's y, x, g fields are too narrow for the input");
    static_assert(addresses<out_t>(CFG::out_h, CFG::out_w, CFG::groups),
                  "max-pool: out_word_t's y, x, g fields are too narrow for the output");
    static_assert(CFG::count_bits >= 1 && CFG::count_bits <= 16 &&
                      is_ap_uint<typename CFG::count_t>(CFG::count_bits) &&
                      is_ap_uint<typename CFG::step_t>(CFG::count_bits),
                  "max-pool: count_t and step_t must be ap_uint<count_bits>, 1 .. 16 bits");
    static_assert(holds(CFG::dx_bits, CFG::pool_w),
                  "max-pool: dx_bits must hold a column offset 0 .. pool_w - 1");
    static_assert(CFG::running_max ? CFG::aux_bits == CFG::count_bits : holds(CFG::aux_bits, offsets),
                  "max-pool: aux_bits must hold a step (running_max: aux_bits == count_bits) or the gate's "
                  "window offset (dy << dx_bits) | dx");
    static_assert(holds(CFG::win_addr_bits, CFG::out_h * CFG::out_w * CFG::groups),
                  "max-pool: win_addr_bits must address out_h * out_w * groups windows");
    static_assert(CFG::count_trip_max > 0, "max-pool: count_trip_max must be positive");
}

}  // namespace spikeforge

#endif

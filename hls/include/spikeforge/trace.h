// spikeforge HLS library: loop-iteration counters for C simulation.
//
// Every pipelined loop counts its iterations per stage so that the C testbench can
// report them and a test can check the analytic cycle model (spikeforge.hls.cycles)
// against the code it describes. The counters do not exist in synthesis.
#ifndef SPIKEFORGE_TRACE_H_
#define SPIKEFORGE_TRACE_H_

namespace spikeforge {

// Loop kinds; the Python cycle model uses the same numbers (spikeforge/hls/cycles.py).
enum trace_loop {
    LOOP_READ = 0,      // input: one beat of in_r
    LOOP_DRAIN = 1,     // input: a dropped beat after an image without TLAST
    LOOP_ENCODE = 2,    // input: one pixel position (analog once, Poisson every step)
    LOOP_INIT = 3,      // state initialisation at the start of an image
    LOOP_SYNAPSE = 4,   // neuron layer: one (event, output position, lane group)
    LOOP_NEURON = 5,    // neuron layer: one group of lanes of membrane updates
    LOOP_GATE_COUNT = 6,  // gate: one (event, window) count and winner update
    LOOP_GATE_EMIT = 7,   // gate: one (window, channel group) spike selection
    LOOP_OUTPUT = 8,    // output: one beat of out_r or one argmax comparison
    TRACE_LOOPS = 9
};

const int TRACE_STAGES = 64;

}  // namespace spikeforge

#ifndef __SYNTHESIS__
namespace spikeforge {
inline unsigned long long (&trace_counters())[TRACE_STAGES][TRACE_LOOPS] {
    static unsigned long long counters[TRACE_STAGES][TRACE_LOOPS];
    return counters;
}
}  // namespace spikeforge
#define SPIKEFORGE_TRACE(stage, loop) (++::spikeforge::trace_counters()[(stage)][(loop)])
#else
#define SPIKEFORGE_TRACE(stage, loop) ((void)0)
#endif

#endif

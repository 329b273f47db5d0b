// spikeforge HLS library: loading weight arrays from files in C simulation.
//
// Compiling large ap_int array initializers takes g++ minutes, so a g++ C simulation
// built with -DSPIKEFORGE_LOAD_WEIGHTS declares the weight arrays without initializers
// and fills them at start-up from the raw little-endian int64 files the generator writes
// next to the headers (the hls4ml approach). Synthesis uses the initializers.
#ifndef SPIKEFORGE_WEIGHTS_IO_H_
#define SPIKEFORGE_WEIGHTS_IO_H_

#ifndef __SYNTHESIS__
#include <cstdint>
#include <cstdio>
#include <string>

namespace spikeforge {

template <class T>
bool load_array(const std::string& dir, const char* name, T* data, unsigned long count) {
    std::string path = dir + "/" + name;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "spikeforge csim: cannot open %s\n", path.c_str());
        return false;
    }
    unsigned long i = 0;
    unsigned char b[8];
    for (; i < count && std::fread(b, 1, 8, f) == 8; i++) {
        uint64_t u = 0;
        for (int k = 7; k >= 0; k--) u = (u << 8) | b[k];
        data[i] = T((long long)u);
    }
    bool extra = std::fread(b, 1, 1, f) == 1;
    std::fclose(f);
    if (i != count || extra) {
        std::fprintf(stderr, "spikeforge csim: %s holds the wrong number of values (expected %lu)\n",
                     path.c_str(), count);
        return false;
    }
    return true;
}

}  // namespace spikeforge
#endif

#endif

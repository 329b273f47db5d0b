// spikeforge HLS library: the C testbench's file handling (C simulation only).
//
// Arguments: INPUT TIMESTEPS N_IMAGES OUTPUT [options]; TIMESTEPS and N_IMAGES may be
// comma-separated lists of equal length: one call of the top (one ap_start) per entry,
// all reading the same in_r, so that state kept across runs can be checked.
// input:    "SFIN" u32 version=1, u32 n, n x u32 TDATA, n x u8 TLAST   (beats of in_r)
// output:   "SFOU" u32 version=1, u32 n, n x u32 TDATA, n x u8 TLAST   (beats of out_r),
//           u32 runs, u32 r, runs x r x u32 registers after each run
//           (BUILD_ID, CYCLES, STATUS, MAX_TIMESTEPS, SAT_0 ..)
// expected: the output format, written from the golden model; every beat and register
//           but CYCLES must be equal.
// trace:    "stage loop iterations" per line (see trace.h), for the cycle model's check.
// weights:  with -DSPIKEFORGE_LOAD_WEIGHTS, the directory of the w*.bin files (weights_io.h).
// All integers little-endian. Exit status: 0 equal (or nothing to compare), 1 differs,
// 2 bad arguments or files.
#ifndef SPIKEFORGE_TESTBENCH_H_
#define SPIKEFORGE_TESTBENCH_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "axis.h"
#include "trace.h"
#include "types.h"

namespace spikeforge {

struct tb_beats {
    std::vector<uint32_t> data;
    std::vector<uint8_t> last;
    uint32_t runs;
    std::vector<uint32_t> regs;  // runs x registers per run
};

struct tb_run {
    hls::stream<axis_word> in_r;
    hls::stream<axis_word> out_r;
    std::vector<unsigned long> timesteps;
    std::vector<unsigned long> n_images;
    std::vector<uint32_t> regs;  // registers after each call
    std::string output, expected, trace, weights;
};

// "32,8" -> {32, 8}
inline std::vector<unsigned long> tb_list(const char* text) {
    std::vector<unsigned long> values;
    const char* p = text;
    while (*p) {
        char* end = 0;
        values.push_back(std::strtoul(p, &end, 10));
        if (end == p) return std::vector<unsigned long>();
        p = (*end == ',') ? end + 1 : end;
    }
    return values;
}

inline bool tb_read_u32(FILE* f, uint32_t& value) {
    unsigned char b[4];
    if (std::fread(b, 1, 4, f) != 4) return false;
    value = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    return true;
}

inline void tb_write_u32(FILE* f, uint32_t value) {
    unsigned char b[4] = {(unsigned char)(value), (unsigned char)(value >> 8),
                          (unsigned char)(value >> 16), (unsigned char)(value >> 24)};
    std::fwrite(b, 1, 4, f);
}

// Read a beats file; with_regs for the output format.
inline bool tb_load(const std::string& path, const char* magic, bool with_regs, tb_beats& out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "tb: cannot open %s\n", path.c_str());
        return false;
    }
    char head[4];
    uint32_t version = 0, n = 0;
    bool ok = std::fread(head, 1, 4, f) == 4 && std::memcmp(head, magic, 4) == 0 &&
              tb_read_u32(f, version) && version == 1 && tb_read_u32(f, n);
    out.data.assign(n, 0);
    out.last.assign(n, 0);
    for (uint32_t i = 0; ok && i < n; i++) ok = tb_read_u32(f, out.data[i]);
    ok = ok && std::fread(out.last.data(), 1, n, f) == n;
    if (ok && with_regs) {
        uint32_t r = 0;
        ok = tb_read_u32(f, out.runs) && tb_read_u32(f, r);
        out.regs.assign(size_t(out.runs) * r, 0);
        for (size_t i = 0; ok && i < out.regs.size(); i++) ok = tb_read_u32(f, out.regs[i]);
    }
    std::fclose(f);
    if (!ok) std::fprintf(stderr, "tb: %s is not a spikeforge %.4s file\n", path.c_str(), magic);
    return ok;
}

inline bool tb_setup(int argc, char** argv, tb_run& run) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s INPUT.bin TIMESTEPS N_IMAGES OUTPUT.bin "
                             "[--expected FILE] [--trace FILE] [--weights DIR]\n", argv[0]);
        return false;
    }
    run.timesteps = tb_list(argv[2]);
    run.n_images = tb_list(argv[3]);
    if (run.timesteps.empty() || run.timesteps.size() != run.n_images.size()) {
        std::fprintf(stderr, "tb: TIMESTEPS and N_IMAGES must be lists of equal length\n");
        return false;
    }
    run.output = argv[4];
    for (int i = 5; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--expected") == 0) run.expected = argv[i + 1];
        else if (std::strcmp(argv[i], "--trace") == 0) run.trace = argv[i + 1];
        else if (std::strcmp(argv[i], "--weights") == 0) run.weights = argv[i + 1];
        else {
            std::fprintf(stderr, "tb: unknown option %s\n", argv[i]);
            return false;
        }
    }
    tb_beats input;
    if (!tb_load(argv[1], "SFIN", false, input)) return false;
    for (size_t i = 0; i < input.data.size(); i++) {
        axis_word beat;
        beat.data = input.data[i];
        beat.keep = -1;
        beat.strb = -1;
        beat.last = input.last[i] != 0;
        run.in_r.write(beat);
    }
    return true;
}

inline int tb_compare(const tb_beats& got, const tb_beats& want, int n_regs) {
    int errors = 0;
    if (got.regs.size() != want.regs.size()) {
        std::printf("tb: %zu registers, expected %zu\n", got.regs.size(), want.regs.size());
        errors++;
    }
    if (got.data.size() != want.data.size()) {
        std::printf("tb: out_r has %zu beats, expected %zu\n", got.data.size(), want.data.size());
        errors++;
    }
    for (size_t i = 0; i < got.data.size() && i < want.data.size(); i++) {
        if (got.data[i] != want.data[i] || got.last[i] != want.last[i]) {
            if (errors < 20)
                std::printf("tb: beat %zu: got 0x%08x last %d, expected 0x%08x last %d\n", i,
                            got.data[i], got.last[i], want.data[i], want.last[i]);
            errors++;
        }
    }
    for (size_t i = 0; i < got.regs.size() && i < want.regs.size(); i++) {
        if (i % n_regs == 1) continue;  // CYCLES: not modelled by the golden model
        if (got.regs[i] != want.regs[i]) {
            std::printf("tb: register %zu: got %u, expected %u\n", i, got.regs[i], want.regs[i]);
            errors++;
        }
    }
    std::printf(errors ? "tb: FAIL, %d differences\n" : "tb: PASS, outputs equal the golden model\n",
                errors);
    return errors ? 1 : 0;
}

// Keep the registers of one call.
inline void tb_record(tb_run& run, const reg_t* regs, int n_regs) {
    for (int i = 0; i < n_regs; i++) run.regs.push_back(uint32_t(regs[i]));
}

inline int tb_finish(tb_run& run, int n_regs) {
    tb_beats got;
    while (!run.out_r.empty()) {
        axis_word beat = run.out_r.read();
        got.data.push_back(uint32_t(beat.data));
        got.last.push_back(uint8_t(beat.last));
    }
    got.runs = uint32_t(run.timesteps.size());
    got.regs = run.regs;
    FILE* f = std::fopen(run.output.c_str(), "wb");
    if (!f) {
        std::fprintf(stderr, "tb: cannot write %s\n", run.output.c_str());
        return 2;
    }
    std::fwrite("SFOU", 1, 4, f);
    tb_write_u32(f, 1);
    tb_write_u32(f, uint32_t(got.data.size()));
    for (size_t i = 0; i < got.data.size(); i++) tb_write_u32(f, got.data[i]);
    if (!got.last.empty()) std::fwrite(got.last.data(), 1, got.last.size(), f);
    tb_write_u32(f, got.runs);
    tb_write_u32(f, uint32_t(n_regs));
    for (size_t i = 0; i < got.regs.size(); i++) tb_write_u32(f, got.regs[i]);
    std::fclose(f);
    if (!run.trace.empty()) {
        FILE* t = std::fopen(run.trace.c_str(), "w");
        if (!t) {
            std::fprintf(stderr, "tb: cannot write %s\n", run.trace.c_str());
            return 2;
        }
        for (int s = 0; s < TRACE_STAGES; s++)
            for (int l = 0; l < TRACE_LOOPS; l++)
                if (trace_counters()[s][l]) std::fprintf(t, "%d %d %llu\n", s, l, trace_counters()[s][l]);
        std::fclose(t);
    }
    if (!run.in_r.empty())
        std::printf("tb: %zu beats of in_r were not read\n", run.in_r.size());
    if (run.expected.empty()) return 0;
    tb_beats want;
    if (!tb_load(run.expected, "SFOU", true, want)) return 2;
    return tb_compare(got, want, n_regs);
}

}  // namespace spikeforge

#endif

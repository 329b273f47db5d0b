// Fast regression harness of the RTL core: streams an image set through sf_core's ports in
// a C++ clock loop (no Python, no VPI) and writes what the core returned.
//
// It drives the ports as the cocotb bench (sim/sf_bench.py) and a PYNQ host do: reset, then
// per run of images TIMESTEPS, N_IMAGES and CTRL.ap_start over AXI4-Lite, the run's in_r
// frames back to back (TLAST on each image's last beat, the words packed by
// spikeforge.contract.pack_images), out_r always ready, every result frame K + 1 words with
// TLAST on the class, then CTRL polled until ap_done and CYCLES, STATUS, SAT_i read.
// sw/spikeforge/rtl/fast.py writes the inputs, runs this and compares with the golden model.
//
// usage: sf_fast IMAGES.bin N BEATS K STAGES T PER_START TIMEOUT_CYCLES OUT REGS
//   IMAGES.bin  N x BEATS little-endian uint32 in_r words
//   K, STAGES   classes (out_r frames are K + 1 words) and SAT_i registers
//   REGS        CTRL,TIMESTEPS,N_IMAGES,BUILD_ID,CYCLES,STATUS,MAX_TIMESTEPS,SAT_BASE,STRIDE
//               offsets (contract.py), the AP_START and AP_DONE masks, comma-separated
// OUT.words gets N x (K + 1) uint32 out_r words; OUT (JSON) the registers: BUILD_ID,
// MAX_TIMESTEPS and per run [images, CYCLES, STATUS, SAT_0 ...]. stdout: "progress <n>"
// after every few finished images. Exit 3 with a message on stderr when the core breaks the
// contract (no frame within TIMEOUT_CYCLES, wrong framing).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "Vsf_core.h"
#include "verilated.h"

namespace {

struct Regs {
  uint32_t ctrl, timesteps, n_images, build_id, cycles, status, max_timesteps, sat_base,
      stride, ap_start, ap_done;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "sf_fast: %s\n", message.c_str());
  std::exit(3);
}

class Harness {
 public:
  Harness(VerilatedContext* context, uint32_t words_per_frame, uint64_t timeout)
      : top_(new Vsf_core{context}), frame_words_(words_per_frame), timeout_(timeout) {
    top_->ap_clk = 0;
    top_->in_r_TVALID = 0;
    top_->in_r_TKEEP = 0xF;
    top_->in_r_TSTRB = 0xF;
    top_->out_r_TREADY = 1;
    top_->s_axi_control_AWVALID = 0;
    top_->s_axi_control_WVALID = 0;
    top_->s_axi_control_WSTRB = 0xF;
    top_->s_axi_control_BREADY = 1;
    top_->s_axi_control_ARVALID = 0;
    top_->s_axi_control_RREADY = 1;
  }

  ~Harness() { top_->final(); }

  void idle(int cycles) {
    for (int i = 0; i < cycles; ++i) cycle();
  }

  void reset() {
    top_->ap_rst_n = 0;
    for (int i = 0; i < 4; ++i) cycle();
    top_->ap_rst_n = 1;
    for (int i = 0; i < 2; ++i) cycle();
  }

  // queue a run's in_r words: beats per image, TLAST on each image's last beat
  void send(const uint32_t* words, size_t count, size_t beats) {
    in_words_ = words;
    in_count_ = count;
    in_beats_ = beats;
    in_next_ = 0;
  }

  // the next `frames` result frames appended to `out` (frame_words_ words each); prints
  // the frames received in all after every `progress_every`-th
  void receive(size_t frames, std::vector<uint32_t>& out, size_t progress_every) {
    size_t target = out.size() + frames * frame_words_;
    out_ = &out;
    uint64_t waited = 0;
    size_t frames_seen = out.size() / frame_words_;
    while (out.size() < target) {
      cycle();
      size_t now = out.size() / frame_words_;
      if (now != frames_seen) {
        frames_seen = now;
        waited = 0;
        if (now % progress_every == 0) {
          std::printf("progress %zu\n", now);
          std::fflush(stdout);
        }
      } else if (++waited > timeout_) {
        fail("no out_r frame within " + std::to_string(timeout_) + " cycles");
      }
    }
    out_ = nullptr;
  }

  // The bus timing of cocotbext-axi's AXI4-Lite master: it drives a request from the clock
  // edge after it is issued (the idle cycle below). The first run's CYCLES depends on it:
  // the core is not yet idle in every unit right after reset (each cycle between reset and
  // ap_start shortens that run by one).
  void write(uint32_t address, uint32_t data) {
    cycle();
    top_->s_axi_control_AWADDR = address;
    top_->s_axi_control_WDATA = data;
    top_->s_axi_control_AWVALID = 1;
    top_->s_axi_control_WVALID = 1;
    bool accepted = false;
    while (!accepted) {
      top_->eval();
      accepted = top_->s_axi_control_AWREADY && top_->s_axi_control_WREADY;
      cycle();
    }
    top_->s_axi_control_AWVALID = 0;
    top_->s_axi_control_WVALID = 0;
    while (true) {  // the write response (BREADY is high)
      top_->eval();
      bool response = top_->s_axi_control_BVALID;
      cycle();
      if (response) break;
    }
  }

  uint32_t read(uint32_t address) {
    cycle();
    top_->s_axi_control_ARADDR = address;
    top_->s_axi_control_ARVALID = 1;
    bool accepted = false;
    while (!accepted) {
      top_->eval();
      accepted = top_->s_axi_control_ARREADY;
      cycle();
    }
    top_->s_axi_control_ARVALID = 0;
    while (true) {  // RREADY is high
      top_->eval();
      if (top_->s_axi_control_RVALID) {
        uint32_t data = top_->s_axi_control_RDATA;
        cycle();
        return data;
      }
      cycle();
    }
  }

  void poll_done(const Regs& regs) {
    uint64_t waited = 0;
    while (!(read(regs.ctrl) & regs.ap_done)) {
      for (int i = 0; i < 16; ++i) cycle();
      waited += 16;
      if (waited > timeout_) fail("no ap_done within " + std::to_string(timeout_) + " cycles");
    }
  }

 private:
  // one clock cycle: drive in_r, falling edge (settling the new inputs), sample both
  // streams' handshakes, rising edge. Two evaluations of the model per cycle.
  void cycle() {
    bool have_input = in_next_ < in_count_;
    if (have_input) {
      top_->in_r_TDATA = in_words_[in_next_];
      top_->in_r_TLAST = (in_next_ + 1) % in_beats_ == 0;
    }
    top_->in_r_TVALID = have_input;
    top_->ap_clk = 0;
    top_->eval();
    bool in_fire = have_input && top_->in_r_TREADY;
    bool out_fire = top_->out_r_TVALID && top_->out_r_TREADY;
    uint32_t out_data = top_->out_r_TDATA;
    bool out_last = top_->out_r_TLAST;
    top_->ap_clk = 1;
    top_->eval();
    if (in_fire) ++in_next_;
    if (out_fire) take(out_data, out_last);
  }

  void take(uint32_t data, bool last) {
    if (out_ == nullptr) fail("an out_r word arrived when no result was due");
    out_->push_back(data);
    bool should_end = out_->size() % frame_words_ == 0;
    if (last != should_end) {
      fail("an out_r frame is not " + std::to_string(frame_words_) +
           " words with TLAST on the last (the contract: K counts and the class)");
    }
  }

  std::unique_ptr<Vsf_core> top_;
  uint32_t frame_words_;
  uint64_t timeout_;
  const uint32_t* in_words_ = nullptr;
  size_t in_count_ = 0, in_beats_ = 1, in_next_ = 0;
  std::vector<uint32_t>* out_ = nullptr;
};

uint64_t number(const char* text, const char* what) {
  char* end = nullptr;
  unsigned long long value = std::strtoull(text, &end, 0);
  if (end == text || *end != '\0') fail(std::string("bad ") + what + ": " + text);
  return value;
}

Regs parse_regs(const char* text) {
  std::vector<uint32_t> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) values.push_back(number(item.c_str(), "register"));
  if (values.size() != 11) fail("REGS needs 11 comma-separated values");
  return {values[0], values[1], values[2], values[3], values[4], values[5],
          values[6], values[7], values[8], values[9], values[10]};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 11) {
    std::fprintf(stderr,
                 "usage: %s IMAGES.bin N BEATS K STAGES T PER_START TIMEOUT_CYCLES OUT REGS\n",
                 argv[0]);
    return 2;
  }
  const size_t n = number(argv[2], "N"), beats = number(argv[3], "BEATS");
  const uint32_t classes = number(argv[4], "K"), stages = number(argv[5], "STAGES");
  const uint32_t steps = number(argv[6], "T");
  const size_t per_start = number(argv[7], "PER_START");
  const uint64_t timeout = number(argv[8], "TIMEOUT_CYCLES");
  const std::string out_path = argv[9];
  const Regs regs = parse_regs(argv[10]);
  if (n == 0 || beats == 0 || per_start == 0) fail("N, BEATS and PER_START must be >= 1");

  std::vector<uint32_t> images(n * beats);
  FILE* in = std::fopen(argv[1], "rb");
  if (in == nullptr) fail(std::string("cannot read ") + argv[1]);
  size_t got = std::fread(images.data(), sizeof(uint32_t), images.size(), in);
  std::fclose(in);
  if (got != images.size()) fail(std::string(argv[1]) + " is shorter than N x BEATS words");

  auto context = std::make_unique<VerilatedContext>();
  context->commandArgs(1, argv);
  Harness bench(context.get(), classes + 1, timeout);
  bench.reset();
  std::vector<uint32_t> words;
  words.reserve(n * (classes + 1));
  std::ostringstream runs;
  const size_t progress_every = std::max<size_t>(1, std::min<size_t>(per_start, 50));
  for (size_t first = 0; first < n; first += per_start) {
    const size_t count = std::min(per_start, n - first);
    bench.write(regs.timesteps, steps);
    bench.write(regs.n_images, count);
    bench.write(regs.ctrl, regs.ap_start);
    // the cocotb bench queues the frames when the write response arrives and its source
    // drives them from the next clock edge: the first beat comes as late (CYCLES counts it)
    bench.idle(1);
    bench.send(images.data() + first * beats, count * beats, beats);
    bench.receive(count, words, progress_every);
    bench.poll_done(regs);
    runs << (first ? ",[" : "[") << count << "," << bench.read(regs.cycles) << ","
         << bench.read(regs.status);
    for (uint32_t i = 0; i < stages; ++i) runs << "," << bench.read(regs.sat_base + regs.stride * i);
    runs << "]";
  }

  const uint32_t build_id = bench.read(regs.build_id);
  const uint32_t max_steps = bench.read(regs.max_timesteps);
  FILE* out_words = std::fopen((out_path + ".words").c_str(), "wb");
  if (out_words == nullptr) fail("cannot write " + out_path + ".words");
  std::fwrite(words.data(), sizeof(uint32_t), words.size(), out_words);
  std::fclose(out_words);
  FILE* out = std::fopen(out_path.c_str(), "w");
  if (out == nullptr) fail("cannot write " + out_path);
  std::fprintf(out, "{\"build_id\": %u, \"max_timesteps\": %u, \"runs\": [%s]}\n", build_id,
               max_steps, runs.str().c_str());
  std::fclose(out);
  return 0;
}

// Verilator testbench for a stitched frd_q simulation top (sim/stitch.py): one AXI-Stream in, one out.
//
//   harness IN.bin OUT.bin OUT_BEATS BEATS_PER_FRAME IN_STALL OUT_STALL SEED MAX_CYCLES
//
// IN.bin holds the input beats, IN_WORDS little-endian uint32 words each (IN_BITS data bits, zero-padded);
// OUT.bin receives OUT_BEATS output beats of OUT_WORDS words each. IN_STALL / OUT_STALL are probabilities
// (0..1) that the source withholds valid / the sink withholds ready in a cycle: a source that raised valid keeps
// it up until the beat is taken, as AXI-Stream requires. The summary is one JSON line on stdout: cycles from
// the first input beat offered to the last output beat taken, and the cycle at which each output frame ended.
// Exit status 3 when MAX_CYCLES pass without the expected output (a stalled or starved design).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "verilated.h"
#include VTOP_HEADER

static const int IN_WORDS = (IN_BITS + 31) / 32;
static const int OUT_WORDS = (OUT_BITS + 31) / 32;

template <typename T> static void put(T& port, const uint32_t* w) {
    uint64_t v = w[0];
    if (sizeof(T) > 4) v |= static_cast<uint64_t>(w[1]) << 32;
    port = static_cast<T>(v);
}
template <std::size_t N> static void put(VlWide<N>& port, const uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) port[i] = w[i];
}
template <typename T> static void get(const T& port, uint32_t* w) {
    uint64_t v = port;
    w[0] = static_cast<uint32_t>(v);
    if (sizeof(T) > 4) w[1] = static_cast<uint32_t>(v >> 32);
}
template <std::size_t N> static void get(const VlWide<N>& port, uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) w[i] = port[i];
}

int main(int argc, char** argv) {
    if (argc != 9) {
        std::fprintf(stderr, "usage: %s IN.bin OUT.bin OUT_BEATS BEATS_PER_FRAME IN_STALL OUT_STALL SEED MAX_CYCLES\n", argv[0]);
        return 2;
    }
    const long out_beats = std::atol(argv[3]);
    const long per_frame = std::atol(argv[4]);
    const double in_stall = std::atof(argv[5]);
    const double out_stall = std::atof(argv[6]);
    std::mt19937_64 rng(std::strtoull(argv[7], nullptr, 10));
    const long long max_cycles = std::atoll(argv[8]);
    std::uniform_real_distribution<double> coin(0.0, 1.0);

    FILE* fin = std::fopen(argv[1], "rb");
    if (!fin) { std::fprintf(stderr, "cannot open %s\n", argv[1]); return 2; }
    std::vector<uint32_t> in;
    uint32_t buf[4096];
    size_t got;
    while ((got = std::fread(buf, sizeof(uint32_t), 4096, fin)) > 0) in.insert(in.end(), buf, buf + got);
    std::fclose(fin);
    if (in.size() % IN_WORDS) { std::fprintf(stderr, "%s: not a whole number of beats\n", argv[1]); return 2; }
    const long in_beats = static_cast<long>(in.size() / IN_WORDS);
    std::vector<uint32_t> out(static_cast<size_t>(out_beats) * OUT_WORDS + 2, 0);

    VerilatedContext ctx;
    VTOP top(&ctx);
    uint32_t zero[IN_WORDS + 2] = {0};
    top.ap_clk = 0;
    top.ap_rst_n = 0;
    top.s_axis_tvalid = 0;
    top.m_axis_tready = 0;
    put(top.s_axis_tdata, zero);
    for (int i = 0; i < 16; ++i) { top.ap_clk = 0; top.eval(); top.ap_clk = 1; top.eval(); }
    top.ap_rst_n = 1;

    long sent = 0, taken = 0;
    long long cycle = 0, first_offer = -1, last_take = -1;
    bool valid = false;
    std::vector<long long> frame_end;
    while (taken < out_beats) {
        if (cycle >= max_cycles) {
            std::printf("{\"error\": \"stalled\", \"cycles\": %lld, \"sent\": %ld, \"taken\": %ld}\n", cycle, sent, taken);
            return 3;
        }
        if (!valid && sent < in_beats && (in_stall <= 0.0 || coin(rng) >= in_stall)) {
            valid = true;
            put(top.s_axis_tdata, &in[static_cast<size_t>(sent) * IN_WORDS]);
            if (first_offer < 0) first_offer = cycle;
        }
        top.s_axis_tvalid = valid;
        top.m_axis_tready = (out_stall <= 0.0 || coin(rng) >= out_stall);
        top.ap_clk = 0;
        top.eval();
        const bool in_fire = valid && top.s_axis_tready;
        const bool out_fire = top.m_axis_tvalid && top.m_axis_tready;
        if (out_fire) {
            get(top.m_axis_tdata, &out[static_cast<size_t>(taken) * OUT_WORDS]);
            ++taken;
            last_take = cycle;
            if (per_frame > 0 && taken % per_frame == 0) frame_end.push_back(cycle);
        }
        top.ap_clk = 1;
        top.eval();
        if (in_fire) { ++sent; valid = false; }
        ++cycle;
    }
    top.final();

    FILE* fout = std::fopen(argv[2], "wb");
    if (!fout) { std::fprintf(stderr, "cannot write %s\n", argv[2]); return 2; }
    std::fwrite(out.data(), sizeof(uint32_t), static_cast<size_t>(out_beats) * OUT_WORDS, fout);
    std::fclose(fout);
    std::printf("{\"cycles\": %lld, \"first_offer\": %lld, \"sent\": %ld, \"in_beats\": %ld, \"taken\": %ld, \"frame_end\": [",
                last_take - first_offer + 1, first_offer, sent, in_beats, taken);
    for (size_t i = 0; i < frame_end.size(); ++i) std::printf("%s%lld", i ? ", " : "", frame_end[i] - first_offer + 1);
    std::printf("]}\n");
    return 0;
}

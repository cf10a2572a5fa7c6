// Verilator testbench for a stitched frd_q simulation top (hw/rtlsim/stitch.py): N_IN AXI-Streams in, N_OUT out.
//
//   harness SPEC
//
// SPEC is a text file of lines `key value...`:
//   in PATH                      one per input stream, in port order: its beats, IN_WORDS[k] little-endian
//                                uint32 words each (data bits zero-padded)
//   out PATH BEATS PER_FRAME     one per output stream: BEATS beats are written to PATH; every PER_FRAME beats
//                                (0: never) the cycle is recorded as a frame end
//   stall IN_P OUT_P             probabilities (0..1) that a source withholds valid / a sink withholds ready in a
//                                cycle, drawn independently per port and cycle; a raised valid stays up until the
//                                beat is taken, as AXI-Stream requires
//   pace P                       sources offer beat n no earlier than cycle n * P (P: cycles per beat, 0: at once),
//                                all inputs in step: a source paced at a design's frame rate
//   seed N / max_cycles N / idle N   (idle: give up after N cycles without a handshake on any port; 0: never)
//   limits N V1 .. VN            occupancy caps of the top's N probed FIFOs (the `limit` bus), held from reset
// The port accessors (set_in, in_ready, set_out_ready, out_valid, get_out, get_probe) and the word counts come
// from frd_ports.h, which hw/rtlsim/verilator.py writes for each top. The summary is one JSON line on stdout: cycles
// from the first input beat offered to the last output beat taken, beats sent and taken per port, frame ends
// per output, and the probe words (FIFO maximum occupancies) when the top has a probe bus. Exit status 3 when
// IDLE cycles pass without a handshake on any port (error "deadlock": a deadlocked or starved design), exit
// status 4 when MAX_CYCLES pass first (error "timeout").
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "verilated.h"
#include VTOP_HEADER

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

#include "frd_ports.h"

static bool read_words(const char* path, std::vector<uint32_t>& words) {
    FILE* f = std::fopen(path, "rb");
    if (!f) return false;
    uint32_t buf[4096];
    size_t got;
    while ((got = std::fread(buf, sizeof(uint32_t), 4096, f)) > 0) words.insert(words.end(), buf, buf + got);
    std::fclose(f);
    return true;
}

int main(int argc, char** argv) {
    if (argc != 2) { std::fprintf(stderr, "usage: %s SPEC\n", argv[0]); return 2; }
    FILE* spec = std::fopen(argv[1], "r");
    if (!spec) { std::fprintf(stderr, "cannot open %s\n", argv[1]); return 2; }
    std::vector<std::string> in_path, out_path;
    std::vector<long> out_beats, per_frame;
    double in_stall = 0.0, out_stall = 0.0, pace = 0.0;
    unsigned long long seed = 1;
    long long max_cycles = 1000000, idle = 0;
    char key[64], a[4096];
    std::vector<uint32_t> limits(PROBE_WORDS + 1, 0xffffffffu);  // no cap unless the spec sets one
    while (std::fscanf(spec, "%63s", key) == 1) {
        if (!std::strcmp(key, "in") && std::fscanf(spec, "%4095s", a) == 1) in_path.push_back(a);
        else if (!std::strcmp(key, "out")) {
            long n = 0, p = 0;
            if (std::fscanf(spec, "%4095s %ld %ld", a, &n, &p) != 3) break;
            out_path.push_back(a); out_beats.push_back(n); per_frame.push_back(p);
        }
        else if (!std::strcmp(key, "stall")) { if (std::fscanf(spec, "%lf %lf", &in_stall, &out_stall) != 2) break; }
        else if (!std::strcmp(key, "pace")) { if (std::fscanf(spec, "%lf", &pace) != 1) break; }
        else if (!std::strcmp(key, "seed")) { if (std::fscanf(spec, "%llu", &seed) != 1) break; }
        else if (!std::strcmp(key, "max_cycles")) { if (std::fscanf(spec, "%lld", &max_cycles) != 1) break; }
        else if (!std::strcmp(key, "idle")) { if (std::fscanf(spec, "%lld", &idle) != 1) break; }
        else if (!std::strcmp(key, "limits")) {
            int n = 0;
            if (std::fscanf(spec, "%d", &n) != 1 || n != PROBE_WORDS) { std::fprintf(stderr, "%s: limits for %d FIFOs, the top probes %d\n", argv[1], n, PROBE_WORDS); return 2; }
            for (int i = 0; i < n; ++i) if (std::fscanf(spec, "%u", &limits[i]) != 1) { std::fprintf(stderr, "%s: bad limits\n", argv[1]); return 2; }
        }
        else { std::fprintf(stderr, "%s: bad line at '%s'\n", argv[1], key); return 2; }
    }
    std::fclose(spec);
    if ((int)in_path.size() != N_IN || (int)out_path.size() != N_OUT) {
        std::fprintf(stderr, "%s: %zu inputs and %zu outputs given, the top has %d and %d\n", argv[1],
                     in_path.size(), out_path.size(), N_IN, N_OUT);
        return 2;
    }
    std::vector<std::vector<uint32_t>> in(N_IN);
    std::vector<long> in_beats(N_IN);
    for (int k = 0; k < N_IN; ++k) {
        if (!read_words(in_path[k].c_str(), in[k])) { std::fprintf(stderr, "cannot open %s\n", in_path[k].c_str()); return 2; }
        if (in[k].size() % IN_WORDS[k]) { std::fprintf(stderr, "%s: not a whole number of beats\n", in_path[k].c_str()); return 2; }
        in_beats[k] = static_cast<long>(in[k].size() / IN_WORDS[k]);
    }
    std::vector<std::vector<uint32_t>> out(N_OUT);
    for (int k = 0; k < N_OUT; ++k) out[k].assign(static_cast<size_t>(out_beats[k]) * OUT_WORDS[k] + 8, 0);

    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    VerilatedContext ctx;
    VTOP top(&ctx);
    std::vector<uint32_t> zero(64, 0);
    top.ap_clk = 0;
    top.ap_rst_n = 0;
    for (int k = 0; k < N_IN; ++k) set_in(top, k, zero.data(), false);
    for (int k = 0; k < N_OUT; ++k) set_out_ready(top, k, false);
    set_limits(top, limits.data());
    for (int i = 0; i < 16; ++i) { top.ap_clk = 0; top.eval(); top.ap_clk = 1; top.eval(); }
    top.ap_rst_n = 1;

    std::vector<long> sent(N_IN, 0), taken(N_OUT, 0);
    std::vector<bool> valid(N_IN, false), ready(N_OUT, false);
    std::vector<std::vector<long long>> frame_end(N_OUT);
    long long cycle = 0, first_offer = -1, last_take = -1, last_handshake = 0;
    auto done = [&]() { for (int k = 0; k < N_OUT; ++k) if (taken[k] < out_beats[k]) return false; return true; };
    int status = 0;
    while (!done()) {
        if (idle > 0 && cycle - last_handshake > idle) { status = 3; break; }
        if (cycle >= max_cycles) { status = 4; break; }
        for (int k = 0; k < N_IN; ++k) {
            if (!valid[k] && sent[k] < in_beats[k] && (pace <= 0.0 || cycle >= static_cast<long long>(sent[k] * pace))
                && (in_stall <= 0.0 || coin(rng) >= in_stall)) {
                valid[k] = true;
                if (first_offer < 0) first_offer = cycle;
            }
            set_in(top, k, valid[k] ? &in[k][static_cast<size_t>(sent[k]) * IN_WORDS[k]] : zero.data(), valid[k]);
        }
        for (int k = 0; k < N_OUT; ++k) {
            ready[k] = taken[k] < out_beats[k] && (out_stall <= 0.0 || coin(rng) >= out_stall);
            set_out_ready(top, k, ready[k]);
        }
        top.ap_clk = 0;
        top.eval();
        bool fired[N_IN > 0 ? N_IN : 1];
        for (int k = 0; k < N_IN; ++k) {
            fired[k] = valid[k] && in_ready(top, k);
            if (fired[k]) last_handshake = cycle;
        }
        for (int k = 0; k < N_OUT; ++k) {
            if (ready[k] && out_valid(top, k)) {
                get_out(top, k, &out[k][static_cast<size_t>(taken[k]) * OUT_WORDS[k]]);
                ++taken[k];
                last_take = last_handshake = cycle;
                if (per_frame[k] > 0 && taken[k] % per_frame[k] == 0) frame_end[k].push_back(cycle);
            }
        }
        top.ap_clk = 1;
        top.eval();
        for (int k = 0; k < N_IN; ++k) if (fired[k]) { ++sent[k]; valid[k] = false; }
        ++cycle;
    }
    top.final();

    if (status == 0) {
        for (int k = 0; k < N_OUT; ++k) {
            FILE* f = std::fopen(out_path[k].c_str(), "wb");
            if (!f) { std::fprintf(stderr, "cannot write %s\n", out_path[k].c_str()); return 2; }
            std::fwrite(out[k].data(), sizeof(uint32_t), static_cast<size_t>(out_beats[k]) * OUT_WORDS[k], f);
            std::fclose(f);
        }
    }
    std::printf("{\"error\": %s, \"cycles\": %lld, \"first_offer\": %lld, \"sent\": [",
                status == 3 ? "\"deadlock\"" : status == 4 ? "\"timeout\"" : "null",
                status ? cycle : last_take - first_offer + 1, first_offer);
    for (int k = 0; k < N_IN; ++k) std::printf("%s%ld", k ? ", " : "", sent[k]);
    std::printf("], \"in_beats\": [");
    for (int k = 0; k < N_IN; ++k) std::printf("%s%ld", k ? ", " : "", in_beats[k]);
    std::printf("], \"taken\": [");
    for (int k = 0; k < N_OUT; ++k) std::printf("%s%ld", k ? ", " : "", taken[k]);
    std::printf("], \"frame_end\": [");
    for (int k = 0; k < N_OUT; ++k) {
        std::printf("%s[", k ? ", " : "");
        for (size_t i = 0; i < frame_end[k].size(); ++i) std::printf("%s%lld", i ? ", " : "", frame_end[k][i] - first_offer + 1);
        std::printf("]");
    }
    std::printf("], \"probe\": [");
    std::vector<uint32_t> probe(PROBE_WORDS + 1, 0);
    get_probe(top, probe.data());
    for (int i = 0; i < PROBE_WORDS; ++i) std::printf("%s%u", i ? ", " : "", probe[i]);
    std::printf("]}\n");
    return status;
}

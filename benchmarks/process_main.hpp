// The main of a process-backend benchmark: the zygote starts first, while the program is still
// single-threaded (Google Benchmark starts threads of its own), then the ratios run.
#pragma once

#include "ratio.hpp"

#include <cordon/process/zygote.hpp>

#include <cstdio>
#include <vector>

namespace cordon_bench {

inline int run_process_benchmarks(int argc, char** argv, const std::vector<ratio>& ratios) {
    if (auto started = cordon::process::zygote::start(); !started) {
        std::fprintf(stderr, "%s\n", started.error().message().c_str());
        return 1;
    }
    return run_with_ratios(argc, argv, ratios);
}

} // namespace cordon_bench

// A Google Benchmark main that also prints ratios between benchmarks of the same run, so results
// read as "1.04x the direct call" rather than as absolute times on a shared, noisy machine.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cordon_bench {

struct ratio {
    std::string subject;
    std::string baseline;
    std::string label;  // what the ratio means, and its target when there is one
};

class ratio_reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs)
            if (run.run_type == Run::RT_Iteration && run.iterations > 0)
                ns_per_iteration_[run.run_name.function_name] = run.GetAdjustedRealTime();
        ConsoleReporter::ReportRuns(runs);
    }
    [[nodiscard]] const std::map<std::string, double>& times() const { return ns_per_iteration_; }

private:
    std::map<std::string, double> ns_per_iteration_;
};

/// Runs the registered benchmarks and prints each ratio whose two sides ran.
inline int run_with_ratios(int argc, char** argv, const std::vector<ratio>& ratios) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    ratio_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    std::printf("\n%-40s %-30s %8s  %s\n", "subject", "baseline", "ratio", "meaning");
    for (const auto& r : ratios) {
        const auto s = reporter.times().find(r.subject);
        const auto b = reporter.times().find(r.baseline);
        if (s == reporter.times().end() || b == reporter.times().end() || b->second <= 0) continue;
        std::printf("%-40s %-30s %7.2fx  %s\n", r.subject.c_str(), r.baseline.c_str(), s->second / b->second, r.label.c_str());
    }
    benchmark::Shutdown();
    return 0;
}

} // namespace cordon_bench

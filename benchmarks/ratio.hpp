// A Google Benchmark main that also prints ratios between benchmarks of the same run, so results
// read as "1.04x the direct call" rather than as absolute times on a shared, noisy machine.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cordon_bench {

/// One side of a ratio: a benchmark's time per iteration ("name" or "name/arg"), optionally
/// minus another's (the same loop without the work), divided by the work items per iteration.
struct measure {
    std::string name;
    std::string minus{};
    double per = 1;

    measure(const char* benchmark) : name{benchmark} {}  // NOLINT: a plain name reads best in the tables
    measure(std::string benchmark, std::string without, double items) : name{std::move(benchmark)}, minus{std::move(without)}, per{items} {}
};

struct ratio {
    measure subject;
    measure baseline;   // an empty name: the subject's time alone, reported without a ratio
    std::string label;  // what the ratio means
    double max_ratio;   // targets; 0 when there is none
    double max_ns;
    std::string plot;   // the row's short name in a plot; empty when it is not plotted

    ratio(measure s, measure b, std::string what, double ratio_target = 0, double ns_target = 0, std::string plot_name = {})
        : subject{std::move(s)}, baseline{std::move(b)}, label{std::move(what)}, max_ratio{ratio_target}, max_ns{ns_target},
          plot{std::move(plot_name)} {}
};

/// Which clock a table compares: wall time (the default; right where a child process or another
/// thread does the work), or the process's CPU time (right for in-process calls on a loaded
/// machine, where wall time also counts the time other programs held the core).
enum class time_basis { real, cpu };

/// One row as printed and as written to the JSON file.
struct ratio_row {
    const ratio* spec;
    double time_ns;
    std::optional<double> baseline_ns;
    std::optional<double> value;  // time / baseline
    std::optional<bool> met;      // all targets met; empty when the row has none
};

/// Keeps each benchmark's time per iteration in nanoseconds: the median of the repetitions when
/// the run repeats, else the single run.
class time_table {
public:
    void add(const benchmark::BenchmarkReporter::Run& run) {
        if (run.error_occurred) return;
        const bool median = run.run_type == benchmark::BenchmarkReporter::Run::RT_Aggregate && run.aggregate_name == "median";
        const bool single = run.run_type == benchmark::BenchmarkReporter::Run::RT_Iteration && run.iterations > 0;
        if (!median && !single) return;
        const double to_ns = 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
        const sample s{run.GetAdjustedRealTime() * to_ns, run.GetAdjustedCPUTime() * to_ns, median};
        // "BM_Fib/27" is also found as "BM_Fib" (the last argument run, when there are several).
        for (const auto& key : {run.run_name.str(), run.run_name.function_name}) {
            auto& slot = ns_[key];
            if (!slot.median || median) slot = s;
        }
    }

    [[nodiscard]] std::optional<double> get(const measure& m, time_basis basis) const {
        auto time = lookup(m.name, basis);
        if (!time) return std::nullopt;
        if (!m.minus.empty()) {
            auto without = lookup(m.minus, basis);
            if (!without) return std::nullopt;
            *time -= *without;
        }
        return *time / m.per;
    }

    [[nodiscard]] std::vector<ratio_row> rows(const std::vector<ratio>& ratios, time_basis basis) const {
        std::vector<ratio_row> out;
        for (const auto& r : ratios) {
            auto time = get(r.subject, basis);
            if (!time) continue;
            ratio_row row{&r, *time, std::nullopt, std::nullopt, std::nullopt};
            if (!r.baseline.name.empty()) {
                row.baseline_ns = get(r.baseline, basis);
                if (!row.baseline_ns) continue;
                if (*row.baseline_ns > 0) row.value = *time / *row.baseline_ns;
            }
            if (r.max_ns > 0 || (r.max_ratio > 0 && row.value))
                row.met = (r.max_ns <= 0 || *time <= r.max_ns) && (r.max_ratio <= 0 || (row.value && *row.value <= r.max_ratio));
            out.push_back(row);
        }
        return out;
    }

private:
    struct sample {
        double real_ns = 0, cpu_ns = 0;
        bool median = false;
    };
    [[nodiscard]] std::optional<double> lookup(const std::string& name, time_basis basis) const {
        const auto it = ns_.find(name);
        if (it == ns_.end()) return std::nullopt;
        return basis == time_basis::cpu ? it->second.cpu_ns : it->second.real_ns;
    }
    std::map<std::string, sample> ns_;
};

class ratio_reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) times_.add(run);
        ConsoleReporter::ReportRuns(runs);
    }
    [[nodiscard]] const time_table& times() const { return times_; }

private:
    time_table times_;
};

/// Google Benchmark's JSON, with the ratios appended as a "ratios" array (what plots read).
class json_ratio_reporter : public benchmark::JSONReporter {
public:
    json_ratio_reporter(const std::vector<ratio>& ratios, time_basis basis) : ratios_{ratios}, basis_{basis} {}
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) times_.add(run);
        JSONReporter::ReportRuns(runs);
    }
    // JSONReporter leaves its "benchmarks" array open until Finalize; this closes it itself.
    void Finalize() override {
        std::ostream& out = GetOutputStream();
        out << "\n  ],\n  \"ratio_time\": \"" << (basis_ == time_basis::cpu ? "cpu" : "real") << "\",\n  \"ratios\": [";
        const auto rows = times_.rows(ratios_, basis_);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const auto& row = rows[i];
            out << (i ? "," : "") << "\n    {\"label\": " << quoted(row.spec->label) << ", \"plot\": " << quoted(row.spec->plot) << ", \"subject\": " << quoted(describe(row.spec->subject))
                << ", \"baseline\": " << quoted(describe(row.spec->baseline)) << ", \"time_ns\": " << row.time_ns
                << ", \"baseline_ns\": " << number(row.baseline_ns) << ", \"ratio\": " << number(row.value)
                << ", \"max_ns\": " << number(positive(row.spec->max_ns)) << ", \"max_ratio\": " << number(positive(row.spec->max_ratio))
                << ", \"met\": " << (row.met ? (*row.met ? "true" : "false") : "null") << "}";
        }
        out << "\n  ]\n}\n";
    }

    static std::string describe(const measure& m) {
        if (m.minus.empty()) return m.name;
        return "(" + m.name + " - " + m.minus + ") / " + std::to_string(static_cast<long long>(m.per));
    }

private:
    static std::optional<double> positive(double v) { return v > 0 ? std::optional{v} : std::nullopt; }
    static std::string number(std::optional<double> v) { return v ? std::to_string(*v) : "null"; }
    static std::string quoted(std::string_view text) {
        std::string out = "\"";
        for (char c : text) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        return out + "\"";
    }

    const std::vector<ratio>& ratios_;
    time_basis basis_;
    time_table times_;
};

namespace detail {
/// Whether the command line asks for a JSON file (Google Benchmark's default file format).
inline bool wants_json_file(int argc, char** argv) {
    bool out = false, json = true;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with("--benchmark_out=")) out = arg.size() > std::string_view("--benchmark_out=").size();
        if (arg.starts_with("--benchmark_out_format=")) json = arg == "--benchmark_out_format=json";
    }
    return out && json;
}
inline std::string format_ns(double ns) {
    char text[32];
    if (ns >= 1e6) std::snprintf(text, sizeof text, "%.2f ms", ns / 1e6);
    else if (ns >= 1e3) std::snprintf(text, sizeof text, "%.2f us", ns / 1e3);
    else std::snprintf(text, sizeof text, "%.1f ns", ns);
    return text;
}
} // namespace detail

/// Runs the registered benchmarks and prints each ratio whose two sides ran (medians when the
/// run repeats); with --benchmark_out=FILE the ratios are also written into FILE's JSON.
inline int run_with_ratios(int argc, char** argv, const std::vector<ratio>& ratios, time_basis basis = time_basis::real) {
    const bool json_file = detail::wants_json_file(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    ratio_reporter reporter;
    json_ratio_reporter json{ratios, basis};
    if (json_file) benchmark::RunSpecifiedBenchmarks(&reporter, &json);
    else benchmark::RunSpecifiedBenchmarks(&reporter);
    std::printf("\n%s time per iteration (median when repeated)\n", basis == time_basis::cpu ? "CPU" : "wall");
    std::printf("%-44s %10s %10s %8s  %s\n", "subject", "time", "baseline", "ratio", "meaning");
    for (const auto& row : reporter.times().rows(ratios, basis)) {
        const std::string target = row.met ? (*row.met ? "  [target met]" : "  [target NOT met]") : "";
        char value[32] = "-";
        if (row.value) std::snprintf(value, sizeof value, "%.2fx", *row.value);
        std::printf("%-44s %10s %10s %8s  %s%s\n", json_ratio_reporter::describe(row.spec->subject).c_str(),
                    detail::format_ns(row.time_ns).c_str(), row.baseline_ns ? detail::format_ns(*row.baseline_ns).c_str() : "-",
                    value, row.spec->label.c_str(), target.c_str());
    }
    benchmark::Shutdown();
    return 0;
}

} // namespace cordon_bench

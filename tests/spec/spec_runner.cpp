// The WebAssembly spec tests, run through cordon's public API on one engine. Each .wast file is
// converted with wast2json into a temporary directory, then every command runs in order: modules
// become sandboxes (the spectest module's functions are host functions), actions are calls,
// assertions are checked as the spec reads them (NaN results by the canonical and arithmetic
// rules). A command cordon cannot express yet is skipped with its reason; a failure passes the
// run only when the expectations file lists it with its reason, and a listed failure that now
// passes fails the run, so the list stays true.
//
//   spec_runner ENGINE WAST2JSON EXPECTATIONS FILE.wast... [--markdown]
//
// ENGINE is interpreter or compiled. Exit status: 0 when every outcome is as expected, 1 when not,
// 2 on bad arguments or when a file does not convert.
#include "../common/spec_files.hpp"

#include <cordon/wasm.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using cordon::error_kind;
using cordon::value;
using cordon::value_type;

// Generous limits: the spec tests check semantics, not budgets. Deep recursion must still end
// as a trap (assert_exhaustion), which both engines do at their own stack bounds.
using spec_policy = cordon::policy<cordon::isolation::strict, cordon::limit::memory<1024ull * 1024 * 1024>,
                                   cordon::limit::fuel<20'000'000'000ull>, cordon::limit::cpu_time_ms<60'000>,
                                   cordon::limit::wall_time_ms<60'000>>;

/// The functions of the spec's `spectest` module (its memory, table and globals are imports
/// cordon refuses, so modules that use them are skipped).
cordon::host::functions spectest_functions() {
    using cordon::host::function;
    return {
        function("print", [] {}, "spectest"),
        function("print_i32", [](std::int32_t) {}, "spectest"),
        function("print_i64", [](std::int64_t) {}, "spectest"),
        function("print_f32", [](float) {}, "spectest"),
        function("print_f64", [](double) {}, "spectest"),
        function("print_i32_f32", [](std::int32_t, float) {}, "spectest"),
        function("print_f64_f64", [](double, double) {}, "spectest"),
    };
}

/// A command's verdict.
struct passed {};
struct failed {
    std::string why;
};
struct skipped {
    std::string why;
};
using verdict = std::variant<passed, failed, skipped>;

/// A value as the JSON writes one: its type and the decimal of its bits, or a NaN pattern.
struct expected_value {
    value_type type = value_type::i32;
    std::uint64_t bits = 0;
    enum class nan { none, canonical, arithmetic } pattern = nan::none;
};

std::optional<value_type> type_named(const std::string& name) {
    if (name == "i32") return value_type::i32;
    if (name == "i64") return value_type::i64;
    if (name == "f32") return value_type::f32;
    if (name == "f64") return value_type::f64;
    return std::nullopt;  // v128, funcref, externref: not yet values a host can pass or read
}

std::variant<expected_value, skipped> parse_value(const json& v) {
    const std::string type = v.at("type").get<std::string>();
    const auto t = type_named(type);
    if (!t) return skipped{type + " values"};
    expected_value out{*t};
    const std::string text = v.at("value").get<std::string>();
    if (text == "nan:canonical") out.pattern = expected_value::nan::canonical;
    else if (text == "nan:arithmetic") out.pattern = expected_value::nan::arithmetic;
    else out.bits = std::stoull(text);
    return out;
}

bool matches(const expected_value& want, const value& got) {
    if (got.type != want.type) return false;
    const bool single = want.type == value_type::f32;
    const std::uint64_t bits = single ? (got.bits & 0xffff'ffffu) : got.bits;
    const std::uint64_t exponent = single ? 0x7f80'0000u : 0x7ff0'0000'0000'0000u;
    const std::uint64_t quiet = single ? 0x0040'0000u : 0x0008'0000'0000'0000u;
    const std::uint64_t sign = single ? 0x8000'0000u : 0x8000'0000'0000'0000u;
    switch (want.pattern) {
    case expected_value::nan::canonical: return (bits & ~sign) == (exponent | quiet);
    case expected_value::nan::arithmetic: return (bits & exponent) == exponent && (bits & quiet) == quiet;
    case expected_value::nan::none: break;
    }
    if (want.type == value_type::i32 || single) return bits == (want.bits & 0xffff'ffffu);
    return bits == want.bits;
}

std::string describe(const value& v) {
    std::ostringstream out;
    out << cordon::to_string(v.type) << ":0x" << std::hex << v.bits;
    return out.str();
}

using cordon::testing::read_file_bytes;

/// An import this runner cannot offer although the spec's harness would: one from a registered
/// module (not linked yet), or a spectest memory, table or global (cordon refuses those kinds).
/// An unknown spectest function is not one: the sandbox must refuse it, as the spec's would.
struct unoffered {
    std::string why;
    std::optional<std::string> registered_module{};
};
std::optional<unoffered> unoffered_import(const cordon::wasm::module& m) {
    for (const auto& i : m.imports()) {
        if (i.module != "spectest")
            return unoffered{"imports from module '" + i.module + "' (registered modules are not linked yet)",
                             i.module};
        if (i.kind != cordon::wasm::extern_kind::function)
            return unoffered{"imports a spectest memory, table or global"};
    }
    return std::nullopt;
}

template <class Engine> class file_run {
    using box = cordon::sandbox<Engine, spec_policy>;

public:
    explicit file_run(fs::path dir) : dir_{std::move(dir)} {}

    verdict run(const json& command) {
        const std::string type = command.at("type").get<std::string>();
        if (type == "module") return make_module(command);
        if (type == "register") return enroll(command);
        if (type == "action") return act(command, [](const auto&) -> verdict { return passed{}; });
        if (type == "assert_return") return assert_return(command);
        if (type == "assert_trap" || type == "assert_exhaustion")
            return act(command, [](const auto&) -> verdict { return failed{"returned, where it should trap"}; },
                       command.at("text").get<std::string>());
        if (type == "assert_invalid" || type == "assert_malformed") return refused_at_load(command);
        if (type == "assert_unlinkable") return refused_at_start(command, false);
        if (type == "assert_uninstantiable") return refused_at_start(command, true);
        return skipped{"command " + type};
    }

private:
    struct instance {
        std::unique_ptr<box> sandbox;   // null when the module could not be made here
        std::string missing;            // why not
        // A skipped command that would have changed this instance (an action, or a module that
        // imports from it and writes its memory or table): what follows cannot be judged.
        std::string tainted;
    };

    /// `register`: the name other modules import this instance by. Not linked yet; remembered
    /// so that a module skipped for importing from it marks it as changed behind our back.
    verdict enroll(const json& command) {
        std::shared_ptr<instance> target = current_;
        if (command.contains("name")) {
            auto it = named_.find(command.at("name").get<std::string>());
            target = it == named_.end() ? nullptr : it->second;
        }
        if (!target) return failed{"no module to register"};
        registered_[command.at("as").get<std::string>()] = target;
        return skipped{"register (linking one module's exports into another)"};
    }

    // assert_malformed's quoted modules reach the runner as text, which only a text parser reads.
    static bool is_text(const json& command) { return command.value("module_type", "binary") != "binary"; }
    static inline const skipped text_module{"a module in the text format (cordon loads binaries)"};

    /// The command's binary module, as the public API loads it.
    cordon::result<cordon::wasm::module> module_of(const json& command) const {
        return cordon::wasm::module::from_bytes(read_file_bytes(dir_ / command.at("filename").get<std::string>()));
    }

    std::variant<cordon::wasm::module, verdict> load(const json& command) {
        if (is_text(command)) return verdict{text_module};
        auto m = module_of(command);
        if (!m) return verdict{failed{"does not load: " + m.error().message()}};
        return std::move(*m);
    }

    std::unique_ptr<box> start(const cordon::wasm::module& m, std::optional<cordon::error>& error) {
        cordon::sandbox_options options;
        options.functions = spectest_functions();
        auto b = std::make_unique<box>(m, std::move(options));
        if (!b->ok()) {
            error = b->status().error();
            return nullptr;
        }
        return b;
    }

    verdict make_module(const json& command) {
        auto loaded = load(command);
        instance made;
        verdict outcome = passed{};
        if (auto* v = std::get_if<verdict>(&loaded)) {
            outcome = *v;
            made.missing = "its module did not load";
        } else {
            const auto& m = std::get<cordon::wasm::module>(loaded);
            if (auto why = unoffered_import(m)) {
                outcome = skip_module(*why);
                made.missing = "its module " + why->why;
            } else {
                std::optional<cordon::error> error;
                made.sandbox = start(m, error);
                if (!made.sandbox) {
                    outcome = failed{"does not start: " + error->message()};
                    made.missing = "its module did not start";
                }
            }
        }
        auto shared = std::make_shared<instance>(std::move(made));
        current_ = shared;
        if (command.contains("name")) named_[command.at("name").get<std::string>()] = shared;
        return outcome;
    }

    /// A module skipped for an import: one that imports from a registered instance may have
    /// written its memory or table (segments, a start function), so that instance is marked.
    verdict skip_module(const unoffered& why) {
        if (why.registered_module)
            if (auto it = registered_.find(*why.registered_module); it != registered_.end())
                it->second->tainted = "a module that imports from it was skipped";
        return skipped{why.why};
    }

    /// Runs the command's action; `on_values` judges what it returned. With `trap_text`, the call
    /// must trap with a message holding that text.
    template <class OnValues>
    verdict act(const json& command, OnValues on_values, std::optional<std::string> trap_text = std::nullopt) {
        const json& action = command.at("action");
        if (action.at("type") != "invoke") return skipped{"reading an exported global"};
        std::shared_ptr<instance> target = current_;
        if (action.contains("module")) {
            auto it = named_.find(action.at("module").get<std::string>());
            target = it == named_.end() ? nullptr : it->second;
        }
        if (!target) return failed{"no module to act on"};
        if (!target->sandbox) return skipped{target->missing};
        if (!target->tainted.empty())
            return skipped{"follows a skipped command that changed its module: " + target->tainted};
        std::vector<value> args;
        for (const auto& a : action.at("args")) {
            auto v = parse_value(a);
            if (auto* s = std::get_if<skipped>(&v)) {
                // Any call may change its module (a table.grow asserted to return its old size).
                target->tainted = "a call with arguments of " + s->why;
                return skipped{"arguments of " + s->why};
            }
            const auto& e = std::get<expected_value>(v);
            args.push_back(value{e.type, e.bits});
        }
        auto out = target->sandbox->call_values(action.at("field").get<std::string>(), args);
        if (trap_text) {
            if (out) return on_values(*out);
            return judge_trap(out.error(), *trap_text);
        }
        if (!out) return failed{"failed: " + out.error().message()};
        return on_values(*out);
    }

    verdict assert_return(const json& command) {
        std::vector<expected_value> want;
        for (const auto& e : command.at("expected")) {
            auto v = parse_value(e);
            if (auto* s = std::get_if<skipped>(&v)) return skipped{"results of " + s->why};
            want.push_back(std::get<expected_value>(v));
        }
        return act(command, [&](const std::vector<value>& got) -> verdict {
            if (got.size() != want.size())
                return failed{"returned " + std::to_string(got.size()) + " values, not " + std::to_string(want.size())};
            for (std::size_t i = 0; i < got.size(); ++i)
                if (!matches(want[i], got[i])) return failed{"result " + std::to_string(i) + " is " + describe(got[i])};
            return passed{};
        });
    }

    /// A trap whose message holds the spec's text; "call stack exhausted" for exhaustion.
    static verdict judge_trap(const cordon::error& e, const std::string& text) {
        if (e.kind() != error_kind::trap)
            return failed{"ended as " + std::string(cordon::to_string(e.kind())) + " (" + e.message() +
                          "), where it should trap"};
        if (e.message().find(text) == std::string::npos)
            return failed{"traps with '" + e.message() + "', where the spec says '" + text + "'"};
        return passed{};
    }

    /// An invalid or malformed module must be refused when it is loaded.
    verdict refused_at_load(const json& command) {
        if (is_text(command)) return text_module;
        auto m = module_of(command);
        if (!m) return passed{};
        const std::string what = command.at("type") == "assert_invalid" ? "invalid" : "malformed";
        if (unoffered_import(*m)) return skipped{"an " + what + " module with imports this runner does not offer"};
        std::optional<cordon::error> error;
        if (!start(*m, error))
            return failed{"loads, and is refused only when a sandbox starts (" + error->message() + ")"};
        return failed{"loads and starts, where it is " + what};
    }

    verdict refused_at_start(const json& command, bool must_trap) {
        auto loaded = load(command);
        if (auto* v = std::get_if<verdict>(&loaded)) return must_trap ? *v : verdict{passed{}};
        const auto& m = std::get<cordon::wasm::module>(loaded);
        if (auto why = unoffered_import(m)) return skip_module(*why);
        std::optional<cordon::error> error;
        auto b = start(m, error);
        if (b) return failed{must_trap ? "starts, where starting should trap" : "links, where it should not"};
        if (must_trap) return judge_trap(*error, command.at("text").get<std::string>());
        return passed{};
    }

    fs::path dir_;
    std::shared_ptr<instance> current_;
    std::map<std::string, std::shared_ptr<instance>> named_;
    std::map<std::string, std::shared_ptr<instance>> registered_;
};

/// Failures listed as known, with their reasons: "ENGINE FILE.wast:LINE reason".
std::map<std::string, std::string> read_expectations(const fs::path& file, const std::string& engine) {
    std::map<std::string, std::string> known;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string e, where, reason;
        fields >> e >> where;
        std::getline(fields >> std::ws, reason);
        if (e == engine) known[where] = reason;
    }
    return known;
}

struct file_tally {
    int passed = 0, failed = 0, expected_failures = 0, skipped = 0;
    std::map<std::string, int> skip_reasons;
    bool ok = true;
};

template <class Engine>
std::optional<file_tally> run_file(const fs::path& wast, const std::string& wast2json, const std::string& engine,
                                   const std::map<std::string, std::string>& known) {
    const fs::path dir =
        fs::temp_directory_path() / ("cordon-spec-" + std::to_string(::getpid()) + "-" + wast.stem().string());
    fs::create_directories(dir);
    const fs::path json_file = dir / (wast.stem().string() + ".json");
    if (!cordon::testing::convert_wast(wast2json, wast, json_file)) {
        std::cerr << "spec_runner: could not convert " << wast << "\n";
        fs::remove_all(dir);
        return std::nullopt;
    }
    json script;
    std::ifstream(json_file) >> script;

    file_tally t;
    file_run<Engine> run{dir};
    const std::string file = wast.filename().string();
    for (const auto& command : script.at("commands")) {
        const std::string where = file + ":" + std::to_string(command.value("line", 0));
        const verdict v = run.run(command);
        const auto listed = known.find(where);
        if (std::holds_alternative<passed>(v)) {
            ++t.passed;
            if (listed != known.end()) {
                t.ok = false;
                std::cout << "UNEXPECTED PASS " << engine << " " << where << " (listed: " << listed->second << ")\n";
            }
        } else if (const auto* f = std::get_if<failed>(&v)) {
            ++t.failed;
            if (listed != known.end()) {
                ++t.expected_failures;
            } else {
                t.ok = false;
                std::cout << "FAIL " << engine << " " << where << " " << command.at("type").get<std::string>() << ": "
                          << f->why << "\n";
            }
        } else {
            ++t.skipped;
            ++t.skip_reasons[std::get<skipped>(v).why];
        }
    }
    fs::remove_all(dir);
    return t;
}

template <class Engine> int run_all(int argc, char** argv) {
    const std::string engine = argv[1], wast2json = argv[2];
    const auto known = read_expectations(argv[3], engine);
    bool markdown = false;
    std::vector<fs::path> files;
    for (int i = 4; i < argc; ++i) {
        if (std::strcmp(argv[i], "--markdown") == 0) markdown = true;
        else files.emplace_back(argv[i]);
    }
    bool ok = true;
    file_tally total;
    if (markdown) std::cout << "| file | passed | failed (listed) | skipped |\n|---|---|---|---|\n";
    for (const auto& wast : files) {
        auto t = run_file<Engine>(wast, wast2json, engine, known);
        if (!t) return 2;
        ok = ok && t->ok;
        total.passed += t->passed;
        total.failed += t->failed;
        total.expected_failures += t->expected_failures;
        total.skipped += t->skipped;
        for (const auto& [why, n] : t->skip_reasons) total.skip_reasons[why] += n;
        if (markdown)
            std::cout << "| " << wast.filename().string() << " | " << t->passed << " | " << t->failed << " ("
                      << t->expected_failures << ") | " << t->skipped << " |\n";
    }
    std::cout << "spec " << engine << ": " << files.size() << " files, " << total.passed << " passed, " << total.failed
              << " failed (" << total.expected_failures << " listed with a reason), " << total.skipped << " skipped\n";
    for (const auto& [why, n] : total.skip_reasons) std::cout << "  skipped " << n << ": " << why << "\n";
    return ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: spec_runner ENGINE WAST2JSON EXPECTATIONS FILE.wast... [--markdown]\n";
        return 2;
    }
    const std::string engine = argv[1];
    try {
        if (engine == "interpreter") return run_all<cordon::wasm::interpreter>(argc, argv);
#if CORDON_SPEC_HAS_COMPILED
        if (engine == "compiled") return run_all<cordon::wasm::compiled>(argc, argv);
#endif
    } catch (const std::exception& e) {
        std::cerr << "spec_runner: " << e.what() << "\n";
        return 2;
    }
    std::cerr << "spec_runner: no engine named " << engine << "\n";
    return 2;
}

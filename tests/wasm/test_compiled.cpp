// Runs the wasm behaviour suite on the compiled engine (wasm2c, compiled at run time into the
// test's cache), and what only the compiled engine has: its cache, its toolchain errors, and
// the rule that only objects cordon compiled are ever loaded.
#include "behaviour_suite.hpp"
#include "../common/sanitizers.hpp"

#include <cordon/wasm/compiled.hpp>
#include <cordon/wasm/interpreter.hpp>  // the fallback when no compiler is found

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace cordon::wasm::testing {

using engines = ::testing::Types<compiled_engine>;
INSTANTIATE_TYPED_TEST_SUITE_P(Compiled, WasmBehaviour, engines);

namespace {

/// Compiles every test module into the test's cache, in both meterings a policy may choose, before
/// any test runs: compiling counts against a sandbox's wall time, and the behaviour suite gives
/// its calls short ones (a cold compile of a C program takes seconds on a busy machine).
class warm_cache : public ::testing::Environment {
public:
    void SetUp() override {
        for (const auto& entry : std::filesystem::directory_iterator(CORDON_TEST_MODULES)) {
            if (entry.path().extension() != ".wasm") continue;
            auto source = module::from_file(entry.path());
            if (!source) continue;  // the suite's malformed modules
            for (const bool depth : {false, true}) (void)compiled_toolchain::compile(*source, metering_options{true, depth}, {});
        }
    }
};
[[maybe_unused]] ::testing::Environment* const warmed = ::testing::AddGlobalTestEnvironment(new warm_cache);

} // namespace

namespace {

/// Writes wasm binaries byte by byte, for modules whose shape a test chooses (how many functions,
/// which constant) without an assembler at run time.
struct wasm_writer {
    std::vector<std::uint8_t> bytes{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

    static void uleb(std::vector<std::uint8_t>& out, std::uint64_t v) {
        do {
            std::uint8_t b = v & 0x7f;
            v >>= 7;
            out.push_back(static_cast<std::uint8_t>(b | (v ? 0x80 : 0)));
        } while (v);
    }
    static void sleb(std::vector<std::uint8_t>& out, std::int64_t v) {
        for (;;) {
            const std::uint8_t b = v & 0x7f;
            v >>= 7;
            const bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
            out.push_back(static_cast<std::uint8_t>(b | (done ? 0 : 0x80)));
            if (done) return;
        }
    }
    static void name(std::vector<std::uint8_t>& out, std::string_view text) {
        uleb(out, text.size());
        out.insert(out.end(), text.begin(), text.end());
    }
    /// A section whose body is `count` entries followed by `entries`.
    void section(std::uint8_t id, std::size_t count, const std::vector<std::uint8_t>& entries) {
        std::vector<std::uint8_t> body;
        uleb(body, count);
        body.insert(body.end(), entries.begin(), entries.end());
        bytes.push_back(id);
        uleb(bytes, body.size());
        bytes.insert(bytes.end(), body.begin(), body.end());
    }
    /// One function body: `locals` i64 locals, then `code` (without the final end).
    static void body(std::vector<std::uint8_t>& out, std::uint32_t i64_locals, const std::vector<std::uint8_t>& code) {
        std::vector<std::uint8_t> b;
        if (i64_locals) {
            uleb(b, 1);
            uleb(b, i64_locals);
            b.push_back(0x7e);
        } else {
            uleb(b, 0);
        }
        b.insert(b.end(), code.begin(), code.end());
        b.push_back(0x0b);
        uleb(out, b.size());
        out.insert(out.end(), b.begin(), b.end());
    }
    [[nodiscard]] module load() const { return module::from_bytes(bytes).value(); }
};

/// A module whose export "value" returns `constant` (and "twice" returns it doubled).
module constant_module(std::int32_t constant) {
    wasm_writer w;
    w.section(1, 1, {0x60, 0x00, 0x01, 0x7f});  // () -> i32
    w.section(3, 2, {0x00, 0x00});
    std::vector<std::uint8_t> exports;
    wasm_writer::name(exports, "value");
    exports.insert(exports.end(), {0x00, 0x00});
    wasm_writer::name(exports, "twice");
    exports.insert(exports.end(), {0x00, 0x01});
    w.section(7, 2, exports);
    std::vector<std::uint8_t> code{0x41};
    wasm_writer::sleb(code, constant);
    std::vector<std::uint8_t> bodies;
    wasm_writer::body(bodies, 0, code);
    code.insert(code.end(), {0x41, 0x02, 0x6c});  // i32.const 2, i32.mul
    wasm_writer::body(bodies, 0, code);
    w.section(10, 2, bodies);
    return w.load();
}

/// A module of `count` small functions, export "f0" returning 7: cheap to validate, slow to compile.
module many_functions_module(std::uint32_t count) {
    wasm_writer w;
    w.section(1, 1, {0x60, 0x01, 0x7f, 0x01, 0x7f});  // (i32) -> i32
    std::vector<std::uint8_t> functions(count, 0x00);
    w.section(3, count, functions);
    std::vector<std::uint8_t> exports;
    wasm_writer::name(exports, "f0");
    exports.insert(exports.end(), {0x00, 0x00});
    w.section(7, 1, exports);
    std::vector<std::uint8_t> bodies;
    for (std::uint32_t i = 0; i < count; ++i) {
        // local.get 0, i32.const i, i32.mul, i32.const 7, i32.add, (i == 0: drop, i32.const 7)
        std::vector<std::uint8_t> code{0x20, 0x00, 0x41};
        wasm_writer::sleb(code, i);
        code.insert(code.end(), {0x6c, 0x41, 0x07, 0x6a});
        if (i == 0) code.insert(code.end(), {0x1a, 0x41, 0x07});
        wasm_writer::body(bodies, 0, code);
    }
    w.section(10, count, bodies);
    return w.load();
}

/// The shape of the spec's skip-stack-guard-page test: export "recurse" (param depth) descends
/// `depth` calls, then enters a function with `locals` i64 locals (more than a page) that recurses
/// before touching them, then loads them all from memory and stores them all back. With `tick`,
/// each call of the many-locals function first calls the import app.tick.
module guard_page_module(std::uint32_t locals, bool tick) {
    wasm_writer w;
    const std::uint8_t base = tick ? 1 : 0;  // function index of "recurse"
    w.section(1, 2, {0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x00});  // 0: (i32) -> (), 1: () -> ()
    if (tick) {
        std::vector<std::uint8_t> imports;
        wasm_writer::name(imports, "app");
        wasm_writer::name(imports, "tick");
        imports.insert(imports.end(), {0x00, 0x01});
        w.section(2, 1, imports);
    }
    w.section(3, 2, {0x00, 0x01});
    w.section(5, 1, {0x00, 0x01});  // memory of one page
    std::vector<std::uint8_t> exports;
    wasm_writer::name(exports, "recurse");
    exports.insert(exports.end(), {0x00, base});
    w.section(7, 1, exports);
    const std::uint8_t recurse = base, many = static_cast<std::uint8_t>(base + 1);
    std::vector<std::uint8_t> bodies;
    // if depth == 0 then call many else recurse(depth - 1)
    wasm_writer::body(bodies, 0, {0x20, 0x00, 0x45, 0x04, 0x40, 0x10, many, 0x05, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, recurse, 0x0b});
    std::vector<std::uint8_t> code;
    if (tick) code.insert(code.end(), {0x10, 0x00});
    code.insert(code.end(), {0x10, many});
    for (std::uint32_t k = 0; k < locals; ++k) {  // local.set k (i64.load offset=k align=1 (i32.const 0))
        code.insert(code.end(), {0x41, 0x00, 0x29, 0x00});
        wasm_writer::uleb(code, k);
        code.push_back(0x21);
        wasm_writer::uleb(code, k);
    }
    for (std::uint32_t k = 0; k < locals; ++k) {  // i64.store offset=k align=1 (i32.const 0) (local.get k)
        code.insert(code.end(), {0x41, 0x00, 0x20});
        wasm_writer::uleb(code, k);
        code.insert(code.end(), {0x37, 0x00});
        wasm_writer::uleb(code, k);
    }
    wasm_writer::body(bodies, locals, code);
    w.section(10, 2, bodies);
    return w.load();
}

/// A module using SIMD: export "lane" returns lane 2 of the vector (1, 2, 3, 4).
module simd_module() {
    wasm_writer w;
    w.section(1, 1, {0x60, 0x00, 0x01, 0x7f});
    w.section(3, 1, {0x00});
    std::vector<std::uint8_t> exports;
    wasm_writer::name(exports, "lane");
    exports.insert(exports.end(), {0x00, 0x00});
    w.section(7, 1, exports);
    std::vector<std::uint8_t> code{0xfd, 0x0c};  // v128.const
    for (std::uint32_t lane = 1; lane <= 4; ++lane) code.insert(code.end(), {static_cast<std::uint8_t>(lane), 0, 0, 0});
    code.insert(code.end(), {0xfd, 0x1b, 0x02});  // i32x4.extract_lane 2
    std::vector<std::uint8_t> bodies;
    wasm_writer::body(bodies, 0, code);
    w.section(10, 1, bodies);
    return w.load();
}

/// A module whose only SIMD is an instruction WABT reads with the SIMD feature off
/// (v128.load8x8_s, its vector dropped): no v128 type anywhere.
module simd_load_only_module() {
    wasm_writer w;
    w.section(1, 1, {0x60, 0x00, 0x00});
    w.section(3, 1, {0x00});
    w.section(5, 1, {0x00, 0x01});  // memory of one page
    std::vector<std::uint8_t> exports;
    wasm_writer::name(exports, "load");
    exports.insert(exports.end(), {0x00, 0x00});
    w.section(7, 1, exports);
    const std::vector<std::uint8_t> code{0x41, 0x00, 0xfd, 0x01, 0x00, 0x00, 0x1a};  // i32.const 0, v128.load8x8_s, drop
    std::vector<std::uint8_t> bodies;
    wasm_writer::body(bodies, 0, code);
    w.section(10, 1, bodies);
    return w.load();
}

/// Runs `body` in a child process, so that a host crash fails the test instead of ending it;
/// the child's exit code is `body`'s result.
int in_child(const std::function<int()>& body) {
    std::fflush(nullptr);
    const pid_t child = ::fork();
    if (child == 0) ::_exit(body());
    int status = 0;
    if (child < 0 || ::waitpid(child, &status, 0) != child) return -1;
    if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/// How many processes have `text` in their command line.
int processes_mentioning(const std::string& text) {
    int found = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::ifstream in(entry.path() / "cmdline", std::ios::binary);
        const std::string cmdline{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (cmdline.find(text) != std::string::npos) ++found;
    }
    return found;
}

/// A private cache directory of its own for each test.
class CompiledCache : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("cordon-cache-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        options_.compile.cache_directory = dir_;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::vector<std::filesystem::path> objects() const {
        std::vector<std::filesystem::path> found;
        for (const auto& entry : std::filesystem::directory_iterator(dir_))
            if (entry.path().extension() == ".so") found.push_back(entry.path());
        return found;
    }
    /// A fresh module value, so the per-module memo does not hide the cache.
    static module fresh(const std::string& name) { return module::from_bytes(module_bytes(name)).value(); }

    std::filesystem::path dir_;
    compiled_options options_;
};

} // namespace

TEST_F(CompiledCache, SecondLoadIsACacheHit) {
    auto first = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_FALSE((*first)->code_from_cache());
    ASSERT_EQ(objects().size(), 1u);
    auto second = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_TRUE((*second)->code_from_cache());
    EXPECT_EQ(*(*second)->call<std::int32_t(std::int32_t)>("fib", 20), 6765);
    EXPECT_EQ(objects().size(), 1u);
}

TEST_F(CompiledCache, ModulesLoadedOneAfterAnotherKeepTheirOwnCode) {
    // Each object is loaded through a descriptor; a reused descriptor number must never make
    // the loader hand back the code of a module still loaded.
    for (int round = 0; round < 3; ++round) {
        auto fib = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
        ASSERT_TRUE(fib) << fib.error().message();
        EXPECT_EQ(*(*fib)->call<std::int32_t(std::int32_t)>("fib", 10), 55);
        auto sha = make_sandbox<compiled_instance>(fresh("sha256"), strict_config(), {}, options_);
        ASSERT_TRUE(sha) << sha.error().message();
        EXPECT_TRUE((*sha)->call<std::uint32_t(std::int32_t)>("sha256_rounds", 1)) << "round " << round;
    }
}

TEST_F(CompiledCache, OtherMeteringIsAnotherObject) {
    ASSERT_TRUE(make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_));
    options_.metering = metering_options{false, false};
    auto lean = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_TRUE(lean) << lean.error().message();
    EXPECT_FALSE((*lean)->code_from_cache());
    EXPECT_EQ(objects().size(), 2u);
}

TEST_F(CompiledCache, TamperedObjectIsNeverLoaded) {
    ASSERT_TRUE(make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_));
    const auto object = objects().at(0);
    {
        std::ofstream out(object, std::ios::binary | std::ios::app);
        out << "appended by someone else";
    }
    auto again = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_FALSE((*again)->code_from_cache()) << "a changed object must be compiled anew, not loaded";
    EXPECT_EQ(*(*again)->call<std::int32_t(std::int32_t)>("fib", 10), 55);
}

TEST_F(CompiledCache, ObjectWritableByOthersIsRefused) {
    ASSERT_TRUE(make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_));
    ::chmod(objects().at(0).c_str(), 0666);
    auto again = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind(), error_kind::denied);
}

TEST_F(CompiledCache, CacheThroughASymlinkIsRefused) {
    const auto real = dir_ / "real";
    std::filesystem::create_directories(real);
    std::filesystem::create_directory_symlink(real, dir_ / "link");
    options_.compile.cache_directory = dir_ / "link";
    auto refused = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().message(), HasSubstr("is not a directory"));
}

TEST_F(CompiledCache, CacheOfAnotherUserIsRefused) {
    std::filesystem::create_directories(dir_);
    if (::chown(dir_.c_str(), 65534, 65534) != 0) GTEST_SKIP() << "needs root to give the directory away";
    auto refused = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), error_kind::denied);
    EXPECT_THAT(refused.error().message(), HasSubstr("must belong to this user"));
}

TEST_F(CompiledCache, MissingCompilerIsAClearError) {
    options_.compile.compiler = "cordon-no-such-compiler";
    auto failed = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind(), error_kind::unsupported);
    EXPECT_THAT(failed.error().message(), HasSubstr("cordon-no-such-compiler"));
    // The interpreter remains available for the same module.
    auto fallback = make_sandbox<interpreter_instance>(fresh("fib"), strict_config());
    ASSERT_TRUE(fallback) << fallback.error().message();
}

TEST_F(CompiledCache, FailedCompileIsAClearError) {
    options_.compile.compiler_flags = {"-O2", "-DCORDON_BROKEN=", "-include", "/nonexistent/header.h"};
    auto failed = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind(), error_kind::load_error);
    EXPECT_THAT(failed.error().message(), HasSubstr("C compiler failed"));
    EXPECT_TRUE(objects().empty());
}

TEST(CompiledMemory, NoAddressSpaceForTheGuardRegionIsAMemoryLimit) {
    // Compile (or find) the code first, then, in a child whose address space is capped below the
    // 8 GiB a memory reserves, creating a sandbox must fail cleanly with memory_limit.
    if (cordon::testing::under_sanitizer)
        GTEST_SKIP() << "sanitizers reserve terabytes of shadow memory; an address-space cap breaks them";
    ASSERT_TRUE(make_sandbox<compiled_instance>(load("basic"), strict_config()));
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const rlimit cap{std::uint64_t{6} << 30, std::uint64_t{6} << 30};
        if (::setrlimit(RLIMIT_AS, &cap) != 0) ::_exit(10);
        auto box = make_sandbox<compiled_instance>(load("basic"), strict_config());
        if (box) ::_exit(11);
        ::_exit(box.error().kind() == error_kind::memory_limit ? 0 : 12);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0) << "11: created anyway, 12: another error kind";
}

TEST(CompiledStack, DeepRecursionWithoutDepthCountingIsATrap) {
    // Without depth counting, unbounded recursion runs into the thread's stack guard; the fault
    // is handled on the alternate signal stack and becomes a trap. The host carries on.
    auto source = load("basic");
    std::string message;
    std::thread worker([&] {
        test_policy config = strict_config();
        compiled_options options;
        options.metering = metering_options{true, false};
        auto box = make_sandbox<compiled_instance>(source, config, {}, options);
        if (!box) {
            message = "create: " + box.error().message();
            return;
        }
        auto r = (*box)->call<std::int32_t(std::int32_t)>("recurse", 0);
        message = r ? "returned" : r.error().message();
        auto after = (*box)->call<std::int32_t(std::int32_t)>("fib", 10);
        if (!after || *after != 55) message += "; unusable afterwards";
    });
    worker.join();
    EXPECT_THAT(message, HasSubstr("call stack exhausted"));
    EXPECT_THAT(message, ::testing::Not(HasSubstr("unusable")));
}

TEST_F(CompiledCache, EveryModuleRunsItsOwnCode) {
    // Modules made and destroyed in turn, each pair with the same bytes, on a cold cache and then
    // a warm one: each must run its own code, never an object loaded for another module.
    constexpr std::int32_t count = 6;
    for (const char* cache : {"cold", "warm"}) {
        for (std::int32_t k = 0; k < count; ++k) {
            const std::int32_t constant = 1000 + k;
            auto first = make_sandbox<compiled_instance>(constant_module(constant), strict_config(), {}, options_);
            ASSERT_TRUE(first) << first.error().message();
            auto twin = make_sandbox<compiled_instance>(constant_module(constant), strict_config(), {}, options_);
            ASSERT_TRUE(twin) << twin.error().message();
            EXPECT_TRUE((*twin)->code_from_cache()) << "the same bytes are compiled once";
            EXPECT_EQ(*(*first)->call<std::int32_t()>("value"), constant) << cache << " cache, module " << k;
            *first = test_sandbox<compiled_instance>{nullptr, nullptr};  // the first of the pair goes first; its twin keeps the code
            EXPECT_EQ(*(*twin)->call<std::int32_t()>("twice"), 2 * constant) << cache << " cache, module " << k;
            auto next = make_sandbox<compiled_instance>(constant_module(constant + 500), strict_config(), {}, options_);
            ASSERT_TRUE(next) << next.error().message();
            auto value = (*next)->call<std::int32_t()>("value");
            ASSERT_TRUE(value) << value.error().message();
            EXPECT_EQ(*value, constant + 500) << cache << " cache, module " << k << ": ran another module's code";
        }
    }
    EXPECT_EQ(objects().size(), 2u * count);
}

TEST_F(CompiledCache, CompileIsBoundedByTheWallTime) {
    // Compiling a module of very many functions takes far longer than its wall_time: the compile
    // stops at the limit with timeout, its programs killed, and nothing stays in the cache.
    const module big = many_functions_module(20'000);  // wasm2c alone takes about 10 s here
    test_policy config = strict_config();
    config.limit(limit::kind::wall_time_ms, 700);
    const auto started = std::chrono::steady_clock::now();
    auto stopped = make_sandbox<compiled_instance>(big, config, {}, options_);
    const auto spent = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(stopped);
    EXPECT_EQ(stopped.error().kind(), error_kind::timeout) << stopped.error().message();
    ASSERT_TRUE(stopped.error().info().limit);
    EXPECT_EQ(stopped.error().info().limit->name, "wall_time");
    EXPECT_LT(spent, std::chrono::seconds{5}) << "the compile outlived its wall time";
    EXPECT_TRUE(objects().empty());
    for (const auto& entry : std::filesystem::directory_iterator(dir_))
        ADD_FAILURE() << "left in the cache: " << entry.path();
    // Nothing of the toolchain outlives the compile (it ran in a process group of its own).
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    EXPECT_EQ(processes_mentioning(dir_.string()), 0) << "a program of the toolchain is still running";

    // A module of the same kind compiles under a limit that allows it (smaller and unoptimised,
    // to keep the test short).
    options_.compile.compiler_flags = {"-O0"};
    const module smaller = many_functions_module(300);
    config.limit(limit::kind::wall_time_ms, 300000);
    auto compiled = make_sandbox<compiled_instance>(smaller, config, {}, options_);
    ASSERT_TRUE(compiled) << compiled.error().message();
    EXPECT_EQ(*(*compiled)->call<std::int32_t(std::int32_t)>("f0", 5), 7);
}

TEST_F(CompiledCache, ToolchainMemoryIsCapped) {
    // A toolchain that needs more address space than it may have fails with memory_limit.
    options_.compile.toolchain_memory_bytes = std::uint64_t{24} << 20;
    auto capped = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    ASSERT_FALSE(capped);
    EXPECT_EQ(capped.error().kind(), error_kind::memory_limit) << capped.error().message();
    EXPECT_TRUE(objects().empty());
}

TEST_F(CompiledCache, SimdIsRefusedWithTheReason) {
    auto refused = make_sandbox<compiled_instance>(simd_module(), strict_config(), {}, options_);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), error_kind::load_error);
    EXPECT_THAT(refused.error().message(), HasSubstr("SIMD"));
    EXPECT_THAT(refused.error().message(), HasSubstr("interpreter"));
    // The interpreter runs it.
    auto interpreted = make_sandbox<interpreter_instance>(simd_module(), strict_config());
    ASSERT_TRUE(interpreted) << interpreted.error().message();
    EXPECT_EQ(*(*interpreted)->call<std::int32_t()>("lane"), 3);
    // SIMD that WABT's reader lets through with the feature off is found too, not left to
    // wasm2c (which aborts on it).
    auto load_only = make_sandbox<compiled_instance>(simd_load_only_module(), strict_config(), {}, options_);
    ASSERT_FALSE(load_only);
    EXPECT_EQ(load_only.error().kind(), error_kind::load_error);
    EXPECT_THAT(load_only.error().message(), HasSubstr("SIMD"));
}

TEST_F(CompiledCache, FailedTranslationSaysWhatTheToolSaid) {
    // A "wasm2c" that fails: its exit and its output are in the message.
    const auto fake = dir_.parent_path() / ("cordon-fake-wasm2c-" + std::to_string(::getpid()));
    {
        std::ofstream script(fake);
        script << "#!/bin/sh\necho 'fake wasm2c cannot do this' >&2\nkill -ABRT $$\n";
    }
    ::chmod(fake.c_str(), 0700);
    options_.compile.wasm2c = fake.string();
    auto failed = make_sandbox<compiled_instance>(fresh("fib"), strict_config(), {}, options_);
    std::filesystem::remove(fake);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind(), error_kind::load_error);
    EXPECT_THAT(failed.error().message(), HasSubstr("fake wasm2c cannot do this"));
    EXPECT_THAT(failed.error().message(), HasSubstr("signal 6"));
}

/// Runs export "recurse" of `source` `times` times on a thread of its own in a child process;
/// 0 if every call ended with the trap "call stack exhausted" and the host lived.
int exhaust_in_child(const module& source, test_policy config, std::vector<host_function> functions, int times) {
    return in_child([&] {
        int outcome = 0;
        std::thread worker([&] {
            auto box = make_sandbox<compiled_instance>(source, config, functions);
            if (!box) {
                std::fprintf(stderr, "create: %s\n", box.error().message().c_str());
                outcome = 2;
                return;
            }
            for (int i = 0; i < times && outcome == 0; ++i) {
                auto r = (*box)->call<void(std::int32_t)>("recurse", i % 4 * 100);
                if (r || r.error().kind() != error_kind::trap ||
                    r.error().message().find("call stack exhausted") == std::string::npos) {
                    std::fprintf(stderr, "call %d: %s\n", i, r ? "returned" : r.error().message().c_str());
                    outcome = 3;
                }
            }
        });
        worker.join();
        return outcome;
    });
}

TEST(CompiledStack, HostFunctionsCalledOnAnExhaustedStackDoNotCrashTheHost) {
    // Every level of the recursion calls a host function that needs 32 KiB of stack: near the
    // end of the guest's stack it must not run (and fault as the host), the guest traps instead.
    const module source = guard_page_module(16, true);
    std::vector<host_function> functions;
    functions.push_back(host_function::make<void()>("app", "tick", std::nullopt, [] {
        volatile char scratch[32 * 1024];
        scratch[0] = 1;
        scratch[sizeof scratch - 1] = scratch[0];
    }));
    ASSERT_TRUE(make_sandbox<compiled_instance>(source, strict_config(), functions)) << "compiled before the child runs it";
    EXPECT_EQ(exhaust_in_child(source, strict_config(), functions, 8), 0)
        << "1000 + n: the host died of signal n; 3: another outcome than call stack exhausted";
}

TEST(CompiledStack, FramesLargerThanTheGuardPageAndFuelRefillsDoNotCrashTheHost) {
    // The spec's skip-stack-guard-page: a function with more than a page of locals recursing; the
    // fuel refill (and its clock reads) comes at any depth, with a short slice often.
    const module source = guard_page_module(1056, false);
    test_policy config = strict_config();
    config.options.fuel_slice = 997;
    config.limit(limit::kind::wall_time_ms, 30000);
    config.limit(limit::kind::cpu_time_ms, 30000);
    ASSERT_TRUE(make_sandbox<compiled_instance>(source, config)) << "compiled before the child runs it";
    EXPECT_EQ(exhaust_in_child(source, config, {}, 12), 0)
        << "1000 + n: the host died of signal n; 3: another outcome than call stack exhausted";
}

} // namespace cordon::wasm::testing

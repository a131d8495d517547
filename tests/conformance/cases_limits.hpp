// Conformance cases: every limit, each where the backend can express it.
// Included by suite.hpp, which registers them; one expectation for every backend.
#pragma once

#include "fixture.hpp"

namespace cordon::conformance {

// ---- limits -----------------------------------------------------------------------------------

TYPED_TEST_P(Conformance, MemoryLimitHolds) {
    if constexpr (!TypeParam::memory_limit.supported) {
        CORDON_CONFORMANCE_SKIP(memory_limit);
    } else {
        constexpr std::uint64_t limit_mib = 32;
        auto box = this->template make<policy<isolation::strict, limit::memory<limit_mib * MiB>>>();
        auto r = box.call_bytes("eat_memory", {});
        if (r) {
            // The guest was refused more memory: it got some, and never more than the limit.
            const auto mib = std::stoull(text_of(r));
            EXPECT_GE(mib, 1U);
            EXPECT_LE(mib, limit_mib);
        } else {
            EXPECT_EQ(r.error().kind(), error_kind::memory_limit) << r.error().message();
        }
        EXPECT_EQ(text_of(box.call_bytes("reverse", bytes_of("ab"))), "ba") << "the sandbox serves the next call";
    }
}

TYPED_TEST_P(Conformance, CpuTimeStopsAnEndlessCall) {
    if constexpr (!TypeParam::interrupts.supported) {
        CORDON_CONFORMANCE_SKIP(interrupts);
    } else {
        auto box =
            this->template make<policy<isolation::strict, limit::cpu_time_ms<100>, limit::wall_time_ms<10'000>>>();
        expect_limit(box.call_bytes("spin", {}), error_kind::cpu_limit, "cpu_time");
        EXPECT_EQ(box.telemetry().last_call.errors, 1U);
        EXPECT_GE(box.telemetry().last_call.cpu_ns, 100'000'000U);
        EXPECT_EQ(text_of(box.call_bytes("reverse", bytes_of("ab"))), "ba") << "the sandbox serves the next call";
    }
}

TYPED_TEST_P(Conformance, WallTimeStopsAnEndlessCall) {
    if constexpr (!TypeParam::interrupts.supported) {
        CORDON_CONFORMANCE_SKIP(interrupts);
    } else {
        auto box = this->template make<policy<isolation::strict, limit::wall_time_ms<200>>>();
        const auto start = std::chrono::steady_clock::now();
        expect_limit(box.call_bytes("spin", {}), error_kind::timeout, "wall_time");
        EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
        EXPECT_EQ(box.telemetry().last_call.errors, 1U);
        EXPECT_EQ(text_of(box.call_bytes("reverse", bytes_of("ab"))), "ba") << "the sandbox serves the next call";
    }
}

TYPED_TEST_P(Conformance, FuelIsExactAndStopsTheCall) {
    if constexpr (!TypeParam::fuel.supported) {
        CORDON_CONFORMANCE_SKIP(fuel);
    } else {
        using fuelled = policy<isolation::strict, limit::fuel<1'000'000'000>>;
        auto measure = this->template make<fuelled>();
        ASSERT_EQ(measure.template call<std::int32_t(std::int32_t)>("fib", 15).value(), 610);
        const std::uint64_t used = measure.telemetry().last_call.fuel;
        EXPECT_GT(used, 1000U);
        // A budget of exactly what the call needs is enough; one less is not.
        auto exact = this->template make<fuelled>();
        ASSERT_TRUE(exact.tighten(limit::kind::fuel, used));
        EXPECT_EQ(exact.template call<std::int32_t(std::int32_t)>("fib", 15).value(), 610);
        EXPECT_EQ(exact.telemetry().last_call.fuel, used) << "fuel is deterministic";
        auto short_one = this->template make<fuelled>();
        ASSERT_TRUE(short_one.tighten(limit::kind::fuel, used - 1));
        auto r = short_one.template call<std::int32_t(std::int32_t)>("fib", 15);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind(), error_kind::fuel_exhausted);
        // An endless call stops too; the budget renews per call.
        auto spinner = this->template make<policy<isolation::strict, limit::fuel<1'000'000>>>();
        auto spun = spinner.call_bytes("spin", {});
        ASSERT_FALSE(spun);
        EXPECT_EQ(spun.error().kind(), error_kind::fuel_exhausted);
        EXPECT_EQ(spinner.template call<std::int32_t(std::int32_t)>("fib", 10).value(), 55);
    }
}

TYPED_TEST_P(Conformance, OpenFilesLimitHolds) {
    if constexpr (!TypeParam::open_files.supported) {
        CORDON_CONFORMANCE_SKIP(open_files);
    } else if constexpr (!TypeParam::files.supported) {
        CORDON_CONFORMANCE_SKIP(files);
    } else {
        constexpr std::uint64_t limit = 5;
        scratch_tree tree;
        sandbox_options options;
        options.grants = {"fs.read=" + tree.allowed().string()};
        auto box = this->template make<policy<isolation::strict, limit::open_files<limit>>>(std::move(options));
        auto r = box.call_bytes("hoard_files", path_bytes(tree.allowed() / "data.txt"));
        if (r) {
            const auto opened = std::stoull(text_of(r));
            EXPECT_GE(opened, 1U) << "the file is in scope";
            EXPECT_LE(opened, limit);
        } else {
            EXPECT_EQ(r.error().kind(), error_kind::file_limit) << r.error().message();
            ASSERT_TRUE(r.error().info().limit);
            EXPECT_EQ(r.error().info().limit->limit, limit);
        }
    }
}

TYPED_TEST_P(Conformance, OutputBytesCapsTheGuest) {
    if constexpr (!TypeParam::host_api.supported) {
        CORDON_CONFORMANCE_SKIP(host_api);
    } else {
        constexpr std::uint64_t cap = 100'000;
        // Logs and the call's own output are both capped; stopping a flood is not a crash.
        for (const char* flood : {"log_flood", "output_flood"}) {
            SCOPED_TRACE(flood);
            auto box = this->template make<policy<isolation::strict, limit::output_bytes<cap>>>();
            auto r = box.call_bytes(flood, {});
            ASSERT_FALSE(r) << "answered " << r->size() << " bytes";
            EXPECT_EQ(r.error().kind(), error_kind::output_limit) << r.error().message();
            ASSERT_TRUE(r.error().info().limit);
            EXPECT_EQ(r.error().info().limit->name, "output_bytes");
            EXPECT_EQ(r.error().info().limit->limit, cap);
            EXPECT_LE(box.take_logs().size() + box.take_stdout().size() + box.take_stderr().size(), cap);
            EXPECT_EQ(box.telemetry().restarts, 0U);
        }
    }
}

TYPED_TEST_P(Conformance, CallDepthLimitHolds) {
    if constexpr (!TypeParam::call_depth.supported) {
        CORDON_CONFORMANCE_SKIP(call_depth);
    } else {
        auto box = this->template make<policy<isolation::strict, limit::call_depth<50>>>();
        EXPECT_EQ(box.template call<std::int32_t(std::int32_t)>("fib", 20).value(), 6765)
            << "depth 20 is within the limit";
        auto r = box.template call<std::int32_t(std::int32_t)>("recurse", 0);
        ASSERT_FALSE(r);
        ASSERT_TRUE(r.error().info().limit) << r.error().message();
        EXPECT_EQ(r.error().info().limit->name, "call_depth");
        EXPECT_EQ(r.error().info().limit->limit, 50U);
    }
}

TYPED_TEST_P(Conformance, ProcessesLimitHolds) {
    if constexpr (!TypeParam::processes.supported) {
        CORDON_CONFORMANCE_SKIP(processes);
    } else {
        sandbox_options options;
        options.grants = {"process"};
        auto box = this->template make<policy<isolation::minimal, limit::processes<1>>>(std::move(options));
        EXPECT_EQ(text_of(box.call_bytes("spawn", {})), "refused") << "the guest itself is the one process allowed";
        sandbox_options looser;
        looser.grants = {"process"};
        auto unlimited = this->template make<policy<isolation::minimal, limit::processes<64>>>(std::move(looser));
        EXPECT_EQ(text_of(unlimited.call_bytes("spawn", {})), "forked") << "the guest may fork under a looser limit";
    }
}

} // namespace cordon::conformance

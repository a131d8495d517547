// Conformance cases: every permission, granted and refused, and violations under each violation_action.
// Included by suite.hpp, which registers them; one expectation for every backend.
#pragma once

#include "fixture.hpp"

namespace cordon::conformance {

// ---- permissions ------------------------------------------------------------------------------

TYPED_TEST_P(Conformance, ClockNeedsItsGrant) {
    if constexpr (!TypeParam::host_api.supported) {
        CORDON_CONFORMANCE_SKIP(host_api);
    } else {
        auto denied = this->template make<strict>(); // clock is in strict's ceiling, not granted
        expect_violation_of(denied, denied.call_bytes("probe_clock", {}), "clock");
        auto granted = this->template make<policy<isolation::strict, allow<perm::clock>>>();
        EXPECT_EQ(text_of(granted.call_bytes("probe_clock", {})), "ok");
        EXPECT_TRUE(granted.violations().empty());
    }
}

TYPED_TEST_P(Conformance, RandomNeedsItsGrant) {
    if constexpr (!TypeParam::host_api.supported) {
        CORDON_CONFORMANCE_SKIP(host_api);
    } else {
        auto denied = this->template make<strict>();
        expect_violation_of(denied, denied.call_bytes("probe_random", {}), "random");
        auto granted = this->template make<policy<isolation::strict, allow<perm::random>>>();
        EXPECT_EQ(text_of(granted.call_bytes("probe_random", {})), "ok");
    }
}

TYPED_TEST_P(Conformance, EnvironmentNeedsItsGrant) {
    if constexpr (!TypeParam::environment.supported) {
        CORDON_CONFORMANCE_SKIP(environment);
    } else {
        auto with_greeting = [] {
            sandbox_options options;
            options.environment = {{"GREETING", "hello"}};
            return options;
        };
        auto granted =
            this->template make<policy<isolation::standard, allow<perm::env>>>(with_greeting(), part::environment);
        EXPECT_EQ(text_of(granted.call_bytes("probe_env", {})), "hello");
        // In the ceiling, not granted: the value never reaches the guest.
        auto denied = this->template make<policy<isolation::standard>>(with_greeting(), part::environment);
        expect_refused(denied.call_bytes("probe_env", {}), "hello");
    }
}

/// A bus as a plugin runtime would attach one: "echo/answer" answers "echo " and its input.
struct recording_bus : host::bus {
    std::vector<std::string> calls, events;
    result<std::vector<std::byte>> call(std::string_view target, std::span<const std::byte> input) override {
        const std::string text(reinterpret_cast<const char*>(input.data()), input.size());
        calls.push_back(std::string(target) + ":" + text);
        if (target != "echo/answer") return fail(error_kind::invalid_argument, "no plugin function " + std::string(target));
        return bytes_of("echo " + text);
    }
    result<void> emit(std::string_view topic, std::span<const std::byte> data) override {
        events.push_back(std::string(topic) + ":" + std::string(reinterpret_cast<const char*>(data.data()), data.size()));
        return {};
    }
};

TYPED_TEST_P(Conformance, BusCallsNeedPluginAndReachTheAttachedBus) {
    if constexpr (!TypeParam::bus.supported) {
        CORDON_CONFORMANCE_SKIP(bus);
    } else {
        using with_plugin = policy<isolation::standard, allow<perm::plugin>>;
        auto unattached = this->template make<with_plugin>({}, part::bus);
        EXPECT_EQ(text_of(unattached.call_bytes("probe_bus", bytes_of("hi"))), "unsupported");
        recording_bus bus;
        sandbox_options options;
        options.bus = &bus;
        auto box = this->template make<with_plugin>(std::move(options), part::bus);
        EXPECT_EQ(text_of(box.call_bytes("probe_bus", bytes_of("hi"))), "echo hi");
        EXPECT_EQ(bus.calls, std::vector<std::string>{"echo/answer:hi"});
        EXPECT_EQ(bus.events, std::vector<std::string>{"seen:echo hi"});
        EXPECT_TRUE(box.violations().empty());
        // In the ceiling, not granted: refused before the bus sees anything.
        recording_bus untouched;
        sandbox_options refused_options;
        refused_options.bus = &untouched;
        auto denied = this->template make<policy<isolation::standard>>(std::move(refused_options), part::bus);
        expect_refused(denied.call_bytes("probe_bus", bytes_of("hi")), "echo");
        EXPECT_TRUE(untouched.calls.empty());
        EXPECT_TRUE(untouched.events.empty());
        EXPECT_FALSE(denied.violations().empty());
    }
}

TYPED_TEST_P(Conformance, ConfigNeedsNoGrant) {
    if constexpr (!TypeParam::host_api.supported) {
        CORDON_CONFORMANCE_SKIP(host_api);
    } else {
        sandbox_options options;
        options.config = {{"greeting", "hi there"}};
        auto box = this->template make<strict>(std::move(options));
        EXPECT_EQ(text_of(box.call_bytes("probe_config", {})), "hi there");
        auto without = this->template make<strict>();
        EXPECT_EQ(text_of(without.call_bytes("probe_config", {})), "(unset)");
        EXPECT_TRUE(box.violations().empty());
    }
}

// The host API takes text (keys, targets, topics, paths) of at most host::api::max_text bytes;
// a longer one is the guest's mistake to handle, answered invalid, not a trap or a usage error.
TYPED_TEST_P(Conformance, TextPastTheLimitIsInvalid) {
    if constexpr (!TypeParam::host_api.supported) {
        CORDON_CONFORMANCE_SKIP(host_api);
    } else {
        auto box = this->template make<strict>();
        auto r = box.call_bytes("probe_long_key", {});
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(text_of(r), "invalid");
        EXPECT_TRUE(box.violations().empty());
    }
}

TYPED_TEST_P(Conformance, LogNeedsNoGrant) {
    if constexpr (!TypeParam::host_api.supported) {
        CORDON_CONFORMANCE_SKIP(host_api);
    } else {
        auto box = this->template make<strict>();
        EXPECT_EQ(text_of(box.call_bytes("probe_log", {})), "ok");
        EXPECT_THAT(box.take_logs(), HasSubstr("hello from the guest"));
        EXPECT_TRUE(box.violations().empty());
    }
}

TYPED_TEST_P(Conformance, FsReadStaysInScope) {
    if constexpr (!TypeParam::files.supported) {
        CORDON_CONFORMANCE_SKIP(files);
    } else {
        scratch_tree tree;
        sandbox_options options;
        options.grants = {"fs.read=" + tree.allowed().string()};
        auto box = this->template make<strict>(std::move(options));
        EXPECT_EQ(text_of(box.call_bytes("read_file", path_bytes(tree.allowed() / "data.txt"))), "inside the scope\n");
        for (const auto& attack : {tree.root() / "secret.txt", tree.allowed() / ".." / "secret.txt"}) {
            SCOPED_TRACE(attack.string());
            expect_refused(box.call_bytes("read_file", path_bytes(attack)), "outside the scope");
        }
        auto ungranted = this->template make<strict>();
        expect_refused(ungranted.call_bytes("read_file", path_bytes(tree.allowed() / "data.txt")), "inside the scope");
    }
}

TYPED_TEST_P(Conformance, FsWriteStaysInScope) {
    if constexpr (!TypeParam::files.supported) {
        CORDON_CONFORMANCE_SKIP(files);
    } else {
        scratch_tree tree;
        sandbox_options options;
        options.grants = {"fs.read=" + tree.allowed().string(), "fs.write=" + tree.allowed().string()};
        auto box = this->template make<strict>(std::move(options));
        EXPECT_EQ(text_of(box.call_bytes("write_file", path_bytes(tree.allowed() / "new.txt"))), "ok");
        std::ifstream written(tree.allowed() / "new.txt");
        EXPECT_EQ(std::string(std::istreambuf_iterator<char>(written), {}), "written");
        (void)box.call_bytes("write_file", path_bytes(tree.root() / "escape.txt"));
        EXPECT_FALSE(std::filesystem::exists(tree.root() / "escape.txt")) << "written outside the scope";
        // Reading granted, writing not: the scope stays read-only.
        sandbox_options read_only;
        read_only.grants = {"fs.read=" + tree.allowed().string()};
        auto reader = this->template make<strict>(std::move(read_only));
        expect_refused(reader.call_bytes("write_file", path_bytes(tree.allowed() / "other.txt")), "ok");
        EXPECT_FALSE(std::filesystem::exists(tree.allowed() / "other.txt")) << "written without fs_write";
    }
}

TYPED_TEST_P(Conformance, SystemNeedsItsGrant) {
    if constexpr (!TypeParam::system.supported) {
        CORDON_CONFORMANCE_SKIP(system);
    } else {
        auto denied = this->template make<policy<isolation::standard>>(); // system in the ceiling, not granted
        expect_refused(denied.call_bytes("probe_system", {}), "ok");
        auto granted = this->template make<policy<isolation::standard, allow<perm::system>>>();
        EXPECT_EQ(text_of(granted.call_bytes("probe_system", {})), "ok");
    }
}

inline sandbox_options acting_on_violation(violation_action action) {
    sandbox_options options;
    options.on_violation = action;
    return options;
}

// ---- violations under each violation_action ---------------------------------------------------
// "violate" makes a request strict refuses (a host call without its grant, or a system call the
// filter traps), then logs "carried on" where it can.

TYPED_TEST_P(Conformance, FailCallEndsTheCallAsViolation) {
    auto box = this->template make<strict>(acting_on_violation(violation_action::fail_call));
    auto r = box.call_bytes("violate", {});
    ASSERT_FALSE(r) << "answered " << text_of(r);
    EXPECT_EQ(r.error().kind(), error_kind::violation) << r.error().message();
    EXPECT_EQ(box.violations().size(), 1U);
    EXPECT_EQ(box.telemetry().last_call.violations, 1U);
    EXPECT_EQ(text_of(box.call_bytes("reverse", bytes_of("ab"))), "ba") << "the sandbox serves the next call";
}

TYPED_TEST_P(Conformance, TrapStopsTheGuestAtOnce) {
    if constexpr (!TypeParam::trap_stops_guest.supported) {
        CORDON_CONFORMANCE_SKIP(trap_stops_guest);
    } else {
        auto box = this->template make<strict>(acting_on_violation(violation_action::trap));
        auto r = box.call_bytes("violate", {});
        ASSERT_FALSE(r) << "answered " << text_of(r);
        EXPECT_EQ(r.error().kind(), error_kind::violation) << r.error().message();
        EXPECT_EQ(box.violations().size(), 1U);
        EXPECT_THAT(box.take_logs(), ::testing::Not(HasSubstr("carried on"))) << "the guest ran on after the violation";
        EXPECT_EQ(text_of(box.call_bytes("reverse", bytes_of("ab"))), "ba") << "the sandbox serves the next call";
    }
}

TYPED_TEST_P(Conformance, RecordKeepsTheResult) {
    if constexpr (!TypeParam::record_keeps_call.supported) {
        CORDON_CONFORMANCE_SKIP(record_keeps_call);
    } else {
        auto box = this->template make<strict>(acting_on_violation(violation_action::record));
        auto r = box.call_bytes("violate", {});
        EXPECT_EQ(text_of(r), "denied") << "the guest saw the refusal and its call completed";
        EXPECT_EQ(box.violations().size(), 1U);
        EXPECT_EQ(box.telemetry().last_call.violations, 1U);
        EXPECT_EQ(box.telemetry().last_call.errors, 0U);
    }
}

} // namespace cordon::conformance

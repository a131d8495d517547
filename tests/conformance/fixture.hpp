// The conformance suite's fixture and shared expectations: sandboxes of a kind under a policy,
// the guest's behaviours by name, and the checks every backend is held to.
#pragma once

#include <cordon/cordon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

#include "capabilities.hpp"

// A kind K derives from conformance::expressible and gives:
//   using backend = ...;  static constexpr std::string_view name;  static backend::payload payload(part);
// The payload provides every behaviour below under the same export name:
//   typed:  add(i32, i32) -> i32, add64(i64, i64) -> i64, scale(f64, f32) -> f64, fib(i32) -> i32,
//           nothing() -> (), recurse(i32) -> i32 (without end)
//   bytes:  reverse, spin (never returns), violate (a refused request, then logs "carried on"),
//           probe_clock, probe_random, probe_config, probe_log, probe_system, log_flood, output_flood,
//           read_file / write_file / hoard_files (input: a path), eat_memory, spawn
//   part::environment: probe_env (bytes)     part::host_functions: use_mix(i32) -> i64, use_beep() -> i32
//   part::bus: probe_bus (bytes)
// Bytes behaviours answer "ok", "denied", "refused", a value or a count.

#define CORDON_CONFORMANCE_SKIP(flag)                                                                                  \
    GTEST_SKIP() << ::cordon::conformance::skip_reason(TypeParam::name, TypeParam::flag)

namespace cordon::conformance {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

inline std::vector<std::byte> bytes_of(std::string_view text) {
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    return {p, p + text.size()};
}
inline std::vector<std::byte> path_bytes(const std::filesystem::path& path) {
    return bytes_of(std::string_view(path.native()));
}

/// The answer of a bytes behaviour as text, or a description of the error (so that an
/// expectation on the text fails with the reason in view).
inline std::string text_of(const result<std::vector<std::byte>>& r) {
    if (!r) return "<error " + std::string(to_string(r.error().kind())) + ": " + r.error().message() + ">";
    return {reinterpret_cast<const char*>(r->data()), r->size()};
}

/// A directory with a file inside the scope a case grants and one beside it, outside.
class scratch_tree {
public:
    scratch_tree() {
        static std::atomic<int> counter{0};
        root_ = std::filesystem::temp_directory_path() /
                ("cordon-conformance-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(root_ / "allowed");
        std::ofstream(root_ / "secret.txt") << "outside the scope\n";
        std::ofstream(root_ / "allowed" / "data.txt") << "inside the scope\n";
    }
    scratch_tree(const scratch_tree&) = delete;
    scratch_tree& operator=(const scratch_tree&) = delete;
    ~scratch_tree() {
        std::error_code ignored;
        std::filesystem::remove_all(root_, ignored);
    }
    [[nodiscard]] const std::filesystem::path& root() const { return root_; }
    [[nodiscard]] std::filesystem::path allowed() const { return root_ / "allowed"; }

private:
    std::filesystem::path root_;
};

/// A refused request: either the call ended as a violation, or the guest got a refusal and no
/// part of what it asked for.
inline void expect_refused(const result<std::vector<std::byte>>& r, std::string_view forbidden_answer) {
    if (!r) {
        EXPECT_EQ(r.error().kind(), error_kind::violation) << r.error().message();
    } else {
        EXPECT_THAT(text_of(r), ::testing::Not(HasSubstr(std::string(forbidden_answer))));
    }
}

/// A denied host call under fail_call: the call ends as a violation naming the permission,
/// recorded once.
template <class Box>
void expect_violation_of(Box& box, const result<std::vector<std::byte>>& r, std::string_view permission) {
    ASSERT_FALSE(r) << "answered " << text_of(r);
    EXPECT_EQ(r.error().kind(), error_kind::violation) << r.error().message();
    EXPECT_EQ(r.error().info().permission, std::string(permission));
    const auto recorded = box.violations();
    ASSERT_EQ(recorded.size(), 1U);
    EXPECT_EQ(recorded.front().info().permission, std::string(permission));
}

/// A call stopped by a limit: its kind, the limit named in the message, and (where attached)
/// the limit's details.
template <class R>
void expect_limit(const result<R>& r, error_kind kind, std::string_view limit) {
    ASSERT_FALSE(r) << "the call was not stopped";
    EXPECT_EQ(r.error().kind(), kind) << r.error().message();
    // One wording on every backend: "<limit> limit of N <unit> exceeded", with the limit's
    // name, value and what was observed attached.
    EXPECT_THAT(r.error().message(), HasSubstr(std::string(limit) + " limit of ")) << r.error().message();
    ASSERT_TRUE(r.error().info().limit) << r.error().message();
    EXPECT_EQ(r.error().info().limit->name, std::string(limit));
    EXPECT_GT(r.error().info().limit->limit, 0U);
}

template <class K>
class Conformance : public ::testing::Test {
protected:
    template <class Policy>
    using box_t = sandbox<typename K::backend, Policy>;

    template <class Policy>
    static box_t<Policy> make(sandbox_options options = {}, part p = part::main) {
        box_t<Policy> box{K::payload(p), std::move(options)};
        if (!box.ok()) ADD_FAILURE() << K::name << ": cannot create the sandbox: " << box.status().error().message();
        return box;
    }
};

TYPED_TEST_SUITE_P(Conformance);

using strict = policy<isolation::strict>;

} // namespace cordon::conformance

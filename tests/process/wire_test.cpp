// Bytes from a child decoded as untrusted: a bool that is no bool, an enum outside its range
// and a length past the end are refused with an error, never copied into a host object.
#include <cordon/process/function_payload.hpp>
#include <cordon/process/outcome.hpp>
#include <cordon/process/protocol.hpp>
#include <cordon/process/wire.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <vector>

namespace cp = cordon::process;
using cordon::error_kind;

namespace {

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> values) {
    std::vector<std::byte> bytes;
    for (unsigned v : values) bytes.push_back(static_cast<std::byte>(v));
    return bytes;
}

bool is_positive(std::int32_t x) { return x > 0; }
cp::isolation_level level_of(std::int32_t x) { return static_cast<cp::isolation_level>(x); }

struct numbers {
    std::int32_t a;
    double b;
};

} // namespace

template <> struct cordon::process::any_byte_pattern_valid<numbers> : std::true_type {};

TEST(WireReader, ABoolIsZeroOrOne) {
    for (unsigned byte : {0U, 1U}) {
        const auto bytes = bytes_of({byte});
        cp::wire_reader reader{bytes};
        EXPECT_EQ(reader.get<bool>(), byte == 1);
        EXPECT_TRUE(reader.ok());
    }
    for (unsigned byte : {2U, 0x80U, 0xffU}) {
        const auto bytes = bytes_of({byte, 0});
        cp::wire_reader reader{bytes};
        EXPECT_EQ(reader.get<bool>(), std::nullopt) << byte;
        EXPECT_FALSE(reader.ok());
        EXPECT_EQ(reader.get<bool>(), std::nullopt) << "a failed reader stays failed";
    }
}

TEST(WireReader, AnEnumStaysInItsRange) {
    const auto good = bytes_of({3});
    cp::wire_reader reader{good};
    EXPECT_EQ(reader.get<cp::isolation_level>(), cp::isolation_level::maximum);
    for (unsigned byte : {4U, 0xffU}) {
        const auto bytes = bytes_of({byte});
        cp::wire_reader bad{bytes};
        EXPECT_EQ(bad.get<cp::isolation_level>(), std::nullopt) << byte;
        EXPECT_FALSE(bad.ok());
    }
    const auto kind = bytes_of({static_cast<unsigned>(error_kind::internal) + 1});
    cp::wire_reader bad_kind{kind};
    EXPECT_EQ(bad_kind.get<error_kind>(), std::nullopt);
}

TEST(WireReader, LengthsPastTheEndFail) {
    cp::wire_writer w;
    w.put(std::uint64_t{1} << 40);
    cp::wire_reader reader{w.bytes()};
    EXPECT_EQ(reader.get_bytes(), std::nullopt);
    cp::wire_writer many;
    many.put(~std::uint64_t{0});
    cp::wire_reader strings{many.bytes()};
    EXPECT_EQ(strings.get_strings(), std::nullopt);
}

// decode_result is where a child's answer enters the host: 0x02 is a malformed result.
TEST(SandboxedResult, ABadBoolFromTheChildIsATrap) {
    using fn = cp::sandboxed<&is_positive>;
    EXPECT_EQ(fn::decode_result(bytes_of({1})).value(), true);
    for (unsigned byte : {2U, 0xffU}) {
        auto decoded = fn::decode_result(bytes_of({byte}));
        ASSERT_FALSE(decoded) << byte;
        EXPECT_EQ(decoded.error().kind(), error_kind::trap);
    }
}

TEST(SandboxedResult, AnEnumOutsideItsRangeIsATrap) {
    using fn = cp::sandboxed<&level_of>;
    EXPECT_EQ(fn::decode_result(bytes_of({2})).value(), cp::isolation_level::strict);
    auto decoded = fn::decode_result(bytes_of({9}));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().kind(), error_kind::trap);
}

TEST(SandboxedResult, AStructOfNumbersThatOptsInTravels) {
    static_assert(cp::is_serialisable_v<numbers>);
    struct with_flag {
        bool flag;
        int n;
    };
    static_assert(!cp::is_serialisable_v<with_flag>, "a struct holding a bool cannot be checked");
}

TEST(ControlMessages, AnErrorKindOutsideTheEnumIsIgnored) {
    cp::wire_writer w;
    w.put(cp::detail::protocol::tag_error);
    w.put(static_cast<std::uint8_t>(0xee));
    w.put_string("forged");
    cp::received_message message;
    message.ok = true;
    message.bytes = w.bytes();
    cp::child_reports reports;
    EXPECT_FALSE(cp::read_control_message(message, reports, [](cp::unique_fd) {}));
    EXPECT_FALSE(reports.setup_error);
}

TEST(ExitRecords, AFlagThatIsNoBoolIsRefused) {
    cp::exit_record record;
    record.usage.memory_limit_hit = true;
    std::byte bytes[sizeof record];
    std::memcpy(bytes, &record, sizeof record);
    ASSERT_TRUE(cp::decode_exit_record(bytes));
    EXPECT_TRUE(cp::decode_exit_record(bytes)->usage.memory_limit_hit);
    bytes[offsetof(cp::exit_record, usage) + offsetof(cp::cgroup_usage, memory_limit_hit)] = std::byte{2};
    EXPECT_FALSE(cp::decode_exit_record(bytes));
}

TEST(SpawnReplies, ABadOkFlagIsMalformed) {
    auto bytes = cp::detail::protocol::encode_reply({true, "", 42, ""});
    ASSERT_TRUE(cp::detail::protocol::decode_reply(bytes));
    bytes[0] = std::byte{7};
    EXPECT_FALSE(cp::detail::protocol::decode_reply(bytes));
}

// A child stopped by the CPU check while its group had already failed a memory charge was in
// reclaim: memory is the cause; without that evidence the CPU limit is.
TEST(EndClassification, MemoryEvidenceOutranksTheCpuStop) {
    cp::resource_limits limits;
    limits.memory_bytes = 32ULL << 20;
    limits.cpu_time_ms = 100;
    cp::exit_record record;
    record.wait_status = SIGKILL;  // killed, as the supervisor does
    record.usage.memory_limit_hit = true;
    auto failure = cp::classify_end(record, cp::stop_reason::cpu_time, {}, limits, false, 200000000, 0);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->kind(), error_kind::memory_limit);
    record.usage.memory_limit_hit = false;
    failure = cp::classify_end(record, cp::stop_reason::cpu_time, {}, limits, false, 200000000, 0);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->kind(), error_kind::cpu_limit);
}

// Sizes, durations and counts as the CLI and manifests write them, including overflow.
#include <cordon/units.hpp>

#include <gtest/gtest.h>

using namespace cordon;
using namespace std::chrono_literals;

TEST(Units, SizesInEveryUnit) {
    EXPECT_EQ(parse_size("64MiB").value(), 64ULL << 20);
    EXPECT_EQ(parse_size("1GiB").value(), 1ULL << 30);
    EXPECT_EQ(parse_size("512KiB").value(), 512ULL << 10);
    EXPECT_EQ(parse_size("2TiB").value(), 2ULL << 40);
    EXPECT_EQ(parse_size("4096").value(), 4096U);
    EXPECT_EQ(parse_size("7B").value(), 7U);
    EXPECT_EQ(parse_size("16M").value(), 16ULL << 20);
    EXPECT_EQ(parse_size("3mib").value(), 3ULL << 20);
    EXPECT_EQ(parse_size("5MB").value(), 5'000'000U);
    EXPECT_EQ(parse_size("0").value(), 0U);
}

TEST(Units, BadSizesNameTheExpectedForm) {
    for (const char* text : {"", "MiB", "64 MiB", "-1MiB", "1.5GiB", "64Mib!", "64XB", " 64MiB", "0x10"}) {
        auto r = parse_size(text);
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().kind(), cordon::error_kind::invalid_argument);
        EXPECT_NE(r.error().message().find("expected a size like \"64MiB\""), std::string::npos) << r.error().message();
    }
}

TEST(Units, SizeOverflowIsAnError) {
    EXPECT_FALSE(parse_size("18446744073709551616"));          // 2^64
    EXPECT_FALSE(parse_size("99999999999999999999999999999"));
    EXPECT_FALSE(parse_size("17179869184GiB"));                 // 2^64 after the multiply
    EXPECT_FALSE(parse_size("4194305TiB"));                     // above 2^62
    EXPECT_TRUE(parse_size("4194304TiB"));                      // exactly 2^62
    auto r = parse_size("18446744073709551616");
    EXPECT_NE(r.error().message().find("too large"), std::string::npos);
}

TEST(Units, Durations) {
    EXPECT_EQ(parse_duration("500ms").value(), 500ms);
    EXPECT_EQ(parse_duration("2s").value(), 2s);
    EXPECT_EQ(parse_duration("1m").value(), 1min);
    EXPECT_EQ(parse_duration("3h").value(), 3h);
    EXPECT_EQ(parse_duration("0ms").value(), 0ms);
}

TEST(Units, BadDurations) {
    for (const char* text : {"", "500", "ms", "1.5s", "2 s", "2S", "1M", "10d", "-1s", "1sec"}) {
        auto r = parse_duration(text);
        ASSERT_FALSE(r) << text;
        EXPECT_NE(r.error().message().find("expected a duration"), std::string::npos) << r.error().message();
    }
    EXPECT_FALSE(parse_duration("9223372036854775808ms"));  // above int64
    EXPECT_FALSE(parse_duration("9223372036854776s"));      // overflows after * 1000
    EXPECT_NE(parse_duration("9223372036854776s").error().message().find("too long"), std::string::npos);
}

TEST(Units, Counts) {
    EXPECT_EQ(parse_count("16").value(), 16U);
    EXPECT_EQ(parse_count("18446744073709551615").value(), 18446744073709551615ULL);
    EXPECT_FALSE(parse_count("18446744073709551616"));
    EXPECT_FALSE(parse_count("16k"));
    EXPECT_FALSE(parse_count(""));
    EXPECT_FALSE(parse_count("+3"));
}

TEST(Units, FormattingRoundTrips) {
    EXPECT_EQ(format_size(64ULL << 20), "64MiB");
    EXPECT_EQ(format_size(1536), "1536B");
    EXPECT_EQ(format_size(1000), "1000B");
    EXPECT_EQ(format_size(0), "0B");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(120s), "2m");
    for (const char* text : {"64MiB", "1GiB", "512KiB", "7B"}) EXPECT_EQ(format_size(parse_size(text).value()), text);
    for (const char* text : {"500ms", "2s", "1m", "3h"}) EXPECT_EQ(format_duration(parse_duration(text).value()), text);
}

TEST(Units, HumanBytesReadsExactlyOrToOneDecimal) {
    EXPECT_EQ(human_bytes(64 * MiB), "64 MiB");
    EXPECT_EQ(human_bytes(2 * GiB), "2 GiB");
    EXPECT_EQ(human_bytes(1536 * KiB), "1536 KiB");
    EXPECT_EQ(human_bytes(5 * MiB / 2 + 1), "2.5 MiB");
    EXPECT_EQ(human_bytes(512), "512 bytes");
    EXPECT_EQ(human_bytes(0), "0 bytes");
}

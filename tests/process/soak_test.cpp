// Long runs that catch rare misclassifications: hundreds of memory bombs under a memory and a
// CPU limit must each end as memory_limit. Registered under the "soak" label, off by default.
#include <cordon/process/confinement.hpp>
#include <cordon/process/executable.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace cp = cordon::process;
using cordon::error_kind;

namespace {

int rounds() {
    const char* given = std::getenv("CORDON_SOAK_ROUNDS");
    return given != nullptr ? std::atoi(given) : 400;
}

} // namespace

TEST(Soak, EveryMemoryBombIsAMemoryLimit) {
    cp::resource_limits limits;
    limits.memory_bytes = 48ULL << 20;
    limits.cpu_time_ms = 2000;
    limits.wall_time_ms = 20000;
    const auto setup =
        cp::make_confinement(cp::isolation_level::standard, {}, limits, cp::payload_kind::executable, CORDON_TEST_ATTACKER);
    std::map<std::string, int> kinds;
    const int n = rounds();
    for (int i = 0; i < n; ++i) {
        auto outcome = cp::run_executable(setup, {CORDON_TEST_ATTACKER, {"memory"}, {}, {}});
        ASSERT_TRUE(outcome) << outcome.error().message();
        const std::string kind = outcome->failure ? std::string(cordon::to_string(outcome->failure->kind()))
                                                  : "exit " + std::to_string(outcome->exit_code);
        ++kinds[kind];
        if (kind != "memory_limit")
            std::cerr << "round " << i << ": " << kind << ": "
                      << (outcome->failure ? outcome->failure->message() : std::string()) << "\n";
    }
    EXPECT_EQ(kinds["memory_limit"], n);
}

// The CLI's exit codes, checked against the table in docs/cli.md: every error kind, in both
// phases, and the failures reported before anything runs.
#include "cli/outcome.hpp"

#include <gtest/gtest.h>

namespace {
using namespace cordon;
using cli::contract_exit;
using cli::phase;
using cli::preflight_exit;

TEST(ExitCodes, FollowTheStatusWordOfTheContract) {
    for (const auto where : {phase::setup, phase::call}) {
        EXPECT_EQ(contract_exit(error_kind::load_error, where), 65);
        EXPECT_EQ(contract_exit(error_kind::denied, where), 66);
        EXPECT_EQ(contract_exit(error_kind::permission_outside_policy, where), 66);
        EXPECT_EQ(contract_exit(error_kind::limit_outside_policy, where), 66) << "a limit above the host's is denied";
        EXPECT_EQ(contract_exit(error_kind::violation, where), 67);
        EXPECT_EQ(contract_exit(error_kind::trap, where), 68);
        EXPECT_EQ(contract_exit(error_kind::crash, where), 68);
        EXPECT_EQ(contract_exit(error_kind::internal, where), 70);
        for (const auto kind : all_error_kinds) {
            if (is_limit(kind)) {
                EXPECT_EQ(contract_exit(kind, where), 69) << to_string(kind);
            }
        }
    }
    EXPECT_EQ(contract_exit(error_kind::invalid_argument, phase::setup), 65) << "a module the engine cannot take";
    EXPECT_EQ(contract_exit(error_kind::invalid_argument, phase::call), 68) << "a guest's bad request is a trap";
    EXPECT_EQ(contract_exit(error_kind::unsupported, phase::setup), 70) << "a mechanism missing on this machine";
    EXPECT_EQ(contract_exit(error_kind::unsupported, phase::call), 68);
}

TEST(ExitCodes, NeverUseUsageForAnOutcome) {
    for (const auto kind : all_error_kinds)
        for (const auto where : {phase::setup, phase::call}) {
            EXPECT_NE(contract_exit(kind, where), cli::exits::usage) << to_string(kind);
            EXPECT_NE(contract_exit(kind, where), cli::exits::ok) << to_string(kind);
        }
}

TEST(ExitCodes, BeforeAnythingRunsABadRequestIsUsage) {
    EXPECT_EQ(preflight_exit(error_kind::invalid_argument), 64);
    EXPECT_EQ(preflight_exit(error_kind::load_error), 65);
    EXPECT_EQ(preflight_exit(error_kind::limit_outside_policy), 66);
    EXPECT_EQ(preflight_exit(error_kind::internal), 70);
    EXPECT_EQ(preflight_exit(error_kind::unsupported), 70);
}

} // namespace

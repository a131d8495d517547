// The conformance suite: one behaviour = one case, one expectation for every backend, written
// against the facade and real policy types. Each test program instantiates it for its kinds.
#pragma once

#include "cases_calls.hpp"
#include "cases_host_functions.hpp"
#include "cases_limits.hpp"
#include "cases_observation.hpp"
#include "cases_permissions.hpp"

namespace cordon::conformance {

REGISTER_TYPED_TEST_SUITE_P(Conformance, TypedCallsReturnValues, BoundFunctionIsReusable, CallValuesAreChecked,
                            BytesInBytesOut, SignatureMismatchIsInvalidArgument, MissingExportIsInvalidArgument,
                            MemoryLimitHolds, CpuTimeStopsAnEndlessCall, WallTimeStopsAnEndlessCall,
                            FuelIsExactAndStopsTheCall, OpenFilesLimitHolds, OutputBytesCapsTheGuest,
                            CallDepthLimitHolds, ProcessesLimitHolds, ClockNeedsItsGrant, RandomNeedsItsGrant,
                            EnvironmentNeedsItsGrant, BusCallsNeedPluginAndReachTheAttachedBus, ConfigNeedsNoGrant, TextPastTheLimitIsInvalid, LogNeedsNoGrant, FsReadStaysInScope,
                            FsWriteStaysInScope, SystemNeedsItsGrant, FailCallEndsTheCallAsViolation,
                            TrapStopsTheGuestAtOnce, RecordKeepsTheResult, CancelFromAnotherThreadIsTimeout,
                            TelemetryCountsCallsHostCallsViolationsAndErrors, EnforcementReportNamesTheElements,
                            HostFunctionsAreCalled, CustomPermissionGuardsAHostFunction,
                            UnlistedCustomPermissionIsInsideAnOpenCeiling, HostFunctionErrorStopsTheCall,
                            HostFunctionThatThrowsEndsTheCallAsAnError, HostFunctionCannotReenterItsSandbox);

} // namespace cordon::conformance

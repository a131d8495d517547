// The host's status codes and host table against the guest's header: the two sides of the host
// API agree on every number and on the table's layout. The only host file that includes cordon.h.
#include <cordon/guest/cordon.h>
#include <cordon/host/guest_status.hpp>

#include <gtest/gtest.h>

#include <cstddef>

namespace {
namespace status = cordon::host::guest_status;

static_assert(status::ok == CORDON_OK);
static_assert(status::denied == CORDON_ERR_DENIED);
static_assert(status::not_found == CORDON_ERR_NOT_FOUND);
static_assert(status::invalid == CORDON_ERR_INVALID);
static_assert(status::limit == CORDON_ERR_LIMIT);
static_assert(status::io == CORDON_ERR_IO);
static_assert(status::unsupported == CORDON_ERR_UNSUPPORTED);
static_assert(status::bad_handle == CORDON_ERR_BAD_HANDLE);

TEST(GuestStatus, HostTableIsTheOneCordonHDeclares) {
    // cordon.h takes the table from host_table.h: a plugin sees the layout the child fills.
    cordon_host_table table{};
    table.size = sizeof table;
    EXPECT_TRUE(offsetof(cordon_host_table, bus_emit) + sizeof table.bus_emit <= table.size);
    EXPECT_EQ(cordon_clock_now(CORDON_CLOCK_MONOTONIC), CORDON_ERR_UNSUPPORTED) << "no table: every call is unsupported";
}

} // namespace

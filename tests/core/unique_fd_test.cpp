// The library's one owned descriptor: closed when it goes, moved without a double close,
// released without a close.
#include <cordon/detail/unique_fd.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>

#include <cerrno>
#include <utility>

namespace {
using cordon::detail::unique_fd;

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

TEST(UniqueFd, ClosesOnceWhereverItIsMoved) {
    int raw = -1;
    {
        unique_fd first{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
        ASSERT_TRUE(first.valid());
        raw = first.get();
        unique_fd second = std::move(first);
        EXPECT_FALSE(first.valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified
        EXPECT_EQ(second.get(), raw);
        unique_fd third;
        third = std::move(second);
        EXPECT_TRUE(is_open(raw));
    }
    EXPECT_FALSE(is_open(raw)) << "closed when its last owner went";
}

TEST(UniqueFd, ResetClosesAndReleaseDoesNot) {
    unique_fd fd{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
    const int first = fd.get();
    fd.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    EXPECT_FALSE(is_open(first));
    const int kept = fd.release();
    EXPECT_FALSE(fd.valid());
    EXPECT_TRUE(is_open(kept)) << "release hands the descriptor over";
    ::close(kept);
}

} // namespace

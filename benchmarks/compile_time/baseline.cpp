// The baseline: the standard and fmt headers cordon itself includes, and nothing of cordon.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <variant>
#include <vector>

int main() { return static_cast<int>(fmt::format("{}", std::vector<int>{1}).size()) - 3; }

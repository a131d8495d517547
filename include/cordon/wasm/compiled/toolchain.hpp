// The run-time path of the compiled engine: metering rewrite, wasm2c and the system C compiler
// produce a shared object in a cache keyed by the module's SHA-256, cordon's version and the
// options; a cache hit skips compilation. Only objects this code wrote are ever loaded: the
// cache directory must belong to the user and be closed to others, each object has a digest
// recorded when it was written, and the object is loaded from the very descriptor it was
// checked through.
#pragma once

#include <cordon/detail/sha256.hpp>
#include <cordon/errors.hpp>
#include <cordon/result.hpp>
#include <cordon/version.hpp>
#include <cordon/wasm/compiled/abi.hpp>
#include <cordon/wasm/compiled/loaded_code.hpp>
#include <cordon/wasm/compiled/rt.hpp>
#include <cordon/wasm/compiled/tool_process.hpp>
#include <cordon/wasm/compiled/translate.hpp>
#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cordon::wasm {

/// How modules are compiled at run time.
struct compile_options {
    /// Where compiled objects are kept; empty: $XDG_CACHE_HOME/cordon/wasm2c or ~/.cache/cordon/wasm2c.
    std::filesystem::path cache_directory{};
    std::string wasm2c = "wasm2c";   // found on PATH unless a path is given
    std::string compiler = "cc";     // the system C compiler
    std::vector<std::string> compiler_flags{"-O2"};
    /// Address space each program of the toolchain may use, when the sandbox's memory limit is
    /// smaller: a C compiler needs more than a small guest does. Past it the compile fails with
    /// memory_limit.
    std::uint64_t toolchain_memory_bytes = std::uint64_t{2} << 30;
};

namespace compiled_toolchain {

using cordon::detail::sha256_hex;

inline result<std::filesystem::path> cache_directory(const compile_options& options) {
    std::filesystem::path dir = options.cache_directory;
    if (dir.empty()) {
        if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') dir = std::filesystem::path(xdg) / "cordon" / "wasm2c";
        else if (const char* home = std::getenv("HOME"); home && *home == '/') dir = std::filesystem::path(home) / ".cache" / "cordon" / "wasm2c";
        else return fail(error_kind::invalid_argument, "no cache directory for compiled modules: set HOME, XDG_CACHE_HOME or compile_options::cache_directory");
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(error_kind::invalid_argument, "cannot create the compiled-module cache " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);  // ours only; checked below in any case
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(error_kind::invalid_argument, "compiled-module cache " + dir.string() + " is not a directory");
    if (st.st_uid != ::geteuid() || (st.st_mode & 0077) != 0)
        return fail(error_kind::denied, "compiled-module cache " + dir.string() +
                                            " must belong to this user and be closed to others (mode 0700)");
    return dir;
}

inline std::string read_tail(const std::filesystem::path& path, std::size_t cap = 2000) {
    std::ifstream in(path, std::ios::binary);
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (text.size() > cap) text = "..." + text.substr(text.size() - cap);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

inline bool write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out.flush());
}

inline bool write_file(const std::filesystem::path& path, std::string_view text) {
    return write_file(path, std::span{reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

/// Reads a whole file through an open descriptor.
inline std::optional<std::vector<std::uint8_t>> read_fd(int fd, std::uint64_t size) {
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        done += static_cast<std::size_t>(n);
    }
    return bytes;
}

/// Loads `object` as the code for `key` if it is the one whose digest this cache recorded;
/// nullopt means "not cached".
inline result<std::optional<std::shared_ptr<const loaded_object>>> load_cached(const std::string& key, const std::filesystem::path& object,
                                                                                const std::filesystem::path& digest_file) {
    using loaded = std::optional<std::shared_ptr<const loaded_object>>;
    std::ifstream digest_in(digest_file);
    std::string expected;
    if (!(digest_in >> expected) || expected.size() != 64) return loaded{};
    const int fd = ::open(object.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return loaded{};
    struct fd_owner {
        int fd;
        ~fd_owner() {
            if (fd >= 0) ::close(fd);
        }
    } owner{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 0022) != 0)
        return fail(error_kind::denied, "refusing to load " + object.string() + ": not a private file of this user");
    auto bytes = read_fd(fd, static_cast<std::uint64_t>(st.st_size));
    if (!bytes || sha256_hex(*bytes) != expected) return loaded{};
    // Load the bytes just checked, through the same descriptor.
    owner.fd = -1;
    auto object_loaded = load_object(key, fd, object.string());
    if (!object_loaded) return object_loaded.error();
    return loaded{std::move(*object_loaded)};
}

/// A private scratch directory, removed with everything in it.
class scratch_directory {
public:
    explicit scratch_directory(const std::filesystem::path& parent) {
        std::string pattern = (parent / "build-XXXXXX").string();
        if (::mkdtemp(pattern.data())) path_ = pattern;
    }
    ~scratch_directory() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    scratch_directory(const scratch_directory&) = delete;
    scratch_directory& operator=(const scratch_directory&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

namespace detail {

inline error compile_timeout(const tool_budget& budget, std::chrono::steady_clock::time_point started, std::string_view step) {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    const auto limit = budget.deadline ? duration_cast<milliseconds>(*budget.deadline - started) : milliseconds{0};
    const auto spent = duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    return limit_exceeded(limit::kind::wall_time_ms, static_cast<std::uint64_t>(limit.count()),
                          static_cast<std::uint64_t>(spent.count()),
                          "while " + std::string(step) +
                              " (the compiled engine compiles a module before it runs; the interpreter engine starts at once)");
}

/// The error for a toolchain program that did not succeed, with the end of what it said.
inline error tool_failed(const tool_exit& exit, std::string_view step, const std::string& what, const std::filesystem::path& log,
                         const tool_budget& budget,
                         std::chrono::steady_clock::time_point started) {
    if (exit.timed_out) return compile_timeout(budget, started, step);
    std::string output = read_tail(log);
    if (output.empty()) output = "(no output)";
    if (budget.address_space_bytes && ran_out_of_memory(output)) {
        error_info info{what + " (out of memory under the toolchain's cap of " + std::to_string(budget.address_space_bytes) +
                        " bytes of address space): " + output};
        info.limit = limit_detail{"memory", budget.address_space_bytes, std::nullopt};
        return error{error_kind::memory_limit, std::move(info)};
    }
    return error{error_kind::load_error, error_info{what + " (" + describe_exit(exit) + "): " + output}};
}

} // namespace detail

/// Translates and compiles `source` into the cache, or finds it there (or loaded already), and
/// loads it. The toolchain runs within `budget`; on any failure the cache is left as it was.
inline result<std::shared_ptr<const compiled_code>> compile(const module& source, const metering_options& metering,
                                                             const compile_options& options, const tool_budget& budget = {}) {
    const auto started = std::chrono::steady_clock::now();
    auto dir = cache_directory(options);
    if (!dir) return dir.error();
    const std::string module_sha = sha256_hex(source.bytes());
    std::string flags;
    for (const auto& f : options.compiler_flags) flags += f + " ";
    const std::string key = sha256_hex("cordon " + std::string(cordon::version) + "\nabi " +
                                       std::to_string(compiled_abi_version) + "\nmodule " + module_sha + "\nmetering " +
                                       metering.key() + "\nwasm2c " + options.wasm2c + "\ncompiler " + options.compiler +
                                       " " + flags);
    if (auto live = find_loaded(key)) return std::make_shared<const compiled_code>(std::move(live), true);
    const std::filesystem::path object = *dir / (key + ".so");
    const std::filesystem::path digest = *dir / (key + ".sha256");
    if (auto cached = load_cached(key, object, digest); !cached) return cached.error();
    else if (*cached) return std::make_shared<const compiled_code>(std::move(**cached), true);

    auto translated = compiled_translate::translate(source, metering, "cordon_jit", compiled_translate::glue_mode::shared, module_sha);
    if (!translated) return translated.error();
    if (budget.deadline && std::chrono::steady_clock::now() >= *budget.deadline)
        return detail::compile_timeout(budget, started, "metering the module");
    scratch_directory scratch{*dir};
    if (scratch.path().empty()) return fail(error_kind::internal, "cannot create a build directory in " + dir->string());
    const auto& work = scratch.path();
    const auto wasm_file = work / "module.wasm";
    const auto c_file = work / (translated->c_name + ".c");
    const auto glue_file = work / "glue.c";
    const auto built = work / "module.so";
    const auto log = work / "log.txt";
    if (!write_file(wasm_file, translated->wasm) || !write_file(glue_file, translated->glue))
        return fail(error_kind::internal, "cannot write into " + work.string());

    auto translated_c = run_tool({options.wasm2c, wasm_file.string(), "-n", translated->c_name, "-o", c_file.string()}, log, budget);
    if (!translated_c) return translated_c.error();
    if (!translated_c->ok()) return detail::tool_failed(*translated_c, "translating the module with wasm2c", "wasm2c failed on " + source.name(), log, budget, started);
    {
        std::ifstream c_in(c_file, std::ios::binary);
        std::string c_text{std::istreambuf_iterator<char>(c_in), std::istreambuf_iterator<char>()};
        if (compiled_translate::patch_translated_c(c_text) && !write_file(c_file, c_text))
            return fail(error_kind::internal, "cannot write into " + work.string());
    }

    std::vector<std::string> cc{options.compiler};
    cc.insert(cc.end(), options.compiler_flags.begin(), options.compiler_flags.end());
    for (const char* f : compiled_translate::required_c_flags) cc.emplace_back(f);
    cc.push_back("-I" + work.string());
    cc.insert(cc.end(), {c_file.string(), glue_file.string(), "-o", built.string(), "-lm"});
    auto compiled_c = run_tool(cc, log, budget);
    if (!compiled_c) return compiled_c.error();
    if (!compiled_c->ok())
        return detail::tool_failed(*compiled_c, "compiling the module's translation", "the C compiler failed on the translation of " + source.name(), log, budget, started);

    // Publish: the object first, then its digest; both by rename, so a reader sees whole files,
    // and an object without its digest is never loaded.
    std::ifstream in(built, std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto object_tmp = work / "publish.so";
    const auto digest_tmp = work / "publish.sha256";
    if (!write_file(object_tmp, bytes) || !write_file(digest_tmp, sha256_hex(bytes) + "\n"))
        return fail(error_kind::internal, "cannot write into " + work.string());
    ::chmod(object_tmp.c_str(), 0600);
    std::error_code ec;
    std::filesystem::rename(object_tmp, object, ec);
    if (!ec) std::filesystem::rename(digest_tmp, digest, ec);
    if (ec) return fail(error_kind::internal, "cannot store the compiled module in " + dir->string() + ": " + ec.message());
    auto loaded = load_cached(key, object, digest);
    if (!loaded) return loaded.error();
    if (!*loaded) return fail(error_kind::internal, "compiled module " + object.string() + " changed while it was stored");
    return std::make_shared<const compiled_code>(std::move(**loaded), false);
}

} // namespace compiled_toolchain
} // namespace cordon::wasm

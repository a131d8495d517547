// The run-time path of the compiled engine: metering rewrite, wasm2c and the system C compiler
// produce a shared object in a cache keyed by the module's SHA-256, cordon's version and the
// options; a cache hit skips compilation. Only objects this code wrote are ever loaded: the
// cache directory must belong to the user and be closed to others, each object has a digest
// recorded when it was written, and the object is loaded from the very descriptor it was
// checked through.
#pragma once

#include <cordon/result.hpp>
#include <cordon/version.hpp>
#include <cordon/wasm/compiled/abi.h>
#include <cordon/wasm/compiled/rt.hpp>
#include <cordon/wasm/compiled/translate.hpp>
#include <cordon/wasm/metering.hpp>
#include <cordon/wasm/module.hpp>

#include <sodium.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
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

extern char** environ;

namespace cordon::wasm {

/// How modules are compiled at run time.
struct compile_options {
    /// Where compiled objects are kept; empty: $XDG_CACHE_HOME/cordon/wasm2c or ~/.cache/cordon/wasm2c.
    std::filesystem::path cache_directory{};
    std::string wasm2c = "wasm2c";   // found on PATH unless a path is given
    std::string compiler = "cc";     // the system C compiler
    std::vector<std::string> compiler_flags{"-O2"};
};

/// Translated, compiled and loaded code of one module under one metering rewrite; shared by
/// every sandbox made from it.
class compiled_code {
public:
    /// `library` and `fd` (the descriptor it was loaded through) belong to the code from now on;
    /// the descriptor stays open while the library is loaded, so that no other object is ever
    /// loaded under the same /proc/self/fd name, which the dynamic loader would take for this one.
    compiled_code(const cordon_w2c_module* desc, void* library = nullptr, int fd = -1)
        : desc_{desc}, library_{library}, fd_{fd} {}
    compiled_code(const compiled_code&) = delete;
    compiled_code& operator=(const compiled_code&) = delete;
    ~compiled_code() {
        if (library_) ::dlclose(library_);
        if (fd_ >= 0) ::close(fd_);
    }

    /// The module descriptor, with the module's one-time initialisation done.
    [[nodiscard]] const cordon_w2c_module& module() const {
        std::call_once(initialised_, [this] { desc_->init_module(); });
        return *desc_;
    }
    [[nodiscard]] bool from_cache() const noexcept { return from_cache_; }
    void set_from_cache(bool hit) noexcept { from_cache_ = hit; }

private:
    const cordon_w2c_module* desc_;
    void* library_;
    int fd_;
    mutable std::once_flag initialised_;
    bool from_cache_ = false;
};

namespace compiled_toolchain {

inline std::string sha256_hex(std::span<const std::uint8_t> bytes) {
    static const int ready = sodium_init();
    (void)ready;
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

inline std::string sha256_hex(std::string_view text) {
    return sha256_hex(std::span{reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

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

/// Runs a program to completion; its output goes to `log`. Returns the exit status.
inline result<int> run(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0)
        return fail(error_kind::unsupported, "cannot run " + argv[0] + ": " + std::strerror(spawned) +
                                                 " (the compiled engine needs wasm2c and a C compiler; the interpreter "
                                                 "engine needs neither)");
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return fail(error_kind::internal, std::string("waitpid: ") + std::strerror(errno));
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
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

/// Loads `object` if it is the one whose digest this cache recorded; nullopt means "not cached".
inline result<std::optional<std::shared_ptr<compiled_code>>> load_cached(const std::filesystem::path& object,
                                                                          const std::filesystem::path& digest_file) {
    using loaded = std::optional<std::shared_ptr<compiled_code>>;
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
    const std::string through_fd = "/proc/self/fd/" + std::to_string(fd);
    void* library = ::dlopen(through_fd.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char* why = ::dlerror();
        return fail(error_kind::load_error, "cannot load compiled module " + object.string() + ": " + (why ? why : "dlopen failed"));
    }
    using entry_fn = const cordon_w2c_module* (*)(const cordon_w2c_runtime*);
    auto entry = reinterpret_cast<entry_fn>(::dlsym(library, "cordon_w2c_entry"));
    const cordon_w2c_module* desc = entry ? entry(&compiled_rt::runtime_table()) : nullptr;
    if (!desc || desc->abi_version != CORDON_W2C_ABI_VERSION) {
        ::dlclose(library);
        return fail(error_kind::load_error, "compiled module " + object.string() + " does not speak cordon's ABI version " +
                                                std::to_string(CORDON_W2C_ABI_VERSION));
    }
    owner.fd = -1;
    return loaded{std::make_shared<compiled_code>(desc, library, fd)};
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

/// Translates and compiles `source` into the cache, or finds it there, and loads it.
inline result<std::shared_ptr<const compiled_code>> compile(const module& source, const metering_options& metering,
                                                             const compile_options& options) {
    auto dir = cache_directory(options);
    if (!dir) return dir.error();
    const std::string module_sha = sha256_hex(source.bytes());
    std::string flags;
    for (const auto& f : options.compiler_flags) flags += f + " ";
    const std::string key = sha256_hex("cordon " + std::string(cordon::version) + "\nabi " +
                                       std::to_string(CORDON_W2C_ABI_VERSION) + "\nmodule " + module_sha + "\nmetering " +
                                       metering.key() + "\nwasm2c " + options.wasm2c + "\ncompiler " + options.compiler +
                                       " " + flags);
    const std::filesystem::path object = *dir / (key + ".so");
    const std::filesystem::path digest = *dir / (key + ".sha256");
    if (auto cached = load_cached(object, digest); !cached) return cached.error();
    else if (*cached) {
        (**cached)->set_from_cache(true);
        return std::shared_ptr<const compiled_code>{std::move(**cached)};
    }

    auto translated = compiled_translate::translate(source, metering, "cordon_jit", compiled_translate::glue_mode::shared, module_sha);
    if (!translated) return translated.error();
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

    auto translated_c = run({options.wasm2c, wasm_file.string(), "-n", translated->c_name, "-o", c_file.string()}, log);
    if (!translated_c) return translated_c.error();
    if (*translated_c != 0)
        return fail(error_kind::load_error, "wasm2c failed on " + source.name() + ": " + read_tail(log));
    {
        std::ifstream c_in(c_file, std::ios::binary);
        std::string c_text{std::istreambuf_iterator<char>(c_in), std::istreambuf_iterator<char>()};
        if (compiled_translate::patch_translated_c(c_text) && !write_file(c_file, c_text))
            return fail(error_kind::internal, "cannot write into " + work.string());
    }

    std::vector<std::string> cc{options.compiler};
    cc.insert(cc.end(), options.compiler_flags.begin(), options.compiler_flags.end());
    for (const char* f : {"-shared", "-fPIC", "-fvisibility=hidden", "-w",
                          "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1", "-DNDEBUG"})
        cc.emplace_back(f);
    cc.push_back("-I" + work.string());
    cc.insert(cc.end(), {c_file.string(), glue_file.string(), "-o", built.string(), "-lm"});
    auto compiled_c = run(cc, log);
    if (!compiled_c) return compiled_c.error();
    if (*compiled_c != 0)
        return fail(error_kind::load_error, "the C compiler failed on the translation of " + source.name() + ": " + read_tail(log));

    // Publish: the object first, then its digest; both by rename, so a reader sees whole files.
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
    auto loaded = load_cached(object, digest);
    if (!loaded) return loaded.error();
    if (!*loaded) return fail(error_kind::internal, "compiled module " + object.string() + " changed while it was stored");
    return std::shared_ptr<const compiled_code>{std::move(**loaded)};
}

} // namespace compiled_toolchain
} // namespace cordon::wasm

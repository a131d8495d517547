// The usual payload loaders of a plugin manager: a wasm module for either engine, and for the
// process backend a native plugin or an executable run from a private copy of the bytes whose
// digest was checked.
#pragma once

#include <cordon/detail/unique_fd.hpp>
#include <cordon/plugin/registry.hpp>
#include <cordon/process/payload.hpp>
#include <cordon/result.hpp>
#include <cordon/wasm/module.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>

namespace cordon::plugin {

/// The verified entry bytes read as a wasm module, for either engine.
inline result<wasm::module> load_wasm_module(const plugin_record&, std::span<const unsigned char> entry) {
    return wasm::module::from_bytes(entry);
}

/// Loads process plugins: an entry ending in `.so` as a native plugin, any other as an executable.
///
/// A native plugin is opened again by every child that starts (a restart after a crash, a policy
/// change) and an executable by every call, long after the manager checked the entry's SHA-256.
/// So the sandbox never runs the manifest's file: it runs a copy of the verified bytes, written
/// with O_EXCL into a directory this loader made with mkdtemp (mode 0700, under `parent`) and
/// left read-only. Whoever can change the plugin's directory cannot change what runs. The copies
/// live as long as the loader (the manager holds it) and are removed with it.
class process_loader {
public:
    explicit process_loader(std::filesystem::path parent = std::filesystem::temp_directory_path())
        : store_{std::make_shared<store>(std::move(parent))} {}

    result<process::payload> operator()(const plugin_record& record, std::span<const unsigned char> entry) const {
        const bool shared_object = std::filesystem::path(record.definition.entry).extension() == ".so";
        auto copy = store_->write(record.id() + "-" + record.version().to_string() + (shared_object ? ".so" : ""), entry);
        if (!copy) return copy.error().with_context("loading " + record.label());
        if (shared_object) return process::payload{process::native_plugin{copy->string()}};
        return process::payload{process::executable{copy->string()}};
    }

    /// Where the copies go (empty until the first load).
    [[nodiscard]] std::filesystem::path directory() const {
        std::lock_guard lock(store_->mutex);
        return store_->dir;
    }

private:
    struct store {
        explicit store(std::filesystem::path p) : parent{std::move(p)} {}
        ~store() {
            std::error_code ec;
            if (!dir.empty()) std::filesystem::remove_all(dir, ec);
        }
        store(const store&) = delete;
        store& operator=(const store&) = delete;

        result<std::filesystem::path> write(const std::string& name, std::span<const unsigned char> bytes) {
            std::lock_guard lock(mutex);
            if (dir.empty()) {
                std::string pattern = (parent / "cordon-plugins-XXXXXX").string();
                if (::mkdtemp(pattern.data()) == nullptr) return io_error("cannot make a directory for plugin copies in " + parent.string());
                dir = pattern;
            }
            const auto path = dir / (std::to_string(next++) + "-" + name);
            cordon::detail::unique_fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700)};
            if (!fd.valid()) return io_error("cannot create " + path.string());
            for (std::size_t done = 0; done < bytes.size();) {
                const auto n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) return io_error("cannot write " + path.string());
                done += static_cast<std::size_t>(n);
            }
            if (::fchmod(fd.get(), 0500) != 0) return io_error("cannot make " + path.string() + " read-only");
            return path;
        }

        static error io_error(const std::string& what) {
            error_info info{what + ": " + std::strerror(errno)};
            return error{error_kind::load_error, std::move(info)};
        }

        const std::filesystem::path parent;
        std::mutex mutex;
        std::filesystem::path dir;
        std::uint64_t next = 0;
    };
    std::shared_ptr<store> store_;
};

} // namespace cordon::plugin

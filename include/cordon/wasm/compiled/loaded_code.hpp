// Compiled code as sandboxes hold it, and the process-wide table of shared objects loaded from the
// cache: one loaded object per cache key, shared and counted, never found again by a reused name.
#pragma once

#include <cordon/result.hpp>
#include <cordon/wasm/compiled/abi.hpp>
#include <cordon/wasm/compiled/rt.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace cordon::wasm {

namespace compiled_toolchain {

/// A shared object loaded through the descriptor it was checked through (/proc/self/fd/N).
///
/// The dynamic loader knows a loaded object by every name it was opened under and hands the
/// object back to anyone who opens one of those names again. A descriptor number is reused as
/// soon as it is closed, so the descriptor is closed only once the loader no longer has the
/// object; while it has (another handle to the same file, or an object that cannot be unloaded),
/// the descriptor stays open for the life of the process and its name stays taken.
class loaded_object {
public:
    /// `library` null: code linked into the program.
    loaded_object(const cordon_w2c_module* desc, void* library = nullptr, int fd = -1) noexcept
        : desc_{desc}, library_{library}, fd_{fd} {}
    loaded_object(const loaded_object&) = delete;
    loaded_object& operator=(const loaded_object&) = delete;
    ~loaded_object();

    /// The module descriptor, with the module's one-time initialisation done (once per loaded
    /// object: it sets the object's globals, which running instances read).
    [[nodiscard]] const cordon_w2c_module& module() const {
        std::call_once(initialised_, [this] { desc_->init_module(); });
        return *desc_;
    }

private:
    const cordon_w2c_module* desc_;
    void* library_;
    int fd_;
    mutable std::once_flag initialised_;
};

namespace detail {

/// Loaded objects by cache key. The mutex also orders every dlopen and dlclose of them, so that
/// a name is checked only while no other thread is loading.
struct loaded_objects {
    std::mutex mutex;
    std::map<std::string, std::weak_ptr<const loaded_object>, std::less<>> by_key;
};

inline loaded_objects& loaded_table() {
    static loaded_objects* table = new loaded_objects;  // never destroyed: objects may outlive static destruction
    return *table;
}

inline std::string fd_name(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

/// Closes `fd`, through which a library was loaded and closed again, unless the loader still has
/// an object under its name: then the descriptor stays open so that the name is never reused.
inline void release_name(int fd) {
    if (void* still = ::dlopen(fd_name(fd).c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
        ::dlclose(still);
        return;
    }
    ::close(fd);
}

} // namespace detail

inline loaded_object::~loaded_object() {
    if (!library_) return;
    std::lock_guard lock{detail::loaded_table().mutex};
    ::dlclose(library_);
    if (fd_ >= 0) detail::release_name(fd_);
}

/// The object loaded for `key`, if one is.
inline std::shared_ptr<const loaded_object> find_loaded(const std::string& key) {
    auto& table = detail::loaded_table();
    std::lock_guard lock{table.mutex};
    auto it = table.by_key.find(key);
    return it == table.by_key.end() ? nullptr : it->second.lock();
}

/// Loads the shared object open on `fd` (which it owns from now on) as the object for `key`,
/// unless one is loaded for `key` already, which is then returned and `fd` closed.
inline result<std::shared_ptr<const loaded_object>> load_object(const std::string& key, int fd, const std::string& shown_as) {
    auto& table = detail::loaded_table();
    std::lock_guard lock{table.mutex};
    if (auto it = table.by_key.find(key); it != table.by_key.end()) {
        if (auto live = it->second.lock()) {
            ::close(fd);
            return live;
        }
    }
    void* library = ::dlopen(detail::fd_name(fd).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char* why = ::dlerror();
        ::close(fd);
        return fail(error_kind::load_error, "cannot load compiled module " + shown_as + ": " + (why ? why : "dlopen failed"));
    }
    using entry_fn = const cordon_w2c_module* (*)(const cordon_w2c_runtime*);
    auto entry = reinterpret_cast<entry_fn>(::dlsym(library, "cordon_w2c_entry"));
    const cordon_w2c_module* desc = entry ? entry(&compiled_rt::runtime_table()) : nullptr;
    if (!desc || desc->abi_version != compiled_abi_version) {
        ::dlclose(library);
        detail::release_name(fd);
        return fail(error_kind::load_error, "compiled module " + shown_as + " does not speak cordon's ABI version " +
                                                std::to_string(compiled_abi_version));
    }
    auto loaded = std::make_shared<const loaded_object>(desc, library, fd);
    for (auto it = table.by_key.begin(); it != table.by_key.end();)
        it = it->second.expired() ? table.by_key.erase(it) : std::next(it);
    table.by_key.insert_or_assign(key, loaded);
    return loaded;
}

} // namespace compiled_toolchain

/// Translated, compiled and loaded code of one module under one metering rewrite, as one sandbox
/// (or every sandbox made from one module value) holds it.
class compiled_code {
public:
    /// `from_cache`: the code was found compiled (in the cache, or loaded already), not compiled now.
    compiled_code(std::shared_ptr<const compiled_toolchain::loaded_object> object, bool from_cache)
        : object_{std::move(object)}, from_cache_{from_cache} {}
    compiled_code(const compiled_code&) = delete;
    compiled_code& operator=(const compiled_code&) = delete;

    /// The module descriptor, with the module's one-time initialisation done.
    [[nodiscard]] const cordon_w2c_module& module() const { return object_->module(); }
    [[nodiscard]] bool from_cache() const noexcept { return from_cache_; }

private:
    std::shared_ptr<const compiled_toolchain::loaded_object> object_;
    bool from_cache_ = false;
};

} // namespace cordon::wasm

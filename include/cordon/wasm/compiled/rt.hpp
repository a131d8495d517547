// cordon's implementation of the wasm-rt.h runtime interface that wasm2c's output calls: traps
// that unwind to a thread-local target, linear memories behind guard pages with a per-sandbox
// page cap, tables with caps, and stack exhaustion caught on an alternate signal stack, with stack
// kept in reserve for the host work guest code calls. Many sandboxes may run on many threads;
// each trap unwinds only the call of its own thread.
#pragma once

#include <cordon/wasm/compiled/abi.hpp>

#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <ucontext.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace cordon::wasm::compiled_rt {

inline constexpr std::uint64_t page_size = 65536;
/// The largest page count a wasm_rt_memory_t can describe (its byte size is 32 bits).
inline constexpr std::uint32_t max_pages = 65535;
/// Address space reserved per memory: any 32-bit address plus a 32-bit offset lands inside it,
/// so every out-of-bounds access hits a PROT_NONE page instead of another object.
inline constexpr std::uint64_t reservation_bytes = (std::uint64_t{8} << 30) + page_size;
/// Stack kept for the host work that guest code calls (host functions, the fuel refill, clock
/// reads): a guest that has used the rest traps at its next call into the host instead of
/// running host code into the guard page (a quarter of the stack on threads with small ones).
inline constexpr std::uintptr_t host_stack_reserve = 128 * 1024;

/// One guest call in progress on this thread: where a trap unwinds to, and what it was.
struct call_frame {
    sigjmp_buf target;
    call_frame* previous = nullptr;
    const wasm_rt_memory_t* memory = nullptr;  // to tell a bounds fault from a stack overflow
    wasm_rt_trap_t trap = WASM_RT_TRAP_NONE;
    bool in_guest = true;                      // false while a host function runs for the guest
    bool out_of_address_space = false;         // a memory reservation failed
    bool restore_mask = false;                 // the trap came from a signal handler
    std::uintptr_t host_stack_limit = 0;       // below this address the host does no work; 0: unknown stack
    sigset_t mask;                             // the thread's signal mask when the fault happened; left
                                               // uninitialised (read only after a fault set it): zeroing
                                               // 128 bytes would be most of a short call's cost
};

inline thread_local call_frame* current = nullptr;

/// Limits that apply while a module is instantiated on this thread (wasm_rt_allocate_* has no
/// context argument; instantiation happens inside a guarded call).
struct instantiation_caps {
    std::uint32_t memory_pages = max_pages;
    std::uint32_t table_elements = 100'000;
};
inline thread_local instantiation_caps caps{};

[[noreturn]] inline void trap(wasm_rt_trap_t code) {
    call_frame* frame = current;
    if (!frame) std::abort();  // wasm code ran outside a guarded call: a bug in the engine
    frame->trap = code;
    siglongjmp(frame->target, 1);
}

// ---- signals -------------------------------------------------------------------------------

namespace detail {

inline struct sigaction previous_segv {}, previous_bus {};

inline void chain(int signal, siginfo_t* info, void* context) {
    const struct sigaction& previous = signal == SIGBUS ? previous_bus : previous_segv;
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) previous.sa_sigaction(signal, info, context);
        return;
    }
    if (previous.sa_handler == SIG_IGN) return;
    if (previous.sa_handler != SIG_DFL && previous.sa_handler) {
        previous.sa_handler(signal);
        return;
    }
    // Not a guest fault and nobody else handles it: die of it as if we were not here.
    ::signal(signal, SIG_DFL);
    ::raise(signal);
}

inline void on_fault(int signal, siginfo_t* info, void* context) {
    call_frame* frame = current;
    if (!frame || !frame->in_guest) return chain(signal, info, context);
    const auto* address = static_cast<const std::uint8_t*>(info->si_addr);
    const wasm_rt_memory_t* memory = frame->memory;
    const bool in_memory = memory && memory->data && address >= memory->data &&
                           address < memory->data + reservation_bytes;
    // Unwinding skips the signal return that would restore the mask, and a wrapper around this
    // handler (a sanitizer's) may have blocked more than SA_NODEFER leaves alone: keep the mask
    // the thread had when it faulted, for guarded() to restore.
    frame->mask = static_cast<const ucontext_t*>(context)->uc_sigmask;
    frame->restore_mask = true;
    trap(in_memory ? WASM_RT_TRAP_OOB : WASM_RT_TRAP_EXHAUSTION);
}

/// The alternate stack a stack overflow is handled on, one per thread that runs guests.
class alternate_stack {
public:
    alternate_stack() {
        stack_t existing{};
        if (::sigaltstack(nullptr, &existing) == 0 && !(existing.ss_flags & SS_DISABLE)) return;  // the host has one
        size_ = std::max<std::size_t>(64 * 1024, static_cast<std::size_t>(SIGSTKSZ));
        memory_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory_ == MAP_FAILED) {
            memory_ = nullptr;
            return;
        }
        stack_t ours{};
        ours.ss_sp = memory_;
        ours.ss_size = size_;
        if (::sigaltstack(&ours, nullptr) != 0) {
            ::munmap(memory_, size_);
            memory_ = nullptr;
        }
    }
    ~alternate_stack() {
        if (!memory_) return;
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        ::sigaltstack(&off, nullptr);
        ::munmap(memory_, size_);
    }
    alternate_stack(const alternate_stack&) = delete;
    alternate_stack& operator=(const alternate_stack&) = delete;

private:
    void* memory_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace detail

namespace detail {

inline thread_local bool thread_ready = false;

/// This thread's stack, [low, high); both zero when it cannot be known.
struct stack_extent {
    std::uintptr_t low = 0;
    std::uintptr_t high = 0;
};
inline thread_local stack_extent thread_stack{};

inline stack_extent find_thread_stack() {
    pthread_attr_t attr;
    if (::pthread_getattr_np(::pthread_self(), &attr) != 0) return {};
    void* low = nullptr;
    std::size_t size = 0;
    const bool known = ::pthread_attr_getstack(&attr, &low, &size) == 0;
    ::pthread_attr_destroy(&attr);
    if (!known) return {};
    const auto start = reinterpret_cast<std::uintptr_t>(low);
    return {start, start + size};
}

/// Where the host's reserve begins for a guest call entered at `entry` (0: a stack of its own,
/// a coroutine's say, whose extent is not known).
inline std::uintptr_t host_stack_limit(std::uintptr_t entry) noexcept {
    const stack_extent& s = thread_stack;
    if (entry <= s.low || entry > s.high) return 0;
    return s.low + std::min(host_stack_reserve, (s.high - s.low) / 4);
}

[[gnu::noinline]] inline void prepare_thread_slow() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_sigaction = on_fault;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;  // NODEFER: unwinding leaves the mask as it was
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGSEGV, &action, &previous_segv);
        ::sigaction(SIGBUS, &action, &previous_bus);
    });
    static thread_local alternate_stack stack;
    thread_stack = find_thread_stack();  // once per thread: for the main thread it reads /proc
    thread_ready = true;
}

} // namespace detail

/// Installs the fault handler once per process and an alternate stack once per thread.
inline void prepare_thread() {
    if (!detail::thread_ready) detail::prepare_thread_slow();
}

/// Runs `body` (which calls into translated code) so that a trap or a fault in it returns here.
/// Returns WASM_RT_TRAP_NONE when the body finished. Nothing with a destructor may live between
/// this frame and the guest: the guest's frames are C, and host functions return before a trap.
template <class Body> [[gnu::noinline]] wasm_rt_trap_t guarded(call_frame& frame, const wasm_rt_memory_t* memory, Body& body) {
    frame.previous = current;
    frame.memory = memory;
    frame.trap = WASM_RT_TRAP_NONE;
    frame.in_guest = true;
    frame.restore_mask = false;
    frame.host_stack_limit = detail::host_stack_limit(reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)));
    current = &frame;
    if (sigsetjmp(frame.target, 0) == 0) {
        body();
        current = frame.previous;
        return WASM_RT_TRAP_NONE;
    }
    current = frame.previous;
    if (frame.restore_mask) ::pthread_sigmask(SIG_SETMASK, &frame.mask, nullptr);
    return frame.trap;
}

/// Whether host work may run here for the guest calling it: false when the guest has used the
/// stack the host keeps in reserve, and the guest must then stop with `call stack exhausted`
/// (trap(WASM_RT_TRAP_EXHAUSTION), before any host object is made).
[[gnu::noinline]] inline bool host_stack_available() noexcept {
    const call_frame* frame = current;
    return !frame || reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) >= frame->host_stack_limit;
}

/// Marks the host function running for the guest on this thread: a fault in it is the host's.
class host_section {
public:
    host_section() noexcept : frame_{current} {
        if (frame_) frame_->in_guest = false;
    }
    ~host_section() {
        if (frame_) frame_->in_guest = true;
    }
    host_section(const host_section&) = delete;
    host_section& operator=(const host_section&) = delete;

private:
    call_frame* frame_;
};

// ---- memories and tables -------------------------------------------------------------------

inline void allocate_memory(wasm_rt_memory_t* memory, std::uint32_t initial, std::uint32_t maximum) {
    maximum = std::min({maximum, caps.memory_pages, max_pages});
    *memory = wasm_rt_memory_t{nullptr, 0, maximum, 0};
    if (initial > maximum) trap(WASM_RT_TRAP_OOB);  // the engine checked this before; never reached
    void* reserved = ::mmap(nullptr, reservation_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED) {
        if (current) current->out_of_address_space = true;
        trap(WASM_RT_TRAP_OOB);
    }
    const std::uint64_t bytes = std::uint64_t{initial} * page_size;
    if (bytes && ::mprotect(reserved, bytes, PROT_READ | PROT_WRITE) != 0) {
        ::munmap(reserved, reservation_bytes);
        if (current) current->out_of_address_space = true;
        trap(WASM_RT_TRAP_OOB);
    }
    memory->data = static_cast<std::uint8_t*>(reserved);
    memory->pages = initial;
    memory->size = static_cast<std::uint32_t>(bytes);
}

inline std::uint32_t grow_memory(wasm_rt_memory_t* memory, std::uint32_t delta) {
    const std::uint32_t old_pages = memory->pages;
    const std::uint64_t new_pages = std::uint64_t{old_pages} + delta;
    if (new_pages > memory->max_pages) return ~std::uint32_t{0};
    if (delta == 0) return old_pages;
    if (::mprotect(memory->data + std::uint64_t{old_pages} * page_size, std::uint64_t{delta} * page_size,
                   PROT_READ | PROT_WRITE) != 0)
        return ~std::uint32_t{0};
    memory->pages = static_cast<std::uint32_t>(new_pages);
    memory->size = static_cast<std::uint32_t>(new_pages * page_size);
    return old_pages;
}

/// Also for a memory never allocated (zeroed): an instantiation that trapped frees what it made.
inline void free_memory(wasm_rt_memory_t* memory) {
    if (memory->data) ::munmap(memory->data, reservation_bytes);
    *memory = wasm_rt_memory_t{nullptr, 0, 0, 0};
}

namespace detail {

template <class Table, class Element>
void allocate_table(Table* table, std::uint32_t elements, std::uint32_t maximum, Element empty) {
    maximum = std::min(maximum, caps.table_elements);
    table->size = 0;
    table->max_size = maximum;
    table->data = nullptr;
    if (elements > maximum) trap(WASM_RT_TRAP_OOB);  // checked by the engine before; never reached
    if (elements == 0) return;
    table->data = static_cast<Element*>(std::calloc(elements, sizeof(Element)));
    if (!table->data) trap(WASM_RT_TRAP_OOB);
    std::fill_n(table->data, elements, empty);
    table->size = elements;
}

template <class Table, class Element> std::uint32_t grow_table(Table* table, std::uint32_t delta, Element init) {
    const std::uint32_t old_size = table->size;
    const std::uint64_t new_size = std::uint64_t{old_size} + delta;
    if (new_size > table->max_size) return ~std::uint32_t{0};
    if (delta == 0) return old_size;
    auto* grown = static_cast<Element*>(std::realloc(table->data, new_size * sizeof(Element)));
    if (!grown) return ~std::uint32_t{0};
    std::fill(grown + old_size, grown + new_size, init);
    table->data = grown;
    table->size = static_cast<std::uint32_t>(new_size);
    return old_size;
}

/// Also for a table never allocated (zeroed), as free_memory.
template <class Table> void free_table(Table* table) {
    std::free(table->data);
    table->data = nullptr;
    table->size = 0;
}

/// Function types by structure, shared by every module in the process: indirect calls compare
/// the indices, so equal types must get equal indices.
inline std::uint32_t register_func_type(std::uint32_t params, std::uint32_t results, const wasm_rt_type_t* types) {
    static std::mutex mutex;
    static std::vector<std::vector<std::uint32_t>> known;
    std::vector<std::uint32_t> key;
    key.reserve(params + results + 1);
    key.push_back(params);  // keeps (i32)->() apart from ()->(i32)
    for (std::uint32_t i = 0; i < params + results; ++i) key.push_back(static_cast<std::uint32_t>(types[i]));
    std::lock_guard lock{mutex};
    for (std::size_t i = 0; i < known.size(); ++i)
        if (known[i] == key) return static_cast<std::uint32_t>(i);
    known.push_back(std::move(key));
    return static_cast<std::uint32_t>(known.size() - 1);
}

} // namespace detail

inline void allocate_funcref_table(wasm_rt_funcref_table_t* table, std::uint32_t elements, std::uint32_t maximum) {
    detail::allocate_table(table, elements, maximum, wasm_rt_funcref_null_value);
}
inline std::uint32_t grow_funcref_table(wasm_rt_funcref_table_t* table, std::uint32_t delta, wasm_rt_funcref_t init) {
    return detail::grow_table(table, delta, init);
}
inline void free_funcref_table(wasm_rt_funcref_table_t* table) { detail::free_table(table); }
inline void allocate_externref_table(wasm_rt_externref_table_t* table, std::uint32_t elements, std::uint32_t maximum) {
    detail::allocate_table(table, elements, maximum, wasm_rt_externref_null_value);
}
inline std::uint32_t grow_externref_table(wasm_rt_externref_table_t* table, std::uint32_t delta, wasm_rt_externref_t init) {
    return detail::grow_table(table, delta, init);
}
inline void free_externref_table(wasm_rt_externref_table_t* table) { detail::free_table(table); }

[[noreturn]] inline void trap_from_c(wasm_rt_trap_t code) { trap(code); }

inline std::uint32_t register_func_type_array(std::uint32_t params, std::uint32_t results, const wasm_rt_type_t* types) {
    return detail::register_func_type(params, results, types);
}

/// What a shared object compiled at run time forwards its wasm-rt.h calls to.
inline const cordon_w2c_runtime& runtime_table() {
    static const cordon_w2c_runtime table{
        compiled_abi_version,
        &trap_from_c,
        &allocate_memory,
        &grow_memory,
        &free_memory,
        &allocate_funcref_table,
        &free_funcref_table,
        &grow_funcref_table,
        &allocate_externref_table,
        &free_externref_table,
        &grow_externref_table,
        &register_func_type_array,
    };
    return table;
}

} // namespace cordon::wasm::compiled_rt

// The wasm-rt.h functions themselves, for modules translated at build time and linked into the
// program. Inline, so that any number of translation units may carry them and the linker keeps one.
extern "C" {
inline void wasm_rt_trap(wasm_rt_trap_t code) { cordon::wasm::compiled_rt::trap(code); }  // noreturn in wasm-rt.h
inline void wasm_rt_init(void) { cordon::wasm::compiled_rt::prepare_thread(); }
inline bool wasm_rt_is_initialized(void) { return true; }
inline void wasm_rt_free(void) {}
inline uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
    std::vector<wasm_rt_type_t> types(params + results);
    va_list args;
    va_start(args, results);
    for (auto& type : types) type = static_cast<wasm_rt_type_t>(va_arg(args, int));  // WASM_RT_I32 ... only
    va_end(args);
    return cordon::wasm::compiled_rt::register_func_type_array(params, results, types.data());
}
inline void wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial, uint32_t maximum) {
    cordon::wasm::compiled_rt::allocate_memory(memory, initial, maximum);
}
inline uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* memory, uint32_t delta) {
    return cordon::wasm::compiled_rt::grow_memory(memory, delta);
}
inline void wasm_rt_free_memory(wasm_rt_memory_t* memory) { cordon::wasm::compiled_rt::free_memory(memory); }
inline void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* table, uint32_t elements, uint32_t maximum) {
    cordon::wasm::compiled_rt::allocate_funcref_table(table, elements, maximum);
}
inline void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* table) {
    cordon::wasm::compiled_rt::free_funcref_table(table);
}
inline uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* table, uint32_t delta, wasm_rt_funcref_t init) {
    return cordon::wasm::compiled_rt::grow_funcref_table(table, delta, init);
}
inline void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* table, uint32_t elements, uint32_t maximum) {
    cordon::wasm::compiled_rt::allocate_externref_table(table, elements, maximum);
}
inline void wasm_rt_free_externref_table(wasm_rt_externref_table_t* table) {
    cordon::wasm::compiled_rt::free_externref_table(table);
}
inline uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* table, uint32_t delta, wasm_rt_externref_t init) {
    return cordon::wasm::compiled_rt::grow_externref_table(table, delta, init);
}
}

namespace cordon::wasm::compiled_rt {

/// Makes the program carry the functions above (a translation unit that registers a module
/// built into the program calls this, so that the translated C finds them at link time).
inline void keep_runtime_symbols() {
    static void* volatile keep[] = {
        reinterpret_cast<void*>(&wasm_rt_trap),
        reinterpret_cast<void*>(&wasm_rt_init),
        reinterpret_cast<void*>(&wasm_rt_is_initialized),
        reinterpret_cast<void*>(&wasm_rt_free),
        reinterpret_cast<void*>(&wasm_rt_register_func_type),
        reinterpret_cast<void*>(&wasm_rt_allocate_memory),
        reinterpret_cast<void*>(&wasm_rt_grow_memory),
        reinterpret_cast<void*>(&wasm_rt_free_memory),
        reinterpret_cast<void*>(&wasm_rt_allocate_funcref_table),
        reinterpret_cast<void*>(&wasm_rt_free_funcref_table),
        reinterpret_cast<void*>(&wasm_rt_grow_funcref_table),
        reinterpret_cast<void*>(&wasm_rt_allocate_externref_table),
        reinterpret_cast<void*>(&wasm_rt_free_externref_table),
        reinterpret_cast<void*>(&wasm_rt_grow_externref_table),
    };
    (void)keep;
}

} // namespace cordon::wasm::compiled_rt

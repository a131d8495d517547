/* The binary interface between cordon's host and a module translated by wasm2c: what the glue
 * code generated beside each translated module exports, and what the host hands it. C, so that
 * the glue can include it; the same declarations are also written into glue compiled at run
 * time, as text (CORDON_W2C_ABI_TEXT), so a cached object never depends on header paths. */
#ifndef CORDON_WASM_COMPILED_ABI_H
#define CORDON_WASM_COMPILED_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <wasm-rt.h>

/* Bumped whenever a declaration below changes, or the patch translate.hpp makes to translated
   C; part of every cache key. */
#define CORDON_W2C_ABI_VERSION 4

#define CORDON_W2C_ABI_DECLARATIONS                                                              \
    /* What the host gives each instance: the way back to the host. */                         \
    typedef struct cordon_w2c_env {                                                             \
        void* host;                                                                             \
        /* Runs function import `index` with its arguments in `slots` (one 64-bit slot each,  \
         * results written back from slot 0); non-zero stops the guest with a trap. */          \
        int (*call_import)(void* host, uint32_t index, uint64_t* slots);                        \
    } cordon_w2c_env;                                                                           \
                                                                                                \
    /* Where an instance keeps the meter's globals (defined in the module, so that compiled   \
     * code reaches them without an indirection); null for those the metering left out. */     \
    typedef struct cordon_w2c_meter {                                                           \
        int64_t* fuel;                                                                          \
        int32_t* depth;                                                                         \
        int32_t* depth_limit;                                                                   \
        int32_t* current_function;                                                              \
    } cordon_w2c_meter;                                                                         \
                                                                                                \
    typedef void (*cordon_w2c_function_ptr)(void);                                              \
    /* Calls an export with arguments and results in 64-bit slots. */                           \
    typedef void (*cordon_w2c_trampoline)(void* instance, uint64_t* slots);                     \
                                                                                                \
    typedef struct cordon_w2c_export {                                                          \
        const char* name;                /* the export's name in the original module */        \
        cordon_w2c_function_ptr direct;  /* the C function: result (instance, params...) */     \
        cordon_w2c_trampoline trampoline;                                                       \
    } cordon_w2c_export;                                                                        \
                                                                                                \
    typedef struct cordon_w2c_module {                                                          \
        uint32_t abi_version;                                                                   \
        const char* module_sha256;   /* of the original module */                              \
        const char* metering;        /* the metering rewrite's key */                          \
        size_t instance_size;                                                                   \
        uint32_t import_count;       /* function imports of the metered module */              \
        void (*init_module)(void);                                                              \
        void (*instantiate)(void* instance, cordon_w2c_env* env); /* runs no guest code */      \
        void (*meter)(void* instance, cordon_w2c_meter* out);                                   \
        void (*start)(void* instance);  /* the start function, run by the host; may be null */  \
        void (*free_instance)(void* instance);                                                  \
        wasm_rt_memory_t* (*memory)(void* instance); /* null without a memory */               \
        uint32_t export_count;                                                                  \
        const cordon_w2c_export* exports;                                                       \
    } cordon_w2c_module;                                                                        \
                                                                                                \
    /* The runtime a shared object compiled at run time forwards wasm-rt.h calls to. */         \
    typedef struct cordon_w2c_runtime {                                                         \
        uint32_t abi_version;                                                                   \
        void (*trap)(wasm_rt_trap_t);                                                           \
        void (*allocate_memory)(wasm_rt_memory_t*, uint32_t, uint32_t);                         \
        uint32_t (*grow_memory)(wasm_rt_memory_t*, uint32_t);                                   \
        void (*free_memory)(wasm_rt_memory_t*);                                                 \
        void (*allocate_funcref_table)(wasm_rt_funcref_table_t*, uint32_t, uint32_t);           \
        void (*free_funcref_table)(wasm_rt_funcref_table_t*);                                   \
        uint32_t (*grow_funcref_table)(wasm_rt_funcref_table_t*, uint32_t, wasm_rt_funcref_t);  \
        void (*allocate_externref_table)(wasm_rt_externref_table_t*, uint32_t, uint32_t);       \
        void (*free_externref_table)(wasm_rt_externref_table_t*);                               \
        uint32_t (*grow_externref_table)(wasm_rt_externref_table_t*, uint32_t, wasm_rt_externref_t); \
        uint32_t (*register_func_type)(uint32_t, uint32_t, const wasm_rt_type_t*);              \
    } cordon_w2c_runtime;

#ifdef __cplusplus
extern "C" {
#endif
CORDON_W2C_ABI_DECLARATIONS
#ifdef __cplusplus
}
#endif

#define CORDON_W2C_STRINGIFY_(...) #__VA_ARGS__
#define CORDON_W2C_STRINGIFY(...) CORDON_W2C_STRINGIFY_(__VA_ARGS__)
/* The declarations above as one line of C text. */
#define CORDON_W2C_ABI_TEXT CORDON_W2C_STRINGIFY(CORDON_W2C_ABI_DECLARATIONS)

#endif /* CORDON_WASM_COMPILED_ABI_H */

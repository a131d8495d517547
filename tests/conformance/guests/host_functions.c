/* The conformance guest's user host functions for wasm, in a module of its own: its imports
 * link only where the host registers `app.mix` and `app.beep`. */
#include <cordon/guest/cordon.h>

__attribute__((import_module("app"), import_name("mix"))) int64_t app_mix(int32_t a, int64_t b);
__attribute__((import_module("app"), import_name("beep"))) int32_t app_beep(void);

CORDON_EXPORT(use_mix) int64_t use_mix(int32_t a) { return app_mix(a, 10); }
CORDON_EXPORT(use_beep) int32_t use_beep(void) { return app_beep(); }

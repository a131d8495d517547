/* A native plugin calling the host's registered functions through cordon_call_host: each export
 * answers the call's status or results as text, so a test sees what the plugin was told. */
#include <cordon/guest/cordon.h>

#include <stdio.h>
#include <string.h>

static char text[256];

static int32_t answer(void) { return cordon_output_write(text, strlen(text)); }

static int32_t input_u32(uint32_t* out) {
    unsigned char bytes[4] = {0};
    if (cordon_input_read(bytes, sizeof bytes) != 4) return CORDON_ERR_INVALID;
    *out = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
    return CORDON_OK;
}

static int32_t call(const char* name, const struct cordon_value* args, size_t arg_count, struct cordon_value* results,
                    size_t result_count) {
    return cordon_call_host("app", 3, name, strlen(name), args, arg_count, results, result_count);
}

/* app.mix(a, 10) with a from the input: "310" for 3, or "status:N". */
CORDON_EXPORT(use_mix) int32_t use_mix(void) {
    uint32_t a = 0;
    if (input_u32(&a) != CORDON_OK) return CORDON_ERR_INVALID;
    struct cordon_value args[2];
    args[0].type = CORDON_I32;
    args[0].as.i32 = (int32_t)a;
    args[1].type = CORDON_I64;
    args[1].as.i64 = 10;
    struct cordon_value result;
    result.type = CORDON_I64;
    const int32_t status = call("mix", args, 2, &result, 1);
    if (status == CORDON_OK) snprintf(text, sizeof text, "%lld", (long long)result.as.i64);
    else snprintf(text, sizeof text, "status:%d", status);
    return answer();
}

/* app.scale(x, by): every floating type through the channel. */
CORDON_EXPORT(use_scale) int32_t use_scale(void) {
    struct cordon_value args[2];
    args[0].type = CORDON_F64;
    args[0].as.f64 = 1.5;
    args[1].type = CORDON_F32;
    args[1].as.f32 = 4.0f;
    struct cordon_value result;
    result.type = CORDON_F64;
    const int32_t status = call("scale", args, 2, &result, 1);
    if (status == CORDON_OK) snprintf(text, sizeof text, "%.2f", result.as.f64);
    else snprintf(text, sizeof text, "status:%d", status);
    return answer();
}

/* app.beep(), guarded by a permission; logs that it carried on afterwards, so a host that stops
 * the plugin on a violation can be seen to have stopped it at once. */
CORDON_EXPORT(use_beep) int32_t use_beep(void) {
    struct cordon_value result;
    result.type = CORDON_I32;
    const int32_t status = call("beep", 0, 0, &result, 1);
    if (status == CORDON_OK) snprintf(text, sizeof text, "%d", result.as.i32);
    else snprintf(text, sizeof text, "status:%d", status);
    const char* after = "carried on";
    cordon_log(CORDON_LOG_INFO, after, strlen(after));
    return answer();
}

/* Calls the host gets wrong on purpose, chosen by the input's first number. */
CORDON_EXPORT(misuse) int32_t misuse(void) {
    uint32_t which = 0;
    if (input_u32(&which) != CORDON_OK) return CORDON_ERR_INVALID;
    struct cordon_value args[17];
    memset(args, 0, sizeof args);
    for (int i = 0; i < 17; ++i) args[i].type = CORDON_I32;
    struct cordon_value result;
    result.type = CORDON_I64;
    char long_name[300];
    memset(long_name, 'n', sizeof long_name);
    int32_t status = 0;
    switch (which) {
    case 0: status = call("nope", args, 2, &result, 1); break;                 /* not registered */
    case 1: status = call("mix", args, 1, &result, 1); break;                  /* one argument short */
    case 2: status = call("mix", args, 2, &result, 1); break;                  /* (i32, i32): b is i64 */
    case 3: result.type = CORDON_F64; status = call("mix", args, 2, &result, 1); break; /* another result */
    case 4: status = call("mix", args, 2, &result, 0); break;                  /* no room for the result */
    case 5: status = cordon_call_host("app", 3, long_name, sizeof long_name, args, 2, &result, 1); break;
    case 6: status = call("mix", args, 17, &result, 1); break;                 /* more than 16 values */
    case 7: args[0].type = 9; status = call("mix", args, 2, &result, 1); break; /* no such type */
    case 8: status = cordon_call_host("app", 3, "", 0, args, 2, &result, 1); break;
    default: return CORDON_ERR_INVALID;
    }
    snprintf(text, sizeof text, "status:%d", status);
    return answer();
}

/* app.mix as often as the input says (0: without end), then how many calls succeeded. */
CORDON_EXPORT(flood) int32_t flood(void) {
    uint32_t times = 0;
    if (input_u32(&times) != CORDON_OK) return CORDON_ERR_INVALID;
    struct cordon_value args[2];
    args[0].type = CORDON_I32;
    args[0].as.i32 = 1;
    args[1].type = CORDON_I64;
    args[1].as.i64 = 2;
    uint32_t ok = 0;
    for (uint32_t i = 0; times == 0 || i < times; ++i) {
        struct cordon_value result;
        result.type = CORDON_I64;
        if (call("mix", args, 2, &result, 1) == CORDON_OK && result.as.i64 == 102) ++ok;
    }
    snprintf(text, sizeof text, "%u", ok);
    return answer();
}

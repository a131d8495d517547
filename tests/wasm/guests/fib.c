/* Freestanding exports for calls and benchmarks: recursive fib and a counting loop. */
#include <cordon/guest/cordon.h>

CORDON_EXPORT(fib) int32_t fib(int32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

CORDON_EXPORT(loop_sum) int64_t loop_sum(int32_t n) {
    volatile int64_t sum = 0;
    for (int32_t i = 0; i < n; ++i) sum += i;
    return sum;
}

/* Misbehaving: allocates and touches memory until the allocator refuses, then aborts as most
 * programs do when they run out of memory. */
#include <stdlib.h>
#include <string.h>

static char* volatile last_block; /* keeps the compiler from eliding the allocations */

int main(void) {
    for (;;) {
        char* block = malloc(1 << 20);
        if (!block) abort();
        memset(block, 0xAB, 1 << 20);
        last_block = block;
    }
}

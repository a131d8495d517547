/* Misbehaving: allocates and touches memory until the allocator gives up, then dereferences
 * the null it got, as careless code does. */
#include <stdlib.h>
#include <string.h>

int main(void) {
    for (;;) {
        char* block = malloc(1 << 20);
        memset(block, 0xAB, 1 << 20);
    }
}

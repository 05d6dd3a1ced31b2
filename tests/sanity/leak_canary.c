/* Deliberately leaks. In sanitizer builds ctest expects this program to FAIL, which proves that
 * LeakSanitizer is active in the build CI tests: if leak detection were off, this test would
 * pass its run and so fail its WILL_FAIL expectation. Several allocations are lost in a
 * separate frame and the stack is scrubbed, so no stale pointer keeps them reachable. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void leak(void)
{
    for (int i = 0; i < 16; i++) {
        char *p = malloc(64);
        memset(p, i, 64);
        __asm__ volatile("" : : "r"(p) : "memory");
    }
}

__attribute__((noinline)) static void scrub(void)
{
    volatile char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = 0;
}

int main(void)
{
    leak();
    scrub();
    return 0;
}

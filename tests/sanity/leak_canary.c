/* Deliberately leaks. In sanitizer builds ctest expects this program to FAIL, which proves that
 * LeakSanitizer is active in the build CI tests: if leak detection were off, this test would
 * pass its run and so fail its WILL_FAIL expectation. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *volatile p = malloc(64);
    snprintf(p, 64, "leaked on purpose");
    p = NULL;
    return 0;
}

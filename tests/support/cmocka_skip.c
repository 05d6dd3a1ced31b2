/* cmocka counts a skip() as a pass, so an executable whose tests could not run here would
 * exit 0 and ctest would call it passed. Unit tests are linked with -Wl,--wrap=_skip and
 * -Wl,--wrap=main (tests/CMakeLists.txt): skips are counted, and a run with skips and no
 * failures exits 77, ctest's SKIP_RETURN_CODE, so it is reported as skipped. */
#include <stdio.h>

void __real__skip(const char *file, const int line);
int __real_main(int argc, char **argv, char **envp);
void __wrap__skip(const char *file, const int line);
int __wrap_main(int argc, char **argv, char **envp);

static int skipped;

void __wrap__skip(const char *file, const int line)
{
    skipped++;
    __real__skip(file, line);
}

int __wrap_main(int argc, char **argv, char **envp)
{
    int rc = __real_main(argc, argv, envp);
    if (rc == 0 && skipped > 0) {
        fflush(stdout);
        fprintf(stderr, "%d test(s) skipped: exit 77 (reported as skipped, not passed)\n", skipped);
        return 77;
    }
    return rc;
}

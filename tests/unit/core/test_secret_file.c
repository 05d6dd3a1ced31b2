/* core/secret_file: secrets read from files (mode checks, trimming, limits) and the choice
 * between an inline value, a <key>_file (absolute or relative to $CREDENTIALS_DIRECTORY), a
 * systemd credential and the environment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <malloc.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/secret_file.h"

struct dir {
    char path[64];
};

static int setup(void **state)
{
    struct dir *d = calloc(1, sizeof *d);
    if (d == NULL)
        return -1;
    snprintf(d->path, sizeof d->path, "/tmp/veil_secret_XXXXXX");
    if (mkdtemp(d->path) == NULL)
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dir *d = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
    if (system(cmd) != 0)
        return -1;
    free(d);
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("VEIL_TEST_SECRET");
    return 0;
}

/* Writes n bytes of content to dir/name with the given mode; returns the path (static buffer). */
static const char *put(const struct dir *d, const char *name, const char *content, size_t n, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", d->path, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void test_mode_0600_and_0400_read_newline_trimmed(void **state)
{
    struct dir *d = *state;
    struct secret s;
    char why[256] = "";
    const char *p = put(d, "a", "hunter2-token\n", 14, 0600);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), 0);
    assert_int_equal(s.len, 13);
    assert_string_equal(s.s, "hunter2-token");
    secret_free(&s);
    assert_null(s.s);
    secret_free(&s); /* twice is harmless */
    p = put(d, "b", "crlf-token\r\n", 12, 0400);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), 0);
    assert_string_equal(s.s, "crlf-token");
    secret_free(&s);
    /* Only one newline goes: spaces belong to the secret; a second line is refused unseen. */
    p = put(d, "c", " a b\n", 5, 0600);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), 0);
    assert_string_equal(s.s, " a b");
    secret_free(&s);
    p = put(d, "two", "line-one\nline-two\n", 18, 0600);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), ERR_MALFORMED);
    assert_non_null(strstr(why, "control character"));
    assert_null(strstr(why, "line-"));
    assert_null(s.s);
}

/* A relative name is a systemd credential: $CREDENTIALS_DIRECTORY/<name>, an error without it. */
static void test_relative_name_in_credentials_directory(void **state)
{
    struct dir *d = *state;
    struct secret s;
    char why[256] = "";
    put(d, "admin-token", "cred-token-0123456789\n", 22, 0400);
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", d->path, 1), 0);
    assert_int_equal(secret_file_read("admin-token", SECRET_FILE_MAX, &s, why, sizeof why), 0);
    assert_string_equal(s.s, "cred-token-0123456789");
    secret_free(&s);
    assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
    assert_int_equal(secret_file_read("admin-token", SECRET_FILE_MAX, &s, why, sizeof why), ERR_CONFIG);
    assert_non_null(strstr(why, "CREDENTIALS_DIRECTORY"));
    assert_int_equal(secret_file_read("", SECRET_FILE_MAX, &s, why, sizeof why), ERR_CONFIG);
}

static void test_group_or_world_access_refused(void **state)
{
    struct dir *d = *state;
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0610, 0601, 0602};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct secret s = {0};
        char why[256] = "";
        const char *p = put(d, "open", "s3cr3t-canary-value", 19, bad[i]);
        assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), -EPERM);
        assert_null(s.s);
        assert_non_null(strstr(why, p)); /* names the file */
        char mode[8];
        snprintf(mode, sizeof mode, "%04o", (unsigned)bad[i]);
        assert_non_null(strstr(why, mode));
        assert_null(strstr(why, "s3cr3t")); /* never the content */
    }
}

static void test_missing_empty_long_nul_dir(void **state)
{
    struct dir *d = *state;
    struct secret s;
    char why[256], path[128];
    snprintf(path, sizeof path, "%s/none", d->path);
    assert_int_equal(secret_file_read(path, SECRET_FILE_MAX, &s, why, sizeof why), -ENOENT);
    assert_non_null(strstr(why, path));
    const char *p = put(d, "empty", "", 0, 0600);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), ERR_MALFORMED);
    p = put(d, "nl", "\n", 1, 0600);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), ERR_MALFORMED);
    assert_non_null(strstr(why, "empty"));
    p = put(d, "nul", "ab\0cd", 5, 0600);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), ERR_MALFORMED);
    p = put(d, "tab", "ab\tcd", 5, 0600);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), ERR_MALFORMED);
    /* The cap at its edge: max bytes pass, max + 1 do not (a trailing newline counts). */
    p = put(d, "eight", "12345678", 8, 0600);
    assert_int_equal(secret_file_read(p, 8, &s, why, sizeof why), 0);
    secret_free(&s);
    assert_int_equal(secret_file_read(p, 7, &s, why, sizeof why), ERR_TOO_LONG);
    assert_null(s.s);
    char *big = malloc(SECRET_FILE_MAX + 1);
    memset(big, 'x', SECRET_FILE_MAX + 1);
    p = put(d, "big", big, SECRET_FILE_MAX + 1, 0600);
    free(big);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), ERR_TOO_LONG);
    assert_int_equal(chmod(d->path, 0700), 0);
    assert_int_equal(secret_file_read(d->path, SECRET_FILE_MAX, &s, why, sizeof why), -EINVAL);
}

static const struct secret_src src = {"token", "token_file", "test_token", "VEIL_TEST_SECRET"};

static json_t *resolve(const char *doc, int want_rc, char *why)
{
    json_t *j = json_loads(doc, 0, NULL);
    assert_non_null(j);
    assert_int_equal(secret_src_resolve(j, &src, "sec", why, 300), want_rc);
    return j;
}

static void test_resolve_sources_in_order(void **state)
{
    struct dir *d = *state;
    char why[300] = "", doc[256];
    const char *p = put(d, "tok", "from-file\n", 10, 0600);
    snprintf(doc, sizeof doc, "{\"token_file\": \"%s\"}", p);
    json_t *j = resolve(doc, 0, why);
    assert_string_equal(json_string_value(json_object_get(j, "token")), "from-file");
    assert_null(json_object_get(j, "token_file")); /* consumed: unknown-key checks pass */
    json_decref(j);
    /* Both given: refused, naming both keys. */
    snprintf(doc, sizeof doc, "{\"token\": \"x\", \"token_file\": \"%s\"}", p);
    json_decref(resolve(doc, ERR_CONFIG, why));
    assert_non_null(strstr(why, "sec.token"));
    assert_non_null(strstr(why, "token_file"));
    /* A readable file named by the config is refused with its path. */
    p = put(d, "tok644", "leaky-secret", 12, 0644);
    snprintf(doc, sizeof doc, "{\"token_file\": \"%s\"}", p);
    json_decref(resolve(doc, ERR_CONFIG, why));
    assert_non_null(strstr(why, "sec.token_file"));
    assert_non_null(strstr(why, "tok644"));
    assert_null(strstr(why, "leaky"));
    json_decref(resolve("{\"token_file\": 5}", ERR_CONFIG, why));

    /* Neither in the config: the credential, then the environment. */
    setenv("VEIL_TEST_SECRET", "from-env", 1);
    j = resolve("{}", 0, why);
    assert_string_equal(json_string_value(json_object_get(j, "token")), "from-env");
    json_decref(j);
    setenv("CREDENTIALS_DIRECTORY", d->path, 1);
    j = resolve("{}", 0, why); /* no file named test_token there yet: the environment */
    assert_string_equal(json_string_value(json_object_get(j, "token")), "from-env");
    json_decref(j);
    put(d, "test_token", "from-cred\n", 10, 0400);
    j = resolve("{}", 0, why);
    assert_string_equal(json_string_value(json_object_get(j, "token")), "from-cred");
    json_decref(j);
    /* An inline value wins over both. */
    j = resolve("{\"token\": \"inline\"}", 0, why);
    assert_string_equal(json_string_value(json_object_get(j, "token")), "inline");
    json_decref(j);
    /* A credential that is there but readable by others is an error, not skipped. */
    put(d, "test_token", "from-cred\n", 10, 0640);
    json_decref(resolve("{}", ERR_CONFIG, why));
    assert_non_null(strstr(why, "test_token"));
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("VEIL_TEST_SECRET");
    j = resolve("{}", 0, why); /* nowhere: left absent for the caller's "required" check */
    assert_null(json_object_get(j, "token"));
    json_decref(j);
}

/* Freed JSON is wiped: the block wipe covers the whole usable size, and jansson uses it. */
static void test_json_wipe_on_free(void **state)
{
    (void)state;
    char *p = malloc(40);
    assert_non_null(p);
    size_t n = malloc_usable_size(p);
    memset(p, 'S', n);
    secret_wipe_block(p);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p[i], 0);
    free(p);
    secret_json_wipe_on_free();
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    assert_ptr_equal(m, malloc);
    assert_ptr_not_equal(f, free);
    json_t *j = json_pack("{s:s}", "token", "canary-secret-value");
    assert_non_null(j);
    json_decref(j); /* freed through the wiping free, without error */
}

/* A secret read from a file lives in a locked buffer kept out of core dumps (the kernel's "dd"
 * VmFlag for its mapping in /proc/self/smaps); the raw variant keeps every byte. */
static void test_buffer_not_dumped_and_raw_bytes(void **state)
{
    struct dir *d = *state;
    struct secret s;
    char why[256] = "";
    const char *p = put(d, "dd", "dump-me-not\n", 12, 0600);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), 0);
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f != NULL) {
        char line[512];
        bool inside = false, dd = false, found = false;
        uintptr_t a = (uintptr_t)s.s;
        while (fgets(line, sizeof line, f) != NULL) {
            unsigned long lo, hi;
            char c;
            if (sscanf(line, "%lx-%lx %c", &lo, &hi, &c) == 3 && strchr(line, ' ') > strchr(line, '-')) {
                inside = a >= lo && a < hi;
                continue;
            }
            if (inside && strncmp(line, "VmFlags:", 8) == 0) {
                found = true;
                dd = strstr(line, " dd") != NULL;
                break;
            }
        }
        fclose(f);
        assert_true(found);
        assert_true(dd);
    }
    secret_free(&s);
    p = put(d, "raw", "a\0b\n", 4, 0600);
    assert_int_equal(secret_file_read(p, SECRET_FILE_MAX, &s, why, sizeof why), ERR_MALFORMED); /* text: refused */
    assert_int_equal(secret_file_read_bytes(p, SECRET_FILE_MAX, &s, why, sizeof why), 0);
    assert_int_equal(s.len, 4);
    assert_memory_equal(s.s, "a\0b\n", 4);
    secret_free(&s);
    p = put(d, "none", "", 0, 0600);
    assert_int_equal(secret_file_read_bytes(p, SECRET_FILE_MAX, &s, why, sizeof why), ERR_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode_0600_and_0400_read_newline_trimmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_or_world_access_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_name_in_credentials_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_empty_long_nul_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_sources_in_order, setup, teardown),
        cmocka_unit_test(test_json_wipe_on_free),
        cmocka_unit_test_setup_teardown(test_buffer_not_dumped_and_raw_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

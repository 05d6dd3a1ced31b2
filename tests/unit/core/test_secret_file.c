/* core/secret_file: secrets read from files (absolute or under $CREDENTIALS_DIRECTORY): the
 * trailing newline dropped, empty/multi-line/oversized files and a missing directory refused
 * without the secret in the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/secret_file.h"

static char dir[] = "/tmp/veil_test_secret_XXXXXX";

static void put(const char *name, const char *content)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

static void test_absolute_and_credentials_dir(void **state)
{
    (void)state;
    char out[64], why[256], path[256];
    put("tok", "s3cret-token-0123456789\n");
    snprintf(path, sizeof path, "%s/tok", dir);
    assert_int_equal(secret_file_read(path, out, sizeof out, why, sizeof why), 0);
    assert_string_equal(out, "s3cret-token-0123456789");

    put("crlf", "abc\r\n");
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", dir, 1), 0);
    assert_int_equal(secret_file_read("crlf", out, sizeof out, why, sizeof why), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
    assert_int_equal(secret_file_read("crlf", out, sizeof out, why, sizeof why), ERR_CONFIG);
    assert_non_null(strstr(why, "CREDENTIALS_DIRECTORY"));
}

static void test_refusals(void **state)
{
    (void)state;
    char out[8], why[256], path[256];
    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", dir, 1), 0);
    put("empty", "\n");
    assert_int_equal(secret_file_read("empty", out, sizeof out, why, sizeof why), ERR_CONFIG);
    assert_non_null(strstr(why, "empty"));
    put("two", "ab\ncd\n");
    assert_int_equal(secret_file_read("two", out, sizeof out, why, sizeof why), ERR_CONFIG);
    assert_null(strstr(why, "ab"));
    put("fits", "1234567\n"); /* 7 bytes + NUL fill out[8] exactly */
    assert_int_equal(secret_file_read("fits", out, sizeof out, why, sizeof why), 0);
    assert_string_equal(out, "1234567");
    put("long", "12345678");
    assert_int_equal(secret_file_read("long", out, sizeof out, why, sizeof why), ERR_CONFIG);
    assert_string_equal(out, "");
    assert_null(strstr(why, "1234"));
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(secret_file_read(path, out, sizeof out, why, sizeof why), ERR_CONFIG);
    assert_non_null(strstr(why, "cannot read"));
    assert_int_equal(secret_file_read("", out, sizeof out, why, sizeof why), ERR_CONFIG);
    assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"tok", "crlf", "empty", "two", "fits", "long"};
    char path[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absolute_and_credentials_dir),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* core/file: whole-file reads: content, the size cap at its edge, a missing file. */
#include <errno.h>
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
#include "core/file.h"

static void write_file(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc('a' + (int)(i % 26), f);
    assert_int_equal(fclose(f), 0);
}

/* Larger than one read chunk, appended after what the buffer already holds. */
static void test_reads_whole_file(void **state)
{
    (void)state;
    char path[] = "/tmp/veil_test_file_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, 200000);
    struct buf b;
    buf_init(&b);
    assert_int_equal(buf_append(&b, "hdr", 3), 0);
    assert_int_equal(file_read_all(path, 200000, &b), 0);
    assert_int_equal(buf_len(&b), 200003);
    assert_memory_equal(buf_data(&b), "hdrabc", 6);
    assert_int_equal(buf_data(&b)[200002], 'a' + 199999 % 26);
    buf_dispose(&b);
    buf_init(&b);
    assert_int_equal(file_read_all(path, 199999, &b), ERR_TOO_LONG);
    buf_dispose(&b);
    unlink(path);
}

static void test_empty_and_missing(void **state)
{
    (void)state;
    char path[] = "/tmp/veil_test_file_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct buf b;
    buf_init(&b);
    assert_int_equal(file_read_all(path, 0, &b), 0);
    assert_int_equal(buf_len(&b), 0);
    unlink(path);
    assert_int_equal(file_read_all(path, 100, &b), -ENOENT);
    assert_int_equal(file_read_all("/", 100, &b) < 0, 1); /* a directory is not a file */
    buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_whole_file),
        cmocka_unit_test(test_empty_and_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

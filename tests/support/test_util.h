/* Test-only helpers (never linked into the daemons): reading test data files and hex. */
#ifndef VEIL_TEST_UTIL_H
#define VEIL_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Path under $VEIL_TESTDATA (tests/testdata) or $VEIL_VECTORS (tests/vectors); static buffer. */
const char *tu_testdata(const char *rel);
const char *tu_vectors(const char *rel);
/* Reads a whole file; NULL if missing. Caller frees. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Reads a file of hex digits (whitespace ignored) into bytes; NULL on error. Caller frees. */
uint8_t *tu_read_hex_file(const char *path, size_t *len);
/* Compares len bytes with the file tests/vectors/<rel> (golden output), or rewrites that file
 * when VEIL_UPDATE_GOLDEN is set. 0: equal or rewritten; -1: the file is missing; 1: it differs. */
int tu_golden(const char *rel, const void *text, size_t len);
/* Decodes a hex string literal (whitespace ignored) into a malloc'd buffer. Aborts on bad hex. */
uint8_t *tu_hex(const char *hex, size_t *len);

#endif

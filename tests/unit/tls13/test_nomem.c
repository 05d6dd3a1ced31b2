/* Allocation failures in the TLS 1.3 engine: a handshake plus one record each way, with
 * allocation 1, 2, ... failing in turn. Every failed run must report ERR_NOMEM (ERR_CRYPTO
 * when libcrypto failed) and free everything it took (failalloc tracks every block allocated during the run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "failalloc.h"
#include "tls13_test_common.h"

/* Steps the handshake like test_pump, but returns the first error instead of asserting. */
static int handshake_and_talk(void)
{
    struct test_env e;
    failalloc_pause(); /* the fixture's certificate is not the engine's to free */
    test_env_init(&e);
    failalloc_resume();
    int rc = ERR_NOMEM;
    struct buf app;
    buf_init(&app);
    e.cli = tls13_conn_new(&e.cctx, false);
    e.srv = tls13_conn_new(&e.sctx, true);
    if (e.cli == NULL || e.srv == NULL)
        goto out;
    int c = ERR_NEED_MORE, s = ERR_NEED_MORE;
    for (int round = 0; round < 4 && (c != 0 || s != 0); round++) {
        if (c == ERR_NEED_MORE && (rc = c = test_feed(e.cli, &e.s2c, &e.c2s)) != 0 && c != ERR_NEED_MORE)
            goto out;
        if (s == ERR_NEED_MORE && (rc = s = test_feed(e.srv, &e.c2s, &e.s2c)) != 0 && s != ERR_NEED_MORE)
            goto out;
    }
    if ((rc = tls13_send(e.cli, "ping", 4, &e.c2s)) != 0)
        goto out;
    size_t used = 0;
    if ((rc = tls13_recv(e.srv, buf_data(&e.c2s), buf_len(&e.c2s), &used, &app, &e.s2c)) != 0)
        goto out;
    rc = buf_len(&app) == 4 && memcmp(buf_data(&app), "ping", 4) == 0 ? 0 : ERR_MALFORMED;
out:
    buf_dispose(&app);
    tls13_conn_free(e.cli);
    tls13_conn_free(e.srv);
    buf_dispose(&e.c2s);
    buf_dispose(&e.s2c);
    failalloc_pause();
    free(e.cert);
    failalloc_resume();
    crypto_clear_errors(); /* libcrypto's per-thread error ring is not the engine's to free */
    return rc;
}

/* libcrypto does not always say that an allocation failed: ERR_CRYPTO is its report. */
static int nomem_or_crypto(int rc)
{
    return rc == ERR_NOMEM || rc == ERR_CRYPTO;
}

static void test_handshake_nomem(void **state)
{
    (void)state;
    /* Warm the per-thread crypto caches, which live as long as the thread. */
    assert_int_equal(handshake_and_talk(), 0);
    FAILALLOC_SWEEP("tls13 handshake", nomem_or_crypto, handshake_and_talk());
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_handshake_nomem)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

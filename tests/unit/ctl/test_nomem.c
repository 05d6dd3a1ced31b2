/* Allocation failures in the node <-> hub sync codecs: encode and decode of a users
 * snapshot and of a usage push, with each of our allocations failing in turn. Every
 * failed run must report ERR_NOMEM and free what it took (tests/support/nomem). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "ctl/sync.h"
#include "failalloc.h"

enum { N_USERS = 40 };

static int users_roundtrip(void)
{
    static struct sync_user users[N_USERS];
    for (size_t i = 0; i < N_USERS; i++) {
        memset(&users[i], 0, sizeof(users[i]));
        users[i].id = i + 1;
        snprintf(users[i].uuid, sizeof(users[i].uuid), "b831381d-6324-4d53-ad4f-%012zx", i);
        snprintf(users[i].email, sizeof(users[i].email), "user-%zu@example", i);
        strcpy(users[i].flow, i % 2 ? "xtls-rprx-vision" : "");
        users[i].device_limit = (uint32_t)i;
    }
    uint64_t removed[3] = {101, 102, 103};
    struct sync_users_resp m = {.revision = 42, .users = users, .n_users = N_USERS, .removed = removed, .n_removed = 3};
    struct buf b;
    buf_init(&b);
    int rc = sync_users_resp_encode(&m, &b);
    if (rc == 0) {
        struct sync_users_resp d;
        struct sync_err err = {{0}};
        rc = sync_users_resp_decode(&d, (const char *)buf_data(&b), buf_len(&b), &err);
        if (rc == 0 && (d.n_users != N_USERS || d.n_removed != 3))
            rc = ERR_MALFORMED;
        if (rc == 0)
            sync_users_resp_dispose(&d);
    }
    buf_dispose(&b);
    return rc;
}

static int usage_roundtrip(void)
{
    struct sync_usage_entry e[3] = {{1, 100, 2000, 0, 0}, {2, 0, 0, 0, 0}, {7, 5, 6, 0, 1}};
    struct sync_usage_req m = {.entries = e, .n_entries = 3};
    strcpy(m.push_id, "node1-000000000001");
    strcpy(m.health.version, "veil-node 0.1.0");
    struct buf b;
    buf_init(&b);
    int rc = sync_usage_req_encode(&m, &b);
    if (rc == 0) {
        struct sync_usage_req d;
        struct sync_err err = {{0}};
        rc = sync_usage_req_decode(&d, (const char *)buf_data(&b), buf_len(&b), &err);
        if (rc == 0 && d.n_entries != 3)
            rc = ERR_MALFORMED;
        if (rc == 0)
            sync_usage_req_dispose(&d);
    }
    buf_dispose(&b);
    return rc;
}

static int is_nomem(int rc)
{
    return rc == ERR_NOMEM;
}

static void test_users_nomem(void **state)
{
    (void)state;
    FAILALLOC_SWEEP("sync users", is_nomem, users_roundtrip());
}

static void test_usage_nomem(void **state)
{
    (void)state;
    FAILALLOC_SWEEP("sync usage", is_nomem, usage_roundtrip());
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_users_nomem), cmocka_unit_test(test_usage_nomem)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

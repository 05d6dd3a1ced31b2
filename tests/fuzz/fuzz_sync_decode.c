/* Fuzz target: node <-> hub sync decoders (ctl/sync). The first byte picks the message type;
 * anything that decodes must re-encode and decode to the same values. The last type drives the
 * helpers of the sync requests: the since query and the bearer header (core/http_auth.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http_auth.h"
#include "ctl/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void users(const char *s, size_t n)
{
    struct sync_users_resp a, b;
    struct sync_err err;
    if (sync_users_resp_decode(&a, s, n, &err) != 0) {
        if (a.users != NULL || a.removed != NULL || err.msg[0] == '\0')
            abort();
        return;
    }
    struct buf out;
    buf_init(&out);
    if (sync_users_resp_encode(&a, &out) != 0)
        abort();
    if (sync_users_resp_decode(&b, (const char *)buf_data(&out), buf_len(&out), &err) != 0)
        abort();
    if (a.revision != b.revision || a.full != b.full || a.n_users != b.n_users || a.n_removed != b.n_removed ||
        memcmp(&a.reality, &b.reality, sizeof(a.reality)) != 0 || memcmp(&a.scan, &b.scan, sizeof(a.scan)) != 0)
        abort();
    for (size_t i = 0; i < a.n_users; i++) {
        const struct sync_user *x = &a.users[i], *y = &b.users[i];
        if (x->id != y->id || strcmp(x->uuid, y->uuid) || strcmp(x->email, y->email) || strcmp(x->flow, y->flow) ||
            x->device_limit != y->device_limit || x->speed_limit != y->speed_limit || x->max_conns != y->max_conns)
            abort();
    }
    if (a.n_removed > 0 && memcmp(a.removed, b.removed, a.n_removed * sizeof(*a.removed)) != 0)
        abort();
    buf_dispose(&out);
    sync_users_resp_dispose(&a);
    sync_users_resp_dispose(&b);
}

static void usage(const char *s, size_t n)
{
    struct sync_usage_req a, b;
    struct sync_err err;
    if (sync_usage_req_decode(&a, s, n, &err) != 0) {
        if (a.entries != NULL)
            abort();
        return;
    }
    struct buf out;
    buf_init(&out);
    if (sync_usage_req_encode(&a, &out) != 0)
        abort();
    if (sync_usage_req_decode(&b, (const char *)buf_data(&out), buf_len(&out), &err) != 0)
        abort();
    if (strcmp(a.push_id, b.push_id) || a.n_entries != b.n_entries ||
        memcmp(&a.health, &b.health, sizeof(a.health)) != 0 ||
        (a.n_entries > 0 && memcmp(a.entries, b.entries, a.n_entries * sizeof(*a.entries)) != 0))
        abort();
    buf_dispose(&out);
    sync_usage_req_dispose(&a);
    sync_usage_req_dispose(&b);
}

static void usage_resp(const char *s, size_t n)
{
    struct sync_usage_resp a, b;
    if (sync_usage_resp_decode(&a, s, n, NULL) != 0)
        return;
    struct buf out;
    buf_init(&out);
    if (sync_usage_resp_encode(&a, &out) != 0 ||
        sync_usage_resp_decode(&b, (const char *)buf_data(&out), buf_len(&out), NULL) != 0 ||
        a.duplicate != b.duplicate || a.revision != b.revision)
        abort();
    buf_dispose(&out);
}

/* A node's scan results (ctl/sync_scan.h): decode, encode, decode to the same rows. */
static void scan_results(const char *s, size_t n)
{
    struct sync_scan_result a, b;
    struct sync_err err;
    if (sync_scan_result_decode(&a, s, n, &err) != 0) {
        if (a.rows != NULL || err.msg[0] == '\0')
            abort();
        return;
    }
    struct buf out;
    buf_init(&out);
    if (sync_scan_result_encode(&a, &out) != 0 ||
        sync_scan_result_decode(&b, (const char *)buf_data(&out), buf_len(&out), &err) != 0 || a.id != b.id ||
        a.n != b.n || (a.n > 0 && memcmp(a.rows, b.rows, a.n * sizeof(*a.rows)) != 0))
        abort();
    buf_dispose(&out);
    sync_scan_result_dispose(&a);
    sync_scan_result_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    uint64_t since;
    const char *tok;
    size_t tl;
    if (data[0] == '4') { /* after the original four, whose seeds start with '0'..'3' */
        scan_results(s, n);
        return 0;
    }
    switch (data[0] % 4) {
    case 0:
        users(s, n);
        break;
    case 1:
        usage(s, n);
        break;
    case 2:
        usage_resp(s, n);
        break;
    default: {
        /* the HTTP helpers take C strings */
        char *z = malloc(n + 1);
        if (z == NULL)
            return 0;
        memcpy(z, s, n);
        z[n] = '\0';
        if (sync_parse_since(z, &since) == 0 && since > INT64_MAX)
            abort();
        if (http_bearer_token(z, &tok, &tl) == 0 && (tl == 0 || tl > HTTP_BEARER_MAX || tok < z || tok + tl > z + n))
            abort();
        free(z);
        break;
    }
    }
    return 0;
}

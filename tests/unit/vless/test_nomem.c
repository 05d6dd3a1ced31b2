/* Allocation failures in the VLESS engines (issue 11 #10): a user table built and frozen, a
 * request header written by the client and parsed by the server, the response header both
 * ways, and Vision framing each way (padding, then the End frame after an app-data record),
 * with allocation 1, 2, ... failing in turn. Every failed run must report ERR_NOMEM and free
 * what it took (tests/support/nomem tracks every block allocated during the run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "failalloc.h"
#include "vless/header.h"
#include "vless/users.h"
#include "vless/vision.h"

static const uint8_t ids[3][VLESS_ID_LEN] = {
    {0xb8, 0x31, 0x38, 0x1d, 0x63, 0x24, 0x4d, 0x53, 0xad, 0x4f, 0x8c, 0xda, 0x48, 0xb3, 0x08, 0x11},
    {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x47, 0x08, 0x89, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10},
    {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0x46, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf},
};

/* Padding lengths come from here: deterministic, never fails. */
static int counter_rand(void *arg, void *out, size_t n)
{
    uint8_t *o = out, *c = arg;
    for (size_t i = 0; i < n; i++)
        o[i] = (uint8_t)(*c += 37);
    return 0;
}

static int build_users(struct vless_users **out)
{
    static const char *const emails[3] = {"a@test", "b@test", "c@test"};
    struct vless_users_builder *b = vless_users_builder_new(42);
    if (b == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < 3; i++) {
        int rc = vless_users_builder_add(b, ids[i], i == 0 ? VLESS_FLOW_VISION : VLESS_FLOW_NONE, emails[i], i);
        if (rc < 0) {
            vless_users_builder_free(b);
            return rc;
        }
    }
    return vless_users_freeze(b, out); /* frees the builder, also on error */
}

/* One direction of Vision: the writer frames `app`, the reader unframes into got. */
static int vision_one_way(const uint8_t uuid[static VLESS_ID_LEN], const uint8_t *app, size_t len, struct buf *wire,
                          struct buf *got)
{
    struct vless_vision_shared wsh, rsh;
    struct vless_vision_writer w;
    struct vless_vision_reader r;
    uint8_t ctr = 0;
    vless_vision_shared_init(&wsh);
    vless_vision_shared_init(&rsh);
    vless_vision_writer_init(&w, &wsh, uuid, counter_rand, &ctr);
    vless_vision_reader_init(&r, &rsh, uuid);
    struct vless_vision_wres wres;
    struct vless_vision_rres rres;
    buf_reset(wire);
    int rc = vless_vision_write(&w, app, len, wire, &wres);
    if (rc == 0)
        rc = vless_vision_read(&r, buf_data(wire), buf_len(wire), got, &rres);
    return rc;
}

static int request_and_vision(void)
{
    struct vless_users *users = NULL;
    struct buf c2s, s2c, got;
    buf_init(&c2s);
    buf_init(&s2c);
    buf_init(&got);
    int rc = build_users(&users);
    if (rc < 0)
        goto out;
    struct vless_addr dest;
    if ((rc = vless_addr_domain(&dest, "www.example.com", 15, 443)) < 0)
        goto out;
    /* Client request header, then the server's parse: user 0, Vision. */
    if ((rc = vless_request_encode(&c2s, ids[0], VLESS_FLOW_VISION, VLESS_CMD_TCP, &dest)) < 0)
        goto out;
    struct vless_request req;
    if ((rc = vless_request_parse(&req, buf_data(&c2s), buf_len(&c2s), buf_len(&c2s), users, false)) < 0)
        goto out;
    if (req.action != VLESS_ACT_ACCEPT || req.user == NULL || req.addons.flow != VLESS_FLOW_VISION ||
        req.dest.port != 443) {
        rc = ERR_INTERNAL;
        goto out;
    }
    /* Response header, parsed by the client. */
    if ((rc = vless_response_encode(&s2c, req.version)) < 0)
        goto out;
    size_t used = 0;
    enum vless_flow flow;
    if ((rc = vless_response_parse(buf_data(&s2c), buf_len(&s2c), req.version, &used, &flow)) < 0)
        goto out;
    /* Vision both ways: a TLS ClientHello-like record (padded), and an application-data record
     * (which ends padding). */
    static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00};
    static const uint8_t appdata[] = {0x17, 0x03, 0x03, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef};
    if ((rc = vision_one_way(req.id, hello, sizeof hello, &c2s, &got)) < 0)
        goto out;
    if ((rc = vision_one_way(req.id, appdata, sizeof appdata, &s2c, &got)) < 0)
        goto out;
    if (buf_len(&got) != sizeof hello + sizeof appdata || memcmp(buf_data(&got), hello, sizeof hello) != 0 ||
        memcmp(buf_data(&got) + sizeof hello, appdata, sizeof appdata) != 0)
        rc = ERR_INTERNAL;
out:
    vless_users_unref(users);
    buf_dispose(&c2s);
    buf_dispose(&s2c);
    buf_dispose(&got);
    return rc;
}

static int is_nomem(int rc)
{
    return rc == ERR_NOMEM;
}

static void test_vless_nomem(void **state)
{
    (void)state;
    assert_int_equal(request_and_vision(), 0);
    FAILALLOC_SWEEP("vless request + vision", is_nomem, request_and_vision());
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_vless_nomem)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* vless/users: lookup ignoring bytes 6-7, later duplicate wins, email uniqueness, 10k users,
 * refcounted snapshots; flow rules of spec/vless.md §7. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "vless/mux.h"
#include "vless/users.h"

static void mkid(uint8_t id[16], uint32_t i)
{
    /* Deterministic, spread-out ids. */
    uint64_t x = 0x9e3779b97f4a7c15ULL * (i + 1);
    for (int k = 0; k < 16; k++) {
        x ^= x >> 29;
        x *= 0xbf58476d1ce4e5b9ULL;
        id[k] = (uint8_t)(x >> 56);
    }
}

static void test_basic(void **state)
{
    (void)state;
    struct vless_users_builder *b = vless_users_builder_new(1);
    uint8_t a[16], c[16];
    mkid(a, 1);
    mkid(c, 2);
    assert_int_equal(vless_users_builder_add(b, a, VLESS_FLOW_VISION, "alice@x", 10), 0);
    assert_int_equal(vless_users_builder_add(b, c, VLESS_FLOW_NONE, NULL, 11), 0);
    assert_int_equal(vless_users_builder_add(b, c, VLESS_FLOW_UNKNOWN, NULL, 12), ERR_CONFIG);
    assert_int_equal(vless_users_builder_add(b, c, VLESS_FLOW_VISION_UDP443, NULL, 12), ERR_CONFIG);
    struct vless_users *u;
    assert_int_equal(vless_users_freeze(b, &u), 0);
    assert_int_equal(vless_users_count(u), 2);
    const struct vless_user *x = vless_users_lookup(u, a);
    assert_non_null(x);
    assert_int_equal(x->tag, 10);
    assert_string_equal(x->email, "alice@x");
    assert_int_equal(x->flow, VLESS_FLOW_VISION);
    assert_memory_equal(x->id, a, 16);
    /* Bytes 6 and 7 are ignored; the route is exposed. */
    uint8_t a2[16];
    memcpy(a2, a, 16);
    a2[6] = 0x12;
    a2[7] = 0x34;
    assert_ptr_equal(vless_users_lookup(u, a2), x);
    assert_int_equal(vless_id_route(a2), 0x1234);
    /* Any other byte matters. */
    for (int k = 0; k < 16; k++) {
        if (k == 6 || k == 7)
            continue;
        memcpy(a2, a, 16);
        a2[k] ^= 0x01;
        assert_null(vless_users_lookup(u, a2));
    }
    assert_null(vless_users_lookup(u, (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"));
    assert_int_equal(vless_users_at(u, 1)->tag, 11);
    assert_null(vless_users_at(u, 2));

    /* Refcount: a holder keeps the snapshot alive. */
    struct vless_users *held = vless_users_ref(u);
    vless_users_unref(u);
    assert_non_null(vless_users_lookup(held, a));
    vless_users_unref(held);
    vless_users_unref(NULL);
}

static void test_duplicates(void **state)
{
    (void)state;
    struct vless_users_builder *b = vless_users_builder_new(2);
    uint8_t a[16], a2[16], c[16];
    mkid(a, 5);
    memcpy(a2, a, 16);
    a2[6] ^= 0xff; /* differs only in bytes 6-7: collides, later wins */
    mkid(c, 6);
    assert_int_equal(vless_users_builder_add(b, a, VLESS_FLOW_NONE, "same@x", 1), 0);
    assert_int_equal(vless_users_builder_add(b, c, VLESS_FLOW_NONE, "other@x", 2), 0);
    assert_int_equal(vless_users_builder_add(b, a2, VLESS_FLOW_VISION, "SAME@x", 3), 0);
    struct vless_users *u;
    assert_int_equal(vless_users_freeze(b, &u), 0); /* the replaced user's email is gone */
    assert_int_equal(vless_users_count(u), 2);
    const struct vless_user *x = vless_users_lookup(u, a);
    assert_non_null(x);
    assert_int_equal(x->tag, 3);
    assert_memory_equal(x->id, a2, 16);
    assert_int_equal(vless_users_lookup(u, c)->tag, 2);
    vless_users_unref(u);

    /* Emails are unique ignoring case. */
    b = vless_users_builder_new(2);
    assert_int_equal(vless_users_builder_add(b, a, VLESS_FLOW_NONE, "Bob@X", 1), 0);
    assert_int_equal(vless_users_builder_add(b, c, VLESS_FLOW_NONE, "bob@x", 2), 0);
    assert_int_equal(vless_users_freeze(b, &u), ERR_EXISTS);
    assert_null(u);

    /* Empty table. */
    b = vless_users_builder_new(3);
    assert_int_equal(vless_users_freeze(b, &u), 0);
    assert_int_equal(vless_users_count(u), 0);
    assert_null(vless_users_lookup(u, a));
    vless_users_unref(u);
}

static void test_10k(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct vless_users_builder *b = vless_users_builder_new(0x1234);
    uint8_t id[16];
    char email[32];
    for (uint32_t i = 0; i < N; i++) {
        mkid(id, i);
        snprintf(email, sizeof(email), "u%u@veil", i);
        assert_int_equal(vless_users_builder_add(b, id, i % 2 ? VLESS_FLOW_VISION : VLESS_FLOW_NONE, email, i), 0);
    }
    struct vless_users *u;
    assert_int_equal(vless_users_freeze(b, &u), 0);
    assert_int_equal(vless_users_count(u), N);
    for (uint32_t i = 0; i < N; i++) {
        mkid(id, i);
        id[6] = (uint8_t)i; /* route bytes must not matter */
        const struct vless_user *x = vless_users_lookup(u, id);
        assert_non_null(x);
        assert_int_equal(x->tag, i);
    }
    for (uint32_t i = N; i < N + 1000; i++) {
        mkid(id, i);
        assert_null(vless_users_lookup(u, id));
    }
    vless_users_unref(u);
}

static void test_flow_rules(void **state)
{
    (void)state;
    const uint8_t xudp[] = {0x00, 0x14, 0x00, 0x00, 0x01, 0x01, 0x02, 0x00, 0x35};
    const uint8_t notx[] = {0x00, 0x14, 0x00, 0x05, 0x01, 0x01, 0x01, 0x00, 0x35};
    struct vless_flow_decision d;
    /* Vision / Vision. */
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_VISION, VLESS_CMD_TCP, NULL, 0);
    assert_true(d.allow && d.vision && d.direct_ok && !d.mux_udp_only);
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_VISION, VLESS_CMD_MUX, notx, sizeof(notx));
    assert_true(d.allow && d.vision && !d.direct_ok && d.mux_udp_only);
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_VISION, VLESS_CMD_UDP, NULL, 0);
    assert_false(d.allow);
    assert_int_equal(d.reason, VLESS_FR_VISION_UDP);
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_VISION, VLESS_CMD_RVS, NULL, 0);
    assert_false(d.allow);
    assert_int_equal(d.reason, VLESS_FR_BAD_COMMAND);
    /* Vision request, plain account. */
    d = vless_flow_decide(VLESS_FLOW_NONE, VLESS_FLOW_VISION, VLESS_CMD_TCP, NULL, 0);
    assert_false(d.allow);
    assert_int_equal(d.reason, VLESS_FR_ACCOUNT_FLOW);
    /* Empty request, Vision account. */
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_NONE, VLESS_CMD_TCP, NULL, 0);
    assert_false(d.allow);
    assert_int_equal(d.reason, VLESS_FR_EMPTY_FLOW_TCP);
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_NONE, VLESS_CMD_MUX, notx, sizeof(notx));
    assert_false(d.allow);
    assert_int_equal(d.reason, VLESS_FR_EMPTY_FLOW_MUX);
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_NONE, VLESS_CMD_MUX, xudp, 6); /* < 7 bytes: not XUDP */
    assert_false(d.allow);
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_NONE, VLESS_CMD_MUX, NULL, 0); /* header alone */
    assert_false(d.allow);
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_NONE, VLESS_CMD_MUX, xudp, sizeof(xudp));
    assert_true(d.allow && !d.vision && d.mux_udp_only);
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_NONE, VLESS_CMD_UDP, NULL, 0);
    assert_true(d.allow && !d.vision);
    /* Plain / plain. */
    for (enum vless_cmd c = VLESS_CMD_TCP; c <= VLESS_CMD_MUX; c++) {
        d = vless_flow_decide(VLESS_FLOW_NONE, VLESS_FLOW_NONE, c, notx, sizeof(notx));
        assert_true(d.allow && !d.vision && !d.direct_ok && !d.mux_udp_only);
    }
    /* Unknown request flow. */
    d = vless_flow_decide(VLESS_FLOW_VISION, VLESS_FLOW_UNKNOWN, VLESS_CMD_TCP, NULL, 0);
    assert_false(d.allow);
    assert_int_equal(d.reason, VLESS_FR_UNKNOWN_FLOW);
    assert_string_equal(vless_flow_reason_str(VLESS_FR_VISION_UDP), "xtls-rprx-vision doesn't support UDP");
    /* XUDP detector agrees. */
    assert_true(vless_mux_is_xudp(xudp, sizeof(xudp)));
    assert_false(vless_mux_is_xudp(notx, sizeof(notx)));
    /* Client UDP/443 rule. */
    assert_false(vless_client_udp_allowed(VLESS_FLOW_VISION, 443));
    assert_true(vless_client_udp_allowed(VLESS_FLOW_VISION_UDP443, 443));
    assert_true(vless_client_udp_allowed(VLESS_FLOW_VISION, 53));
    assert_true(vless_client_udp_allowed(VLESS_FLOW_NONE, 443));
    /* Flow strings. */
    assert_int_equal(vless_flow_from_str("", 0), VLESS_FLOW_NONE);
    assert_int_equal(vless_flow_from_str("xtls-rprx-vision", 16), VLESS_FLOW_VISION);
    assert_int_equal(vless_flow_from_str("xtls-rprx-vision-udp443", 23), VLESS_FLOW_VISION_UDP443);
    assert_int_equal(vless_flow_from_str("xtls-rprx-direct", 16), VLESS_FLOW_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_10k),
        cmocka_unit_test(test_flow_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

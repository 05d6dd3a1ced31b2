/* BitTorrent recognition (node/bt_detect.h) on samples built from BEP 3, 5, 15, 23 and 29, and
 * the flows it must never touch: TLS, QUIC, DNS, ordinary HTTP, random bytes. Then the guard
 * (node/bt_guard.h): off / block / log, counters and the per-user attempt count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "node/bt_detect.h"
#include "node/bt_guard.h"
#include "node/usage.h"
#include "test_util.h"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

/* BEP 3: pstrlen 19, pstr, 8 reserved bytes (here: DHT and extension bits), info_hash, peer_id. */
static size_t bt_handshake(uint8_t out[68])
{
    out[0] = 19;
    memcpy(out + 1, "BitTorrent protocol", 19);
    static const uint8_t reserved[8] = {0, 0, 0, 0, 0, 0x10, 0, 0x05};
    memcpy(out + 20, reserved, 8);
    for (int i = 0; i < 20; i++)
        out[28 + i] = (uint8_t)(0xa0 + i); /* info_hash */
    memcpy(out + 48, "-qB4650-abcdefghijkl", 20);
    return 68;
}

static void test_handshake(void **state)
{
    (void)state;
    uint8_t hs[68];
    size_t n = bt_handshake(hs);
    assert_int_equal(node_bt_detect_tcp(hs, n), NODE_BT_HANDSHAKE);
    assert_int_equal(node_bt_detect_tcp(hs, 20), NODE_BT_HANDSHAKE); /* the protocol string is enough */
    assert_int_equal(node_bt_detect_tcp(hs, 19), NODE_BT_NONE);      /* not all of it yet */
    hs[0] = 18;
    assert_int_equal(node_bt_detect_tcp(hs, n), NODE_BT_NONE);
    hs[0] = 19;
    hs[5] = 't'; /* "BitTOrrent" -> "BitTtrrent" */
    assert_int_equal(node_bt_detect_tcp(hs, n), NODE_BT_NONE);
    /* A TCP detector never looks at UDP shapes and vice versa. */
    hs[5] = 'o';
    assert_int_equal(node_bt_detect_udp(hs, n), NODE_BT_NONE);
    assert_int_equal(node_bt_detect_tcp(NULL, 0), NODE_BT_NONE);
}

static void test_http_tracker(void **state)
{
    (void)state;
    static const char announce[] =
        "GET /announce?info_hash=%12%34%56%78%9a%bc%de%f1%23%45%67%89%ab%cd%ef%12%34%56%78%9a"
        "&peer_id=-TR2940-k8hj0wgej6ch&port=51413&uploaded=0&downloaded=0&left=1048576&compact=1"
        "&event=started HTTP/1.1\r\nHost: tracker.example:6969\r\nUser-Agent: Transmission/2.94\r\n\r\n";
    assert_int_equal(node_bt_detect_tcp(LIT(announce)), NODE_BT_HTTP_TRACKER);
    /* Parameters in another order, a private tracker's passkey path. */
    static const char passkey[] = "GET /a1b2c3/announce?peer_id=-UT3550-abcdefghijkl&info_hash=%AA%BB HTTP/1.0\r\n\r\n";
    assert_int_equal(node_bt_detect_tcp(LIT(passkey)), NODE_BT_HTTP_TRACKER);
    static const char scrape[] = "GET /scrape?info_hash=%12%34%56%78%9a%bc%de%f1%23%45%67%89%ab%cd%ef%12%34%56%78%9a "
                                 "HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(node_bt_detect_tcp(LIT(scrape)), NODE_BT_HTTP_TRACKER);
    /* Plain HTTP stays untouched: pages, a search for the word, a lone info_hash, a POST. */
    static const char *const plain[] = {
        "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /index.html?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /search?q=info_hash&peer=peer_id HTTP/1.1\r\n\r\n",
        "GET /wiki?info_hash=1 HTTP/1.1\r\n\r\n",
        "POST /announce?info_hash=1&peer_id=2 HTTP/1.1\r\n\r\n",
        "GET /announce?info_hash=1&peer_id=2", /* request line not complete yet */
        "GET /announce?xinfo_hash=1&peer_id=2 HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        assert_int_equal(node_bt_detect_tcp((const uint8_t *)plain[i], strlen(plain[i])), NODE_BT_NONE);
}

static void test_dht(void **state)
{
    (void)state;
    /* The four examples of BEP 5 (ping, find_node, get_peers, announce_peer), their responses
     * and an error. */
    static const char *const msgs[] = {
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
        "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re",
        "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe",
        "d1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re",
        "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe",
        "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re",
        "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e"
        "5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe",
        "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee",
        /* libtorrent adds a version key and a negative integer is valid bencode */
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t4:\x01\x02\x03\x04"
        "1:v4:LT\x01\x02"
        "1:xi-3e1:y1:qe",
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        size_t n = strlen(msgs[i]);
        assert_int_equal(node_bt_detect_udp((const uint8_t *)msgs[i], n), NODE_BT_DHT);
        /* Any truncation breaks the dict: not DHT. */
        for (size_t cut = 0; cut < n; cut++)
            assert_int_equal(node_bt_detect_udp((const uint8_t *)msgs[i], cut), NODE_BT_NONE);
    }
    static const char *const not_dht[] = {
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qeX", /* trailing byte */
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe",         /* no transaction id */
        "d1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe",           /* query without a method */
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:xe",  /* unknown type */
        "d1:t2:aa1:yi1ee",                                           /* y not a string */
        "d1:t2:aa1:y01:re",                                          /* leading zero length */
        "d1:t2:aa1:y1:rie",                                          /* integer without digits */
        "d4:spam3:eggs1:t99999999999999999999999:xe",                /* length beyond the datagram */
    };
    for (size_t i = 0; i < sizeof(not_dht) / sizeof(not_dht[0]); i++)
        assert_int_equal(node_bt_detect_udp((const uint8_t *)not_dht[i], strlen(not_dht[i])), NODE_BT_NONE);
    /* Deep nesting is refused without recursion trouble. */
    uint8_t deep[4096];
    deep[0] = 'd';
    memcpy(deep + 1, "1:a", 3);
    memset(deep + 4, 'l', 2000);
    memset(deep + 2004, 'e', 2001);
    memcpy(deep + 4005, "1:t2:aa1:y1:re", 14);
    assert_int_equal(node_bt_detect_udp(deep, 4019), NODE_BT_NONE);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* BEP 29 header: type/version, extension, connection_id, timestamp, timestamp_difference,
 * wnd_size, seq_nr, ack_nr. */
static void utp_header(uint8_t h[20], unsigned type, uint8_t ext, uint32_t ts_diff, uint32_t wnd)
{
    h[0] = (uint8_t)(type << 4 | 1);
    h[1] = ext;
    h[2] = 0x5a;
    h[3] = 0x17; /* connection_id */
    put32(h + 4, 0x0badcafe);
    put32(h + 8, ts_diff);
    put32(h + 12, wnd);
    h[16] = 0x12;
    h[17] = 0x34; /* seq_nr */
    h[18] = 0;
    h[19] = 0; /* ack_nr */
}

static void test_utp(void **state)
{
    (void)state;
    uint8_t p[64];
    utp_header(p, 4, 0, 0, 1048576); /* ST_SYN as libtorrent sends it */
    assert_int_equal(node_bt_detect_udp(p, 20), NODE_BT_UTP);
    utp_header(p, 2, 0, 123456, 65536); /* ST_STATE: the answer to a SYN */
    assert_int_equal(node_bt_detect_udp(p, 20), NODE_BT_UTP);
    /* A SYN with a selective-ack extension (next 0, length 4, bitmask). */
    utp_header(p, 4, 1, 0, 1048576);
    p[20] = 0;
    p[21] = 4;
    memset(p + 22, 0xff, 4);
    assert_int_equal(node_bt_detect_udp(p, 26), NODE_BT_UTP);
    assert_int_equal(node_bt_detect_udp(p, 27), NODE_BT_NONE); /* a byte past the chain */
    p[21] = 5;
    assert_int_equal(node_bt_detect_udp(p, 27), NODE_BT_NONE); /* selective ack is 4n bytes */
    p[21] = 40;
    assert_int_equal(node_bt_detect_udp(p, 26), NODE_BT_NONE); /* longer than the datagram */
    utp_header(p, 4, 9, 0, 1048576);
    assert_int_equal(node_bt_detect_udp(p, 22), NODE_BT_NONE); /* unknown extension */
    utp_header(p, 4, 0, 0, 1048576);
    assert_int_equal(node_bt_detect_udp(p, 21), NODE_BT_NONE); /* a SYN carries no payload */
    assert_int_equal(node_bt_detect_udp(p, 19), NODE_BT_NONE);
    utp_header(p, 4, 0, 0, 0);
    assert_int_equal(node_bt_detect_udp(p, 20), NODE_BT_NONE); /* no window */
    utp_header(p, 4, 0, 77, 1048576);
    assert_int_equal(node_bt_detect_udp(p, 20), NODE_BT_NONE); /* a SYN has heard nothing yet */
    utp_header(p, 0, 0, 0, 1048576);
    assert_int_equal(node_bt_detect_udp(p, 40), NODE_BT_NONE); /* ST_DATA is not judged */
    utp_header(p, 4, 0, 0, 1048576);
    p[0] = 0x42; /* version 2 */
    assert_int_equal(node_bt_detect_udp(p, 20), NODE_BT_NONE);
}

static void test_udp_tracker(void **state)
{
    (void)state;
    /* BEP 15 connect: protocol_id 0x41727101980, action 0, transaction_id. */
    static const uint8_t connect[16] = {0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80,
                                        0x00, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef};
    assert_int_equal(node_bt_detect_udp(connect, 16), NODE_BT_UDP_TRACKER);
    assert_int_equal(node_bt_detect_udp(connect, 15), NODE_BT_NONE);
    uint8_t other[17];
    memcpy(other, connect, 16);
    other[16] = 0;
    assert_int_equal(node_bt_detect_udp(other, 17), NODE_BT_NONE);
    other[11] = 1; /* announce: needs a connection id the tracker gave, nothing to recognise */
    assert_int_equal(node_bt_detect_udp(other, 16), NODE_BT_NONE);
}

/* What must pass: TLS (a genuine ClientHello), QUIC Initial, DNS, plain HTTP, random bytes. */
static void test_negatives(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *ch = tu_read_hex_file(tu_testdata("reality-clienthello/clienthello-chrome.hex"), &len);
    assert_non_null(ch);
    assert_int_equal(ch[0], 0x16);
    assert_int_equal(node_bt_detect_tcp(ch, len), NODE_BT_NONE);
    assert_int_equal(node_bt_detect_udp(ch, len), NODE_BT_NONE);
    free(ch);
    /* QUIC v1 Initial: long header 0xc3, version 1, DCID 8, SCID 0, token 0, length, then
     * protected bytes, padded to 1200. */
    uint8_t quic[1200];
    uint32_t x = 0x9e3779b9;
    for (size_t i = 0; i < sizeof(quic); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        quic[i] = (uint8_t)x;
    }
    static const uint8_t qh[] = {0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xd0};
    memcpy(quic, qh, sizeof(qh));
    assert_int_equal(node_bt_detect_udp(quic, sizeof(quic)), NODE_BT_NONE);
    /* A QUIC short header whose first byte is a uTP SYN's (0x41) never has the SYN's shape. */
    quic[0] = 0x41;
    assert_int_equal(node_bt_detect_udp(quic, 60), NODE_BT_NONE);
    /* DNS query for example.com with an id whose first byte looks like uTP. */
    static const uint8_t dns[] = {0x41, 0x00, 0x01, 0x00, 0x00, 0x01, 0,   0,   0,   0, 0, 0, 7, 'e', 'x',
                                  'a',  'm',  'p',  'l',  'e',  3,    'c', 'o', 'm', 0, 0, 1, 0, 1};
    assert_int_equal(node_bt_detect_udp(dns, sizeof(dns)), NODE_BT_NONE);
    assert_int_equal(node_bt_detect_tcp(LIT("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")), NODE_BT_NONE);
    assert_int_equal(node_bt_detect_udp(LIT("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")), NODE_BT_NONE);
    /* 50,000 random datagrams and streams of every length up to 1500: nothing recognised. */
    uint8_t r[1500];
    size_t hits = 0;
    for (int t = 0; t < 50000; t++) {
        size_t n = (size_t)(t % 1500) + 1;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            r[i] = (uint8_t)x;
        }
        hits += node_bt_detect_udp(r, n) != NODE_BT_NONE;
        hits += node_bt_detect_tcp(r, n) != NODE_BT_NONE;
    }
    assert_int_equal(hits, 0);
}

static void test_guard(void **state)
{
    (void)state;
    struct node_usage *u = node_usage_new();
    assert_non_null(u);
    uint8_t key[16] = {1, 2, 3};
    uint8_t hs[68];
    size_t n = bt_handshake(hs);
    static const char ping[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    struct node_bt_flow f = {NODE_BT_MODE_OFF, u, key, 0, 1};
    assert_false(node_bt_guard(&f, true, hs, n));
    assert_int_equal(node_bt_total(true, NODE_BT_HANDSHAKE) + node_bt_total(false, NODE_BT_HANDSHAKE), 0);
    f.mode = NODE_BT_MODE_BLOCK;
    assert_true(node_bt_guard(&f, true, hs, n));
    assert_true(node_bt_guard(&f, false, LIT(ping)));
    assert_false(node_bt_guard(&f, true, LIT("GET / HTTP/1.1\r\n\r\n")));
    assert_int_equal(node_bt_total(true, NODE_BT_HANDSHAKE), 1);
    assert_int_equal(node_bt_total(true, NODE_BT_DHT), 1);
    f.mode = NODE_BT_MODE_LOG;
    assert_false(node_bt_guard(&f, true, hs, n)); /* let through, but counted */
    assert_int_equal(node_bt_total(false, NODE_BT_HANDSHAKE), 1);
    struct node_usage_entry e;
    assert_int_equal(node_usage_get(u, key, false, &e), 0);
    assert_int_equal(e.bittorrent, 3); /* every recognised flow is an attempt of the user */
    node_usage_free(u);
    assert_string_equal(node_bt_kind_str(NODE_BT_UTP), "utp");
    assert_string_equal(node_bt_kind_str(NODE_BT__COUNT), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake), cmocka_unit_test(test_http_tracker), cmocka_unit_test(test_dht),
        cmocka_unit_test(test_utp),       cmocka_unit_test(test_udp_tracker),  cmocka_unit_test(test_negatives),
        cmocka_unit_test(test_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

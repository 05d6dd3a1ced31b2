/* Fuzz target: REALITY ClientHello record reassembly + strict parse + session-id auth with a
 * fixed server key (the captures' test key), as the node runs them on untrusted bytes.
 * Checks that every view the parser returns lies inside the input or the scratch copy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "reality/auth.h"
#include "reality/client_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* KBwdlfIKkauP2EUH1TmdbHflk3Uz5hy_RK-fiIFTTFw (tests/testdata/reality-clienthello). */
static const uint8_t server_key[32] = {0x28, 0x1c, 0x1d, 0x95, 0xf2, 0x0a, 0x91, 0xab, 0x8f, 0xd8, 0x45,
                                       0x07, 0xd5, 0x39, 0x9d, 0x6c, 0x77, 0xe5, 0x93, 0x75, 0x33, 0xe6,
                                       0x1c, 0xbf, 0x44, 0xaf, 0x9f, 0x88, 0x81, 0x53, 0x4c, 0x5c};

static void inside(const void *p, size_t n, const uint8_t *base, size_t len)
{
    const uint8_t *q = p;
    if (n == 0)
        return;
    if (q < base || q + n > base + len)
        abort();
}

static void check(const struct reality_client_hello *ch, const struct reality_server_cfg *cfg)
{
    const uint8_t *m = ch->msg.p;
    size_t n = ch->msg.len;
    inside(ch->random, 32, m, n);
    inside(ch->session_id.p, ch->session_id.len, m, n);
    inside(ch->sni.p, ch->sni.len, m, n);
    inside(ch->alpn_list.p, ch->alpn_list.len, m, n);
    inside(ch->key_share_list.p, ch->key_share_list.len, m, n);
    if (ch->x25519_share != NULL)
        inside(ch->x25519_share, 32, m, n);
    size_t pos = 0, count = 0;
    struct reality_key_share ks;
    while (reality_ch_next_key_share(ch, &pos, &ks) == 0) {
        inside(ks.data.p, ks.data.len, m, n);
        count++;
    }
    if (count != ch->n_key_shares)
        abort();
    struct reality_auth_result res;
    if (reality_auth(cfg, ch, 1795666314000ULL, &res) == 0 && res.outcome >= REALITY_OUTCOME__COUNT)
        abort();
    reality_auth_result_wipe(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct reality_server_cfg *cfg;
    if (cfg == NULL) {
        cfg = reality_server_cfg_new(server_key);
        if (cfg == NULL || reality_server_cfg_add_server_name(cfg, "www.example.com", 15) < 0 ||
            reality_server_cfg_add_server_name(cfg, "", 0) < 0 ||
            reality_server_cfg_add_short_id(cfg, "0123456789abcdef") < 0 || reality_server_cfg_freeze(cfg) < 0)
            abort();
    }
    struct buf scratch;
    buf_init(&scratch);
    struct reality_client_hello ch;
    if (reality_ch_peek(data, size, &scratch, &ch) == 0) {
        if (ch.record_bytes > size || ch.msg.len < 4)
            abort();
        check(&ch, cfg);
    }
    buf_dispose(&scratch);
    /* The same bytes as a bare handshake message. */
    if (reality_ch_parse_msg(data, size, &ch) == 0) {
        if (ch.msg.p != data || ch.msg.len != size)
            abort();
        check(&ch, cfg);
    }
    return 0;
}

/* Clash Meta / mihomo (and Stash) YAML (spec/ecosystem.md §a.5). Every string from data is
 * written as a double-quoted scalar, so names cannot break the document structure. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "hub/sub/sub_int.h"

#define GROUP_SELECT "Proxy"
#define GROUP_AUTO "Auto"
#define TEST_URL "http://www.gstatic.com/generate_204"

static const char yaml_head[] = "mixed-port: 7890\n"
                                "allow-lan: false\n"
                                "mode: rule\n"
                                "log-level: info\n"
                                "ipv6: true\n";

static const char yaml_rules[] = "rules:\n"
                                 "  - IP-CIDR,127.0.0.0/8,DIRECT,no-resolve\n"
                                 "  - IP-CIDR,10.0.0.0/8,DIRECT,no-resolve\n"
                                 "  - IP-CIDR,172.16.0.0/12,DIRECT,no-resolve\n"
                                 "  - IP-CIDR,192.168.0.0/16,DIRECT,no-resolve\n"
                                 "  - MATCH," GROUP_SELECT "\n";

int sub__yaml_str(struct buf *out, const char *s)
{
    static const char hexd[] = "0123456789ABCDEF";
    TRY(sub__put(out, "\""));
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i] != '\0'; i++) {
        unsigned char c = p[i];
        char esc[8];
        size_t n = 0;
        if (c == '"' || c == '\\') {
            esc[n++] = '\\';
            esc[n++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            esc[n++] = '\\';
            esc[n++] = 'x';
            esc[n++] = hexd[c >> 4];
            esc[n++] = hexd[c & 15];
        } else if (c == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
            /* C1 controls (incl. NEL) are not printable in YAML */
            esc[n++] = '\\';
            esc[n++] = 'x';
            esc[n++] = hexd[p[i + 1] >> 4];
            esc[n++] = hexd[p[i + 1] & 15];
            i++;
        } else if (c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
            esc[n++] = '\\';
            esc[n++] = p[i + 2] == 0xa8 ? 'L' : 'P'; /* line / paragraph separator */
            i += 2;
        } else if (c == 0xef && p[i + 1] == 0xbb && p[i + 2] == 0xbf) {
            memcpy(esc, "\\uFEFF", 6);
            n = 6;
            i += 2;
        } else {
            esc[n++] = (char)c;
        }
        TRY(buf_append(out, esc, n));
    }
    return sub__put(out, "\"");
}

static int kv_str(struct buf *out, const char *indent_key, const char *v)
{
    TRY(sub__put(out, indent_key));
    TRY(sub__yaml_str(out, v));
    return sub__put(out, "\n");
}

static int proxy(struct buf *out, const struct sub__ctx *c, const struct sub__entry *e)
{
    char port[32];
    snprintf(port, sizeof(port), "    port: %u\n", (unsigned)e->port);
    TRY(kv_str(out, "  - name: ", e->name));
    TRY(sub__put(out, "    type: vless\n"));
    TRY(kv_str(out, "    server: ", e->address));
    TRY(sub__put(out, port));
    TRY(kv_str(out, "    uuid: ", c->uuid));
    TRY(sub__put(out, "    network: tcp\n"));
    if (!e->reality)
        return sub__put(out, "    udp: false\n    tls: false\n");
    TRY(sub__put(out, "    udp: true\n    tls: true\n"));
    TRY(kv_str(out, "    servername: ", e->sni));
    if (e->flow[0] != '\0')
        TRY(kv_str(out, "    flow: ", e->flow));
    TRY(kv_str(out, "    client-fingerprint: ", e->fp));
    TRY(sub__put(out, "    reality-opts:\n"));
    TRY(kv_str(out, "      public-key: ", e->pbk));
    return kv_str(out, "      short-id: ", e->sid);
}

int sub__clash(const struct sub__ctx *c, bool legacy, struct buf *out)
{
    /* Legacy Clash cores cannot parse VLESS at all: list no proxies rather than break the file. */
    size_t n = legacy ? 0 : c->n_entries;
    bool autotest = n > 0 && c->state == SUB_USER_ACTIVE;
    TRY(sub__put(out, yaml_head));
    TRY(sub__put(out, n == 0 ? "proxies: []\n" : "proxies:\n"));
    for (size_t i = 0; i < n; i++)
        TRY(proxy(out, c, &c->entries[i]));
    TRY(sub__put(out, "proxy-groups:\n"));
    TRY(sub__put(out, "  - name: " GROUP_SELECT "\n    type: select\n    proxies:\n"));
    if (autotest)
        TRY(sub__put(out, "      - " GROUP_AUTO "\n"));
    for (size_t i = 0; i < n; i++)
        TRY(kv_str(out, "      - ", c->entries[i].name));
    if (n == 0)
        TRY(sub__put(out, "      - DIRECT\n"));
    if (autotest) {
        TRY(sub__put(out, "  - name: " GROUP_AUTO "\n    type: url-test\n    url: " TEST_URL
                          "\n    interval: 300\n    tolerance: 50\n    proxies:\n"));
        for (size_t i = 0; i < n; i++)
            TRY(kv_str(out, "      - ", c->entries[i].name));
    }
    return sub__put(out, yaml_rules);
}

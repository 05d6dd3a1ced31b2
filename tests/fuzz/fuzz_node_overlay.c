/* Fuzz target: the runtime user overlay (stateDir/users.json, and admin API request bodies,
 * which go through the same parser), applied to a fixed valid config. Invariants: parse
 * failures carry an error; a parsed overlay re-serialises and parses back to the same counts;
 * applying it either loads or reports errors, never crashes or leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "nodecfg/overlay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base[] =
    "{\"inbounds\": [{\"tag\": \"main\", \"port\": 443, \"protocol\": \"vless\","
    " \"settings\": {\"clients\": [{\"id\": \"alice\", \"email\": \"a@x\"}, {\"id\": "
    "\"b831381d-6324-4d53-ad4f-8cda48b30811\"}], \"decryption\": \"none\"},"
    " \"streamSettings\": {\"security\": \"reality\", \"realitySettings\": {"
    "   \"target\": \"www.example.com:443\", \"serverNames\": [\"www.example.com\"],"
    "   \"privateKey\": \"EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8\", \"shortIds\": [\"\"]}}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct cfg_ctx c;
    cfg_init(&c, "users.json");
    struct node_overlay o;
    node_overlay_init(&o);
    if (node_overlay_parse(&o, (const char *)data, size, &c) < 0) {
        if (c.n_errors == 0 || o.n_add || o.n_remove)
            abort();
    } else {
        struct buf b;
        buf_init(&b);
        if (node_overlay_write(&o, &b) < 0)
            abort();
        struct node_overlay back;
        node_overlay_init(&back);
        struct cfg_ctx c2;
        cfg_init(&c2, "again");
        if (node_overlay_parse(&back, (const char *)buf_data(&b), buf_len(&b), &c2) < 0 || back.n_add != o.n_add ||
            back.n_remove != o.n_remove)
            abort();
        node_overlay_dispose(&back);
        cfg_dispose(&c2);
        buf_dispose(&b);
        struct cfg_ctx c3;
        cfg_init(&c3, "node.json");
        struct node_cfg *cfg = node_overlay_load_cfg(base, sizeof(base) - 1, &o, &c3);
        if (cfg == NULL && c3.n_errors == 0)
            abort();
        node_cfg_unref(cfg);
        cfg_dispose(&c3);
    }
    node_overlay_dispose(&o);
    cfg_dispose(&c);
    return 0;
}

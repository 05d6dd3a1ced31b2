/* Fuzz target: the node config loader (JSON text from the operator or the admin API). Checks
 * that loading never crashes or leaks, that a failure always carries an error, and that a
 * success is self-consistent (every inbound has users' ids, server names and shortIds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "nodecfg/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct cfg_ctx c;
    cfg_init(&c, "fuzz.json");
    struct node_cfg *cfg = node_cfg_load(&c, (const char *)data, size);
    if (cfg == NULL) {
        if (c.n_errors == 0)
            abort(); /* refused without saying why */
    } else {
        if (c.n_errors != 0 || cfg->n_inbounds == 0)
            abort();
        for (size_t i = 0; i < cfg->n_inbounds; i++) {
            const struct node_inbound *in = &cfg->inbounds[i];
            if (in->port == 0 || in->n_server_names == 0 || in->n_short_ids == 0 || in->target_host == NULL)
                abort();
            for (size_t u = 0; u < in->n_users; u++)
                if (in->users[u].id_text == NULL)
                    abort();
        }
        const struct node_inbound *where;
        node_cfg_find_user(cfg, "x@y", &where);
        node_cfg_unref(node_cfg_ref(cfg));
        node_cfg_unref(cfg);
    }
    cfg_dispose(&c);
    return 0;
}

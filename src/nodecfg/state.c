#include "nodecfg/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "nodecfg/hubusers.h"

int node_state_file(const struct node_cfg *cfg, const char *name, char *out, size_t cap)
{
    if (cfg->state_dir == NULL)
        return ERR_NOT_FOUND;
    int n = snprintf(out, cap, "%s/%s", cfg->state_dir, name);
    return n > 0 && (size_t)n < cap ? 0 : ERR_TOO_LONG;
}

int node_state_hub_users(const struct node_cfg *cfg, struct node_overlay_user **users, size_t *n)
{
    *users = NULL;
    *n = 0;
    char path[4096];
    if (cfg->hub_url == NULL || node_state_file(cfg, "hub-users.json", path, sizeof(path)) < 0)
        return 0;
    struct sync_users_resp table;
    struct sync_err err = {{0}};
    int rc = node_hubsync_load_state(path, &table, &err);
    if (rc < 0) {
        log_warn("node", 0, "hub_state_unreadable", LF_STR("path", path),
                 LF_STR("err", err.msg[0] ? err.msg : err_str(rc)));
        return 0;
    }
    rc = node_hubsync_users(&table, users, n);
    sync_users_resp_dispose(&table);
    return rc;
}

void node_state_hub_reality(const struct node_cfg *cfg, struct sync_reality *out)
{
    memset(out, 0, sizeof(*out));
    char path[4096];
    if (cfg->hub_url == NULL || node_state_file(cfg, "hub-users.json", path, sizeof(path)) < 0)
        return;
    struct sync_users_resp table;
    struct sync_err err = {{0}};
    if (node_hubsync_load_state(path, &table, &err) < 0)
        return; /* logged by node_state_hub_users */
    *out = table.reality;
    sync_users_resp_dispose(&table);
}

struct node_cfg *node_state_load_cfg(const char *text, size_t len, struct node_overlay *o, struct cfg_ctx *c)
{
    struct node_overlay local;
    node_overlay_init(&local);
    if (o == NULL)
        o = &local;
    /* A first plain load tells where the state lives; its messages are kept only if it is the
     * final answer, so that each warning is reported once. */
    struct cfg_ctx first;
    cfg_init(&first, c->file);
    struct node_cfg *plain = node_cfg_load(&first, text, len);
    char sp[4096];
    bool has_users = plain && node_state_file(plain, "users.json", sp, sizeof(sp)) == 0;
    bool has_hub = plain && plain->hub_url && plain->state_dir;
    if (plain == NULL || (!has_users && !has_hub)) {
        cfg_take_msgs(c, &first);
        cfg_dispose(&first);
        return plain;
    }
    cfg_dispose(&first);
    struct node_overlay_user *hub = NULL;
    size_t n_hub = 0;
    int rc = node_state_hub_users(plain, &hub, &n_hub);
    struct sync_reality reality;
    node_state_hub_reality(plain, &reality);
    node_cfg_unref(plain);
    if (rc < 0) {
        cfg_error_global(c, "out of memory");
        return NULL;
    }
    struct cfg_ctx oc;
    cfg_init(&oc, sp);
    rc = node_overlay_load_file(o, sp, &oc);
    struct node_cfg *cfg = NULL;
    if (rc < 0) {
        cfg_take_msgs(c, &oc);
        if (c->n_errors == 0)
            cfg_error_global(c, "cannot read %s: %s", sp, err_str(rc));
    } else {
        cfg = node_overlay_load_cfg_full(text, len, o, hub, n_hub, &reality, c);
    }
    cfg_dispose(&oc);
    node_hubsync_users_free(hub, n_hub);
    node_overlay_dispose(&local);
    return cfg;
}

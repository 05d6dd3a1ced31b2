/* The hub's user table as the config loader needs it: read from stateDir/hub-users.json and
 * turned into overlay users. The sync thread (node/hubsync.c) writes that file. */
#include "nodecfg/hubusers.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "crypto/uuid5.h"
#include "core/err.h"
#include "core/log.h"
#include "nodecfg/statefile.h"

static enum node_flow flow_of(const char *s, bool *ok)
{
    *ok = true;
    if (*s == '\0')
        return NODE_FLOW_NONE;
    if (strcmp(s, "xtls-rprx-vision") == 0)
        return NODE_FLOW_VISION;
    *ok = false;
    return NODE_FLOW_NONE;
}

int node_hubsync_users(const struct sync_users_resp *table, struct node_overlay_user **out, size_t *n)
{
    struct node_overlay_user *v = calloc(table->n_users ? table->n_users : 1, sizeof(*v));
    if (v == NULL)
        return ERR_NOMEM;
    size_t k = 0; /* limits travel as the users' "veil" objects (node/limits.h) */
    for (size_t i = 0; i < table->n_users; i++) {
        const struct sync_user *u = &table->users[i];
        uint8_t id[16];
        bool ok;
        enum node_flow flow = flow_of(u->flow, &ok);
        if (!ok || uuid_from_string(id, u->uuid, strlen(u->uuid)) < 0) {
            log_warn("node", 0, "hub_user_skipped", LF_UINT("id", u->id), LF_STR("why", ok ? "bad uuid" : "bad flow"));
            continue;
        }
        v[k].id = strdup(u->uuid);
        v[k].email = u->email[0] ? strdup(u->email) : NULL;
        if (v[k].id == NULL || (u->email[0] && v[k].email == NULL)) {
            node_hubsync_users_free(v, k + 1);
            return ERR_NOMEM;
        }
        v[k].flow = flow;
        v[k].hub_id = u->id;
        v[k].device_limit = u->device_limit;
        v[k].max_conns = u->max_conns;
        v[k].speed_limit = u->speed_limit > INT64_MAX ? INT64_MAX : u->speed_limit;
        k++;
    }
    *out = v;
    *n = k;
    return 0;
}

void node_hubsync_users_free(struct node_overlay_user *u, size_t n)
{
    for (size_t i = 0; u && i < n; i++) {
        free(u[i].id);
        free(u[i].email);
    }
    free(u);
}

int node_hubsync_load_state(const char *path, struct sync_users_resp *table, struct sync_err *err)
{
    memset(table, 0, sizeof(*table));
    struct buf b;
    buf_init(&b);
    int rc = node_file_read(path, &b);
    if (rc == 0)
        rc = sync_users_resp_decode(table, (const char *)buf_data(&b), buf_len(&b), err);
    buf_dispose(&b);
    return rc == 1 ? 0 : rc; /* no file yet: an empty table */
}

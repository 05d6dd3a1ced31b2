/* The broadcast tables (bot_broadcast_store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/bot/bot_broadcast_store.h"
#include "hub/store/store.h"
#include "hub/store/store_sql.h"

struct create_arg {
    int64_t admin_id, now;
    const char *html, *actor;
    int64_t id, n;
};

static int create_body(struct store_conn *sc, void *arg)
{
    struct create_arg *a = arg;
    struct store_val p[] = {SV_I(a->admin_id), SV_T(a->html), SV_I(a->now)};
    struct store_res r;
    TRY(store__exec(sc, "INSERT INTO bot_broadcasts (admin_id, html, created_at) VALUES ($1, $2, $3) RETURNING id", p,
                    3, &r));
    a->id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    if (a->id <= 0)
        return ERR_IO;
    /* Every enabled Telegram user (plaintext or sealed id) whose chat is not marked blocked;
     * bot_chats names a sealed user by its ref (store_telegram_ref), hence the COALESCE. */
    struct store_val q[] = {SV_I(a->id), SV_I(a->now)};
    TRY(store__exec(sc,
                    "INSERT INTO bot_broadcast_recipients (broadcast_id, user_id, state, updated_at)"
                    " SELECT $1, u.id, 0, $2 FROM users u WHERE u.enabled = 1"
                    " AND (u.telegram_id IS NOT NULL OR u.telegram_enc IS NOT NULL) AND NOT EXISTS"
                    " (SELECT 1 FROM bot_chats c WHERE c.telegram_id = COALESCE(u.telegram_ref, u.telegram_id)"
                    " AND c.blocked <> 0)",
                    q, 2, &r));
    a->n = r.changes;
    store__res_free(&r);
    char details[64];
    snprintf(details, sizeof details, "{\"recipients\":%lld}", (long long)a->n);
    struct store_audit au = {.actor = a->actor, .action = "bot.broadcast", .details = details};
    return store__audit(sc, &au, a->now, "broadcast", a->id);
}

int bot_bc_store_create(struct store *st, int64_t admin_id, const char *html, int64_t now, const char *actor,
                        int64_t *id, int64_t *recipients)
{
    struct create_arg a = {.admin_id = admin_id, .now = now, .html = html, .actor = actor};
    TRY(store__tx(st, create_body, &a));
    *id = a.id;
    *recipients = a.n;
    return 0;
}

struct current_arg {
    int64_t id, admin_id;
    char *html;
};

static int current_body(struct store_conn *sc, void *arg)
{
    struct current_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT id, admin_id, html FROM bot_broadcasts WHERE done = 0 ORDER BY id LIMIT 1", NULL, 0,
                    &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows == 1) {
        a->id = store__cell_i64(&r, 0, 0);
        a->admin_id = store__cell_i64(&r, 0, 1);
        const char *h = store__cell(&r, 0, 2);
        a->html = strdup(h != NULL ? h : "");
        rc = a->html != NULL ? 0 : ERR_NOMEM;
    }
    store__res_free(&r);
    return rc;
}

int bot_bc_store_current(struct store *st, int64_t *id, int64_t *admin_id, char **html)
{
    struct current_arg a = {0};
    TRY(store__ro(st, current_body, &a));
    *id = a.id;
    *admin_id = a.admin_id;
    *html = a.html;
    return 0;
}

struct mark_arg {
    int64_t id, tg, from, to, now, changed;
};

static int recover_body(struct store_conn *sc, void *arg)
{
    struct mark_arg *a = arg;
    struct store_val p[] = {SV_I(BOT_BC_UNKNOWN), SV_I(a->now), SV_I(BOT_BC_SENDING)};
    struct store_res r;
    TRY(store__exec(sc, "UPDATE bot_broadcast_recipients SET state = $1, updated_at = $2 WHERE state = $3", p, 3, &r));
    a->changed = r.changes;
    store__res_free(&r);
    return 0;
}

int bot_bc_store_recover(struct store *st, int64_t now, int64_t *n)
{
    struct mark_arg a = {.now = now};
    TRY(store__tx(st, recover_body, &a));
    *n = a.changed;
    return 0;
}

struct pending_arg {
    int64_t id;
    int64_t *out;
    size_t cap, n;
};

static int pending_body(struct store_conn *sc, void *arg)
{
    struct pending_arg *a = arg;
    struct store_val p[] = {SV_I(a->id), SV_I(BOT_BC_PENDING), SV_I((int64_t)a->cap)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT user_id FROM bot_broadcast_recipients WHERE broadcast_id = $1 AND state = $2"
                    " ORDER BY user_id LIMIT $3",
                    p, 3, &r));
    for (a->n = 0; a->n < r.nrows && a->n < a->cap; a->n++)
        a->out[a->n] = store__cell_i64(&r, a->n, 0);
    store__res_free(&r);
    return 0;
}

int bot_bc_store_pending(struct store *st, int64_t id, int64_t *out, size_t cap, size_t *n)
{
    struct pending_arg a = {.id = id, .out = out, .cap = cap};
    TRY(store__ro(st, pending_body, &a));
    *n = a.n;
    return 0;
}

static int mark_body(struct store_conn *sc, void *arg)
{
    struct mark_arg *a = arg;
    struct store_val p[] = {SV_I(a->to), SV_I(a->now), SV_I(a->id), SV_I(a->tg), SV_I(a->from)};
    struct store_res r;
    TRY(store__exec(sc,
                    "UPDATE bot_broadcast_recipients SET state = $1, updated_at = $2"
                    " WHERE broadcast_id = $3 AND user_id = $4 AND state = $5",
                    p, 5, &r));
    a->changed = r.changes;
    store__res_free(&r);
    return a->changed == 1 ? 0 : ERR_BAD_STATE;
}

int bot_bc_store_mark(struct store *st, int64_t id, int64_t user_id, enum bot_bc_state from, enum bot_bc_state to,
                      int64_t now)
{
    struct mark_arg a = {.id = id, .tg = user_id, .from = from, .to = to, .now = now};
    return store__tx(st, mark_body, &a);
}

struct report_arg {
    struct bot_bc_report *out;
};

static int report_body(struct store_conn *sc, void *arg)
{
    struct report_arg *a = arg;
    struct bot_bc_report *o = a->out;
    struct store_val p[] = {SV_I(o->id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT admin_id, done FROM bot_broadcasts WHERE id = $1", p, 1, &r));
    int rc = r.nrows == 1 ? 0 : ERR_NOT_FOUND;
    if (rc == 0) {
        o->admin_id = store__cell_i64(&r, 0, 0);
        o->done = store__cell_i64(&r, 0, 1) != 0;
    }
    store__res_free(&r);
    TRY(rc);
    TRY(store__exec(sc, "SELECT state, COUNT(*) FROM bot_broadcast_recipients WHERE broadcast_id = $1 GROUP BY state",
                    p, 1, &r));
    for (size_t i = 0; i < r.nrows; i++) {
        int64_t state = store__cell_i64(&r, i, 0), n = store__cell_i64(&r, i, 1);
        o->recipients += n;
        switch (state) {
        case BOT_BC_PENDING:
        case BOT_BC_SENDING:
            o->pending += n;
            break;
        case BOT_BC_DELIVERED:
            o->delivered += n;
            break;
        case BOT_BC_BLOCKED:
            o->blocked += n;
            break;
        case BOT_BC_UNKNOWN:
            o->unknown += n;
            o->failed += n;
            break;
        default:
            o->failed += n;
            break;
        }
    }
    store__res_free(&r);
    return 0;
}

int bot_bc_store_report(struct store *st, int64_t id, struct bot_bc_report *out)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    struct report_arg a = {.out = out};
    return store__ro(st, report_body, &a);
}

static int finish_body(struct store_conn *sc, void *arg)
{
    struct mark_arg *a = arg;
    struct store_val p[] = {SV_I(a->now), SV_I(a->id), SV_I(BOT_BC_PENDING), SV_I(BOT_BC_SENDING)};
    struct store_res r;
    TRY(store__exec(sc,
                    "UPDATE bot_broadcasts SET done = 1, finished_at = $1 WHERE id = $2 AND done = 0 AND NOT EXISTS"
                    " (SELECT 1 FROM bot_broadcast_recipients WHERE broadcast_id = $2 AND state IN ($3, $4))",
                    p, 4, &r));
    a->changed = r.changes;
    store__res_free(&r);
    return 0;
}

int bot_bc_store_finish(struct store *st, int64_t id, int64_t now, bool *finished)
{
    struct mark_arg a = {.id = id, .now = now};
    TRY(store__tx(st, finish_body, &a));
    *finished = a.changed == 1;
    return 0;
}

/* The bot's tables (bot_store.h), through the store's SQL for feature folders (store_sql.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/bot/bot_store.h"
#include "hub/store/store.h"
#include "hub/store/store_sql.h"

struct i64_arg {
    int64_t a, b, c, d;
    bool flag;
    struct hub_sub sub;
};

static int offset_get_body(struct store_conn *sc, void *arg)
{
    struct i64_arg *x = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT value FROM bot_state WHERE name = 'offset'", NULL, 0, &r));
    x->a = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    return 0;
}

int bot_store_offset_get(struct store *st, int64_t *offset)
{
    struct i64_arg x = {0};
    TRY(store__ro(st, offset_get_body, &x));
    *offset = x.a;
    return 0;
}

static int offset_set_body(struct store_conn *sc, void *arg)
{
    struct i64_arg *x = arg;
    struct store_val p[] = {SV_I(x->a)};
    struct store_res r;
    TRY(store__exec(sc, "UPDATE bot_state SET value = $1 WHERE name = 'offset' AND value < $1", p, 1, &r));
    int64_t changed = r.changes;
    store__res_free(&r);
    if (changed > 0)
        return 0;
    TRY(store__exec(sc, "SELECT value FROM bot_state WHERE name = 'offset'", NULL, 0, &r));
    size_t have = r.nrows;
    store__res_free(&r);
    if (have > 0)
        return 0; /* a larger or equal offset is stored */
    return store__exec(sc, "INSERT INTO bot_state (name, value) VALUES ('offset', $1)", p, 1, NULL);
}

int bot_store_offset_set(struct store *st, int64_t offset)
{
    struct i64_arg x = {.a = offset};
    return store__tx(st, offset_set_body, &x);
}

static int trial_body(struct store_conn *sc, void *arg)
{
    struct i64_arg *x = arg; /* a: telegram id, b: user id, c: plan id, d: now */
    struct store_val pq[] = {SV_I(x->a)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT telegram_id FROM bot_trials WHERE telegram_id = $1", pq, 1, &r));
    size_t taken = r.nrows;
    store__res_free(&r);
    if (taken > 0)
        return ERR_EXISTS;
    int rc = store__sub_grant_tx(sc, x->b, x->c, x->d, &x->sub);
    if (rc == ERR_EXISTS)
        return ERR_BAD_STATE;
    TRY(rc);
    /* The primary key makes a concurrent second trial fail here and roll its grant back. */
    struct store_val pi[] = {SV_I(x->a), SV_I(x->b), SV_I(x->sub.id), SV_I(x->d)};
    TRY(store__exec(sc, "INSERT INTO bot_trials (telegram_id, user_id, subscription_id, at) VALUES ($1, $2, $3, $4)",
                    pi, 4, NULL));
    char target[40];
    snprintf(target, sizeof target, "user:%lld", (long long)x->b);
    struct store_audit au = {.actor = "bot", .action = "bot.trial", .target = target};
    return store__audit(sc, &au, x->d, NULL, 0);
}

int bot_store_trial(struct store *st, int64_t telegram_id, int64_t user_id, int64_t plan_id, int64_t now,
                    struct hub_sub *out)
{
    struct i64_arg x = {.b = user_id, .c = plan_id, .d = now};
    TRY(store_telegram_ref(st, telegram_id, &x.a)); /* not the id itself when ids are sealed */
    TRY(store__tx(st, trial_body, &x));
    if (out != NULL)
        *out = x.sub;
    return 0;
}

static int find_plan(struct store *st, const char *name, int64_t *id)
{
    struct hub_plan *plans;
    size_t n;
    TRY(store_plan_list(st, &plans, &n));
    int rc = ERR_NOT_FOUND;
    for (size_t i = 0; i < n; i++)
        if (strcmp(plans[i].name, name) == 0) {
            *id = plans[i].id;
            rc = 0;
            break;
        }
    free(plans);
    return rc;
}

int bot_store_trial_plan(struct store *st, int64_t days, int64_t now, int64_t *plan_id)
{
    char name[HUB_NAME_MAX + 1];
    snprintf(name, sizeof name, "Trial %lldd", (long long)days);
    int rc = find_plan(st, name, plan_id);
    if (rc != ERR_NOT_FOUND)
        return rc;
    struct hub_plan p = {.duration_days = days, .enabled = true, .reset = HUB_RESET_NONE};
    snprintf(p.name, sizeof p.name, "%s", name);
    struct store_audit au = {.actor = "bot", .action = "plan.create"};
    rc = store_plan_create(st, &p, now, &au);
    if (rc == ERR_EXISTS) /* another replica made it meanwhile */
        return find_plan(st, name, plan_id);
    TRY(rc);
    *plan_id = p.id;
    return 0;
}

static int blocked_set_body(struct store_conn *sc, void *arg)
{
    struct i64_arg *x = arg;
    struct store_val p[] = {SV_I(x->a), SV_I(x->flag ? 1 : 0), SV_I(x->d)};
    struct store_res r;
    TRY(store__exec(sc, "UPDATE bot_chats SET blocked = $2, updated_at = $3 WHERE telegram_id = $1", p, 3, &r));
    int64_t changed = r.changes;
    store__res_free(&r);
    if (changed > 0)
        return 0;
    return store__exec(sc, "INSERT INTO bot_chats (telegram_id, blocked, updated_at) VALUES ($1, $2, $3)", p, 3, NULL);
}

int bot_store_blocked_set(struct store *st, int64_t telegram_id, bool blocked, int64_t now)
{
    struct i64_arg x = {.flag = blocked, .d = now};
    TRY(store_telegram_ref(st, telegram_id, &x.a));
    return store__tx(st, blocked_set_body, &x);
}

static int blocked_get_body(struct store_conn *sc, void *arg)
{
    struct i64_arg *x = arg;
    struct store_val p[] = {SV_I(x->a)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT blocked FROM bot_chats WHERE telegram_id = $1", p, 1, &r));
    x->flag = r.nrows == 1 && store__cell_i64(&r, 0, 0) != 0;
    store__res_free(&r);
    return 0;
}

int bot_store_blocked_get(struct store *st, int64_t telegram_id, bool *blocked)
{
    struct i64_arg x = {0};
    TRY(store_telegram_ref(st, telegram_id, &x.a));
    TRY(store__ro(st, blocked_get_body, &x));
    *blocked = x.flag;
    return 0;
}

struct state_arg {
    const char *name;
    int64_t def, value;
};

static int state_init_body(struct store_conn *sc, void *arg)
{
    struct state_arg *x = arg;
    struct store_val p[] = {SV_T(x->name), SV_I(x->def)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT value FROM bot_state WHERE name = $1", p, 1, &r));
    bool have = r.nrows == 1;
    x->value = have ? store__cell_i64(&r, 0, 0) : x->def;
    store__res_free(&r);
    if (have)
        return 0;
    return store__exec(sc, "INSERT INTO bot_state (name, value) VALUES ($1, $2)", p, 2, NULL);
}

int bot_store_state_init(struct store *st, const char *name, int64_t def, int64_t *value)
{
    struct state_arg x = {.name = name, .def = def};
    TRY(store__tx(st, state_init_body, &x));
    *value = x.value;
    return 0;
}

struct notice_arg {
    const char *kind;
    int64_t ref_id, telegram_id, now;
};

static int claim_body(struct store_conn *sc, void *arg)
{
    struct notice_arg *x = arg;
    struct store_val p[] = {SV_T(x->kind), SV_I(x->ref_id), SV_I(x->telegram_id), SV_I(x->now)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT at FROM bot_notices WHERE kind = $1 AND ref_id = $2", p, 2, &r));
    size_t have = r.nrows;
    store__res_free(&r);
    if (have > 0)
        return ERR_EXISTS;
    /* The primary key fails a concurrent claim of the same event. */
    return store__exec(sc, "INSERT INTO bot_notices (kind, ref_id, telegram_id, at) VALUES ($1, $2, $3, $4)", p, 4,
                       NULL);
}

int bot_store_notice_claim(struct store *st, const char *kind, int64_t ref_id, int64_t telegram_id, int64_t now)
{
    struct notice_arg x = {.kind = kind, .ref_id = ref_id, .now = now};
    TRY(store_telegram_ref(st, telegram_id, &x.telegram_id));
    return store__tx(st, claim_body, &x);
}

static int unclaim_body(struct store_conn *sc, void *arg)
{
    struct notice_arg *x = arg;
    struct store_val p[] = {SV_T(x->kind), SV_I(x->ref_id)};
    return store__exec(sc, "DELETE FROM bot_notices WHERE kind = $1 AND ref_id = $2", p, 2, NULL);
}

int bot_store_notice_unclaim(struct store *st, const char *kind, int64_t ref_id)
{
    struct notice_arg x = {.kind = kind, .ref_id = ref_id};
    return store__tx(st, unclaim_body, &x);
}

struct paid_arg {
    int64_t since;
    struct bot_paid *out;
    size_t cap, n;
};

static int paid_body(struct store_conn *sc, void *arg)
{
    struct paid_arg *x = arg;
    struct store_val p[] = {SV_I(x->since), SV_I((int64_t)x->cap)};
    struct store_res r;
    TRY(store__exec(
        sc,
        "SELECT p.id, p.user_id, u.telegram_id, u.telegram_enc FROM payments p JOIN users u ON u.id = p.user_id"
        " WHERE p.settled_at >= $1 AND p.status = 'succeeded'"
        " AND (u.telegram_id IS NOT NULL OR u.telegram_enc IS NOT NULL)"
        " AND NOT EXISTS (SELECT 1 FROM bot_chats c WHERE c.telegram_id = COALESCE(u.telegram_ref, u.telegram_id) AND "
        "c.blocked <> 0)"
        " AND NOT EXISTS (SELECT 1 FROM bot_notices n WHERE n.kind = 'paid' AND n.ref_id = p.id)"
        " ORDER BY p.settled_at, p.id LIMIT $2",
        p, 2, &r));
    x->n = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r.nrows && x->n < x->cap; i++, x->n++) {
        x->out[x->n].payment_id = store__cell_i64(&r, i, 0);
        x->out[x->n].user_id = store__cell_i64(&r, i, 1);
        /* sealed Telegram ids (store_seal.c) are opened here */
        rc = store__user_telegram(sc, &r, i, 1, 2, 3, &x->out[x->n].telegram_id);
    }
    store__res_free(&r);
    return rc;
}

int bot_store_paid_unnoticed(struct store *st, int64_t since, struct bot_paid *out, size_t cap, size_t *n)
{
    struct paid_arg x = {.since = since, .out = out, .cap = cap};
    TRY(store__ro(st, paid_body, &x));
    *n = x.n;
    return 0;
}

static const char *const remind_prefix[BOT_REMIND__COUNT] = {"exp3@", "exp1@", "expired@"};

void bot_remind_kind(enum bot_remind k, int64_t ends_at, char out[static 40])
{
    snprintf(out, 40, "%s%" PRId64, remind_prefix[(unsigned)k < BOT_REMIND__COUNT ? k : 0], ends_at);
}

struct due_arg {
    enum bot_remind k;
    int64_t now;
    struct bot_due *out;
    size_t cap, n;
};

static int due_body(struct store_conn *sc, void *arg)
{
    struct due_arg *x = arg;
    int64_t lo, hi;
    switch (x->k) {
    case BOT_REMIND_3D:
        lo = x->now + 86400;
        hi = x->now + 3 * 86400;
        break;
    case BOT_REMIND_1D:
        lo = x->now;
        hi = x->now + 86400;
        break;
    case BOT_REMIND_EXPIRED:
    case BOT_REMIND__COUNT:
    default:
        lo = x->now - BOT_REMIND_EXPIRED_WINDOW;
        hi = x->now;
        break;
    }
    const char *states = x->k == BOT_REMIND_EXPIRED ? "('active', 'limited', 'expired')" : "('active', 'limited')";
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT s.id, s.user_id, u.telegram_id, s.ends_at, u.telegram_enc FROM subscriptions s"
             " JOIN users u ON u.id = s.user_id"
             " WHERE s.ends_at > $1 AND s.ends_at <= $2 AND s.state IN %s"
             " AND (u.telegram_id IS NOT NULL OR u.telegram_enc IS NOT NULL)"
             " AND u.enabled = 1"
             " AND NOT EXISTS (SELECT 1 FROM bot_chats c WHERE c.telegram_id = COALESCE(u.telegram_ref, u.telegram_id) "
             "AND c.blocked <> 0)"
             " AND NOT EXISTS (SELECT 1 FROM subscriptions o WHERE o.user_id = s.user_id AND o.id <> s.id"
             " AND o.state IN ('active', 'limited') AND o.ends_at > s.ends_at)"
             " AND NOT EXISTS (SELECT 1 FROM bot_notices n WHERE n.ref_id = s.id"
             " AND n.kind = CAST($3 AS TEXT) || CAST(s.ends_at AS TEXT))"
             " ORDER BY s.ends_at, s.id LIMIT $4",
             states);
    struct store_val p[] = {SV_I(lo), SV_I(hi), SV_T(remind_prefix[x->k]), SV_I((int64_t)x->cap)};
    struct store_res r;
    TRY(store__exec(sc, sql, p, 4, &r));
    x->n = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r.nrows && x->n < x->cap; i++, x->n++) {
        struct bot_due *d = &x->out[x->n];
        d->sub_id = store__cell_i64(&r, i, 0);
        d->user_id = store__cell_i64(&r, i, 1);
        d->ends_at = store__cell_i64(&r, i, 3);
        rc = store__user_telegram(sc, &r, i, 1, 2, 4, &d->telegram_id);
    }
    store__res_free(&r);
    return rc;
}

int bot_store_reminders_due(struct store *st, enum bot_remind k, int64_t now, struct bot_due *out, size_t cap,
                            size_t *n)
{
    if ((unsigned)k >= BOT_REMIND__COUNT)
        return ERR_RANGE;
    struct due_arg x = {.k = k, .now = now, .out = out, .cap = cap};
    TRY(store__ro(st, due_body, &x));
    *n = x.n;
    return 0;
}

struct ref_arg {
    int64_t user_id;
    struct bot_ref_stats *out;
};

static int ref_body(struct store_conn *sc, void *arg)
{
    struct ref_arg *x = arg;
    struct store_val p[] = {SV_I(x->user_id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT count(*) FROM users WHERE referrer_id = $1", p, 1, &r));
    x->out->invited = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    TRY(store__exec(sc,
                    "SELECT currency, CAST(sum(amount_minor) AS BIGINT) FROM referral_rewards WHERE referrer_id = $1"
                    " GROUP BY currency ORDER BY currency",
                    p, 1, &r));
    x->out->n_earned = 0;
    for (size_t i = 0; i < r.nrows && i < BOT_REF_CURRENCIES; i++) {
        snprintf(x->out->earned[i].currency, sizeof x->out->earned[i].currency, "%s", store__cell(&r, i, 0));
        x->out->earned[i].amount_minor = store__cell_i64(&r, i, 1);
        x->out->n_earned++;
    }
    store__res_free(&r);
    return 0;
}

int bot_store_ref_stats(struct store *st, int64_t user_id, struct bot_ref_stats *out)
{
    memset(out, 0, sizeof *out);
    struct ref_arg x = {.user_id = user_id, .out = out};
    return store__ro(st, ref_body, &x);
}

struct lease_arg {
    const char *name, *holder;
};

static int lease_release_body(struct store_conn *sc, void *arg)
{
    struct lease_arg *x = arg;
    struct store_val p[] = {SV_T(x->name), SV_T(x->holder)};
    return store__exec(sc, "DELETE FROM locks WHERE name = $1 AND holder = $2", p, 2, NULL);
}

int bot_store_lease_release(struct store *st, const char *name, const char *holder)
{
    struct lease_arg x = {.name = name, .holder = holder};
    return store__tx(st, lease_release_body, &x);
}

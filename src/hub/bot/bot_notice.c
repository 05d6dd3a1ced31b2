/* One notice, claimed before it is sent (bot_customer.h: bot_notice_send). */
#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_store.h"
#include "hub/store/store_sql.h"

int bot_notice_send(struct bot *b, const char *kind, int64_t ref_id, int64_t telegram_id, const char *html, json_t *kbd,
                    int64_t now)
{
    int rc = bot_store_notice_claim(b->st, kind, ref_id, telegram_id, now);
    if (rc == ERR_EXISTS) {
        json_decref(kbd);
        return 0;
    }
    if (rc < 0) {
        json_decref(kbd);
        return rc;
    }
    bool blocked = false;
    if ((rc = bot_store_blocked_get(b->st, telegram_id, &blocked)) < 0 || blocked) {
        json_decref(kbd);
        (void)bot_store_notice_unclaim(b->st, kind, ref_id); /* sent once the chat is back */
        return rc;
    }
    rc = bot_send_text(b, telegram_id, html, kbd);
    if (bot_err_transient(rc) || rc == ERR_CLOSED || rc == ERR_LIMIT || rc == ERR_AUTH) {
        /* A passing failure: the next drain tries again. A 403 (now marked blocked): sent when a
         * my_chat_member "member" update or a new /start clears the mark. */
        (void)bot_store_notice_unclaim(b->st, kind, ref_id);
        return rc == ERR_AUTH ? 0 : rc;
    }
    log_info("bot", 0, "notice", LF_STR("kind", kind), LF_INT("ref", ref_id), LF_INT("chat", telegram_id),
             LF_STR("result", rc == 0 ? "sent" : err_str(rc)));
    return rc == 0 ? 1 : 0; /* a 400 is not retried */
}

int bot__telegram_of(struct store_conn *sc, const struct store_res *r, size_t i, size_t id_col, size_t tg_col,
                     size_t enc_col, int64_t *telegram_id, bool *blocked)
{
    *blocked = false;
    TRY(store__user_telegram(sc, r, i, id_col, tg_col, enc_col, telegram_id));
    if (store__cell(r, i, enc_col) == NULL)
        return 0; /* plaintext: the query's bot_chats condition saw it */
    /* Queries join bot_chats on COALESCE(u.telegram_ref, u.telegram_id) already; checked here
     * too, by the ref bot_chats stores for a sealed id (store_telegram_ref). */
    int64_t ref;
    TRY(store_telegram_ref(sc->st, *telegram_id, &ref));
    struct store_val p[] = {SV_I(ref)};
    struct store_res b;
    TRY(store__exec(sc, "SELECT blocked FROM bot_chats WHERE telegram_id = $1", p, 1, &b));
    *blocked = b.nrows == 1 && store__cell_i64(&b, 0, 0) != 0;
    store__res_free(&b);
    return 0;
}

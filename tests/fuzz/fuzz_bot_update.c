/* Fuzzes the Telegram input the bot parses: the first byte picks a webhook Update body, a
 * getUpdates answer (the envelope, then each listed update) or callback data. Accepted input must
 * yield values inside their documented bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct bot_update *u)
{
    if (u->update_id < 0 || (unsigned)u->kind >= BOT_UPD__COUNT || strlen(u->text) > BOT_TEXT_MAX)
        abort();
    if (u->kind != BOT_UPD_OTHER && u->from_id <= 0)
        abort();
    if ((u->kind == BOT_UPD_CALLBACK || u->kind == BOT_UPD_PRECHECKOUT) && u->query_id[0] == '\0')
        abort();
    if (u->kind == BOT_UPD_CALLBACK && strlen(u->text) > BOT_CALLBACK_MAX)
        abort();
    if (u->paid && (u->charge_id[0] == '\0' || u->total_amount < 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] % 3;
    char *body = malloc(size); /* exact size plus a NUL for the callback-data case */
    if (body == NULL)
        return 0;
    memcpy(body, data + 1, size - 1);
    size_t n = size - 1;
    body[n] = '\0';
    struct bot_update u;
    if (which == 0) {
        if (bot_update_parse(body, n, &u) == 0)
            check(&u);
    } else if (which == 1) {
        struct bot_reply r;
        if (bot_reply_parse(body, n, &r) == 0) {
            if (r.retry_after < 0 || r.retry_after > 86400 || (r.result != NULL && !r.ok))
                abort();
            size_t i;
            json_t *j;
            json_array_foreach(r.result, i, j)
            {
                if (bot_update_from_json(j, &u) == 0)
                    check(&u);
            }
            bot_reply_dispose(&r);
        }
    } else {
        int64_t id;
        enum billing_prov prov;
        enum bot_cb cb = bot_cb_parse(body, &id, &prov);
        if ((cb == BOT_CB_PLAN || cb == BOT_CB_PAY) && id <= 0)
            abort();
        if (cb == BOT_CB_PAY && (unsigned)prov >= BILLING__COUNT)
            abort();
    }
    free(body);
    return 0;
}

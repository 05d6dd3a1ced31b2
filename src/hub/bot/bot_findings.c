/* Suspicious-activity findings (hub/analysis/) told to the bot's admins, once per finding
 * (bot_notices kind "finding"), from the notices job. Only findings opened since the bot first
 * drained them are sent, so a new bot does not replay an old backlog. */
#include <inttypes.h>
#include <stdio.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_notify.h"
#include "hub/bot/bot_store.h"
#include "hub/bot/bot_text.h"
#include "hub/store/store_findings.h"

static int tell_admins(struct bot *b, const struct store_finding *f)
{
    char kind[80], subject[200], html[512];
    bot_html_escape(f->kind, kind, sizeof kind);
    bot_html_escape(f->subject, subject, sizeof subject);
    snprintf(html, sizeof html,
             "\u26a0\ufe0f Suspicious activity: <b>%s</b> (%s)\n%s\nGET /api/v1/findings?state=open, finding %" PRId64,
             kind, f->severity, subject, f->id);
    int rc = 0;
    for (size_t i = 0; i < b->cfg.n_admins; i++) {
        int r = bot_send_text(b, b->cfg.admins[i], html, NULL);
        if (r < 0 && rc == 0)
            rc = r;
    }
    return rc;
}

int bot_notify_findings(struct bot *b, int64_t now, int *sent)
{
    if (sent != NULL)
        *sent = 0;
    if (b->cfg.n_admins == 0)
        return 0;
    int64_t since;
    TRY(bot_store_state_init(b->st, "findings_since", now, &since));
    struct store_finding_filter flt = {.state = "open", .limit = BOT_NOTIFY_BATCH};
    struct store_finding *list;
    size_t n;
    TRY(store_finding_list(b->st, &flt, &list, &n));
    int rc = 0, count = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (list[i].first_seen < since)
            continue;
        int c = bot_store_notice_claim(b->st, "finding", list[i].id, b->cfg.admins[0], now);
        if (c == ERR_EXISTS)
            continue;
        if ((rc = c) < 0)
            break;
        rc = tell_admins(b, &list[i]);
        if (bot_err_transient(rc) || rc == ERR_CLOSED || rc == ERR_LIMIT) {
            (void)bot_store_notice_unclaim(b->st, "finding", list[i].id); /* the next drain tries again */
            break;
        }
        log_info("bot", 0, "finding_notice", LF_INT("finding", list[i].id), LF_STR("kind", list[i].kind),
                 LF_STR("result", rc == 0 ? "sent" : err_str(rc)));
        rc = 0; /* a permanent refusal (blocked chat) is not retried */
        count++;
    }
    store_findings_free(list, n);
    if (sent != NULL)
        *sent = count;
    return rc;
}

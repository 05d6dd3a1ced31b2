/* Suspicious-activity findings (hub/analysis/) told to the bot's admins, once per finding
 * (bot_notices kind "finding"), from the notices job. Only findings opened since the bot first
 * drained them are sent, so a new bot does not replay an old backlog. A leaked_link notice
 * carries a "Rotate link" button (issue 16 item 5: one click); its press is handled here too. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secure.h"
#include "crypto/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_admin.h"
#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_notify.h"
#include "hub/bot/bot_store.h"
#include "hub/bot/bot_text.h"
#include "hub/cache/cache.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"
#include "hub/store/store_findings.h"

#define ROTATE_CB "frot:"            /* "frot:<finding id>:<user id>" */
#define ROTATE_KIND "finding_rotate" /* bot_notices: one rotation per finding, however many presses */

static void notice_text(const struct store_finding *f, char html[static 512])
{
    char kind[80], subject[200];
    bot_html_escape(f->kind, kind, sizeof kind);
    bot_html_escape(f->subject, subject, sizeof subject);
    snprintf(html, 512,
             "\u26a0\ufe0f Suspicious activity: <b>%s</b> (%s)\n%s\nGET /api/v1/findings?state=open, finding %" PRId64,
             kind, f->severity, subject, f->id);
}

/* The user a leaked_link finding is about (subject "user:<id>"), or 0. */
static int64_t leaked_user(const struct store_finding *f)
{
    if (strcmp(f->kind, "leaked_link") != 0 || strncmp(f->subject, "user:", 5) != 0)
        return 0;
    char *end;
    long long id = strtoll(f->subject + 5, &end, 10);
    return *end == '\0' && id > 0 ? (int64_t)id : 0;
}

static json_t *rotate_keyboard(const struct store_finding *f)
{
    int64_t user = leaked_user(f);
    if (user == 0)
        return NULL;
    char data[64];
    snprintf(data, sizeof data, ROTATE_CB "%" PRId64 ":%" PRId64, f->id, user);
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    /* NULL on failure: the notice still goes out, without the button. */
    return bot_kbd_wrap(rows, bot_kbd_row(rows, bot_kbd_button("\U0001f504 Rotate link", data)));
}

static int tell_admins(struct bot *b, const struct store_finding *f)
{
    char html[512];
    notice_text(f, html);
    int rc = 0;
    for (size_t i = 0; i < b->cfg.n_admins; i++) {
        int r = bot_send_text(b, b->cfg.admins[i], html, rotate_keyboard(f));
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

/* "frot:<finding id>:<user id>", both > 0. */
static bool parse_rotate(const char *data, int64_t *finding, int64_t *user)
{
    const char *p = data + strlen(ROTATE_CB);
    char *end;
    long long f = strtoll(p, &end, 10);
    if (end == p || *end != ':' || f <= 0)
        return false;
    p = end + 1;
    long long us = strtoll(p, &end, 10);
    if (end == p || *end != '\0' || us <= 0)
        return false;
    *finding = f;
    *user = us;
    return true;
}

static int rotate_token(struct bot *b, const struct bot_update *u, int64_t user, int64_t finding)
{
    uint8_t rnd[HUB_SUB_TOKEN_RAND];
    char tok[HUB_TOKEN_MAX + 1];
    TRY(crypto_random(rnd, sizeof rnd));
    hub_sub_token_format(tok, rnd);
    secure_wipe(rnd, sizeof rnd);
    char actor[32], target[40], details[80];
    snprintf(actor, sizeof actor, "tg:%" PRId64, u->from_id);
    snprintf(target, sizeof target, "user:%" PRId64, user);
    snprintf(details, sizeof details, "{\"via\":\"bot\",\"finding\":%" PRId64 "}", finding);
    struct store_audit a = {.actor = actor, .action = "user.rotate_token", .target = target, .details = details};
    int rc = store_user_set_token(b->st, user, tok, &a);
    secure_wipe(tok, sizeof tok);
    return rc;
}

/* The press itself: one rotation per finding (bot_notices ROTATE_KIND claimed first, so a second
 * press, or another admin's copy of the notice, does not break the link the customer got next). */
static int on_rotate(struct bot *b, const struct bot_update *u, int64_t finding, int64_t user, int64_t now,
                     const char **alert)
{
    char subject[40];
    snprintf(subject, sizeof subject, "user:%" PRId64, user);
    struct store_finding_filter flt = {.kind = "leaked_link", .subject = subject, .limit = 1};
    struct store_finding *list;
    size_t n;
    TRY(store_finding_list(b->st, &flt, &list, &n));
    if (n != 1 || list[0].id != finding) {
        store_findings_free(list, n);
        *alert = "That finding no longer exists.";
        return 0;
    }
    int rc = bot_store_notice_claim(b->st, ROTATE_KIND, finding, u->from_id, now);
    if (rc == ERR_EXISTS) {
        store_findings_free(list, n);
        *alert = "Already rotated for this finding; the current link is left as it is.";
        return 0;
    }
    if (rc == 0 && (rc = rotate_token(b, u, user, finding)) < 0)
        (void)bot_store_notice_unclaim(b->st, ROTATE_KIND, finding);
    if (rc == ERR_NOT_FOUND) {
        store_findings_free(list, n);
        *alert = "That user no longer exists.";
        return 0;
    }
    if (rc < 0) {
        store_findings_free(list, n);
        return rc;
    }
    if (b->cache != NULL)
        hcache_gen_bump(b->cache); /* cached /sub answers for the old token end now, on every hub */
    log_warn("bot", 0, "sub_token_rotated", LF_INT("admin", u->from_id), LF_INT("user", user),
             LF_INT("finding", finding));
    char html[512], done[700];
    notice_text(&list[0], html);
    store_findings_free(list, n);
    snprintf(done, sizeof done, "%s\n\u2705 Link rotated by tg:%" PRId64 ": the old link stopped working.", html,
             u->from_id);
    (void)bot_show(b, u, done, NULL); /* the notice loses its button; the rotation is done either way */
    *alert = "Link rotated.";
    return 0;
}

bool bot_findings_callback(struct bot *b, const struct bot_update *u, int64_t now, const char **alert, int *rc)
{
    if (strncmp(u->text, ROTATE_CB, strlen(ROTATE_CB)) != 0)
        return false;
    *rc = 0;
    int64_t finding, user;
    if (!bot_admin_is(&b->cfg, u->from_id)) {
        log_warn("bot", 0, "rotate_refused", LF_INT("from", u->from_id));
        *alert = "Admins only.";
    } else if (!parse_rotate(u->text, &finding, &user)) {
        *alert = "That finding no longer exists.";
    } else {
        *rc = on_rotate(b, u, finding, user, now, alert);
    }
    return true;
}

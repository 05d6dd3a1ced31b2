/* POST /admin/users: a new customer from the users page's form (admin role, CSRF, audited as
 * user.create with {"via":"dashboard"}). The form becomes the API's JSON and is checked by
 * api_parse_user_create, then written by store_user_create like POST /api/v1/users; the new
 * user's page follows. */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/html.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/admin/admin.h"
#include "hub/admin/admin_http.h"
#include "hub/admin/admin_pages.h"
#include "hub/admin/admin_routes.h"
#include "hub/api/api_route.h"
#include "hub/api/api_valid.h"
#include "hub/domain/rules.h"

/* The refusal as a page with a way back (the form's values are short: typed again). */
static void refuse(struct api_call *c, const struct admin_session *s, int status, const char *why)
{
    struct buf b;
    buf_init(&b);
    int rc = admin_layout_top(&b, "New user", s);
    if (rc == 0)
        rc = admin_put(&b, "<p role=\"alert\" id=\"error\">");
    if (rc == 0)
        rc = html_escape_str(&b, why);
    if (rc == 0)
        rc = admin_put(&b, "</p><p><a href=\"/admin/users\">Back to the users</a></p>\n");
    if (rc == 0)
        rc = admin_layout_end(&b);
    admin_send_page(c, status, &b, rc);
}

static void on_create(struct api_call *c)
{
    struct admin_session s;
    if (!admin_changer(c, &s))
        return;
    char name[ADMIN_FORM_MAX] = "", tg[ADMIN_FORM_MAX] = "", lang[ADMIN_FORM_MAX] = "";
    admin_field(c, "username", name, sizeof name);
    admin_field(c, "telegram_id", tg, sizeof tg);
    admin_field(c, "language", lang, sizeof lang);
    json_t *j = json_object();
    if (j != NULL) {
        json_object_set_new(j, "username", json_string(name));
        if (lang[0] != '\0')
            json_object_set_new(j, "language", json_string(lang));
        if (tg[0] != '\0') {
            char *end;
            long long v = strtoll(tg, &end, 10);
            /* not a number: sent as text, so the API's own check refuses it */
            json_object_set_new(j, "telegram_id", *end == '\0' ? json_integer(v) : json_string(tg));
        }
    }
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (j != NULL)
        json_object_set_new(j, "via", json_string("dashboard"));
    char *det = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct hub_user u;
    struct api_verr e = {0};
    if (body == NULL || det == NULL) {
        free(body);
        free(det);
        api_reply_error(c, 500, "internal", "out of memory");
        return;
    }
    int rc = api_parse_user_create(body, strlen(body), &u, &e);
    free(body);
    if (rc < 0) {
        free(det);
        refuse(c, &s, 422, e.msg);
        return;
    }
    uint8_t rnd[16 + HUB_SUB_TOKEN_RAND + HUB_REFCODE_LEN];
    if (crypto_random(rnd, sizeof rnd) < 0) {
        free(det);
        api_reply_error(c, 500, "internal", "random generator failed");
        return;
    }
    hub_uuid_v4_format(u.uuid, rnd);
    hub_sub_token_format(u.sub_token, rnd + 16);
    hub_refcode_format(u.referral_code, rnd + 16 + HUB_SUB_TOKEN_RAND);
    secure_wipe(rnd, sizeof rnd);
    char actor[32];
    admin_actor(&s, actor);
    struct store_audit a = {.actor = actor, .action = "user.create", .source_ip = api_call_ip(c), .details = det};
    rc = store_user_create(api_call_store(c), &u, api_call_now(c), &a);
    free(det);
    if (rc == ERR_EXISTS) {
        refuse(c, &s, 409, "A user with this name or Telegram id exists.");
        return;
    }
    if (rc < 0) {
        admin_store_error(c, rc, "user");
        return;
    }
    api_call_changed(c, false);
    admin_redirectf(c, "/admin/users/%" PRId64 "?done=created", u.id);
}

void admin_user_create_routes(void)
{
    static const struct admin_post posts[] = {{"/admin/users", on_create}};
    ADMIN_POSTS(posts);
}

/* YooKassa (spec/ecosystem.md §b.1): payments created with Basic auth and an Idempotence-Key
 * (the attempt's own key, so a retry cannot make a second payment); notifications carry no
 * signature, so they are accepted only from YooKassa's networks and then the payment is
 * fetched back from the API and that object, not the posted one, is acted on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/secure.h"
#include "hub/billing/billing_int.h"

static const char *yk_currency(const struct billing_cfg *cfg)
{
    return cfg->yookassa.currency;
}

static void userpwd(const struct billing *b, char out[static 322])
{
    snprintf(out, 322, "%s:%s", b->cfg.yookassa.shop_id, b->cfg.yookassa.secret_key);
}

/* POST with the idempotence key; a timeout or 5xx is retried once with the same key (the
 * result of the first try is unknown, the key makes the retry safe). */
static int yk_post(struct billing *b, const char *path, const char *key, const char *body,
                   struct billing_http_resp *resp)
{
    char url[320], idem[160], up[322];
    snprintf(url, sizeof url, "%s%s", b->cfg.yookassa.api_url, path);
    snprintf(idem, sizeof idem, "Idempotence-Key: %s", key);
    userpwd(b, up);
    const char *hdrs[] = {"Content-Type: application/json", idem, NULL};
    struct billing_http_req req = {
        .method = "POST", .url = url, .headers = hdrs, .body = body, .body_len = strlen(body), .userpwd = up};
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = billing__http(b, &req, resp);
        if (rc == 0 && resp->status < 500)
            break;
        if (rc == 0 && attempt == 0) {
            free(resp->body);
            resp->body = NULL;
        }
    }
    secure_wipe(up, sizeof up);
    if (rc == 0 && resp->status != 200) {
        log_warn("billing", 0, "yookassa_http", LF_STR("path", path), LF_INT("status", resp->status));
        free(resp->body);
        resp->body = NULL;
        return ERR_IO;
    }
    return rc;
}

static int yk_create(struct billing *b, const struct hub_payment *p, const struct hub_user *u,
                     const struct hub_plan *plan, char external_id[static 129], char pay_url[static 512])
{
    char value[32], pid[24], uid[24], desc[129];
    billing_minor_to_decimal(p->amount_minor, billing_currency_exp(p->currency), value);
    snprintf(pid, sizeof pid, "%lld", (long long)p->id);
    snprintf(uid, sizeof uid, "%lld", (long long)u->id);
    if (plan != NULL)
        snprintf(desc, sizeof desc, "%.100s (#%lld)", plan->name, (long long)p->id);
    else
        snprintf(desc, sizeof desc, "Balance top-up (#%lld)", (long long)p->id);
    json_t *body =
        json_pack("{s:{s:s,s:s},s:b,s:{s:s,s:s},s:s,s:{s:s,s:s}}", "amount", "value", value, "currency", p->currency,
                  "capture", 1, "confirmation", "type", "redirect", "return_url", b->cfg.yookassa.return_url,
                  "description", desc, "metadata", "payment_id", pid, "user_id", uid);
    if (body == NULL)
        return ERR_NOMEM;
    if (b->cfg.yookassa.receipt) {
        /* 54-FZ receipt: one service line. The customer contact comes from the bot issue's
         * user profile; until users have an email/phone, the shop's settings supply it. */
        json_t *item =
            json_pack("{s:s,s:s,s:{s:s,s:s},s:i,s:s,s:s}", "description", desc, "quantity", "1.00", "amount", "value",
                      value, "currency", p->currency, "vat_code", b->cfg.yookassa.vat_code, "payment_mode",
                      b->cfg.yookassa.payment_mode, "payment_subject", b->cfg.yookassa.payment_subject);
        json_t *receipt = json_pack("{s:[o]}", "items", item);
        if (receipt != NULL && b->cfg.yookassa.tax_system_code > 0)
            json_object_set_new(receipt, "tax_system_code", json_integer(b->cfg.yookassa.tax_system_code));
        if (receipt != NULL)
            json_object_set_new(body, "receipt", receipt);
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return ERR_NOMEM;
    struct billing_http_resp resp;
    int rc = yk_post(b, "/payments", p->idempotency_key, text, &resp);
    free(text);
    if (rc < 0)
        return rc;
    struct billing_remote rm;
    rc = billing_yk_parse_payment(resp.body, resp.body_len, &rm);
    json_t *doc = rc == 0 ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    free(resp.body);
    if (rc < 0)
        return rc;
    const char *url = json_string_value(json_object_get(json_object_get(doc, "confirmation"), "confirmation_url"));
    if (url == NULL || strlen(url) >= 512 || (rm.our_id != 0 && rm.our_id != p->id)) {
        json_decref(doc);
        return ERR_MALFORMED;
    }
    snprintf(pay_url, 512, "%s", url);
    snprintf(external_id, 129, "%s", rm.external_id);
    json_decref(doc);
    return 0;
}

static int yk_fetch_id(struct billing *b, const char *id, struct billing_remote *out)
{
    for (const char *c = id; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '-' ||
              *c == '_'))
            return ERR_MALFORMED; /* goes into a URL path */
    char url[512], up[322];
    snprintf(url, sizeof url, "%s/payments/%s", b->cfg.yookassa.api_url, id);
    userpwd(b, up);
    struct billing_http_req req = {.method = "GET", .url = url, .userpwd = up};
    struct billing_http_resp resp;
    int rc = billing__http(b, &req, &resp);
    secure_wipe(up, sizeof up);
    if (rc < 0)
        return rc;
    if (resp.status == 404)
        rc = ERR_NOT_FOUND;
    else if (resp.status != 200)
        rc = ERR_IO;
    else
        rc = billing_yk_parse_payment(resp.body, resp.body_len, out);
    free(resp.body);
    return rc;
}

static int yk_fetch(struct billing *b, const struct hub_payment *p, struct billing_remote *out)
{
    return yk_fetch_id(b, p->external_id, out);
}

static int yk_refund(struct billing *b, const struct hub_payment *p)
{
    char value[32], key[160];
    billing_minor_to_decimal(p->amount_minor, billing_currency_exp(p->currency), value);
    snprintf(key, sizeof key, "refund-%s", p->idempotency_key);
    json_t *body =
        json_pack("{s:s,s:{s:s,s:s}}", "payment_id", p->external_id, "amount", "value", value, "currency", p->currency);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return ERR_NOMEM;
    struct billing_http_resp resp;
    int rc = yk_post(b, "/refunds", key, text, &resp);
    free(text);
    if (rc < 0)
        return rc;
    json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    const char *status = json_string_value(json_object_get(doc, "status"));
    rc = status != NULL && strcmp(status, "succeeded") == 0 ? 0 : ERR_BAD_STATE;
    json_decref(doc);
    free(resp.body);
    return rc;
}

static void yk_webhook(struct billing *b, const struct billing_hook_req *req, int64_t now,
                       struct billing_hook_resp *out)
{
    if (req->ip == NULL || !client_ip_in_nets(req->ip, b->cfg.yookassa.trusted, b->cfg.yookassa.n_trusted)) {
        billing__reject(b, BILLING_YOOKASSA, req, now, 403, "untrusted_source", out);
        return;
    }
    char event[64], id[129];
    if (billing_yk_parse_notification(req->body, req->body_len, event, id) < 0) {
        billing__reject(b, BILLING_YOOKASSA, req, now, 400, "malformed", out);
        return;
    }
    out->content_type = "text/plain; charset=utf-8";
    if (strncmp(event, "payment.", 8) != 0) {
        out->status = 200; /* refunds are started by us and recorded then */
        snprintf(out->body, sizeof out->body, "ignored\n");
        return;
    }
    struct hub_payment p;
    int rc = store_payment_by_external(b->st, "yookassa", id, &p);
    if (rc == ERR_NOT_FOUND) {
        billing__reject(b, BILLING_YOOKASSA, req, now, 404, "unknown_payment", out);
        return;
    }
    struct billing_remote rm;
    if (rc == 0)
        rc = yk_fetch_id(b, id, &rm);
    if (rc == ERR_NOT_FOUND || rc == ERR_MALFORMED) {
        billing__reject(b, BILLING_YOOKASSA, req, now, 400, "not_confirmed_by_api", out);
        return;
    }
    if (rc < 0) {
        out->status = 503; /* the API did not answer: YooKassa retries the notification */
        snprintf(out->body, sizeof out->body, "retry later\n");
        return;
    }
    if (rm.our_id != p.id || strcmp(rm.external_id, p.external_id) != 0) {
        billing__reject(b, BILLING_YOOKASSA, req, now, 400, "metadata_mismatch", out);
        return;
    }
    billing__apply_webhook(b, BILLING_YOOKASSA, p.id, &rm, req, now, out);
}

const struct billing_prov_ops billing__yookassa = {
    .id = BILLING_YOOKASSA,
    .currency = yk_currency,
    .create = yk_create,
    .create_idempotent = true,
    .fetch = yk_fetch,
    .refund = yk_refund,
    .webhook = yk_webhook,
};

/* Crypto Pay API of @CryptoBot (spec/ecosystem.md §b.3): fiat-priced invoices paid in the
 * accepted crypto assets; webhooks signed with HMAC-SHA256 keyed by SHA-256(token), checked over
 * the raw body before anything is parsed. payload = our payment id. No refund API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/billing/billing_int.h"

static const char *cb_currency(const struct billing_cfg *cfg)
{
    return cfg->cryptobot.fiat;
}

static int cb_call(struct billing *b, const char *method, const char *http_method, const char *query, const char *body,
                   json_t **doc, json_t **result)
{
    char url[512], tok[300];
    snprintf(url, sizeof url, "%s/%s%s%s", b->cfg.cryptobot.api_url, method, query ? "?" : "", query ? query : "");
    snprintf(tok, sizeof tok, "Crypto-Pay-API-Token: %s", b->cfg.cryptobot.token);
    const char *hdrs[] = {tok, "Content-Type: application/json", NULL};
    struct billing_http_req req = {
        .method = http_method, .url = url, .headers = hdrs, .body = body, .body_len = body ? strlen(body) : 0};
    struct billing_http_resp resp;
    int rc = billing__http(b, &req, &resp);
    memset(tok, 0, sizeof tok);
    if (rc < 0)
        return rc;
    if (resp.status != 200) {
        log_warn("billing", 0, "cryptobot_http", LF_STR("method", method), LF_INT("status", resp.status));
        rc = ERR_IO;
    } else {
        rc = billing_cb_result(resp.body, resp.body_len, doc, result);
    }
    free(resp.body);
    return rc;
}

static int cb_create(struct billing *b, const struct hub_payment *p, const struct hub_user *u,
                     const struct hub_plan *plan, char external_id[static 129], char pay_url[static 512])
{
    (void)u;
    char amount[32], pid[24], desc[160];
    billing_minor_to_decimal(p->amount_minor, billing_currency_exp(p->currency), amount);
    snprintf(pid, sizeof pid, "%lld", (long long)p->id);
    if (plan != NULL)
        snprintf(desc, sizeof desc, "%.100s (#%s)", plan->name, pid);
    else
        snprintf(desc, sizeof desc, "Balance top-up (#%s)", pid);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "currency_type", "fiat", "fiat", p->currency, "amount",
                             amount, "description", desc, "payload", pid, "expires_in", (json_int_t)b->cfg.invoice_ttl);
    if (body != NULL && b->cfg.cryptobot.accepted_assets[0] != '\0')
        json_object_set_new(body, "accepted_assets", json_string(b->cfg.cryptobot.accepted_assets));
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return ERR_NOMEM;
    json_t *doc = NULL, *result = NULL;
    int rc = cb_call(b, "createInvoice", "POST", NULL, text, &doc, &result);
    free(text);
    if (rc < 0)
        return rc;
    struct billing_remote rm;
    rc = billing_cb_parse_invoice_obj(result, &rm, pay_url);
    json_decref(doc);
    if (rc < 0)
        return rc;
    if (pay_url[0] == '\0' || (rm.our_id != 0 && rm.our_id != p->id))
        return ERR_MALFORMED;
    snprintf(external_id, 129, "%s", rm.external_id);
    return 0;
}

static int cb_fetch(struct billing *b, const struct hub_payment *p, struct billing_remote *out)
{
    int64_t inv;
    if (billing_parse_id(p->external_id, &inv) < 0)
        return ERR_MALFORMED;
    char q[48];
    snprintf(q, sizeof q, "invoice_ids=%lld", (long long)inv);
    json_t *doc = NULL, *result = NULL;
    TRY(cb_call(b, "getInvoices", "GET", q, NULL, &doc, &result));
    const json_t *items = json_object_get(result, "items");
    char url[512];
    int rc = json_is_array(items) && json_array_size(items) == 1
                 ? billing_cb_parse_invoice_obj(json_array_get(items, 0), out, url)
                 : ERR_NOT_FOUND;
    json_decref(doc);
    if (rc == 0 && strcmp(out->external_id, p->external_id) != 0)
        rc = ERR_MALFORMED;
    return rc;
}

static void cb_webhook(struct billing *b, const struct billing_hook_req *req, int64_t now,
                       struct billing_hook_resp *out)
{
    const char *got = req->header ? req->header(req->arg, "crypto-pay-api-signature") : NULL;
    char sig[65];
    if (got == NULL ||
        billing_cryptobot_sign(b->cfg.cryptobot.token, req->body ? req->body : "", req->body_len, sig) < 0 ||
        !billing_hex_equal(sig, got)) {
        billing__reject(b, BILLING_CRYPTOBOT, req, now, 401, got == NULL ? "missing_signature" : "bad_signature", out);
        return;
    }
    struct billing_remote rm;
    int rc = billing_cb_parse_update(req->body, req->body_len, &rm);
    out->content_type = "text/plain; charset=utf-8";
    if (rc == ERR_UNSUPPORTED) {
        out->status = 200; /* a signed update of another type: nothing for us */
        snprintf(out->body, sizeof out->body, "ignored\n");
        return;
    }
    if (rc < 0) {
        billing__reject(b, BILLING_CRYPTOBOT, req, now, 400, "malformed", out);
        return;
    }
    struct hub_payment p;
    /* The invoice id must be the one we recorded, or none yet (the hub stopped before recording
     * it: the signed payload names our payment, and the transition records the id). */
    if (rm.our_id == 0 || store_payment_get(b->st, rm.our_id, &p) < 0 || strcmp(p.provider, "cryptobot") != 0 ||
        (strcmp(p.external_id, rm.external_id) != 0 && strcmp(p.external_id, p.idempotency_key) != 0)) {
        billing__reject(b, BILLING_CRYPTOBOT, req, now, 404, "unknown_payment", out);
        return;
    }
    billing__apply_webhook(b, BILLING_CRYPTOBOT, p.id, &rm, req, now, out);
}

const struct billing_prov_ops billing__cryptobot = {
    .id = BILLING_CRYPTOBOT,
    .currency = cb_currency,
    .create = cb_create,
    .fetch = cb_fetch,
    .webhook = cb_webhook,
};

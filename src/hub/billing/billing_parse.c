/* Parsers of what providers send: YooKassa payment objects and notifications, Robokassa's
 * ResultURL form, Crypto Pay updates and invoices. Untrusted bytes: every field is checked for
 * type and length, anything unexpected is ERR_MALFORMED (fuzzed: tests/fuzz/fuzz_billing_hooks.c). */
#include <stdio.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "hub/billing/billing_int.h"
#include "hub/domain/rules.h"

/* Copies a JSON string member of bounded length (1..cap-1 bytes, no NUL). */
static int get_str(const json_t *o, const char *key, char *out, size_t cap)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return ERR_MALFORMED;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0 || n >= cap || memchr(s, '\0', n) != NULL)
        return ERR_MALFORMED;
    memcpy(out, s, n + 1);
    return 0;
}

static json_t *load(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > BILLING_WEBHOOK_MAX)
        return NULL;
    json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int yk_payment_obj(const json_t *o, struct billing_remote *out)
{
    char status[32], value[32];
    memset(out, 0, sizeof *out);
    if (!json_is_object(o))
        return ERR_MALFORMED;
    TRY(get_str(o, "id", out->external_id, sizeof out->external_id));
    TRY(get_str(o, "status", status, sizeof status));
    const json_t *amount = json_object_get(o, "amount");
    if (!json_is_object(amount))
        return ERR_MALFORMED;
    TRY(get_str(amount, "value", value, sizeof value));
    TRY(get_str(amount, "currency", out->currency, sizeof out->currency));
    if (!hub_currency_valid(out->currency))
        return ERR_MALFORMED;
    TRY(billing_decimal_to_minor(value, strlen(value), billing_currency_exp(out->currency), &out->amount_minor));
    if (strcmp(status, "pending") == 0 || strcmp(status, "waiting_for_capture") == 0) {
        out->status = HUB_PAY_PENDING;
    } else if (strcmp(status, "succeeded") == 0) {
        out->status = HUB_PAY_SUCCEEDED;
        out->final = true;
    } else if (strcmp(status, "canceled") == 0) {
        out->status = HUB_PAY_CANCELED;
        out->final = true;
    } else {
        return ERR_MALFORMED;
    }
    const json_t *meta = json_object_get(o, "metadata");
    char pid[24];
    if (json_is_object(meta) && get_str(meta, "payment_id", pid, sizeof pid) == 0)
        TRY(billing_parse_id(pid, &out->our_id));
    return 0;
}

int billing_yk_parse_payment(const char *s, size_t len, struct billing_remote *out)
{
    json_t *j = load(s, len);
    if (j == NULL)
        return ERR_MALFORMED;
    const json_t *obj = json_object_get(j, "object");
    int rc = yk_payment_obj(obj != NULL ? obj : j, out);
    json_decref(j);
    return rc;
}

int billing_yk_parse_notification(const char *s, size_t len, char event[static 64], char id[static 129])
{
    json_t *j = load(s, len);
    if (j == NULL)
        return ERR_MALFORMED;
    char type[32];
    int rc = get_str(j, "type", type, sizeof type);
    if (rc == 0 && strcmp(type, "notification") != 0)
        rc = ERR_MALFORMED;
    if (rc == 0)
        rc = get_str(j, "event", event, 64);
    const json_t *obj = json_object_get(j, "object");
    if (rc == 0 && !json_is_object(obj))
        rc = ERR_MALFORMED;
    if (rc == 0)
        rc = get_str(obj, "id", id, 129);
    json_decref(j);
    return rc;
}

/* ---- x-www-form-urlencoded ---- */

/* Decodes s[0..n) into out (cap bytes with the NUL). '+' is a space; %XX a byte; NUL refused. */
static int form_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return ERR_MALFORMED;
            int hi = hex_digit_value(s[i + 1]), lo = hex_digit_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return ERR_MALFORMED;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return ERR_MALFORMED;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int billing_robo_parse_form(const char *s, size_t len, struct billing_robo_result *out)
{
    memset(out, 0, sizeof *out);
    if (s == NULL || len == 0 || len > BILLING_WEBHOOK_MAX)
        return ERR_MALFORMED;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && s[e] != '&')
            e++;
        size_t eq = i;
        while (eq < e && s[eq] != '=')
            eq++;
        if (eq == e || eq == i)
            return ERR_MALFORMED;
        char key[64], val[256];
        TRY(form_decode(s + i, eq - i, key, sizeof key));
        TRY(form_decode(s + eq + 1, e - eq - 1, val, sizeof val));
        char *dst = NULL;
        size_t cap = 0;
        if (strcmp(key, "OutSum") == 0) {
            dst = out->out_sum;
            cap = sizeof out->out_sum;
        } else if (strcmp(key, "InvId") == 0) {
            dst = out->inv_id;
            cap = sizeof out->inv_id;
        } else if (strcmp(key, "SignatureValue") == 0) {
            dst = out->signature;
            cap = sizeof out->signature;
        } else if (strncmp(key, "Shp_", 4) == 0 || strncmp(key, "shp_", 4) == 0) {
            for (size_t k = 0; k < out->n_shp; k++)
                if (strcmp(out->shp[k].key, key) == 0)
                    return ERR_MALFORMED;
            if (out->n_shp == BILLING_SHP_MAX)
                return ERR_MALFORMED;
            memcpy(out->shp[out->n_shp].key, key, sizeof key);
            memcpy(out->shp[out->n_shp].value, val, sizeof val);
            out->n_shp++;
        }
        if (dst != NULL) {
            if (dst[0] != '\0' || strlen(val) >= cap || val[0] == '\0')
                return ERR_MALFORMED; /* repeated or oversized */
            memcpy(dst, val, strlen(val) + 1);
        }
        i = e + 1;
    }
    if (out->out_sum[0] == '\0' || out->inv_id[0] == '\0' || out->signature[0] == '\0')
        return ERR_MALFORMED;
    return 0;
}

/* ---- Crypto Pay ---- */

int billing_cb_parse_invoice_obj(const json_t *inv, struct billing_remote *out, char pay_url[static 512])
{
    memset(out, 0, sizeof *out);
    pay_url[0] = '\0';
    if (!json_is_object(inv))
        return ERR_MALFORMED;
    const json_t *id = json_object_get(inv, "invoice_id");
    if (!json_is_integer(id) || json_integer_value(id) <= 0)
        return ERR_MALFORMED;
    snprintf(out->external_id, sizeof out->external_id, "%lld", (long long)json_integer_value(id));
    char status[16], type[16], amount[32];
    TRY(get_str(inv, "status", status, sizeof status));
    if (strcmp(status, "active") == 0) {
        out->status = HUB_PAY_PENDING;
    } else if (strcmp(status, "paid") == 0) {
        out->status = HUB_PAY_SUCCEEDED;
        out->final = true;
    } else if (strcmp(status, "expired") == 0) {
        out->status = HUB_PAY_EXPIRED;
        out->final = true;
    } else {
        return ERR_MALFORMED;
    }
    if (get_str(inv, "currency_type", type, sizeof type) == 0 && strcmp(type, "fiat") == 0)
        TRY(get_str(inv, "fiat", out->currency, sizeof out->currency));
    else
        TRY(get_str(inv, "asset", out->currency, sizeof out->currency));
    if (!hub_currency_valid(out->currency))
        return ERR_MALFORMED;
    TRY(get_str(inv, "amount", amount, sizeof amount));
    TRY(billing_decimal_to_minor(amount, strlen(amount), billing_currency_exp(out->currency), &out->amount_minor));
    char pid[24];
    if (get_str(inv, "payload", pid, sizeof pid) == 0)
        TRY(billing_parse_id(pid, &out->our_id));
    const json_t *url = json_object_get(inv, "bot_invoice_url");
    if (json_is_string(url) && json_string_length(url) < 512)
        memcpy(pay_url, json_string_value(url), json_string_length(url) + 1);
    return 0;
}

int billing_cb_parse_update(const char *s, size_t len, struct billing_remote *out)
{
    json_t *j = load(s, len);
    if (j == NULL)
        return ERR_MALFORMED;
    char type[32], url[512];
    int rc = get_str(j, "update_type", type, sizeof type);
    if (rc == 0 && strcmp(type, "invoice_paid") != 0)
        rc = ERR_UNSUPPORTED;
    if (rc == 0)
        rc = billing_cb_parse_invoice_obj(json_object_get(j, "payload"), out, url);
    json_decref(j);
    return rc;
}

int billing_cb_result(const char *body, size_t len, json_t **doc, json_t **result)
{
    json_t *j = load(body, len);
    if (j == NULL)
        return ERR_MALFORMED;
    if (!json_is_true(json_object_get(j, "ok")) || json_object_get(j, "result") == NULL) {
        json_decref(j);
        return ERR_IO;
    }
    *doc = j;
    *result = json_object_get(j, "result");
    return 0;
}

/* Fuzzes the admin API body validators: the first byte picks the validator, the rest is the
 * request body. Checks that accepted bodies produce values inside the documented ranges. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/api/api_valid.h"
#include "hub/domain/rules.h"
#include "hub/hubcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] % 15;
    /* An exact-size copy so that any over-read is caught. */
    char *body = malloc(size - 1 ? size - 1 : 1);
    if (body == NULL)
        return 0;
    memcpy(body, data + 1, size - 1);
    size_t n = size - 1;
    struct api_verr e;
    struct hub_user u = {.enabled = true};
    struct hub_plan p = {0};
    struct hub_node nd;
    int64_t a = 0, c = 0;
    bool d;
    enum hub_health h;
    int rc = 0;
    switch (which) {
    case 0:
        if ((rc = api_parse_user_create(body, n, &u, &e)) == 0 &&
            (!hub_username_valid(u.username) || !hub_language_valid(u.language) || !hub_currency_valid(u.currency)))
            abort();
        break;
    case 1:
        strcpy(u.username, "x");
        strcpy(u.language, "en");
        strcpy(u.currency, "RUB");
        unsigned fields = 0;
        if ((rc = api_parse_user_patch(body, n, &u, &fields, &e)) == 0 &&
            (!hub_username_valid(u.username) || fields == 0 || fields > 0x3f))
            abort();
        break;
    case 2:
    case 3:
        if ((rc = api_parse_plan(body, n, which == 2, &p, &e)) == 0) {
            if (p.n_prices > HUB_PLAN_PRICES_MAX || p.quota_bytes < 0 || p.quota_bytes > HUB_MAX_QUOTA)
                abort();
            if (which == 2 && (p.duration_days < 1 || !hub_name_valid(p.name)))
                abort();
        }
        break;
    case 4:
        if ((rc = api_parse_grant(body, n, &a, &c, &e)) == 0 && (a < 1 || c < 1))
            abort();
        break;
    case 5:
        if ((rc = api_parse_extend(body, n, &a, &e)) == 0 && (a < 1 || a > HUB_MAX_DURATION_DAYS))
            abort();
        break;
    case 6:
        if ((rc = api_parse_node(body, n, &nd, &e)) == 0 &&
            (!hub_host_valid(nd.address) || !hub_public_key_valid(nd.public_key) ||
             nd.n_short_ids > HUB_NODE_LIST_MAX || nd.n_server_names > HUB_NODE_LIST_MAX))
            abort();
        break;
    case 7:
        if ((rc = api_parse_weight(body, n, &a, &e)) == 0 && (a < 0 || a > 1000))
            abort();
        break;
    case 8:
        if ((rc = api_parse_health(body, n, &h, &e)) == 0 && (unsigned)h >= HUB_HEALTH__COUNT)
            abort();
        break;
    case 9:
        rc = api_parse_drain(body, n, &d, &e);
        break;
    case 10:
        if ((rc = api_parse_balance(body, n, &a, &e)) == 0 && (a == 0 || a > HUB_MAX_MONEY || a < -HUB_MAX_MONEY))
            abort();
        break;
    case 12: {
        struct api_payment_in pi;
        if ((rc = api_parse_payment(body, n, &pi, &e)) == 0 &&
            (pi.user_id < 1 || pi.amount_minor < 0 || pi.amount_minor > HUB_MAX_MONEY ||
             !hub_currency_valid(pi.currency) || (pi.plan_id == 0 && !pi.credit_balance)))
            abort();
        break;
    }
    case 13:
        memset(&nd, 0, sizeof nd);
        strcpy(nd.address, "a.example");
        strcpy(nd.public_key, "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw");
        if ((rc = api_parse_node_patch(body, n, &nd, &e)) == 0 &&
            (!hub_host_valid(nd.address) || !hub_public_key_valid(nd.public_key)))
            abort();
        break;
    case 14: {
        char name[HUB_NAME_MAX + 1];
        enum hub_role role;
        if ((rc = api_parse_token(body, n, name, &role, &e)) == 0 &&
            (!hub_name_valid(name) || (unsigned)role >= HUB_ROLE__COUNT))
            abort();
        break;
    }
    default: {
        struct hub_cfg cfg;
        char err[128];
        rc = hubcfg_parse(body, n, &cfg, err, sizeof err);
        break;
    }
    }
    (void)rc;
    free(body);
    return 0;
}

#include "hub/domain/rules.h"

#include <string.h>

#include "core/enc.h"
#include "core/err.h"

static const char *const reset_names[HUB_RESET__COUNT] = {"none", "daily", "weekly", "monthly"};
static const char *const sub_state_names[HUB_SUB__COUNT] = {"active", "limited", "expired", "revoked"};
static const char *const role_names[HUB_ROLE__COUNT] = {"admin", "support"};
static const char *const health_names[HUB_HEALTH__COUNT] = {"unknown", "up", "down"};
static const char *const pay_names[HUB_PAY__COUNT] = {"pending",  "succeeded", "failed",
                                                      "refunded", "canceled",  "expired"};

static int name_lookup(const char *const *names, size_t n, const char *s)
{
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

const char *hub_reset_name(enum hub_reset r)
{
    return (unsigned)r < HUB_RESET__COUNT ? reset_names[r] : "?";
}
int hub_reset_parse(const char *s)
{
    return name_lookup(reset_names, HUB_RESET__COUNT, s);
}
const char *hub_sub_state_name(enum hub_sub_state s)
{
    return (unsigned)s < HUB_SUB__COUNT ? sub_state_names[s] : "?";
}
int hub_sub_state_parse(const char *s)
{
    return name_lookup(sub_state_names, HUB_SUB__COUNT, s);
}
const char *hub_role_name(enum hub_role r)
{
    return (unsigned)r < HUB_ROLE__COUNT ? role_names[r] : "?";
}
int hub_role_parse(const char *s)
{
    return name_lookup(role_names, HUB_ROLE__COUNT, s);
}
const char *hub_health_name(enum hub_health h)
{
    return (unsigned)h < HUB_HEALTH__COUNT ? health_names[h] : "?";
}
int hub_health_parse(const char *s)
{
    return name_lookup(health_names, HUB_HEALTH__COUNT, s);
}
const char *hub_pay_status_name(enum hub_pay_status s)
{
    return (unsigned)s < HUB_PAY__COUNT ? pay_names[s] : "?";
}
int hub_pay_status_parse(const char *s)
{
    return name_lookup(pay_names, HUB_PAY__COUNT, s);
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool hub_username_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > HUB_NAME_MAX || !is_alnum(s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* Accepts well-formed UTF-8 without control characters. */
bool hub_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > HUB_NAME_MAX)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t more;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            more = 1, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + more >= n)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
            return false;
        i += more + 1;
    }
    return true;
}

bool hub_language_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0, i = 0;
    while (i < n && s[i] >= 'a' && s[i] <= 'z')
        i++;
    if (i < 2 || i > 3)
        return false;
    if (i == n)
        return true;
    if (s[i] != '-' || n - i - 1 < 2 || n > HUB_LANG_MAX)
        return false;
    for (i++; i < n; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9'))
            return false;
    return true;
}

bool hub_currency_valid(const char *s)
{
    if (s == NULL || strlen(s) != HUB_CURRENCY_LEN)
        return false;
    for (size_t i = 0; i < HUB_CURRENCY_LEN; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    return true;
}

bool hub_country_valid(const char *s)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    return n == 0 || (n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z');
}

static bool ipv6_like(const char *s, size_t n)
{
    size_t colons = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ':')
            colons++;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.'))
            return false;
    }
    return colons >= 2 && n <= 45;
}

bool hub_host_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > HUB_HOST_MAX)
        return false;
    if (strchr(s, ':') != NULL)
        return ipv6_like(s, n);
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!is_alnum(c) && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && s[n - 1] != '-';
}

bool hub_short_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > HUB_SHORT_ID_MAX || n % 2 != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

bool hub_public_key_valid(const char *s)
{
    uint8_t key[32];
    size_t len = 0;
    if (s == NULL || strlen(s) != 43)
        return false;
    return b64_decode(key, sizeof key, &len, s, 43, B64_RAW_URL) == 0 && len == 32;
}

int hub_money_add(int64_t a, int64_t b, int64_t *out)
{
    if (a > HUB_MAX_MONEY || a < -HUB_MAX_MONEY || b > HUB_MAX_MONEY || b < -HUB_MAX_MONEY)
        return ERR_RANGE;
    int64_t r = a + b; /* cannot overflow: both are below 2^50 in magnitude */
    if (r > HUB_MAX_MONEY || r < -HUB_MAX_MONEY)
        return ERR_RANGE;
    *out = r;
    return 0;
}

int hub_referral_reward(int64_t amount_minor, int percent, int64_t *out)
{
    if (percent < 0 || percent > 100 || amount_minor < 0 || amount_minor > HUB_MAX_MONEY)
        return ERR_RANGE;
    *out = amount_minor * percent / 100; /* < 2^57: no overflow */
    return 0;
}

int hub_period_end(int64_t start, int64_t days, int64_t *out)
{
    if (days < 1 || days > HUB_MAX_DURATION_DAYS || start < 0 || start > INT64_MAX / 2)
        return ERR_RANGE;
    *out = start + days * HUB_DAY;
    return 0;
}

int hub_sub_extend(struct hub_sub *s, int64_t days, int64_t now)
{
    if (s->state == HUB_SUB_REVOKED)
        return ERR_BAD_STATE;
    int64_t from = s->ends_at > now ? s->ends_at : now;
    int64_t end;
    TRY(hub_period_end(from, days, &end));
    s->ends_at = end;
    if (s->state == HUB_SUB_EXPIRED)
        s->state = HUB_SUB_ACTIVE;
    s->state = hub_sub_evaluate(s, now);
    return 0;
}

enum hub_sub_state hub_sub_evaluate(const struct hub_sub *s, int64_t now)
{
    if (s->state == HUB_SUB_REVOKED)
        return HUB_SUB_REVOKED;
    if (now >= s->ends_at)
        return HUB_SUB_EXPIRED;
    /* Counters are 0..HUB_MAX_QUOTA (saturating), so the sum cannot overflow; the sync SQL
     * computes the same sum. */
    if (s->quota_bytes > 0 && s->used_up + s->used_down >= s->quota_bytes)
        return HUB_SUB_LIMITED;
    return HUB_SUB_ACTIVE;
}

/* hub_sub_evaluate's quota test for unsigned counters of any size (the /sub renderer's). */
bool hub_quota_reached(uint64_t up, uint64_t down, uint64_t quota)
{
    return quota != 0 && (up >= quota || down >= quota - up);
}

enum hub_plan_grant hub_plan_grant_for(const struct hub_sub *cur, int64_t plan_id, int64_t now)
{
    bool running = cur != NULL && (cur->state == HUB_SUB_ACTIVE || cur->state == HUB_SUB_LIMITED);
    if (running && cur->ends_at > now && cur->plan_id == plan_id)
        return HUB_GRANT_EXTEND_CURRENT;
    return running ? HUB_GRANT_REPLACE : HUB_GRANT_NEW;
}

enum hub_access hub_user_access(const struct hub_user *u, const struct hub_sub *s, int64_t now)
{
    if (!u->enabled || s == NULL || s->user_id != u->id)
        return HUB_ACCESS_DISABLED;
    switch (hub_sub_evaluate(s, now)) {
    case HUB_SUB_REVOKED:
        return HUB_ACCESS_REVOKED;
    case HUB_SUB_EXPIRED:
        return HUB_ACCESS_EXPIRED;
    case HUB_SUB_LIMITED:
        return now < s->starts_at ? HUB_ACCESS_NOT_STARTED : HUB_ACCESS_LIMITED;
    case HUB_SUB_ACTIVE:
    case HUB_SUB__COUNT:
        break;
    }
    return now < s->starts_at ? HUB_ACCESS_NOT_STARTED : HUB_ACCESS_OK;
}

bool hub_user_can_connect(const struct hub_user *u, const struct hub_sub *s, int64_t now)
{
    return hub_user_access(u, s, now) == HUB_ACCESS_OK;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    return a > HUB_MAX_QUOTA - b ? HUB_MAX_QUOTA : a + b;
}

int hub_sub_add_usage(struct hub_sub *s, int64_t up, int64_t down)
{
    if (up < 0 || down < 0 || up > HUB_MAX_QUOTA || down > HUB_MAX_QUOTA)
        return ERR_RANGE;
    s->used_up = sat_add(s->used_up, up);
    s->used_down = sat_add(s->used_down, down);
    return 0;
}

int64_t hub_usage_scale(int64_t raw, int64_t percent)
{
    if (percent < 0 || percent > 1000)
        percent = 100;
    if (raw <= 0)
        return 0;
    if (raw > HUB_MAX_QUOTA)
        raw = HUB_MAX_QUOTA;
    /* raw < 2^56 and percent <= 1000 < 2^10: the product fits in int64. */
    int64_t v = raw / 100 * percent + raw % 100 * percent / 100;
    return v > HUB_MAX_QUOTA ? HUB_MAX_QUOTA : v;
}

/* Howard Hinnant's civil-date algorithms. */
int64_t hub_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void hub_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int64_t hub_reset_next(enum hub_reset r, int64_t t)
{
    int64_t day = floor_div(t, HUB_DAY);
    switch (r) {
    case HUB_RESET_DAILY:
        return (day + 1) * HUB_DAY;
    case HUB_RESET_WEEKLY: {
        /* 1970-01-01 was a Thursday: Monday-based weekday = (day + 3) mod 7. */
        int64_t wd = ((day + 3) % 7 + 7) % 7;
        return (day + 7 - wd) * HUB_DAY;
    }
    case HUB_RESET_MONTHLY: {
        int64_t y;
        unsigned m, d;
        hub_civil_from_days(day, &y, &m, &d);
        if (++m > 12) {
            m = 1;
            y++;
        }
        return hub_days_from_civil(y, m, 1) * HUB_DAY;
    }
    case HUB_RESET_NONE:
    case HUB_RESET__COUNT:
        break;
    }
    return 0;
}

bool hub_reset_due(enum hub_reset r, int64_t last, int64_t now)
{
    if (r == HUB_RESET_NONE || (unsigned)r >= HUB_RESET__COUNT)
        return false;
    return now >= hub_reset_next(r, last);
}

void hub_sub_token_format(char out[static HUB_TOKEN_MAX + 1], const uint8_t rnd[static HUB_SUB_TOKEN_RAND])
{
    b64_encode(out, rnd, HUB_SUB_TOKEN_RAND, B64_RAW_URL);
}

void hub_api_token_format(char out[static HUB_TOKEN_MAX + 1], const char *prefix,
                          const uint8_t rnd[static HUB_API_TOKEN_RAND])
{
    size_t p = strlen(prefix);
    if (p > 8)
        p = 8;
    memcpy(out, prefix, p);
    b64_encode(out + p, rnd, HUB_API_TOKEN_RAND, B64_RAW_URL);
}

void hub_refcode_format(char out[static HUB_REFCODE_LEN + 1], const uint8_t rnd[static HUB_REFCODE_LEN])
{
    /* 31 symbols without 0/O/1/I/L so codes survive being read aloud. */
    static const char alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    for (size_t i = 0; i < HUB_REFCODE_LEN; i++)
        out[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
    out[HUB_REFCODE_LEN] = '\0';
}

void hub_uuid_v4_format(char out[static 37], const uint8_t rnd[static 16])
{
    uint8_t b[16];
    memcpy(b, rnd, 16);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    uuid_format(out, b);
}

bool hub_sub_token_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 16 || n > HUB_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

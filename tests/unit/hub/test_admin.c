/* hub/admin: the dashboard's pieces without a server: form and cookie parsing, sessions
 * (expiry, ending, constant-time lookup by cookie value), and the pages' escaping and CSRF
 * fields. The dashboard in a browser is tests/integration/test_web_admin.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "hub/admin/admin.h"
#include "hub/admin/admin_http.h"
#include "hub/admin/admin_pages.h"
#include "hub/api/api.h"
#include "hub/api/api_route.h"
#include "hub/module.h"
#include "hub_test_db.h"

static void test_form(void **state)
{
    (void)state;
    char v[16];
    const char *body = "a=1&token=va_x%2By+z&csrf=&empty";
    assert_true(admin_form_get(body, strlen(body), "token", v, sizeof v));
    assert_string_equal(v, "va_x+y z");
    assert_true(admin_form_get(body, strlen(body), "a", v, sizeof v));
    assert_string_equal(v, "1");
    assert_true(admin_form_get(body, strlen(body), "csrf", v, sizeof v));
    assert_string_equal(v, "");
    assert_true(admin_form_get(body, strlen(body), "empty", v, sizeof v));
    assert_string_equal(v, "");
    assert_false(admin_form_get(body, strlen(body), "tok", v, sizeof v)); /* a prefix is not the key */
    assert_false(admin_form_get(body, strlen(body), "missing", v, sizeof v));
    static const char *const bad[] = {"token=%", "token=%4", "token=%zz", "token=a%00b", "token=0123456789abcdef"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(admin_form_get(bad[i], strlen(bad[i]), "token", v, sizeof v));
    /* only len bytes are read */
    assert_true(admin_form_get("token=abcdef", 9, "token", v, sizeof v));
    assert_string_equal(v, "abc");
}

static void test_cookie(void **state)
{
    (void)state;
    char v[16];
    assert_true(admin_cookie_get("a=1; veil_admin=XYZ; b=2", "veil_admin", v, sizeof v));
    assert_string_equal(v, "XYZ");
    assert_true(admin_cookie_get("veil_admin=Q", "veil_admin", v, sizeof v));
    assert_string_equal(v, "Q");
    assert_false(admin_cookie_get("xveil_admin=1; veil_admin2=2", "veil_admin", v, sizeof v));
    assert_false(admin_cookie_get("veil_admin=0123456789abcdefXYZ", "veil_admin", v, sizeof v)); /* too long */
    assert_false(admin_cookie_get("", "veil_admin", v, sizeof v));
}

static void test_sessions(void **state)
{
    (void)state;
    admin_session_reset();
    char sid[ADMIN_SECRET_LEN + 1], sid2[ADMIN_SECRET_LEN + 1];
    struct admin_session s, got;
    assert_int_equal(admin_session_create(HUB_ROLE_SUPPORT, 7, 0, 1000, sid, &s), 0);
    assert_int_equal(strlen(sid), ADMIN_SECRET_LEN);
    assert_int_equal(strlen(s.csrf), ADMIN_SECRET_LEN);
    assert_string_not_equal(sid, s.csrf);
    assert_int_equal(admin_session_find(sid, 1001, &got), 0);
    assert_int_equal(got.role, HUB_ROLE_SUPPORT);
    assert_int_equal(got.token_id, 7);
    assert_string_equal(got.csrf, s.csrf);
    /* expiry */
    assert_int_equal(admin_session_find(sid, 1000 + ADMIN_SESSION_TTL, &got), ERR_NOT_FOUND);
    /* a different or malformed value finds nothing */
    assert_int_equal(admin_session_create(HUB_ROLE_ADMIN, 8, 0, 1000, sid2, &s), 0);
    assert_string_not_equal(sid, sid2);
    char wrong[ADMIN_SECRET_LEN + 1];
    memcpy(wrong, sid2, sizeof wrong);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_int_equal(admin_session_find(wrong, 1001, &got), ERR_NOT_FOUND);
    assert_int_equal(admin_session_find("short", 1001, &got), ERR_NOT_FOUND);
    assert_int_equal(admin_session_find(NULL, 1001, &got), ERR_NOT_FOUND);
    /* logout ends only that session */
    admin_session_end(sid2);
    assert_int_equal(admin_session_find(sid2, 1001, &got), ERR_NOT_FOUND);
    assert_int_equal(admin_session_find(sid, 1001, &got), 0);
    /* a full table drops the oldest, never fails */
    for (int i = 0; i < ADMIN_SESSIONS_MAX + 5; i++)
        assert_int_equal(admin_session_create(HUB_ROLE_ADMIN, i, 0, 2000 + i, sid2, &s), 0);
    assert_int_equal(admin_session_find(sid2, 2000 + ADMIN_SESSIONS_MAX, &got), 0);
    assert_int_equal(admin_session_find(sid, 1001, &got), ERR_NOT_FOUND);
    /* a token that expires sooner than the session: the session ends with it */
    assert_int_equal(admin_session_create(HUB_ROLE_ADMIN, 9, 5060, 5000, sid, &s), 0);
    assert_int_equal(s.expires, 5060);
    assert_int_equal(admin_session_find(sid, 5059, &got), 0);
    assert_int_equal(admin_session_find(sid, 5060, &got), ERR_NOT_FOUND);
    admin_session_create(HUB_ROLE_ADMIN, 9, 5000 + ADMIN_SESSION_TTL + 99, 5000, sid, &s);
    assert_int_equal(s.expires, 5000 + ADMIN_SESSION_TTL); /* a later expiry does not lengthen it */
    admin_session_reset();
}

static void test_pages(void **state)
{
    (void)state;
    struct admin_session admin = {.csrf = "CSRF_TOKEN_ADMIN", .role = HUB_ROLE_ADMIN};
    struct admin_session support = {.csrf = "CSRF_TOKEN_SUPPORT", .role = HUB_ROLE_SUPPORT};
    struct hub_user users[2] = {{.id = 41, .enabled = true}, {.id = 42, .telegram_id = 777, .enabled = false}};
    strcpy(users[0].username, "<b>eve</b>");
    strcpy(users[0].uuid, "b831381d-6324-4d53-ad4f-8cda48b30811");
    strcpy(users[1].username, "bob");
    struct buf b;
    buf_init(&b);
    assert_int_equal(admin_page_users(&b, &admin, users, 2, 120, false, "a&b <c>", 2, "User 7 disabled."), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    const char *p = (const char *)buf_data(&b);
    assert_non_null(strstr(p, "<td><a href=\"/admin/users/41\">&lt;b&gt;eve&lt;/b&gt;</a></td>"));
    assert_null(strstr(p, "<b>eve"));
    assert_non_null(strstr(p, "value=\"a&amp;b &lt;c&gt;\""));
    assert_non_null(strstr(p, "120 users · page 2 of 3"));
    assert_non_null(strstr(p, "href=\"/admin/users?q=a%26b%20%3Cc%3E&amp;page=1\">← Previous"));
    assert_non_null(strstr(p, "&amp;page=3\">Next →"));
    /* the enabled user has a Disable form with the CSRF token, the disabled one an Enable form */
    assert_non_null(
        strstr(p, "action=\"/admin/users/41/disable\"><input type=\"hidden\" name=\"csrf\" "
                  "value=\"CSRF_TOKEN_ADMIN\"><input type=\"hidden\" name=\"q\" value=\"a&amp;b &lt;c&gt;\">"));
    assert_null(strstr(p, "/admin/users/42/disable"));
    assert_non_null(strstr(p,
                           "action=\"/admin/users/42/enable\"><input type=\"hidden\" name=\"csrf\" "
                           "value=\"CSRF_TOKEN_ADMIN\"><input type=\"hidden\" name=\"q\" value=\"a&amp;b &lt;c&gt;\">"
                           "<button class=\"\" type=\"submit\" aria-label=\"Enable user 42\">"));
    assert_non_null(strstr(p, "<td>777</td>"));
    assert_non_null(strstr(p, "<p role=\"status\" id=\"notice\">User 7 disabled.</p>"));
    buf_reset(&b);
    /* support sees the same table without actions */
    /* a capped count: a lower bound, and the next page is offered */
    assert_int_equal(admin_page_users(&b, &support, users, 2, 1050, true, "a", 2, NULL), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    p = (const char *)buf_data(&b);
    assert_non_null(strstr(p, "id=\"count\">1050+ users · page 2 of 21+</caption>"));
    assert_non_null(strstr(p, "id=\"short-query\"")); /* "a": whole names only, said so */
    assert_non_null(strstr(p, "rel=\"next\""));
    buf_reset(&b);
    assert_int_equal(admin_page_users(&b, &support, users, 2, 2, false, "", 1, NULL), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    p = (const char *)buf_data(&b);
    assert_null(strstr(p, "/disable"));
    assert_null(strstr(p, "/enable"));
    assert_non_null(strstr(p, "support (read-only)"));
    assert_null(strstr(p, "rel=\"next\""));
    assert_null(strstr(p, "rel=\"prev\""));
    buf_reset(&b);
    struct store_stats st = {.users = 12, .subs_active = 5, .traffic_up = 1LL << 30, .traffic_down = 1LL << 29};
    struct buf fig;
    buf_init(&fig);
    assert_int_equal(admin_overview_figures(&fig, &st, NULL, NULL, 0), 0);
    assert_int_equal(admin_page_overview(&b, &admin, (const char *)buf_data(&fig), buf_len(&fig), 45296, 45306), 0);
    buf_dispose(&fig);
    assert_int_equal(buf_append(&b, "", 1), 0);
    p = (const char *)buf_data(&b);
    assert_non_null(strstr(p, "id=\"users\">12</div>"));
    assert_non_null(strstr(p, "id=\"subs-active\">5</div>"));
    assert_non_null(strstr(p, "id=\"traffic\">1.50 GiB</div>"));
    assert_non_null(strstr(p, "Figures as of 12:34:56 UTC (10 s ago; kept up to 30 s)."));
    assert_non_null(strstr(p, "href=\"/admin?fresh=1\""));
    buf_reset(&b);
    assert_int_equal(admin_page_login(&b, "bad <token>"), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    p = (const char *)buf_data(&b);
    assert_non_null(strstr(p, "role=\"alert\">bad &lt;token&gt;</p>"));
    assert_non_null(strstr(p, "<input type=\"password\" id=\"token\" name=\"token\""));
    buf_dispose(&b);
}

/* Money shows in its currency's units, never as minor units; charts are plain SVG with the
 * numbers also in a table; the overview's days put each payment on its UTC day. */
static void test_money_and_charts(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(admin_money(&b, 19900, "RUB"), 0);
    assert_int_equal(admin_money(&b, 5, "USD"), 0);
    assert_int_equal(admin_money(&b, 150, "XTR"), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_string_equal((const char *)buf_data(&b), "199.00 RUB0.05 USD150 XTR");
    buf_reset(&b);
    const int64_t vals[3] = {0, 5, 10};
    const char *const labels[3] = {"a", "b<", "c"};
    assert_int_equal(
        admin_chart(
            &b, &(struct admin_series){.id = "x", .label = "L&", .unit = "", .values = vals, .labels = labels, .n = 3}),
        0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    const char *p = (const char *)buf_data(&b);
    assert_non_null(strstr(p, "role=\"img\" aria-label=\"L&amp;\""));
    assert_non_null(strstr(p, "(max 10)"));
    assert_null(strstr(p, "b<"));
    /* the tallest bar fills the plot (160 - 18 - 4 = 138), half the value half the height */
    assert_non_null(strstr(p, "height=\"138\""));
    assert_non_null(strstr(p, "height=\"69\""));
    assert_non_null(strstr(p, "<th scope=\"row\">b&lt;</th><td>5</td>"));
    buf_reset(&b);
    int64_t now = 20000 * 86400LL + 3600; /* day 20000 = 2024-10-04 */
    struct store_revenue_day days[3] = {{.day = 20000, .currency = "RUB", .amount_minor = 150000, .payments = 3},
                                        {.day = 19999, .currency = "USD", .amount_minor = 700, .payments = 1},
                                        {.day = 19000, .currency = "RUB", .amount_minor = 1, .payments = 9}};
    struct store_revenue_cur cur[2] = {{.currency = "USD", .amount_minor = 700},
                                       {.currency = "RUB", .amount_minor = 150001}};
    struct store_revenue rev = {.days = days, .n_days = 3, .cur = cur, .n_cur = 2};
    /* today: 1500 RUB; this month (October, from day 19997): also the USD of day 19999 */
    assert_int_equal(admin_month_start_day(now), 19997);
    assert_int_equal(admin_overview_revenue(&b, &rev, now), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    p = (const char *)buf_data(&b);
    assert_non_null(strstr(p, "id=\"revenue-today\">1500.00 RUB</div>"));
    assert_non_null(strstr(p, "id=\"revenue-month\">7.00 USD<br>1500.00 RUB</div>"));
    buf_reset(&b);
    assert_int_equal(admin_overview_charts(&b, &rev, now), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    p = (const char *)buf_data(&b);
    assert_non_null(strstr(p, "Payments per day"));
    assert_non_null(strstr(p, "<th scope=\"row\">10-04</th><td>3</td>"));    /* today: 3 payments */
    assert_non_null(strstr(p, "<th scope=\"row\">10-03</th><td>1</td>"));    /* yesterday's USD one counts too */
    assert_non_null(strstr(p, "Revenue per day, RUB"));                      /* the biggest currency */
    assert_non_null(strstr(p, "<th scope=\"row\">10-04</th><td>1500</td>")); /* whole roubles */
    assert_null(strstr(p, "<td>9</td>"));                                    /* outside the 30 days */
    buf_dispose(&b);
}

/* Operator input: prices as money, quotas in GiB, UTC days; bad input is refused, never guessed. */
static void test_input(void **state)
{
    (void)state;
    struct hub_price pr[3];
    size_t n;
    assert_int_equal(admin_prices_parse(" RUB 199.00, XTR 150 ,USD 2.5", pr, 3, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(pr[0].currency, "RUB");
    assert_int_equal(pr[0].amount_minor, 19900);
    assert_string_equal(pr[1].currency, "XTR");
    assert_int_equal(pr[1].amount_minor, 150);
    assert_int_equal(pr[2].amount_minor, 250);
    assert_int_equal(admin_prices_parse("RUB 1.234", pr, 3, &n), ERR_RANGE);     /* a fraction of a kopeck */
    assert_int_equal(admin_prices_parse("XTR 1.5", pr, 3, &n), ERR_RANGE);       /* stars are whole */
    assert_int_equal(admin_prices_parse("RUB 1, RUB 2", pr, 3, &n), ERR_EXISTS); /* twice */
    assert_int_equal(admin_prices_parse("A 1, B 2, C 3, D 4", pr, 3, &n), ERR_MALFORMED);
    assert_int_equal(admin_prices_parse("RUB 1, USD 2, EUR 3, GBP 4", pr, 3, &n), ERR_RANGE); /* too many */
    const char *bad[] = {"", " , ", "rub 1", "RUB", "RUB -1", "RUB 1e3", "RUB 1 2", "RUBX 1", "RUB 1,,", "RUB 1;USD 2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_true(admin_prices_parse(bad[i], pr, 3, &n) < 0);
    int64_t b;
    assert_int_equal(admin_gib_parse("1.5", &b), 0);
    assert_int_equal(b, 3LL << 29);
    assert_int_equal(admin_gib_parse("0", &b), 0);
    assert_int_equal(b, 0);
    assert_true(admin_gib_parse("1.0001", &b) < 0);
    assert_true(admin_gib_parse("99999999999", &b) < 0); /* over 64 PiB */
    assert_true(admin_gib_parse("-1", &b) < 0);
    char t[32];
    admin_gib_text(3LL << 29, t);
    assert_string_equal(t, "1.500");
    admin_gib_text(100LL << 30, t);
    assert_string_equal(t, "100");
    /* what the form shows reads back to the same bytes when it is a whole number of MiB-ish steps */
    assert_int_equal(admin_gib_parse(t, &b), 0);
    assert_int_equal(b, 100LL << 30);
    int64_t day;
    assert_true(admin_day_parse("2026-12-06", &day));
    assert_int_equal(day, 1796515200);
    assert_true(admin_day_parse("2024-02-29", &day));
    assert_int_equal(day, 1709164800);
    const char *bad_days[] = {"2025-02-29", "2026-13-01",  "2026-04-31", "1969-12-31",
                              "2026-1-01",  "2026-12-06x", "20261206",   ""};
    for (size_t i = 0; i < sizeof bad_days / sizeof bad_days[0]; i++)
        assert_false(admin_day_parse(bad_days[i], &day));
}

#define T0 1700000000

static int64_t users_shown(const char *html)
{
    const char *p = strstr(html, "id=\"users\">");
    assert_non_null(p);
    return strtoll(p + strlen("id=\"users\">"), NULL, 10);
}

/* A card's text: from after id="<id>"> up to the next '<'. */
static const char *card_text(const char *html, const char *id, char *out, size_t cap)
{
    char key[48];
    snprintf(key, sizeof key, "id=\"%s\">", id);
    const char *p = strstr(html, key);
    assert_non_null(p);
    p += strlen(key);
    size_t n = strcspn(p, "<");
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* The overview's figures come from a snapshot at most ADMIN_SNAPSHOT_TTL seconds old: a new
 * user shows after that, or at once when asked fresh; the stamp says when they were taken. */
static void test_snapshot(void **state)
{
    (void)state;
    struct store *st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    admin_snapshot_reset();
    struct hub_user u;
    hub_test_user(&u, "first", 1);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    char *html;
    size_t len;
    int64_t at;
    assert_int_equal(admin_snapshot_get(st, T0, false, &html, &len, &at), 0);
    assert_int_equal(at, T0);
    assert_int_equal(strlen(html), len);
    assert_int_equal(users_shown(html), 1);
    free(html);
    hub_test_user(&u, "second", 2);
    assert_int_equal(store_user_create(st, &u, T0 + 1, NULL), 0);
    assert_int_equal(admin_snapshot_get(st, T0 + ADMIN_SNAPSHOT_TTL - 1, false, &html, &len, &at), 0);
    assert_int_equal(at, T0); /* still the snapshot */
    assert_int_equal(users_shown(html), 1);
    free(html);
    assert_int_equal(admin_snapshot_get(st, T0 + ADMIN_SNAPSHOT_TTL - 1, true, &html, &len, &at), 0);
    assert_int_equal(at, T0 + ADMIN_SNAPSHOT_TTL - 1); /* Refresh now */
    assert_int_equal(users_shown(html), 2);
    free(html);
    hub_test_user(&u, "third", 3);
    assert_int_equal(store_user_create(st, &u, T0 + 2, NULL), 0);
    assert_int_equal(admin_snapshot_get(st, T0 + 2 * ADMIN_SNAPSHOT_TTL - 1, false, &html, &len, &at), 0);
    assert_int_equal(at, T0 + 2 * ADMIN_SNAPSHOT_TTL - 1); /* expired: taken again */
    assert_int_equal(users_shown(html), 3);
    char txt[96];
    assert_string_equal(card_text(html, "online-now", txt, sizeof txt), "0"); /* no node yet */
    assert_string_equal(card_text(html, "traffic-today", txt, sizeof txt), "0 B");
    assert_non_null(strstr(html, "connections open on the 0 nodes up, as of their last usage push"));
    free(html);

    /* "Online now" sums the open connections the nodes up reported with their last push; traffic
     * today is usage_hourly since 00:00 UTC (T0 is 22:13:20 UTC), users this hour the current hour's. */
    struct hub_node n = {.port = 443, .weight = 100}, quiet;
    strcpy(n.name, "n1");
    strcpy(n.address, "n1.example.com");
    strcpy(n.public_key, "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw");
    quiet = n;
    strcpy(quiet.name, "never-pushed");
    assert_int_equal(store_node_create(st, &n, "h1", T0, NULL), 0);
    assert_int_equal(store_node_create(st, &quiet, "h2", T0, NULL), 0);
    int64_t t = T0 + 3 * ADMIN_SNAPSHOT_TTL;
    struct store_usage yesterday = {u.id, 5 << 20, 0}, earlier = {u.id - 1, 1 << 20, 512 << 10},
                       now_u[] = {{u.id, 0, 1 << 20}, {u.id - 2, 256 << 10, 256 << 10}};
    assert_int_equal(store_usage_push(st, n.id, "push-y", &yesterday, 1, t - 86400, NULL, NULL), 0);
    assert_int_equal(store_usage_push(st, n.id, "push-e", &earlier, 1, t - 3600, NULL, NULL), 0);
    assert_int_equal(store_usage_push(st, n.id, "push-n", now_u, 2, t, NULL, NULL), 0);
    assert_int_equal(store_node_set_load(st, n.id, 7, 10, 1000, false), 0);
    assert_int_equal(store_node_set_load(st, quiet.id, 50, 10, 1000, false), 0); /* not up: not counted */
    assert_int_equal(admin_snapshot_get(st, t, true, &html, &len, &at), 0);
    assert_string_equal(card_text(html, "online-now", txt, sizeof txt), "7");
    assert_non_null(strstr(html, "connections open on the 1 nodes up, as of their last usage push"));
    assert_string_equal(card_text(html, "users-this-hour", txt, sizeof txt), "2");
    assert_non_null(strstr(html, "users with traffic since 22:00 UTC"));
    /* 1.5 MiB earlier today + 1.5 MiB this hour; yesterday's 5 MiB is not today */
    assert_string_equal(card_text(html, "traffic-today", txt, sizeof txt), "3.0 MiB");
    free(html);
    admin_snapshot_reset();
    store_close(st);
}

/* Every dashboard form (POST /admin/...) is registered through admin_routes_add_posts: public
 * to the router (the page checks the session and the CSRF field), any body up to ADMIN_BODY_MAX. */
static void test_post_routes(void **state)
{
    (void)state;
    hub_modules_register();
    size_t n, posts = 0;
    const struct api_route *r = api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].method, "POST") != 0 || strncmp(r[i].pattern, "/admin/", 7) != 0)
            continue;
        posts++;
        if (r[i].auth != API_AUTH_NONE || !(r[i].flags & API_ROUTE_ANY_BODY) || r[i].body_max != ADMIN_BODY_MAX)
            fail_msg("POST %s is not registered as a dashboard form", r[i].pattern);
    }
    assert_int_equal(posts, 17); /* login, logout, enable, disable; 4 node, 3 plan, 4 user, new user, refund */
    int64_t id;
    const struct api_route *drain = api__route_find("POST", "/admin/nodes/3/drain", &id, NULL, 0);
    assert_non_null(drain);
    assert_int_equal(id, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form),     cmocka_unit_test(test_cookie),           cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_pages),    cmocka_unit_test(test_money_and_charts), cmocka_unit_test(test_input),
        cmocka_unit_test(test_snapshot), cmocka_unit_test(test_post_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

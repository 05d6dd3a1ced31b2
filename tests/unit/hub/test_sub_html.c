/* hub/sub: the subscription web page (sub_html.c): states in plain words, days left, traffic,
 * QR code, app deep links (spec/ecosystem.md §a.6), languages, escaping and headers. The page
 * in a real browser is tests/integration/test_web_sub.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "hub/sub/sub.h"

#define UUID "b831381d-6324-4d53-ad4f-8cda48b30811"
#define PBK "2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y"
#define NOW 1790000000 /* 2026-09-21 14:13:20 UTC */
#define DAY 86400
#define URL "https://hub.example.com/sub/AbCdEfGhIjKlMnOp"

static const struct sub_node nodes[] = {
    {.name = "Frankfurt", .address = "203.0.113.10", .port = 443, .public_key = PBK, .short_id = "ab"},
    {.name = "Helsinki", .address = "hel.example.net", .port = 8443, .public_key = PBK},
};

static struct sub_user user(void)
{
    return (struct sub_user){.uuid = UUID,
                             .name = "alice",
                             .download = 5ULL << 30,
                             .total = 100ULL << 30,
                             .expire = NOW + 30 * DAY,
                             .state = SUB_USER_ACTIVE};
}

static struct sub_request page_req(const struct sub_user *u)
{
    return (struct sub_request){.format = SUB_FMT_HTML,
                                .user_agent = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/126.0 Mobile",
                                .now = NOW,
                                .user = u,
                                .nodes = nodes,
                                .n_nodes = 2,
                                .profile_title = "Veil VPN",
                                .support_url = "https://t.me/veil_support",
                                .web_page_url = URL,
                                .lang = SUB_LANG_EN};
}

/* Renders and keeps the body in *page (caller frees). */
static char *render_page(const struct sub_request *req)
{
    struct sub_response r;
    int rc = sub_render(req, &r);
    if (rc != 0)
        fail_msg("sub_render: %s", err_str(rc));
    assert_int_equal(r.format, SUB_FMT_HTML);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    char *body = r.body;
    r.body = NULL;
    sub_response_dispose(&r);
    return body;
}

static void has(const char *page, const char *needle)
{
    if (strstr(page, needle) == NULL)
        fail_msg("page lacks %s", needle);
}

static void lacks(const char *page, const char *needle)
{
    if (strstr(page, needle) != NULL)
        fail_msg("page must not contain %s", needle);
}

static void test_states_en(void **state)
{
    (void)state;
    static const struct {
        enum sub_user_state st;
        int64_t expire_in; /* seconds from NOW; 0: never */
        const char *data_state, *word, *when;
    } cases[] = {
        {SUB_USER_ACTIVE, 30 * DAY, "\"active\"", "Active</p>", "<strong id=\"days\">30 days left</strong>"},
        {SUB_USER_ACTIVE, 0, "\"active\"", "Active</p>", "No end date"},
        {SUB_USER_ACTIVE, 2 * DAY, "\"expiring\"", "Expires soon</p>", "2 days left</strong> · Ends on 23 Sep 2026"},
        {SUB_USER_ACTIVE, 3600, "\"expiring\"", "Expires soon</p>", "1 day left"},
        {SUB_USER_EXPIRED, -DAY, "\"expired\"", "Expired</p>", "Ended on 20 Sep 2026"},
        {SUB_USER_LIMITED, 10 * DAY, "\"limited\"", "Traffic limit reached</p>", "10 days left"},
        {SUB_USER_PENDING, 40 * DAY, "\"pending\"", "Not started yet</p>", "Ends on 31 Oct 2026"},
        {SUB_USER_DISABLED, 40 * DAY, "\"disabled\"", "Disabled</p>", "Ends on 31 Oct 2026"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sub_user u = user();
        u.state = cases[i].st;
        u.expire = cases[i].expire_in ? NOW + cases[i].expire_in : 0;
        struct sub_request req = page_req(&u);
        char *page = render_page(&req);
        has(page, cases[i].data_state);
        has(page, cases[i].word);
        has(page, cases[i].when);
        has(page, "<html lang=\"en\">");
        if (cases[i].st == SUB_USER_ACTIVE) {
            has(page, "vless://" UUID "@203.0.113.10:443?");
            lacks(page, "id=\"no-servers\"");
        } else {
            lacks(page, "vless://");
            has(page, "id=\"no-servers\"");
        }
        free(page);
    }
}

static void test_russian(void **state)
{
    (void)state;
    static const struct {
        int64_t days;
        const char *text;
    } plural[] = {
        {1, "Остался 1 день"},   {2, "Осталось 2 дня"},   {5, "Осталось 5 дней"},     {11, "Осталось 11 дней"},
        {21, "Остался 21 день"}, {22, "Осталось 22 дня"}, {112, "Осталось 112 дней"},
    };
    for (size_t i = 0; i < sizeof plural / sizeof plural[0]; i++) {
        struct sub_user u = user();
        u.expire = NOW + plural[i].days * DAY;
        struct sub_request req = page_req(&u);
        req.lang = SUB_LANG_RU;
        char *page = render_page(&req);
        has(page, plural[i].text);
        has(page, "<html lang=\"ru\">");
        has(page, plural[i].days <= 3 ? "Скоро закончится" : "Активна");
        free(page);
    }
    struct sub_user u = user();
    u.state = SUB_USER_LIMITED;
    u.traffic_reset_at = NOW + 10 * DAY;
    struct sub_request req = page_req(&u);
    req.lang = SUB_LANG_RU;
    char *page = render_page(&req);
    has(page, "Трафик исчерпан");
    has(page, "5.00 GiB из 100.00 GiB");
    has(page, "Обнулится 01.10.2026");
    has(page, "Скопировать ссылку");
    has(page, "<a href=\"?lang=en\" hreflang=\"en\" lang=\"en\">English</a>");
    has(page, "<a href=\"?lang=ru\" hreflang=\"ru\" lang=\"ru\" aria-current=\"true\">Русский</a>");
    free(page);
}

static void test_traffic(void **state)
{
    (void)state;
    struct sub_user u = user();
    u.traffic_reset_at = NOW + 10 * DAY;
    struct sub_request req = page_req(&u);
    char *page = render_page(&req);
    has(page, "role=\"progressbar\" aria-label=\"Traffic used\" aria-valuemin=\"0\" aria-valuemax=\"100\" "
              "aria-valuenow=\"5\"><span style=\"width:5%\">");
    has(page, "<p id=\"traffic\">5.00 GiB of 100.00 GiB</p>");
    has(page, "Resets on 1 Oct 2026");
    free(page);
    u.upload = 200ULL << 30; /* past the quota: the bar stops at 100 % */
    page = render_page(&req);
    has(page, "aria-valuenow=\"100\"><span style=\"width:100%\">");
    free(page);
    u = user();
    u.total = 0;
    page = render_page(&req);
    has(page, "<p id=\"traffic\">5.00 GiB · unlimited</p>");
    lacks(page, "progressbar");
    lacks(page, "id=\"reset\"");
    free(page);
}

static void test_qr_and_copy(void **state)
{
    (void)state;
    struct sub_user u = user();
    struct sub_request req = page_req(&u);
    char *page = render_page(&req);
    has(page, "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ");
    has(page, "role=\"img\" aria-label=\"QR code of the subscription link\"><rect");
    has(page, "<input id=\"sub-url\" readonly value=\"" URL "\">");
    has(page, "<button class=\"btn\" id=\"copy\" type=\"button\" data-done=\"Copied\">Copy link</button>");
    has(page, "<script>document.getElementById('copy')");
    /* each active server has its own QR code, labelled with its name */
    has(page, "aria-label=\"Frankfurt\"");
    has(page, "aria-label=\"Helsinki\"");
    free(page);
    req.web_page_url = NULL; /* public_url not configured: no link to show */
    page = render_page(&req);
    has(page, "id=\"no-link\"");
    lacks(page, "QR code of the subscription link");
    lacks(page, "<script>");
    lacks(page, "happ://");
    free(page);
}

static void test_app_links(void **state)
{
    (void)state;
    struct sub_user u = user();
    struct sub_request req = page_req(&u);
    char *page = render_page(&req);
    has(page, "<details id=\"apps-android\" open><summary>Android</summary>");
    has(page, "<details id=\"apps-ios\"><summary>iOS</summary>");
    has(page, "<details id=\"apps-linux\"><summary>Linux</summary>");
    has(page, "data-app=\"Happ\" href=\"happ://add/" URL "\">Add to Happ</a>");
    has(page, "href=\"v2rayng://install-config?name=Veil%20VPN&amp;url=https%3A%2F%2Fhub.example.com%2Fsub%2F"
              "AbCdEfGhIjKlMnOp\"");
    has(page, "href=\"hiddify://import/" URL "\"");
    has(page, "href=\"streisand://import/" URL "\"");
    has(page, "href=\"shadowrocket://add/" URL "#Veil%20VPN\"");
    has(page, "href=\"clashmeta://install-config?name=Veil%20VPN&amp;url=https%3A%2F%2F");
    has(page, "href=\"stash://install-config?url=https%3A%2F%2F");
    has(page, "href=\"flclashx://install-config?url=https%3A%2F%2F");
    has(page, "href=\"koala-clash://install-config?url=https%3A%2F%2F");
    has(page, "href=\"prizrak-box://install-config?url=https%3A%2F%2F");
    has(page, "<a href=\"https://github.com/2dust/v2rayNG/releases\" rel=\"noopener noreferrer\">Download v2rayNG</a>");
    free(page);
    /* the visitor's platform comes first and open */
    static const struct {
        const char *ua, *first;
    } ua[] = {
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148", "apps-ios"},
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0", "apps-windows"},
        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15", "apps-macos"},
        {"Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", "apps-linux"},
        {NULL, "apps-android"},
    };
    for (size_t i = 0; i < sizeof ua / sizeof ua[0]; i++) {
        req.user_agent = ua[i].ua;
        page = render_page(&req);
        const char *first = strstr(page, "<details id=\"apps-");
        assert_non_null(first);
        char want[64];
        snprintf(want, sizeof want, "<details id=\"%s\" open>", ua[i].first);
        assert_int_equal(strncmp(first, want, strlen(want)), 0);
        free(page);
    }
}

static void test_escaping_and_headers(void **state)
{
    (void)state;
    struct sub_user u = user();
    u.name = "<script>alert(1)</script>";
    struct sub_request req = page_req(&u);
    req.profile_title = "<Veil & \"Co\">";
    req.announce = "Device limit <reached>";
    req.support_url = "https://t.me/x\"onmouseover=\"alert(1)";
    req.web_page_url = "https://hub.example.com/sub/AbCdEfGhIjKlMnOp?a=1&b=\"2\"";
    req.accent_color = "red}</style><script>alert(1)</script>";
    struct sub_response r;
    assert_int_equal(sub_render(&req, &r), 0);
    const char *page = r.body;
    has(page, "<title>&lt;Veil &amp; &quot;Co&quot;&gt;</title>");
    has(page, "<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>");
    has(page, "<p id=\"announce\">Device limit &lt;reached&gt;</p>");
    has(page, "href=\"https://t.me/x&quot;onmouseover=&quot;alert(1)\"");
    has(page, "value=\"https://hub.example.com/sub/AbCdEfGhIjKlMnOp?a=1&amp;b=&quot;2&quot;\"");
    has(page, ":root{--accent:#2563eb}");
    lacks(page, "<script>alert");
    lacks(page, "<Veil");
    assert_string_equal(sub_response_header(&r, "cache-control"), "private, no-store");
    assert_string_equal(sub_response_header(&r, "referrer-policy"), "no-referrer");
    assert_non_null(strstr(sub_response_header(&r, "content-security-policy"), "default-src 'none'"));
    assert_null(sub_response_header(&r, "content-disposition"));
    sub_response_dispose(&r);
    /* a valid operator colour is used; a non-web support link is not linked */
    req.accent_color = "#0F766e";
    req.support_url = "javascript:alert(1)";
    char *p2 = render_page(&req);
    has(p2, ":root{--accent:#0F766e}");
    lacks(p2, "javascript:");
    lacks(p2, "id=\"support\"");
    free(p2);
}

static void test_renew_and_logo(void **state)
{
    (void)state;
    struct sub_user u = user();
    u.state = SUB_USER_EXPIRED;
    u.expire = NOW - DAY;
    struct sub_request req = page_req(&u);
    req.renew_url = "https://t.me/veil_bot?start=renew&x=\"1\"";
    req.logo_url = "https://vpn.example.com/logo.png?a=1&b=2";
    req.lang = SUB_LANG_RU;
    char *page = render_page(&req);
    has(page, "<a class=\"btn\" id=\"renew\" href=\"https://t.me/veil_bot?start=renew&amp;x=&quot;1&quot;\" "
              "rel=\"noopener noreferrer\">Продлить</a>");
    has(page, "<h1><img class=\"logo\" alt=\"\" src=\"https://vpn.example.com/logo.png?a=1&amp;b=2\">Veil VPN</h1>");
    free(page);
    req.renew_url = "javascript:alert(1)"; /* only web and Telegram links */
    req.logo_url = "data:image/svg+xml,<svg onload=alert(1)>";
    page = render_page(&req);
    lacks(page, "id=\"renew\"");
    lacks(page, "class=\"logo\"");
    lacks(page, "javascript:");
    free(page);
    req.renew_url = "tg://resolve?domain=veil_bot";
    req.logo_url = NULL;
    page = render_page(&req);
    has(page, "id=\"renew\" href=\"tg://resolve?domain=veil_bot\"");
    free(page);
}

static void test_devices(void **state)
{
    (void)state;
    struct sub_user u = user();
    struct sub_request req = page_req(&u);
    char *page = render_page(&req);
    lacks(page, "id=\"devices\""); /* no limit: nothing to say */
    free(page);
    u.devices = 1;
    u.device_limit = 3;
    page = render_page(&req);
    has(page, "<p class=\"muted\" id=\"devices\">Devices: 1 of 3</p>");
    lacks(page, "devices-full");
    free(page);
    u.devices = 3;
    req.lang = SUB_LANG_RU;
    page = render_page(&req);
    has(page, "Устройства: 3 из 3");
    has(page, "id=\"devices-full\" role=\"status\">Достигнут лимит устройств");
    free(page);
}

static void test_pick_lang(void **state)
{
    (void)state;
    static const struct {
        const char *choice, *accept;
        enum sub_lang want;
    } cases[] = {
        {NULL, NULL, SUB_LANG_EN},
        {NULL, "", SUB_LANG_EN},
        {NULL, "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", SUB_LANG_RU},
        {NULL, "en-US,en;q=0.9,ru;q=0.8", SUB_LANG_EN},
        {NULL, "de-DE,de;q=0.9,ru;q=0.5", SUB_LANG_RU},
        {NULL, "ru;q=0.3, en;q=0.7", SUB_LANG_EN},
        {NULL, "ru;q=0.3, en;q=0.25", SUB_LANG_RU},
        {NULL, "RU", SUB_LANG_RU},
        {NULL, "rus,ru-x;q=abc", SUB_LANG_EN}, /* not a ru tag; malformed q drops the tag */
        {NULL, "ru;q=0", SUB_LANG_EN},         /* q=0: not acceptable */
        {NULL, "*;q=0.5, ru ; q=1.0", SUB_LANG_RU},
        {"ru", "en", SUB_LANG_RU},
        {"en", "ru", SUB_LANG_EN},
        {"xx", "ru", SUB_LANG_RU},
        {"ru-RU", "en", SUB_LANG_EN}, /* ?lang= takes the exact codes only */
        {"", NULL, SUB_LANG_EN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (sub_pick_lang(cases[i].choice, cases[i].accept) != cases[i].want)
            fail_msg("case %zu: choice=%s accept=%s", i, cases[i].choice ? cases[i].choice : "(null)",
                     cases[i].accept ? cases[i].accept : "(null)");
    assert_string_equal(sub_lang_code(SUB_LANG_RU), "ru");
    assert_string_equal(sub_lang_code(SUB_LANG_EN), "en");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states_en), cmocka_unit_test(test_russian),
        cmocka_unit_test(test_traffic),   cmocka_unit_test(test_qr_and_copy),
        cmocka_unit_test(test_app_links), cmocka_unit_test(test_escaping_and_headers),
        cmocka_unit_test(test_pick_lang), cmocka_unit_test(test_renew_and_logo),
        cmocka_unit_test(test_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

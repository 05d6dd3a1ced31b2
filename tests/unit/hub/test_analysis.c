/* hub/analysis: each detector fires on a simulated scenario and stays quiet on an ordinary one,
 * on SQLite and (the store part) PostgreSQL; a finding is one row per (kind, subject) however
 * often it is seen; ack and re-open; the "analysis" settings; the findings API, with /sub
 * fetched over HTTP from many loopback source addresses (127.0.0.x) until leaked_link appears. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "hub/analysis/analysis.h"
#include "hub/analysis/analysis_geoip.h"
#include "hub/api/api.h"
#include "hub/api/api_int.h"
#include "hub/store/store_findings.h"
#include "hub_test_db.h"
#include "hub_test_http.h"

#define T0 1700000000

static void exec_sql(struct store *st, const char *sql)
{
    struct store_conn sc;
    assert_int_equal(store__acquire(st, &sc), 0);
    int rc = store__exec(&sc, sql, NULL, 0, NULL);
    if (rc < 0)
        fprintf(stderr, "SQL failed: %s\n", sql);
    assert_int_equal(rc, 0);
    store__release(&sc);
}

static int64_t query_i64(struct store *st, const char *sql)
{
    struct store_conn sc;
    struct store_res r;
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(store__exec(&sc, sql, NULL, 0, &r), 0);
    int64_t v = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : -1;
    store__res_free(&r);
    store__release(&sc);
    return v;
}

/* A user with (device_limit > 0) or without an active subscription; returns the id. */
static int64_t add_user(struct store *st, const char *name, int64_t device_limit)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (username, language, vless_uuid, sub_token, referral_code, currency, created_at,"
             " updated_at, revision) VALUES ('%s', 'en', 'uuid-%s', 'tok-%s', 'ref-%s', 'RUB', %d, %d, 1)",
             name, name, name, name, T0, T0);
    exec_sql(st, sql);
    snprintf(sql, sizeof sql, "SELECT id FROM users WHERE username = '%s'", name);
    int64_t id = query_i64(st, sql);
    if (device_limit > 0) {
        if (query_i64(st, "SELECT count(*) FROM plans") == 0)
            exec_sql(st, "INSERT INTO plans (name, duration_days, created_at) VALUES ('month', 30, 0)");
        snprintf(sql, sizeof sql,
                 "INSERT INTO subscriptions (user_id, plan_id, starts_at, ends_at, state, last_reset_at, quota_bytes,"
                 " device_limit, reset_strategy, created_at, updated_at) SELECT %lld, id, %d, %d, 'active', %d, 0,"
                 " %lld, 'none', %d, %d FROM plans WHERE name = 'month'",
                 (long long)id, T0 - 86400, T0 + 30 * 86400, T0, (long long)device_limit, T0, T0);
        exec_sql(st, sql);
    }
    return id;
}

static void fetch(struct store *st, int64_t user, const char *ip, const char *ua, int64_t at)
{
    assert_int_equal(store_sub_fetch_seen(st, user, ip, ua, at), 0);
}

static struct analysis_cfg defaults(void)
{
    struct analysis_cfg c;
    char err[128];
    assert_int_equal(analysis_cfg_parse(NULL, &c, err, sizeof err), 0);
    return c;
}

/* The "analysis" section SECTION parsed (every other setting its default). */
static struct analysis_cfg cfg_of(const char *section)
{
    struct analysis_cfg c;
    char err[128];
    json_t *j = json_loads(section, 0, NULL);
    assert_non_null(j);
    assert_int_equal(analysis_cfg_parse(j, &c, err, sizeof err), 0);
    json_decref(j);
    return c;
}

/* Audit rows as nodes' usage pushes write them (actor "node:1" unless given). */
struct node_row {
    const char *actor, *action, *target, *details;
    int64_t at;
};
static void add_node_rows(struct store *st, const struct node_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct store_audit a = {.actor = rows[i].actor ? rows[i].actor : "node:1",
                                .action = rows[i].action,
                                .target = rows[i].target,
                                .details = rows[i].details};
        assert_int_equal(store_audit_add(st, &a, rows[i].at), 0);
    }
}

static int64_t findings_of(struct store *st, const char *kind, const char *subject)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM findings WHERE kind = '%s' AND subject = '%s'", kind, subject);
    return query_i64(st, sql);
}

static int64_t findings_total(struct store *st)
{
    return query_i64(st, "SELECT count(*) FROM findings");
}

static int64_t user_findings(struct store *st, const char *kind, int64_t user)
{
    char subject[32];
    snprintf(subject, sizeof subject, "user:%lld", (long long)user);
    return findings_of(st, kind, subject);
}

static int setup_pg(void **state)
{
    *state = hub_test_store(hub_test_pg_url(), 2);
    return *state ? 0 : -1;
}

/* Twelve addresses in ten minutes: leaked. Two addresses (home and phone): quiet. */
static void test_leaked_link(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = defaults();
    int64_t leaked = add_user(st, "leaked", 0), normal = add_user(st, "normal", 0);
    char ip[32];
    for (int i = 0; i < 12; i++) {
        snprintf(ip, sizeof ip, "203.0.%d.%d", 100 + i, i + 1);
        fetch(st, leaked, ip, "v2rayNG/1.8", T0 + i * 50);
    }
    fetch(st, normal, "198.51.100.4", "Hiddify/2.0", T0);
    fetch(st, normal, "10.20.30.40", "Streisand/1.5", T0 + 300);
    fetch(st, normal, "198.51.100.4", "Hiddify/2.0", T0 + 500);
    struct analysis_stats s;
    assert_int_equal(analysis_run(st, &cfg, T0 + 600, &s), 0);
    assert_int_equal(user_findings(st, "leaked_link", leaked), 1);
    assert_int_equal(findings_total(st), 1);
    assert_int_equal(s.created, 1);
    /* Still going a pass later: the same row, seen twice. */
    assert_int_equal(analysis_run(st, &cfg, T0 + 660, &s), 0);
    assert_int_equal(s.created, 0);
    assert_int_equal(findings_total(st), 1);
    struct store_finding_filter f = {.kind = "leaked_link", .limit = 10};
    struct store_finding *rows;
    size_t n;
    assert_int_equal(store_finding_list(st, &f, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].count, 2);
    assert_int_equal(rows[0].first_seen, T0 + 600);
    assert_int_equal(rows[0].last_seen, T0 + 660);
    assert_string_equal(rows[0].severity, "critical");
    assert_string_equal(rows[0].state, "open");
    assert_non_null(strstr(rows[0].details, "\"addresses\":12"));
    store_findings_free(rows, n);
    /* Many clients (user agents) from few addresses also count: six apps behind one NAT. */
    int64_t shared = add_user(st, "agents", 0);
    for (int i = 0; i < 6; i++) {
        char ua[32];
        snprintf(ua, sizeof ua, "client-%d/1.0", i);
        snprintf(ip, sizeof ip, "192.0.2.%d", 1 + i % 2);
        fetch(st, shared, ip, ua, T0 + 600 + i); /* the row keeps the last agent per address */
    }
    assert_int_equal(analysis_run(st, &cfg, T0 + 700, &s), 0);
    assert_int_equal(user_findings(st, "leaked_link", shared), 0); /* two rows, two agents: not six */
    /* After the window the fetch rows age out and nothing new is raised. */
    assert_int_equal(analysis_run(st, &cfg, T0 + 5000, &s), 0);
    assert_int_equal(s.raised, 0);
}

/* "action": "rotate": a new leaked_link finding replaces the user's token once, audited; the
 * ordinary user keeps theirs; later passes over the same finding do not rotate again. */
static void test_leaked_link_rotates(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = cfg_of("{\"leaked_link\": {\"action\": \"rotate\"}}");
    assert_true(cfg.leaked.rotate);
    int64_t leaked = add_user(st, "leaked", 0), normal = add_user(st, "normal", 0);
    char ip[32];
    for (int i = 0; i < 10; i++) {
        snprintf(ip, sizeof ip, "203.0.113.%d", i + 1);
        fetch(st, leaked, ip, "v2rayNG/1.8", T0 + i);
    }
    fetch(st, normal, "198.51.100.4", "Hiddify/2.0", T0);
    struct analysis_stats s;
    assert_int_equal(analysis_run(st, &cfg, T0 + 60, &s), 0);
    assert_int_equal(s.rotated, 1);
    assert_int_equal(query_i64(st, "SELECT count(*) FROM users WHERE username = 'leaked' AND sub_token = 'tok-leaked'"),
                     0);
    assert_int_equal(query_i64(st, "SELECT count(*) FROM users WHERE username = 'normal' AND sub_token = 'tok-normal'"),
                     1);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_log WHERE actor = 'analysis' AND action = 'user.rotate_token'"
             " AND target = 'user:%lld'",
             (long long)leaked);
    assert_int_equal(query_i64(st, sql), 1);
    assert_int_equal(analysis_run(st, &cfg, T0 + 120, &s), 0);
    assert_int_equal(s.rotated, 0);
    assert_int_equal(query_i64(st, sql), 1);
    /* The default is to report only. */
    struct analysis_cfg quiet = defaults();
    assert_false(quiet.leaked.rotate);
}

/* A plan for one device: fetches from three networks in six hours is sharing; one network
 * (several addresses in one /24) plus a second is a phone on Wi-Fi and LTE. */
static void test_account_sharing(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = defaults();
    int64_t sharer = add_user(st, "sharer", 1), mover = add_user(st, "mover", 1), unlimited = add_user(st, "free", 0);
    fetch(st, sharer, "198.51.100.7", "a", T0);
    fetch(st, sharer, "203.0.113.9", "a", T0 + 3600);
    fetch(st, sharer, "192.0.2.33", "a", T0 + 7200);
    fetch(st, mover, "198.51.100.7", "a", T0);
    fetch(st, mover, "198.51.100.99", "a", T0 + 3600);
    fetch(st, mover, "2001:db8:1:2::5", "a", T0 + 7200);
    fetch(st, mover, "2001:db8:1:ffff::6", "a", T0 + 7300); /* the same /48 */
    fetch(st, unlimited, "198.51.100.7", "a", T0);
    fetch(st, unlimited, "203.0.113.9", "a", T0 + 3600);
    fetch(st, unlimited, "192.0.2.33", "a", T0 + 7200);
    assert_int_equal(analysis_run(st, &cfg, T0 + 7400, NULL), 0);
    assert_int_equal(user_findings(st, "account_sharing", sharer), 1);
    assert_int_equal(findings_total(st), 1);
}

/* A country database written here by MaxMind::DB::Writer (Debian's libmaxmind-db-writer-perl):
 * 198.51.100.0/24 and 192.0.2.0/24 in DE, 203.0.113.0/24 and 198.18.0.0/24 in US, each with a
 * city's location. Skips when the writer is absent. */
static void write_country_db(const char *dir, char *path, size_t cap)
{
    if (system("perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null") != 0)
        skip();
    char script[300], cmd[700];
    snprintf(script, sizeof script, "%s/mk.pl", dir);
    snprintf(path, cap, "%s/country.mmdb", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs("use MaxMind::DB::Writer::Tree;\n"
          "my $t = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24,\n"
          "  remove_reserved_networks => 0, database_type => 'Veil-Test-Country', languages => ['en'],\n"
          "  description => {en => 'test'}, map_key_type_callback => sub {\n"
          "    {country => 'map', iso_code => 'utf8_string', location => 'map', latitude => 'double',\n"
          "     longitude => 'double'}->{$_[0]} });\n"
          "sub at { {country => {iso_code => $_[0]}, location => {latitude => $_[1], longitude => $_[2]}} }\n"
          "$t->insert_network('198.51.100.0/24', at('DE', 52.52, 13.40));\n" /* Berlin */
          "$t->insert_network('192.0.2.0/24', at('DE', 48.14, 11.58));\n"    /* Munich, 504 km */
          "$t->insert_network('203.0.113.0/24', at('US', 40.71, -74.01));\n" /* New York */
          "$t->insert_network('198.18.0.0/24', at('US', 34.05, -118.24));\n" /* Los Angeles, 3936 km */
          "open my $fh, '>:raw', $ARGV[0] or die; $t->write_tree($fh); close $fh;\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "perl '%s' '%s'", script, path);
    assert_int_equal(system(cmd), 0);
}

/* A fresh directory DIR (a mkdtemp template) holding the test database, opened. */
static struct analysis_geoip *open_test_db(char *dir)
{
    char path[200], err[600];
    assert_non_null(mkdtemp(dir));
    write_country_db(dir, path, sizeof path);
    struct analysis_geoip *g = NULL;
    assert_int_equal(analysis_geoip_open(path, &g, err, sizeof err), 0);
    return g;
}

static void remove_dir(const char *dir)
{
    char rm[80];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
}

/* Countries (with a country database): a one-device plan seen from Germany and the USA within
 * the window is sharing although two networks are within per_device; the same plan from two
 * German networks, and a three-device plan from both countries, stay quiet; without the
 * database nothing fires. Lookups: known, unknown and malformed addresses; a broken file is
 * refused with a reason. */
static void test_account_sharing_countries(void **state)
{
    struct store *st = *state;
    char dir[] = "/tmp/veil_geoip_XXXXXX", err[600];
    struct analysis_geoip *g = open_test_db(dir);
    char cc[3];
    assert_true(analysis_geoip_country(g, "198.51.100.7", cc));
    assert_string_equal(cc, "DE");
    assert_true(analysis_geoip_country(g, "203.0.113.200", cc));
    assert_string_equal(cc, "US");
    assert_false(analysis_geoip_country(g, "10.1.2.3", cc));
    assert_string_equal(cc, "");
    assert_false(analysis_geoip_country(g, "2001:db8::1", cc));
    assert_false(analysis_geoip_country(g, "not-an-address", cc));
    assert_false(analysis_geoip_country(g, "", cc));

    int64_t traveller = add_user(st, "traveller", 1), homebody = add_user(st, "homebody", 1),
            family = add_user(st, "family", 3);
    fetch(st, traveller, "198.51.100.7", "a", T0);
    fetch(st, traveller, "203.0.113.9", "a", T0 + 600);
    fetch(st, homebody, "198.51.100.7", "a", T0);
    fetch(st, homebody, "192.0.2.33", "a", T0 + 600);
    fetch(st, family, "198.51.100.8", "a", T0);
    fetch(st, family, "203.0.113.10", "a", T0 + 600);
    struct analysis_cfg cfg = defaults();
    assert_int_equal(analysis_run(st, &cfg, T0 + 700, NULL), 0);
    assert_int_equal(findings_total(st), 0); /* networks alone: within 2 x 1 */
    cfg.geoip = g;
    assert_int_equal(analysis_run(st, &cfg, T0 + 700, NULL), 0);
    char subj[32], sql[160];
    snprintf(subj, sizeof subj, "user:%lld", (long long)traveller);
    assert_int_equal(findings_of(st, "account_sharing", subj), 1);
    assert_int_equal(findings_total(st), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM findings WHERE subject = '%s' AND details LIKE '%%\"countries\":[\"DE\",\"US\"]%%'",
             subj);
    assert_int_equal(query_i64(st, sql), 1);
    analysis_geoip_close(g);

    /* a file that is not a MaxMind DB */
    char bad[220];
    snprintf(bad, sizeof bad, "%s/bad.mmdb", dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("not a database\n", f);
    fclose(f);
    assert_int_equal(analysis_geoip_open(bad, &g, err, sizeof err), ERR_CONFIG);
    assert_non_null(strstr(err, "bad.mmdb"));
    assert_null(g);
    snprintf(bad, sizeof bad, "%s/missing.mmdb", dir);
    assert_int_equal(analysis_geoip_open(bad, &g, err, sizeof err), ERR_CONFIG);
    remove_dir(dir);
}

/* Two distant places at once (a database with locations): a one-device plan seen in New York and
 * Los Angeles (one country, two networks: within per_device) 10 min apart is account_sharing
 * with reason "distant"; the same two places an hour apart, Berlin and Munich (504 km) 10 min
 * apart, and a two-device plan in both US cities stay quiet; "distance.km" above the pair's
 * distance silences it; coordinates are read and bad configs refused. */
static void test_account_sharing_distance(void **state)
{
    struct store *st = *state;
    char dir[] = "/tmp/veil_geoip_XXXXXX", err[600];
    struct analysis_geoip *g = open_test_db(dir);
    double lat = 0, lon = 0;
    assert_true(analysis_geoip_location(g, "198.18.0.9", &lat, &lon));
    assert_true(lat > 34.04 && lat < 34.06 && lon > -118.25 && lon < -118.23);
    assert_false(analysis_geoip_location(g, "10.1.2.3", &lat, &lon));
    assert_false(analysis_geoip_location(g, "not-an-address", &lat, &lon));

    int64_t flyer = add_user(st, "flyer", 1), slow = add_user(st, "slow", 1), local = add_user(st, "local", 1),
            pair = add_user(st, "pair", 2);
    fetch(st, flyer, "203.0.113.9", "a", T0);
    fetch(st, flyer, "198.18.0.9", "a", T0 + 600);
    fetch(st, slow, "203.0.113.9", "a", T0 - 3000);
    fetch(st, slow, "198.18.0.9", "a", T0 + 600);
    fetch(st, local, "198.51.100.7", "a", T0);
    fetch(st, local, "192.0.2.33", "a", T0 + 600);
    fetch(st, pair, "203.0.113.10", "a", T0);
    fetch(st, pair, "198.18.0.10", "a", T0 + 600);
    struct analysis_cfg cfg = defaults();
    assert_int_equal(cfg.distance.km, 1000);
    assert_int_equal(cfg.distance.window, 1800);
    cfg.geoip = g;
    cfg.distance.km = 4000; /* NY-LA is 3936 km */
    assert_int_equal(analysis_run(st, &cfg, T0 + 700, NULL), 0);
    assert_int_equal(findings_total(st), 0);
    cfg.distance.km = 1000;
    assert_int_equal(analysis_run(st, &cfg, T0 + 700, NULL), 0);
    char subj[32], sql[200];
    snprintf(subj, sizeof subj, "user:%lld", (long long)flyer);
    assert_int_equal(findings_of(st, "account_sharing", subj), 1);
    assert_int_equal(findings_total(st), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM findings WHERE subject = '%s' AND details LIKE '%%\"km\":393%%' AND "
             "details LIKE '%%\"reason\":\"distant\"%%'",
             subj);
    assert_int_equal(query_i64(st, sql), 1);
    analysis_geoip_close(g);

    json_t *j = json_loads("{\"distance\": {\"window\": 600, \"km\": 500}}", 0, NULL);
    assert_int_equal(analysis_cfg_parse(j, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.distance.window, 600);
    assert_int_equal(cfg.distance.km, 500);
    json_decref(j);
    j = json_loads("{\"distance\": {\"km\": 0}}", 0, NULL);
    assert_int_equal(analysis_cfg_parse(j, &cfg, err, sizeof err), ERR_CONFIG);
    assert_non_null(strstr(err, "distance.km"));
    json_decref(j);
    remove_dir(dir);
}

/* Five failed/refunded/flagged payments in a day: a finding; four, or old ones: quiet. */
static void test_payment_trouble(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = defaults();
    int64_t bad = add_user(st, "carder", 0), ok = add_user(st, "payer", 0);
    static const char *const statuses[] = {"failed", "refunded", "failed", "succeeded", "failed"};
    char sql[512];
    for (int i = 0; i < 5; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO payments (user_id, provider, external_id, amount_minor, currency, status,"
                 " idempotency_key, created_at, updated_at, flag) VALUES (%lld, 'yookassa', 'b%d', 100, 'RUB', '%s',"
                 " 'kb%d', %d, %d, %s)",
                 (long long)bad, i, statuses[i], i, T0 + i, T0 + i, i == 3 ? "'amount_mismatch'" : "NULL");
        exec_sql(st, sql);
        snprintf(sql, sizeof sql,
                 "INSERT INTO payments (user_id, provider, external_id, amount_minor, currency, status,"
                 " idempotency_key, created_at, updated_at) VALUES (%lld, 'yookassa', 'o%d', 100, 'RUB', '%s',"
                 " 'ko%d', %d, %d)",
                 (long long)ok, i, i == 4 ? "succeeded" : "failed", i, T0 - (i == 0 ? 2 * 86400 : 0),
                 T0 - (i == 0 ? 2 * 86400 : 0));
        exec_sql(st, sql);
    }
    assert_int_equal(analysis_run(st, &cfg, T0 + 60, NULL), 0);
    char subj[32];
    snprintf(subj, sizeof subj, "user:%lld", (long long)bad);
    assert_int_equal(findings_of(st, "payment_trouble", subj), 1);
    assert_int_equal(findings_total(st), 1);
}

/* Three rejected webhooks from one address in an hour: forgery; two from another: quiet. */
static void test_webhook_forgery(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = defaults();
    for (int i = 0; i < 5; i++) {
        struct store_audit a = {.actor = "webhook",
                                .action = "webhook_rejected",
                                .target = "provider:yookassa",
                                .source_ip = i < 3 ? "198.51.100.66" : "203.0.113.1"};
        assert_int_equal(store_audit_add(st, &a, T0 + i * 60), 0);
    }
    struct store_audit other = {.actor = "token:1", .action = "user.create", .source_ip = "203.0.113.1"};
    assert_int_equal(store_audit_add(st, &other, T0), 0);
    assert_int_equal(analysis_run(st, &cfg, T0 + 600, NULL), 0);
    assert_int_equal(findings_of(st, "webhook_forgery", "ip:198.51.100.66"), 1);
    assert_int_equal(findings_total(st), 1);
}

/* Nodes report BitTorrent attempts in their usage push (audit rows node.bittorrent): a user at
 * the threshold gets one finding, however many pushes; below it, or outside the window, none. */
static void test_bittorrent(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = cfg_of("{\"bittorrent\": {\"window\": 3600, \"attempts\": 3}}");
    static const struct node_row rows[] = {
        {NULL, "node.bittorrent", "user:7", "{\"attempts\":2}", T0 + 10},
        {NULL, "node.bittorrent", "user:7", "{\"attempts\":1}", T0 + 20},
        {NULL, "node.bittorrent", "user:8", "{\"attempts\":2}", T0 + 30},
        {NULL, "node.bittorrent", "user:9", "{\"attempts\":5}", T0 - 7200},
        {NULL, "node.bittorrent", "user:70", "{\"attempts\":9}", T0 + 40},
        {NULL, "node.bittorrent", "user:x", "{\"attempts\":9}", T0 + 40},
    };
    add_node_rows(st, rows, sizeof rows / sizeof rows[0]);
    struct analysis_stats s;
    assert_int_equal(analysis_run(st, &cfg, T0 + 60, &s), 0);
    assert_int_equal(findings_of(st, "bittorrent", "user:7"), 1);  /* 2 + 1 attempts */
    assert_int_equal(findings_of(st, "bittorrent", "user:70"), 1); /* not summed with user:7 */
    assert_int_equal(findings_of(st, "bittorrent", "user:8"), 0);  /* below the threshold */
    assert_int_equal(findings_of(st, "bittorrent", "user:9"), 0);  /* outside the window */
    assert_int_equal(findings_total(st), 2);
    assert_int_equal(analysis_run(st, &cfg, T0 + 120, &s), 0);
    assert_int_equal(findings_total(st), 2); /* one row per user */
    /* The default: every attempt is a finding. */
    struct analysis_cfg d = defaults();
    assert_int_equal(d.bittorrent.attempts, 1);
    assert_int_equal(d.bittorrent.window, 86400);
}

/* Nodes report refused port-25 flows per user (audit rows node.smtp): "abuse: many destinations
 * on port 25" at the threshold (10 in an hour by default), quiet below it and for other kinds. */
static void test_smtp(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = defaults();
    assert_int_equal(cfg.smtp.attempts, 10);
    assert_int_equal(cfg.smtp.window, 3600);
    static const struct node_row rows[] = {
        {NULL, "node.smtp", "user:5", "{\"attempts\":6}", T0 + 10},
        {NULL, "node.smtp", "user:5", "{\"attempts\":4}", T0 + 20},    /* another push, or another node */
        {NULL, "node.smtp", "user:6", "{\"attempts\":9}", T0 + 30},    /* an ordinary mail client: below */
        {NULL, "node.smtp", "user:7", "{\"attempts\":50}", T0 - 7200}, /* outside the window */
        {NULL, "node.bittorrent", "user:8", "{\"attempts\":50}", T0 + 30},
        {NULL, "node.smtp", "user:9", "not json", T0 + 30},
    };
    add_node_rows(st, rows, sizeof rows / sizeof rows[0]);
    assert_int_equal(analysis_run(st, &cfg, T0 + 60, NULL), 0);
    assert_int_equal(findings_of(st, "smtp", "user:5"), 1);
    assert_int_equal(findings_of(st, "smtp", "user:6"), 0);
    assert_int_equal(findings_of(st, "smtp", "user:7"), 0);
    assert_int_equal(findings_of(st, "smtp", "user:8"), 0);
    assert_int_equal(findings_of(st, "smtp", "user:9"), 0);
    assert_int_equal(findings_of(st, "bittorrent", "user:8"), 1);
    assert_int_equal(findings_total(st), 2);
}

/* Nodes report the networks they flagged for probing (audit rows node.probing, target
 * net:<cidr>): one finding per network, summed over nodes; other targets are ignored. */
static void test_probing(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = cfg_of("{\"probing\": {\"window\": 600, \"fallbacks\": 40}}");
    static const struct node_row rows[] = {
        {"node:1", "node.probing", "net:198.51.100.0/24", "{\"attempts\":30}", T0 + 10},
        {"node:2", "node.probing", "net:198.51.100.0/24", "{\"attempts\":15}", T0 + 20},  /* another node */
        {"node:1", "node.probing", "net:2001:db8:1::/48", "{\"attempts\":39}", T0 + 20},  /* below */
        {"node:1", "node.probing", "net:203.0.113.0/24", "{\"attempts\":90}", T0 - 3600}, /* outside the window */
        {"node:1", "node.probing", "user:3", "{\"attempts\":90}", T0 + 20},               /* not a network */
    };
    add_node_rows(st, rows, sizeof rows / sizeof rows[0]);
    assert_int_equal(analysis_run(st, &cfg, T0 + 60, NULL), 0);
    assert_int_equal(findings_of(st, "probing", "net:198.51.100.0/24"), 1);
    assert_int_equal(findings_of(st, "probing", "net:2001:db8:1::/48"), 0);
    assert_int_equal(findings_of(st, "probing", "net:203.0.113.0/24"), 0);
    assert_int_equal(findings_total(st), 1);
    struct analysis_cfg d = defaults();
    assert_int_equal(d.probing.fallbacks, 1); /* every flagged network is a finding */
    assert_int_equal(d.probing.window, 3600);
}

/* A token's first address is not news; a second one is. */
static void test_token_new_ip(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = defaults();
    assert_int_equal(store_audit_token_ip(st, "token:5", "10.0.0.1", T0), 1);
    assert_int_equal(store_audit_token_ip(st, "token:6", "10.0.0.1", T0), 1);
    assert_int_equal(store_audit_token_ip(st, "token:6", "10.0.0.1", T0 + 50), 0);
    assert_int_equal(analysis_run(st, &cfg, T0 + 60, NULL), 0);
    assert_int_equal(findings_total(st), 0);
    assert_int_equal(store_audit_token_ip(st, "token:5", "192.0.2.200", T0 + 100), 1);
    assert_int_equal(analysis_run(st, &cfg, T0 + 160, NULL), 0);
    assert_int_equal(findings_of(st, "token_new_ip", "token:5"), 1);
    assert_int_equal(findings_total(st), 1);
}

/* Acknowledged stays acknowledged while it persists; back after a quiet day, open again. */
static void test_ack_and_reopen(void **state)
{
    struct store *st = *state;
    bool is_new = false;
    assert_int_equal(store_finding_raise(st, "leaked_link", "user:1", "critical", "{}", T0, 86400, &is_new), 0);
    assert_true(is_new);
    int64_t id = query_i64(st, "SELECT id FROM findings");
    struct store_audit a = {.actor = "token:1", .action = "finding.ack", .source_ip = "127.0.0.1"};
    assert_int_equal(store_finding_ack(st, id, T0 + 10, &a), 0);
    assert_int_equal(store_finding_ack(st, id + 1000, T0 + 10, &a), ERR_NOT_FOUND);
    assert_int_equal(query_i64(st, "SELECT count(*) FROM audit_log WHERE action = 'finding.ack'"), 1);
    assert_int_equal(store_finding_raise(st, "leaked_link", "user:1", "critical", NULL, T0 + 60, 86400, &is_new), 0);
    assert_false(is_new);
    struct store_finding_filter f = {.state = "acknowledged", .limit = 5};
    struct store_finding *rows;
    size_t n;
    assert_int_equal(store_finding_list(st, &f, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].count, 2);
    store_findings_free(rows, n);
    char kinds[4][33];
    int64_t counts[4];
    assert_int_equal(store_finding_open_counts(st, kinds, counts, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_finding_raise(st, "leaked_link", "user:1", "critical", NULL, T0 + 2 * 86400, 86400, &is_new),
                     0);
    assert_true(is_new);
    assert_int_equal(store_finding_open_counts(st, kinds, counts, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(kinds[0], "leaked_link");
    assert_int_equal(counts[0], 1);
    assert_int_equal(findings_total(st), 1);
    assert_int_equal(store_finding_raise(st, "x", "user:1", "info", NULL, T0, 1, NULL), 0);
    assert_int_equal(store_finding_raise(st, "x", NULL, "info", NULL, T0, 1, NULL), ERR_MALFORMED);
}

static void test_settings(void **state)
{
    (void)state;
    struct analysis_cfg c;
    char err[160];
    json_t *j = json_loads("{\"interval\": 30, \"leaked_link\": {\"window\": 600, \"ips\": 5}}", 0, NULL);
    assert_int_equal(analysis_cfg_parse(j, &c, err, sizeof err), 0);
    assert_int_equal(c.interval, 30);
    assert_int_equal(c.leaked.window, 600);
    assert_int_equal(c.leaked.ips, 5);
    assert_int_equal(c.leaked.clients, 6);
    assert_int_equal(c.spike.factor, 10);
    assert_int_equal(c.spike.floor_mb, 2048);
    json_decref(j);
    j = json_loads("{\"country_db\": \"/var/lib/GeoIP/c.mmdb\", \"sharing\": {\"countries\": 3}}", 0, NULL);
    assert_int_equal(analysis_cfg_parse(j, &c, err, sizeof err), 0);
    assert_string_equal(c.country_db, "/var/lib/GeoIP/c.mmdb");
    assert_int_equal(c.sharing.countries, 3);
    assert_null(c.geoip); /* the module opens it */
    json_decref(j);
    j = json_loads("{\"traffic_spike\": {\"window\": 259200, \"factor\": 5, \"floor_mb\": 512}}", 0, NULL);
    assert_int_equal(analysis_cfg_parse(j, &c, err, sizeof err), 0);
    assert_int_equal(c.spike.window, 259200);
    assert_int_equal(c.spike.factor, 5);
    assert_int_equal(c.spike.floor_mb, 512);
    json_decref(j);
    static const char *const bad[] = {
        "[]",
        "{\"interval\": 1}",
        "{\"nope\": 1}",
        "{\"sharing\": {\"per_device\": 0}}",
        "{\"sharing\": {\"countries\": 0}}",
        "{\"country_db\": \"GeoLite2-Country.mmdb\"}",
        "{\"country_db\": 5}",
        "{\"leaked_link\": {\"ips\": \"10\"}}",
        "{\"payments\": {\"window\": 60, \"extra\": 1}}",
        "{\"payments\": {\"action\": \"rotate\"}}",
        "{\"leaked_link\": {\"action\": \"ban\"}}",
        "{\"bittorrent\": {\"attempts\": 0}}",
        "{\"smtp\": {\"attempts\": -1}}",
        "{\"probing\": {\"fallbacks\": 0}}",
        "{\"probing\": {\"window\": \"1h\"}}",
        "{\"retention\": 3600, \"sharing\": {\"window\": 86400}}",
        "{\"traffic_spike\": {\"window\": 86400}}",
        "{\"traffic_spike\": {\"factor\": 0}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        err[0] = '\0';
        assert_int_equal(analysis_cfg_parse(j, &c, err, sizeof err), ERR_CONFIG);
        assert_non_null(strstr(err, "analysis"));
        json_decref(j);
    }
}

/* ---- the API, and /sub fetched from many loopback source addresses ---- */

#define ADMIN "analysis-test-admin-token-0123456789"
#define SUPPORT "analysis-test-support-token-0123456789"

static long fetch_from(CURL *c, const char *url, const char *src)
{
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_INTERFACE, src);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "v2rayNG/1.8.5");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hub_test_on_body);
    struct hub_test_body b = {0};
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    free(b.p);
    return status;
}

/* The /metrics text (support token). */
static char *metrics_text(CURL *c, const char *base)
{
    char url[128], auth[128];
    snprintf(url, sizeof url, "%s/metrics", base);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", SUPPORT);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    struct hub_test_body b = {0};
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hub_test_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_slist_free_all(h);
    assert_non_null(b.p);
    return b.p;
}

/* Where a /sub link is fetched from is noted once a minute per (token, address), so a token's
 * first address is still remembered after its next eleven, as test_api_and_loopback_fetches
 * expects of 127.0.0.2. With the direct-mapped table (4096 slots) a sibling sharing its slot
 * evicted it, the address was noted twice in its minute, and that test failed "2 != 1" in about
 * 1 run of 200 (its token is random); here 3 of these 1000 tokens did. */
static void test_fetch_notes_survive_siblings(void **state)
{
    (void)state;
    int64_t now = T0;
    for (int t = 0; t < 1000; t++) {
        char tok[33], ip[16];
        snprintf(tok, sizeof tok, "tok%029d", t);
        for (int i = 2; i < 14; i++) {
            snprintf(ip, sizeof ip, "127.0.0.%d", i);
            assert_false(api__sub_fetch_seen_recently(tok, ip, now));
        }
        assert_true(api__sub_fetch_seen_recently(tok, "127.0.0.2", now + 1));
    }
}

static void test_api_and_loopback_fetches(void **state)
{
    (void)state;
    struct store *st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    char h[65];
    api_token_hash(ADMIN, strlen(ADMIN), h);
    assert_int_equal(store_token_add(st, "admin", h, HUB_ROLE_ADMIN, 0, NULL), 0);
    api_token_hash(SUPPORT, strlen(SUPPORT), h);
    assert_int_equal(store_token_add(st, "support", h, HUB_ROLE_SUPPORT, 0, NULL), 0);
    struct api_cfg cfg = {.port = 0, .threads = 2, .public_url = "https://vpn.example.com"};
    struct api_server *srv;
    assert_int_equal(api_start(&cfg, st, &srv), 0);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)api_port(srv));
    CURL *c = curl_easy_init();
    json_t *made = NULL, *j = NULL;
    assert_int_equal(hub_test_http(c, base, "POST", "/api/v1/users", ADMIN, "{\"username\":\"bob\"}", NULL, &made),
                     201);
    char url[256];
    snprintf(url, sizeof url, "%s/sub/%s", base, json_string_value(json_object_get(made, "sub_token")));
    int64_t uid = json_integer_value(json_object_get(made, "id"));
    /* Twelve loopback source addresses: the hub sees each as the client address. */
    for (int i = 2; i < 14; i++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.0.%d", i);
        long status = fetch_from(c, url, src);
        if (status == 0) {
            fprintf(stderr, "cannot bind %s: loopback aliases unavailable\n", src);
            skip();
        }
        assert_int_equal(status, 200);
    }
    /* A client polling from one address is noted once a minute, not once a fetch. */
    assert_int_equal(fetch_from(c, url, "127.0.0.2"), 200);
    assert_int_equal(query_i64(st, "SELECT fetches FROM sub_fetch_ips WHERE ip = '127.0.0.2'"), 1);
    assert_int_equal(query_i64(st, "SELECT count(*) FROM sub_fetch_ips"), 12);
    struct analysis_cfg acfg = defaults();
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(analysis_run(st, &acfg, now + 1, NULL), 0);
    assert_int_equal(hub_test_http(c, base, "GET", "/api/v1/findings?kind=leaked_link", SUPPORT, NULL, NULL, &j), 200);
    json_t *list = json_object_get(j, "findings");
    assert_int_equal(json_array_size(list), 1);
    json_t *fnd = json_array_get(list, 0);
    char subj[32];
    snprintf(subj, sizeof subj, "user:%lld", (long long)uid);
    assert_string_equal(json_string_value(json_object_get(fnd, "subject")), subj);
    assert_string_equal(json_string_value(json_object_get(fnd, "state")), "open");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(fnd, "details"), "addresses")), 12);
    int64_t fid = json_integer_value(json_object_get(fnd, "id"));
    json_decref(j);
    char *m = metrics_text(c, base);
    assert_non_null(strstr(m, "veil_hub_findings_open{kind=\"leaked_link\"} 1\n"));
    assert_non_null(strstr(m, "veil_hub_findings_open{kind=\"account_sharing\"} 0\n"));
    free(m);
    /* Filters and their validation. */
    assert_int_equal(hub_test_http(c, base, "GET", "/api/v1/findings?kind=account_sharing", SUPPORT, NULL, NULL, &j),
                     200);
    assert_int_equal(json_array_size(json_object_get(j, "findings")), 0);
    json_decref(j);
    assert_int_equal(hub_test_http(c, base, "GET", "/api/v1/findings?state=closed", SUPPORT, NULL, NULL, &j), 400);
    json_decref(j);
    assert_int_equal(hub_test_http(c, base, "GET", "/api/v1/findings?limit=0", SUPPORT, NULL, NULL, &j), 400);
    json_decref(j);
    assert_int_equal(hub_test_http(c, base, "GET", "/api/v1/findings?kind=a%0Ab", SUPPORT, NULL, NULL, &j), 400);
    json_decref(j);
    assert_int_equal(hub_test_http(c, base, "GET", "/api/v1/findings?subject=", SUPPORT, NULL, NULL, &j), 400);
    json_decref(j);
    char longq[200] = "/api/v1/findings?kind=";
    memset(longq + strlen(longq), 'k', 100);
    assert_int_equal(hub_test_http(c, base, "GET", longq, SUPPORT, NULL, NULL, &j), 400);
    json_decref(j);
    assert_int_equal(
        hub_test_http(c, base, "GET", "/api/v1/findings?subject=user%3A1%27OR%271%27%3D%271", SUPPORT, NULL, NULL, &j),
        200); /* a bound parameter: matches nothing */
    assert_int_equal(json_array_size(json_object_get(j, "findings")), 0);
    json_decref(j);
    assert_int_equal(hub_test_http(c, base, "GET", "/api/v1/findings", NULL, NULL, NULL, &j), 401);
    json_decref(j);
    /* Ack: admin only, audited. */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/findings/%lld/ack", (long long)fid);
    assert_int_equal(hub_test_http(c, base, "POST", path, SUPPORT, NULL, NULL, &j), 403);
    json_decref(j);
    assert_int_equal(hub_test_http(c, base, "POST", "/api/v1/findings/999999/ack", ADMIN, NULL, NULL, &j), 404);
    json_decref(j);
    assert_int_equal(hub_test_http(c, base, "POST", path, ADMIN, NULL, NULL, &j), 200);
    json_decref(j);
    assert_int_equal(hub_test_http(c, base, "GET", "/api/v1/findings?state=acknowledged", ADMIN, NULL, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "findings")), 1);
    json_decref(j);
    assert_int_equal(query_i64(st, "SELECT count(*) FROM audit_log WHERE action = 'finding.ack'"), 1);
    m = metrics_text(c, base);
    assert_non_null(strstr(m, "veil_hub_findings_open{kind=\"leaked_link\"} 0\n"));
    free(m);
    json_decref(made);
    curl_easy_cleanup(c);
    api_stop(srv);
    store_close(st);
}

/* One usage push of `bytes` (half up, half down) for each user in the hour starting at `hour`. */
static void push_hour(struct store *st, const int64_t *users, const int64_t *bytes, size_t n, int64_t hour)
{
    static int seq;
    struct store_usage u[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        u[i] = (struct store_usage){users[i], bytes[i] / 2, bytes[i] - bytes[i] / 2};
    char id[32];
    snprintf(id, sizeof id, "p%d", ++seq);
    bool dup = true;
    int64_t rev;
    assert_int_equal(store_usage_push(st, 1, id, u, n, hour + 600, &dup, &rev), 0);
    assert_false(dup);
}

/* Two days at 100 MiB an hour, then 3 GiB in one hour: a spike. Quiet: a user who always moves
 * 3 GiB an hour and does 3.5 GiB now, a small user at 1 -> 500 MiB (under the floor), and a new
 * user with 5 GiB in their first hour (no history to compare with). */
static void test_traffic_spike(void **state)
{
    struct store *st = *state;
    struct analysis_cfg cfg = defaults();
    const int64_t MiB = 1048576;
    int64_t users[4] = {add_user(st, "spiky", 0), add_user(st, "heavy", 0), add_user(st, "small", 0),
                        add_user(st, "newcomer", 0)};
    int64_t now_hour = T0 - T0 % 3600;
    for (int64_t h = 48; h >= 1; h--) {
        int64_t usual[3] = {100 * MiB, 3072 * MiB, 1 * MiB};
        push_hour(st, users, usual, 3, now_hour - h * 3600);
    }
    int64_t now_bytes[4] = {3072 * MiB, 3584 * MiB, 500 * MiB, 5120 * MiB};
    push_hour(st, users, now_bytes, 4, now_hour);
    assert_int_equal(query_i64(st, "SELECT count(*) FROM usage_hourly"), 3 * 48 + 4);
    assert_int_equal(analysis_run(st, &cfg, now_hour + 900, NULL), 0);
    char subj[32];
    snprintf(subj, sizeof subj, "user:%lld", (long long)users[0]);
    assert_int_equal(findings_of(st, "traffic_spike", subj), 1);
    assert_int_equal(findings_total(st), 1);
    /* The hours past the window are forgotten by the pass. */
    struct analysis_cfg later = cfg;
    assert_int_equal(analysis_run(st, &later, now_hour + cfg.spike.window + 2 * 3600, NULL), 0);
    assert_int_equal(query_i64(st, "SELECT count(*) FROM usage_hourly"), 0);
}

/* The hour rows one push writes (one statement for the whole push): a user listed twice gets
 * the sum, a user with no bytes no row, a second push in the hour adds, the next hour is a row of
 * its own, and an hour saturates at 2^48 bytes. */
static void test_usage_hourly_rows(void **state)
{
    struct store *st = *state;
    int64_t a = add_user(st, "a", 0), b = add_user(st, "b", 0), c = add_user(st, "c", 0);
    int64_t hour = T0 - T0 % 3600;
    const int64_t cap = (int64_t)1 << 48;
    struct store_usage u[] = {{b, 10, 20}, {a, 1, 2}, {c, 0, 0}, {b, 100, 200}};
    bool dup = true;
    assert_int_equal(store_usage_push(st, 1, "h-1", u, 4, hour + 10, &dup, NULL), 0);
    assert_false(dup);
    char q[160];
    snprintf(q, sizeof q, "SELECT bytes FROM usage_hourly WHERE user_id = %lld AND hour = %lld", (long long)b,
             (long long)hour);
    assert_int_equal(query_i64(st, q), 330);
    assert_int_equal(query_i64(st, "SELECT count(*) FROM usage_hourly"), 2);
    struct store_usage again[] = {{a, 5, 5}};
    assert_int_equal(store_usage_push(st, 1, "h-2", again, 1, hour + 3599, &dup, NULL), 0);
    snprintf(q, sizeof q, "SELECT bytes FROM usage_hourly WHERE user_id = %lld AND hour = %lld", (long long)a,
             (long long)hour);
    assert_int_equal(query_i64(st, q), 13);
    assert_int_equal(store_usage_push(st, 1, "h-3", again, 1, hour + 3600, &dup, NULL), 0);
    snprintf(q, sizeof q, "SELECT bytes FROM usage_hourly WHERE user_id = %lld AND hour = %lld", (long long)a,
             (long long)(hour + 3600));
    assert_int_equal(query_i64(st, q), 10);
    /* Saturation: a huge row, then more on top, stays at the cap. */
    struct store_usage huge[] = {{c, cap - 5, 1}, {c, 10, 0}};
    assert_int_equal(store_usage_push(st, 1, "h-4", huge, 2, hour + 20, &dup, NULL), 0);
    snprintf(q, sizeof q, "SELECT bytes FROM usage_hourly WHERE user_id = %lld AND hour = %lld", (long long)c,
             (long long)hour);
    assert_int_equal(query_i64(st, q), cap);
    assert_int_equal(store_usage_push(st, 1, "h-5", huge + 1, 1, hour + 30, &dup, NULL), 0);
    assert_int_equal(query_i64(st, q), cap);
    assert_int_equal(query_i64(st, "SELECT count(*) FROM usage_hourly"), 4);
}

#define STORE_TESTS(setup)                                                                                             \
    cmocka_unit_test_setup_teardown(test_leaked_link, setup, hub_test_teardown),                                       \
        cmocka_unit_test_setup_teardown(test_leaked_link_rotates, setup, hub_test_teardown),                           \
        cmocka_unit_test_setup_teardown(test_account_sharing, setup, hub_test_teardown),                               \
        cmocka_unit_test_setup_teardown(test_account_sharing_countries, setup, hub_test_teardown),                     \
        cmocka_unit_test_setup_teardown(test_account_sharing_distance, setup, hub_test_teardown),                      \
        cmocka_unit_test_setup_teardown(test_payment_trouble, setup, hub_test_teardown),                               \
        cmocka_unit_test_setup_teardown(test_webhook_forgery, setup, hub_test_teardown),                               \
        cmocka_unit_test_setup_teardown(test_token_new_ip, setup, hub_test_teardown),                                  \
        cmocka_unit_test_setup_teardown(test_bittorrent, setup, hub_test_teardown),                                    \
        cmocka_unit_test_setup_teardown(test_smtp, setup, hub_test_teardown),                                          \
        cmocka_unit_test_setup_teardown(test_probing, setup, hub_test_teardown),                                       \
        cmocka_unit_test_setup_teardown(test_ack_and_reopen, setup, hub_test_teardown),                                \
        cmocka_unit_test_setup_teardown(test_traffic_spike, setup, hub_test_teardown),                                 \
        cmocka_unit_test_setup_teardown(test_usage_hourly_rows, setup, hub_test_teardown)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {STORE_TESTS(hub_test_setup_sqlite), cmocka_unit_test(test_settings),
                                              cmocka_unit_test(test_fetch_notes_survive_siblings),
                                              cmocka_unit_test(test_api_and_loopback_fetches)};
    const struct CMUnitTest pg_tests[] = {STORE_TESTS(setup_pg)};
    int rc = cmocka_run_group_tests_name("analysis_sqlite", sqlite_tests, NULL, NULL);
    rc |= HUB_TEST_RUN_PG_GROUP("analysis_pg", pg_tests);
    return rc;
}

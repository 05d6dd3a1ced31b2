/* Nodes, /admin/nodes: state (health, draining, last check-in), live load, REALITY target names
 * (SNI), weight and traffic; drain/undrain, set the weight, rotate the node token, register a
 * new node. A new or rotated token is shown once, with the commands that install it on the
 * node. Each change is the REST API's store call with its audit action, then the node list and
 * cached /sub answers are dropped. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/html.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/admin/admin_http.h"
#include "hub/admin/admin_pages.h"
#include "hub/admin/admin_routes.h"
#include "hub/api/api_valid.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"

static int node_row(struct buf *out, const struct admin_session *s, const struct hub_node *n, int64_t now)
{
    TRY(admin_putf(out, "<tr id=\"node-%" PRId64 "\"><td>%" PRId64 "</td><td>", n->id, n->id));
    TRY(html_escape_str(out, n->name));
    TRY(admin_put(out, "<br><span class=\"muted\">"));
    TRY(html_escape_str(out, n->address));
    TRY(admin_putf(out, ":%u", (unsigned)n->port));
    if (n->group[0] != '\0') {
        TRY(admin_put(out, " · "));
        TRY(html_escape_str(out, n->group));
    }
    TRY(admin_putf(out, "</span></td><td class=\"state\">%s%s</td><td>", hub_health_name(n->health),
                   n->draining ? ", draining" : ""));
    TRY(admin_time(out, n->last_seen));
    if (n->last_seen > 0 && now >= n->last_seen)
        TRY(admin_putf(out, "<br><span class=\"muted\">%" PRId64 " s ago</span>", now - n->last_seen));
    TRY(admin_putf(out, "</td><td>%" PRId64 " conn, %" PRId64 "%% CPU<br><span class=\"muted\">", n->load_connections,
                   n->load_cpu));
    TRY(admin_bytes(out, n->load_bps));
    TRY(admin_put(out, "/s</span></td><td>"));
    for (size_t i = 0; i < n->n_server_names; i++) {
        TRY(admin_put(out, i ? "<br>" : ""));
        TRY(html_escape_str(out, n->server_names[i]));
    }
    TRY(admin_put(out, "</td><td>"));
    TRY(admin_bytes(out, n->traffic_up + n->traffic_down));
    TRY(admin_putf(out, "</td><td class=\"weight\">%" PRId64 "</td><td>", n->weight));
    if (s->role == HUB_ROLE_ADMIN) {
        TRY(admin_putf(out, "<form class=\"inline\" method=\"post\" action=\"/admin/nodes/%" PRId64 "/drain\">",
                       n->id));
        TRY(admin_csrf_input(out, s));
        TRY(admin_putf(out,
                       "<input type=\"hidden\" name=\"draining\" value=\"%s\"><button class=\"%s drain\" "
                       "type=\"submit\" aria-label=\"%s node %" PRId64 "\">%s</button></form> ",
                       n->draining ? "false" : "true", n->draining ? "" : "danger", n->draining ? "Undrain" : "Drain",
                       n->id, n->draining ? "Undrain" : "Drain"));
        TRY(admin_putf(out, "<form class=\"inline\" method=\"post\" action=\"/admin/nodes/%" PRId64 "/weight\">",
                       n->id));
        TRY(admin_csrf_input(out, s));
        TRY(admin_putf(out,
                       "<input name=\"weight\" type=\"number\" min=\"0\" max=\"1000\" value=\"%" PRId64
                       "\" aria-label=\"Weight of node %" PRId64 "\" style=\"width:6em\"> <button type=\"submit\" "
                       "aria-label=\"Set the weight of node %" PRId64 "\">Set</button></form> ",
                       n->weight, n->id, n->id));
        TRY(admin_putf(out, "<form class=\"inline\" method=\"post\" action=\"/admin/nodes/%" PRId64 "/rotate-token\">",
                       n->id));
        TRY(admin_csrf_input(out, s));
        TRY(admin_putf(out,
                       "<button class=\"danger\" type=\"submit\" aria-label=\"Rotate the token of node %" PRId64
                       "\">Rotate token</button></form>",
                       n->id));
    }
    return admin_put(out, "</td></tr>\n");
}

static int field(struct buf *out, const char *id, const char *label, const char *extra)
{
    return admin_putf(out, "<div><label for=\"%s\">%s</label><input id=\"%s\" name=\"%s\" %s></div>", id, label, id, id,
                      extra);
}

static int register_form(struct buf *out, const struct admin_session *s)
{
    TRY(admin_put(out,
                  "<h2>Register a node</h2><form class=\"card\" id=\"node-form\" method=\"post\" "
                  "action=\"/admin/nodes\"><p class=\"muted\">On the new machine, <code>deploy/install node</code> "
                  "makes the REALITY key pair and prints the public key; register the node with it here, then "
                  "install the token this page shows.</p>"));
    TRY(admin_csrf_input(out, s));
    TRY(admin_put(out, "<div class=\"row\">"));
    TRY(field(out, "name", "Name", "required maxlength=\"64\""));
    TRY(field(out, "address", "Address (host or IP)", "required maxlength=\"253\""));
    TRY(field(out, "port", "Port", "type=\"number\" min=\"1\" max=\"65535\" value=\"443\""));
    TRY(field(out, "public_key", "REALITY public key", "required maxlength=\"43\""));
    TRY(field(out, "server_names", "Server names (SNI), comma-separated", "required"));
    TRY(field(out, "short_ids", "Short ids, comma-separated", "value=\"\""));
    TRY(field(out, "country", "Country (2 letters)", "maxlength=\"2\""));
    return admin_put(out, "<button id=\"node-register\" type=\"submit\">Register</button></div></form>\n");
}

static void on_list(struct api_call *c)
{
    struct admin_session s;
    if (!admin_viewer(c, &s))
        return;
    struct hub_node *nodes = NULL;
    size_t n = 0;
    int rc = store_node_list(api_call_store(c), &nodes, &n);
    if (rc < 0) {
        admin_store_error(c, rc, "nodes");
        return;
    }
    const char *done = api_call_query(c, "done");
    const char *notice = done == NULL                      ? NULL
                         : strcmp(done, "drained") == 0    ? "Node draining: it leaves subscriptions."
                         : strcmp(done, "undrained") == 0  ? "Node back in subscriptions."
                         : strcmp(done, "weighted") == 0   ? "Weight saved."
                         : strcmp(done, "bad-weight") == 0 ? "Weight: a whole number from 0 to 1000."
                                                           : NULL;
    struct buf b;
    buf_init(&b);
    rc = admin_layout_top(&b, "Nodes", &s);
    if (rc == 0)
        rc = admin_notice(&b, notice, done != NULL && strcmp(done, "bad-weight") == 0);
    if (rc == 0)
        rc = admin_putf(&b,
                        "<div class=\"card\"><table><caption class=\"muted\" id=\"count\">%zu nodes</caption><thead>"
                        "<tr><th scope=\"col\">Id</th><th scope=\"col\">Node</th><th scope=\"col\">State</th><th "
                        "scope=\"col\">Last sync</th><th scope=\"col\">Load</th><th scope=\"col\">Target (SNI)</th>"
                        "<th scope=\"col\">Traffic</th><th scope=\"col\">Weight</th><th scope=\"col\">Actions</th>"
                        "</tr></thead><tbody>\n",
                        n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = node_row(&b, &s, &nodes[i], api_call_now(c));
    if (rc == 0)
        rc = admin_put(&b, "</tbody></table></div>\n");
    if (rc == 0 && s.role == HUB_ROLE_ADMIN)
        rc = register_form(&b, &s);
    if (rc == 0)
        rc = admin_layout_end(&b);
    free(nodes);
    admin_send_page(c, 200, &b, rc);
}

/* The page that shows a node token once, with the commands that put it on the node. */
static void token_page(struct api_call *c, const struct admin_session *s, const struct hub_node *n, const char *tok,
                       const char *what)
{
    char title[HUB_NAME_MAX + 16], hub[ADMIN_URL_MAX];
    snprintf(title, sizeof title, "Node %s", n->name);
    admin_view_public_url(c, hub, sizeof hub);
    struct buf b;
    buf_init(&b);
    int rc = admin_layout_top(&b, title, s);
    if (rc == 0)
        rc = admin_notice(&b, what, false);
    if (rc == 0)
        rc = admin_put(&b, "<section class=\"card\"><h2>Node token</h2><p>Shown this once (the hub keeps only its "
                           "hash):</p><pre id=\"node-token\">");
    if (rc == 0)
        rc = html_escape_str(&b, tok);
    if (rc == 0)
        rc = admin_put(&b, "</pre><h2>Install on the node</h2><p>As root, in the checkout of Veil on the node:</p><pre "
                           "id=\"install-cmd\">deploy/install node\numask 077; printf '%s' '");
    if (rc == 0)
        rc = html_escape_str(&b, tok);
    if (rc == 0)
        rc = admin_put(&b, "' &gt; /etc/veil/credentials/node-hub-token\n# /etc/veil/node.json: \"veil\": {\"hub\": "
                           "{\"url\": \"");
    if (rc == 0)
        rc = html_escape_str(&b, hub);
    if (rc == 0)
        rc = admin_put(&b, "\", \"tokenFile\": \"hub-token\"}}\ndeploy/install node</pre><p><a href=\"/admin/nodes\">"
                           "Back to the nodes</a></p></section>\n");
    if (rc == 0)
        rc = admin_layout_end(&b);
    admin_send_page(c, 200, &b, rc);
}

/* A new node token "vn_..." and its hash; false after answering 500. */
static bool new_token(struct api_call *c, char tok[static HUB_TOKEN_MAX + 1], char hash[static 65])
{
    uint8_t rnd[HUB_API_TOKEN_RAND];
    if (crypto_random(rnd, sizeof rnd) < 0) {
        api_reply_error(c, 500, "internal", "random generator failed");
        return false;
    }
    hub_api_token_format(tok, "vn_", rnd);
    secure_wipe(rnd, sizeof rnd);
    if (api_token_hash(tok, strlen(tok), hash) < 0) {
        secure_wipe(tok, HUB_TOKEN_MAX + 1);
        api_reply_error(c, 500, "internal", "hash failed");
        return false;
    }
    return true;
}

static struct store_audit audit_of(struct api_call *c, const struct admin_session *s, char actor[static 32],
                                   const char *action, const char *details)
{
    admin_actor(s, actor);
    return (struct store_audit){.actor = actor, .action = action, .source_ip = api_call_ip(c), .details = details};
}

static void on_drain(struct api_call *c)
{
    struct admin_session s;
    if (!admin_changer(c, &s))
        return;
    char v[16], actor[32];
    bool drain = !(admin_field(c, "draining", v, sizeof v) && strcmp(v, "false") == 0);
    struct store_audit a =
        audit_of(c, &s, actor, "node.drain",
                 drain ? "{\"draining\":true,\"via\":\"dashboard\"}" : "{\"draining\":false,\"via\":\"dashboard\"}");
    int rc = store_node_set(api_call_store(c), api_call_id(c), -1, drain ? 1 : 0, -1, api_call_now(c), &a);
    api_call_changed(c, true);
    if (rc < 0) {
        admin_store_error(c, rc, "node");
        return;
    }
    admin_redirect(c, drain ? "/admin/nodes?done=drained" : "/admin/nodes?done=undrained");
}

static void on_weight(struct api_call *c)
{
    struct admin_session s;
    if (!admin_changer(c, &s))
        return;
    char v[ADMIN_FORM_MAX], actor[32], det[64];
    int64_t w;
    if (!admin_field(c, "weight", v, sizeof v) || api_parse_uint_param(v, 0, 1000, &w) < 0) {
        admin_redirect(c, "/admin/nodes?done=bad-weight");
        return;
    }
    snprintf(det, sizeof det, "{\"weight\":%" PRId64 ",\"via\":\"dashboard\"}", w);
    struct store_audit a = audit_of(c, &s, actor, "node.weight", det);
    int rc = store_node_set(api_call_store(c), api_call_id(c), w, -1, -1, api_call_now(c), &a);
    api_call_changed(c, true);
    if (rc < 0) {
        admin_store_error(c, rc, "node");
        return;
    }
    admin_redirect(c, "/admin/nodes?done=weighted");
}

static void on_rotate(struct api_call *c)
{
    struct admin_session s;
    if (!admin_changer(c, &s))
        return;
    char tok[HUB_TOKEN_MAX + 1], hash[65], actor[32];
    if (!new_token(c, tok, hash))
        return;
    struct store_audit a = audit_of(c, &s, actor, "node.rotate_token", "{\"via\":\"dashboard\"}");
    struct hub_node n;
    int rc = store_node_set_token(api_call_store(c), api_call_id(c), hash, api_call_now(c), &a);
    if (rc == 0)
        rc = store_node_get(api_call_store(c), api_call_id(c), &n);
    if (rc < 0) {
        secure_wipe(tok, sizeof tok);
        admin_store_error(c, rc, "node");
        return;
    }
    token_page(c, &s, &n, tok, "Token rotated: the old one stopped working.");
    secure_wipe(tok, sizeof tok);
}

/* "a, b,c" -> a JSON array of the non-empty items. */
static json_t *list_json(const char *text)
{
    json_t *arr = json_array();
    char copy[ADMIN_FORM_MAX], *save = NULL;
    snprintf(copy, sizeof copy, "%s", text);
    for (char *t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save))
        json_array_append_new(arr, json_string(t));
    return arr;
}

static void on_register(struct api_call *c)
{
    struct admin_session s;
    if (!admin_changer(c, &s))
        return;
    char name[ADMIN_FORM_MAX] = "", addr[ADMIN_FORM_MAX] = "", port[16] = "", key[ADMIN_FORM_MAX] = "",
         sni[ADMIN_FORM_MAX] = "", sids[ADMIN_FORM_MAX] = "", country[8] = "";
    admin_field(c, "name", name, sizeof name);
    admin_field(c, "address", addr, sizeof addr);
    admin_field(c, "port", port, sizeof port);
    admin_field(c, "public_key", key, sizeof key);
    admin_field(c, "server_names", sni, sizeof sni);
    admin_field(c, "short_ids", sids, sizeof sids);
    admin_field(c, "country", country, sizeof country);
    int64_t p = 443;
    if (port[0] != '\0' && api_parse_uint_param(port, 1, 65535, &p) < 0)
        p = 0; /* api_parse_node refuses it with its own message */
    json_t *j = json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "name", name, "address", addr, "port", (json_int_t)p,
                          "public_key", key, "server_names", list_json(sni), "short_ids", list_json(sids));
    if (j != NULL && country[0] != '\0')
        json_object_set_new(j, "country", json_string(country));
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct hub_node n;
    struct api_verr e = {0};
    if (body == NULL || api_parse_node(body, strlen(body), &n, &e) < 0) {
        free(body);
        char msg[240];
        snprintf(msg, sizeof msg, "Node not registered: %s", body ? e.msg : "out of memory");
        api_reply(c, 422, "text/plain; charset=utf-8", msg, strlen(msg));
        return;
    }
    free(body);
    char tok[HUB_TOKEN_MAX + 1], hash[65], actor[32];
    if (!new_token(c, tok, hash))
        return;
    json_t *d = json_pack("{s:s,s:s,s:s}", "name", n.name, "address", n.address, "via", "dashboard");
    char *det = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    struct store_audit a = audit_of(c, &s, actor, "node.register", det);
    int rc = store_node_create(api_call_store(c), &n, hash, api_call_now(c), &a);
    free(det);
    api_call_changed(c, true);
    if (rc < 0) {
        secure_wipe(tok, sizeof tok);
        admin_store_error(c, rc, "node (name)");
        return;
    }
    token_page(c, &s, &n, tok, "Node registered.");
    secure_wipe(tok, sizeof tok);
}

void admin_nodes_routes(void)
{
    api_route_add("GET", "/admin/nodes", API_AUTH_NONE, on_list);
    static const struct admin_post posts[] = {
        {"/admin/nodes", on_register},
        {"/admin/nodes/{id}/drain", on_drain},
        {"/admin/nodes/{id}/weight", on_weight},
        {"/admin/nodes/{id}/rotate-token", on_rotate},
    };
    ADMIN_POSTS(posts);
}

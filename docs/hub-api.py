#!/usr/bin/env python3
# Writes docs/hub-api.json (OpenAPI 3.1 of veil-hub): python3 docs/hub-api.py > docs/hub-api.json
# tests/unit/hub/test_api.c checks the result against the server route table.
import json
def ref(n): return {"$ref": "#/components/schemas/" + n}
def jr(schema, desc="OK"): return {"description": desc, "content": {"application/json": {"schema": schema}}}
ERR = {"$ref": "#/components/responses/Error"}
SYNC_ERR = {"$ref": "#/components/responses/SyncError"}
RATE = {"$ref": "#/components/responses/RateLimited"}
def errs(*codes): return {str(c): ERR for c in codes}
def op(summary, tag, ok_code, ok, security="admin", body=None, params=None, errors=(400, 401, 403, 404, 413, 422)):
    o = {"summary": summary, "tags": [tag], "responses": {str(ok_code): ok}}
    o["responses"].update(errs(*errors))
    if security == "node": o["responses"]["400"] = SYNC_ERR
    if tag != "ops" or security is not None: o["responses"]["429"] = RATE  # all but /healthz
    if security is None: o["security"] = []
    elif security == "node": o["security"] = [{"nodeToken": []}]
    else: o["security"] = [{"adminToken": []}]
    if body: o["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params: o["parameters"] = params
    return o
ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}]
NOBODY = {"description": "Deleted"}
paths = {
 "/healthz": {"get": op("Liveness probe", "ops", 200, jr({"type": "object"}), security=None, errors=())},
 "/api/v1/users": {
   "post": op("Create a user (UUID, subscription token and referral code are generated)", "users", 201, jr(ref("User"), "Created"), body=ref("UserCreate"), errors=(400, 401, 403, 404, 409, 413, 422)),
   "get": op("List users, newest last; q searches username, referral code or exact Telegram id", "users", 200, jr(ref("UserList")), security="read",
             params=[{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 128}},
                     {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                     {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}])},
 "/api/v1/users/{id}": {
   "get": op("Get a user with the current subscription", "users", 200, jr(ref("User")), security="read", params=ID),
   "patch": op("Update a user", "users", 200, jr(ref("User")), body=ref("UserPatch"), params=ID, errors=(400, 401, 403, 404, 409, 413, 422)),
   "delete": op("Delete a user (nodes drop it at their next sync)", "users", 204, NOBODY, params=ID)},
 "/api/v1/users/{id}/disable": {"post": op("Disable a user", "users", 200, jr(ref("User")), params=ID)},
 "/api/v1/users/{id}/enable": {"post": op("Enable a user", "users", 200, jr(ref("User")), params=ID)},
 "/api/v1/users/{id}/rotate-token": {"post": op("New subscription token; the old link stops working", "users", 200, jr(ref("User")), params=ID)},
 "/api/v1/users/{id}/rotate-uuid": {"post": op("New VLESS UUID (nodes pick it up at their next sync)", "users", 200, jr(ref("User")), params=ID)},
 "/api/v1/users/{id}/balance": {"post": op("Add to (or subtract from) the balance, never below zero", "users", 200,
   jr({"type": "object", "properties": {"id": {"type": "integer"}, "balance_minor": {"type": "integer"}}}),
   body={"type": "object", "required": ["delta"], "additionalProperties": False, "properties": {"delta": {"type": "integer"}}}, params=ID)},
 "/api/v1/users/{id}/subscriptions": {"get": op("All subscriptions of a user", "subscriptions", 200,
   jr({"type": "object", "properties": {"subscriptions": {"type": "array", "items": ref("Subscription")}}}), security="read", params=ID)},
 "/api/v1/users/{id}/devices": {"get": op("Devices (HWIDs) seen on the user's subscription fetches", "users", 200,
   jr({"type": "object", "properties": {"devices": {"type": "array", "items": ref("Device")}}}), security="read", params=ID)},
 "/api/v1/users/{id}/secrets": {"get": dict(op("The user's credentials (uuid, sub token, subscription URL): admin only, audited", "users", 200,
   jr({"type": "object", "properties": {"id": {"type": "integer"}, "uuid": {"type": "string"}, "sub_token": {"type": "string"}, "sub_url": {"type": "string"}}}), params=ID, errors=(401, 403, 404)),
   description="uuid and sub_token are each enough to use the customer's VPN, so user objects answered to support tokens carry them "
               "as null with secrets_redacted: true. This explicit read is admin-only, answered with Cache-Control: no-store, and "
               "writes an audit row (action user.secrets_read) in the same transaction.")},
 "/api/v1/devices/{id}": {"delete": op("Forget a device, freeing a slot under the plan's device limit", "users", 204, NOBODY, params=ID)},
 "/api/v1/plans": {
   "post": op("Create a plan", "plans", 201, jr(ref("Plan"), "Created"), body=ref("PlanInput"), errors=(400, 401, 403, 409, 413, 422)),
   "get": op("List plans", "plans", 200, jr({"type": "object", "properties": {"plans": {"type": "array", "items": ref("Plan")}}}), security="read")},
 "/api/v1/plans/{id}": {
   "get": op("Get a plan", "plans", 200, jr(ref("Plan")), security="read", params=ID),
   "patch": op("Update a plan (prices replace the whole list)", "plans", 200, jr(ref("Plan")), body=ref("PlanInput"), params=ID, errors=(400, 401, 403, 404, 409, 413, 422)),
   "delete": op("Delete an unused plan (409 while subscriptions refer to it)", "plans", 204, NOBODY, params=ID, errors=(401, 403, 404, 409))},
 "/api/v1/subscriptions": {"post": op("Grant a plan to a user, starting now", "subscriptions", 201, jr(ref("Subscription"), "Created"),
   body={"type": "object", "required": ["user_id", "plan_id"], "additionalProperties": False,
         "properties": {"user_id": {"type": "integer", "minimum": 1}, "plan_id": {"type": "integer", "minimum": 1}}},
   errors=(400, 401, 403, 404, 409, 413, 422))},
 "/api/v1/subscriptions/{id}": {"get": op("Get a subscription", "subscriptions", 200, jr(ref("Subscription")), security="read", params=ID)},
 "/api/v1/subscriptions/{id}/extend": {"post": op("Extend by days (from the end, or from now when expired)", "subscriptions", 200, jr(ref("Subscription")),
   body={"type": "object", "required": ["days"], "additionalProperties": False, "properties": {"days": {"type": "integer", "minimum": 1, "maximum": 3660}}},
   params=ID, errors=(400, 401, 403, 404, 409, 413, 422))},
 "/api/v1/subscriptions/{id}/revoke": {"post": op("Revoke a subscription", "subscriptions", 200, jr(ref("Subscription")), params=ID, errors=(401, 403, 404, 409))},
 "/api/v1/payments": {"post": op("Record a manual payment (cash, transfer) and apply it once: grant/extend plan_id and/or top up the balance; a repeated idempotency_key answers 200 with duplicate=true", "payments", 201,
   jr({"type": "object", "properties": {"payment_id": {"type": "integer"}, "applied": {"type": "boolean"}, "duplicate": {"type": "boolean"}, "subscription": ref("Subscription")}}, "Recorded (200 when a duplicate)"),
   body={"type": "object", "required": ["user_id", "amount_minor", "currency", "idempotency_key"], "additionalProperties": False,
         "properties": {"user_id": {"type": "integer", "minimum": 1}, "amount_minor": {"type": "integer", "minimum": 0},
                        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}, "idempotency_key": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{8,128}$"},
                        "plan_id": {"type": "integer", "minimum": 1}, "credit_balance": {"type": "boolean"}}},
   errors=(400, 401, 403, 404, 409, 413, 422))},
 "/api/v1/users/{id}/payments": {"get": op("A user's payments, newest first", "payments", 200,
   jr({"type": "object", "properties": {"payments": {"type": "array", "items": ref("Payment")}}}), security="read", params=ID)},
 "/api/v1/nodes": {
   "post": op("Register a node; the answer carries its token, shown only this once", "nodes", 201, jr(ref("NodeCreated"), "Created"), body=ref("NodeCreate"), errors=(400, 401, 403, 409, 413, 422)),
   "get": op("List nodes", "nodes", 200, jr({"type": "object", "properties": {"nodes": {"type": "array", "items": ref("Node")}}}), security="read")},
 "/api/v1/nodes/{id}": {
   "get": op("Get a node", "nodes", 200, jr(ref("Node")), security="read", params=ID),
   "patch": op("Update a node (address, REALITY public key, short ids, server names, weight, usage percent...)", "nodes", 200, jr(ref("Node")),
               body={"type": "object", "minProperties": 1, "additionalProperties": False, "properties": {k: v for k, v in [
                   ("name", {"type": "string"}), ("address", {"type": "string"}), ("port", {"type": "integer", "minimum": 1, "maximum": 65535}),
                   ("country", {"type": "string"}), ("public_key", {"type": "string"}), ("short_ids", {"type": "array", "items": {"type": "string"}}),
                   ("server_names", {"type": "array", "items": {"type": "string"}}), ("weight", {"type": "integer", "minimum": 0, "maximum": 1000}),
                   ("usage_percent", {"type": "integer", "minimum": 1, "maximum": 1000}),
                   ("group", {"type": "string", "pattern": "^([a-z0-9_-]{1,32})?$"})]}},
               params=ID, errors=(400, 401, 403, 404, 409, 413, 422)),
   "delete": op("Remove a node (its token stops working)", "nodes", 204, NOBODY, params=ID)},
 "/api/v1/nodes/{id}/rotate-token": {"post": op("New node token (shown once in the answer); the old one stops working", "nodes", 200, jr(ref("NodeCreated")), params=ID, errors=(401, 403, 404))},
 "/api/v1/nodes/{id}/health": {"post": op("Set health", "nodes", 200, jr(ref("Node")), params=ID,
   body={"type": "object", "required": ["health"], "additionalProperties": False, "properties": {"health": {"type": "string", "enum": ["unknown", "up", "down"]}}})},
 "/api/v1/nodes/{id}/weight": {"post": op("Set weight (0 removes it from subscriptions)", "nodes", 200, jr(ref("Node")), params=ID,
   body={"type": "object", "required": ["weight"], "additionalProperties": False, "properties": {"weight": {"type": "integer", "minimum": 0, "maximum": 1000}}})},
 "/api/v1/nodes/{id}/drain": {"post": op("Drain (or undrain) a node: draining nodes leave subscriptions; empty body = drain", "nodes", 200, jr(ref("Node")), params=ID,
   body={"type": "object", "additionalProperties": False, "properties": {"draining": {"type": "boolean", "default": True}}})},
 "/api/v1/targets": {
   "get": op("The REALITY target pool (vetted and bad candidates), optionally for one node or region", "targets", 200,
             jr({"type": "object", "properties": {"targets": {"type": "array", "items": ref("Target")}}}), security="read",
             params=[{"name": "node_id", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                     {"name": "region", "in": "query", "schema": {"type": "string", "maxLength": 2}}]),
   "post": op("Add candidates: one, an array, or {targets: [...]}; `veil scan --json` rows as they are (suitable: false is kept as bad)", "targets", 201,
              jr({"type": "object", "properties": {"added": {"type": "integer"}}}, "Created"),
              body={"oneOf": [ref("TargetInput"), {"type": "array", "items": ref("TargetInput"), "minItems": 1, "maxItems": 1000},
                              {"type": "object", "required": ["targets"], "properties": {"targets": {"type": "array", "items": ref("TargetInput")}}}]})},
 "/api/v1/targets/{id}": {"delete": op("Remove a candidate from the pool", "targets", 204, NOBODY, params=ID)},
 "/api/v1/nodes/{id}/target": {
   "get": op("The node's REALITY target: assigned, reported, verdict, failures in the rule's window, names in grace", "targets", 200, jr(ref("NodeTarget")), security="read", params=ID),
   "patch": op("Pin (or unpin) the node's target: a pinned target is never rotated automatically", "targets", 200, jr(ref("NodeTarget")), params=ID,
               body={"type": "object", "required": ["pinned"], "additionalProperties": False, "properties": {"pinned": {"type": "boolean"}}})},
 "/api/v1/nodes/{id}/rotate-target": {"post": op("Move the node to a target now (target_id, or the next vetted one); the old names stay accepted for targets.grace_sec", "targets", 200,
   jr(ref("NodeTarget")), params=ID,
   body={"type": "object", "additionalProperties": False, "properties": {"target_id": {"type": "integer", "minimum": 1}, "pin": {"type": "boolean"}}})},
 "/api/v1/stats": {"get": op("Counts and traffic", "stats", 200, jr(ref("Stats")), security="read")},
 "/metrics": {"get": op("Prometheus metrics (text format 0.0.4): requests, latencies, subscription fetches, database rows and pool", "ops", 200,
   {"description": "Prometheus text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}, security="read", errors=(401,))},
 "/api/v1/audit": {"get": op("Audit log, newest first", "stats", 200,
   jr({"type": "object", "properties": {"entries": {"type": "array", "items": ref("AuditEntry")}}}), security="read",
   params=[{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}])},
 "/api/v1/tokens": {
   "post": op("Issue an API token (shown once in the answer)", "tokens", 201,
              jr({"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "role": {"type": "string"}, "token": {"type": "string"}}}, "Created"),
              body={"type": "object", "required": ["name", "role"], "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "role": {"type": "string", "enum": ["admin", "support"]}}},
              errors=(400, 401, 403, 413, 422)),
   "get": op("List API tokens (never their values)", "tokens", 200,
             jr({"type": "object", "properties": {"tokens": {"type": "array", "items": {"type": "object", "properties": {
                 "id": {"type": "integer"}, "name": {"type": "string"}, "role": {"type": "string"}, "created_at": {"type": "integer"}, "revoked": {"type": "boolean"}}}}}}),
             errors=(401, 403))},
 "/api/v1/tokens/{id}": {"delete": op("Revoke an API token (not the one making the call)", "tokens", 204, NOBODY, params=ID, errors=(401, 403, 404, 409))},
 "/api/v1/node/users": {"get": op("Node sync: users since a revision (docs/sync-protocol.md)", "node-sync", 200, jr(ref("SyncUsers")), security="node",
   params=[{"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}], errors=(401,))},
 "/api/v1/node/usage": {"post": op("Node sync: push per-user byte deltas, applied once per push_id", "node-sync", 200, jr(ref("UsageResponse")), security="node",
   body=ref("UsagePush"), errors=(401, 413))},
 "/admin": {"get": op("Dashboard: the overview with a session cookie, else the login form (HTML)", "dashboard", 200, {"description": "HTML page"}, security=None, errors=())},
 "/admin/login": {"post": op("Dashboard login: form field token (an admin or support API token) -> veil_admin session cookie (HttpOnly; Secure; SameSite=Strict); 10 attempts per 5 minutes per address", "dashboard", 303,
   {"description": "Logged in: Set-Cookie and Location /admin"}, security=None, errors=(401, 413))},
 "/admin/logout": {"post": op("Dashboard logout (form field csrf)", "dashboard", 303, {"description": "Location /admin"}, security=None, errors=(403,))},
 "/admin/users": {"get": op("Dashboard: users, searched (q) and paged (page, 50 per page) on the server (HTML)", "dashboard", 200, {"description": "HTML page"}, security=None,
   params=[{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 128}},
           {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}}], errors=(400,))},
 "/admin/users/{id}/disable": {"post": op("Dashboard: disable a user (admin session, form field csrf; audited)", "dashboard", 303, {"description": "Location /admin/users"}, security=None, params=ID, errors=(403, 404))},
 "/admin/users/{id}/enable": {"post": op("Dashboard: enable a user (admin session, form field csrf; audited)", "dashboard", 303, {"description": "Location /admin/users"}, security=None, params=ID, errors=(403, 404))},
}
# Dashboard pages (src/hub/admin): HTML with a session cookie; every POST is admin-only, needs the form field csrf, is audited.
def page(summary, params=None):
    return {"get": op("Dashboard: " + summary + " (HTML)", "dashboard", 200, {"description": "HTML page"}, security=None, params=params, errors=(400, 404))}
def change(summary, params=ID, codes=(400, 403, 404)):
    return {"post": op("Dashboard: " + summary + " (admin session, form field csrf; audited)", "dashboard", 303, {"description": "Location of the page that shows the result"},
                       security=None, params=params, errors=codes)}
PAGE = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}}]
paths.update({
 "/admin/users/{id}": page("a user: account, balance, subscription, traffic, devices, payments, actions", ID),
 "/admin/users/{id}/extend": change("extend the user's current subscription by days"),
 "/admin/users/{id}/grant": change("grant the user a plan"),
 "/admin/users/{id}/rotate-link": change("give the user a new subscription link (the old one stops)"),
 "/admin/devices/{id}/free": change("free a device slot"),
 "/admin/plans": {**page("plans with prices per currency"), **change("create a plan", params=None)},
 "/admin/plans/{id}": {**page("edit a plan", ID), **change("save a plan")},
 "/admin/plans/{id}/delete": change("delete a plan (refused while a subscription uses it)", codes=(400, 403, 404, 409)),
 "/admin/nodes": {**page("nodes: health, draining, last sync, load, SNI, traffic, weight"), **change("register a node (its token and install commands shown once)", params=None)},
 "/admin/nodes/{id}/drain": change("drain or undrain a node"),
 "/admin/nodes/{id}/weight": change("set a node's weight"),
 "/admin/nodes/{id}/rotate-token": change("rotate a node's sync token (shown once)"),
 "/admin/payments": page("payments filtered by state, provider, user and date"),
 "/admin/payments/{id}/refund": change("refund a payment through billing", codes=(400, 403, 404, 409, 502)),
 "/admin/audit": page("the audit log, newest first, paged by id", [{"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1}}]),
 "/admin/settings": page("the settings in force, without secrets"),
})
paths.update({
 "/sub/{token}": {"get": op("Subscription for client apps; format chosen by User-Agent / Accept (spec/ecosystem.md §a)", "subscription", 200,
   {"description": "Subscription body (base64 links, YAML, JSON or HTML) with subscription-userinfo and profile headers. With a plan device limit, clients sending x-hwid are counted (x-hwid-active, x-hwid-limit); a new device past the limit gets x-hwid-max-devices-reached and an information entry instead of servers; clients without x-hwid get x-hwid-not-supported and are served."},
   security=None, params=[{"name": "token", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"}}], errors=(404,))},
 "/sub/{token}/{format}": {"get": op("Subscription in a forced format, or /info for JSON usage", "subscription", 200,
   {"description": "Subscription body in the requested format, or usage JSON for \"info\""}, security=None,
   params=[{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}},
           {"name": "format", "in": "path", "required": True, "schema": {"type": "string",
            "enum": ["links", "v2ray", "base64", "plain", "clash-meta", "mihomo", "clash", "stash", "sing-box", "singbox", "xray-json", "v2ray-json", "json", "html", "info"]}}],
   errors=(404,))},
})
I = {"type": "integer"}; S = {"type": "string"}; B = {"type": "boolean"}
schemas = {
   "Target": {"type": "object", "properties": {"id": {"type": "integer"}, "host": {"type": "string"}, "port": {"type": "integer"}, "sni": {"type": "string"},
     "region": {"type": "string"}, "node_id": {"type": "integer", "description": "0: any node (of the region)"}, "score": {"type": "integer"},
     "state": {"type": "string", "enum": ["vetted", "bad"]}, "verdict": {"type": "string"}, "rtt_ms": {"type": "integer"},
     "created_at": {"type": "integer"}, "updated_at": {"type": "integer"}}},
   "TargetInput": {"type": "object", "required": ["host", "port", "sni"], "properties": {"host": {"type": "string"}, "port": {"type": "integer", "minimum": 1, "maximum": 65535},
     "sni": {"type": "string"}, "region": {"type": "string", "pattern": "^([A-Z]{2})?$"}, "node_id": {"type": "integer", "minimum": 0},
     "score": {"type": "integer"}, "suitable": {"type": "boolean"}, "verdict": {"type": "string", "maxLength": 32}, "rtt_ms": {"type": "integer"}}},
   "NodeTarget": {"type": "object", "properties": {"node_id": {"type": "integer"}, "target": {"type": "string"}, "sni": {"type": "string"},
     "target_id": {"type": "integer"}, "rev": {"type": "integer"}, "pinned": {"type": "boolean"},
     "grace": {"type": "array", "items": {"type": "object", "properties": {"sni": {"type": "string"}, "until": {"type": "integer"}}}},
     "reported_target": {"type": "string"}, "reported_sni": {"type": "string"}, "verdict": {"type": "string"}, "failures": {"type": "integer"},
     "reported_at": {"type": "integer"}, "rotated_at": {"type": "integer"}, "health": {"type": ["object", "null"]}}},

 "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"],
   "properties": {"code": {"type": "string", "enum": ["invalid_json", "invalid_field", "missing_field", "unknown_field", "invalid_query", "invalid_body",
      "unauthorized", "forbidden", "not_found", "method_not_allowed", "conflict", "invalid_state", "out_of_range", "body_too_large", "busy", "internal"]},
      "message": S}}}},
 "UserCreate": {"type": "object", "required": ["username"], "additionalProperties": False, "properties": {
   "username": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}, "telegram_id": {"type": "integer", "minimum": 1},
   "language": {"type": "string", "default": "en"}, "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "default": "RUB"},
   "balance_minor": {"type": "integer", "minimum": 0}, "enabled": {"type": "boolean", "default": True}, "referrer_id": {"type": "integer", "minimum": 1}}},
 "UserPatch": {"type": "object", "minProperties": 1, "additionalProperties": False, "properties": {
   "username": S, "telegram_id": {"type": ["integer", "null"]}, "language": S, "currency": S, "balance_minor": I, "enabled": B}},
 "User": {"type": "object", "properties": {"id": I, "telegram_id": {"type": ["integer", "null"]}, "username": S, "language": S,
   "uuid": {"type": ["string", "null"], "description": "VLESS id; null for support tokens (secrets_redacted)"},
   "sub_token": {"type": ["string", "null"], "description": "subscription URL token; null for support tokens (secrets_redacted)"},
   "sub_url": {"type": "string", "description": "admin tokens only, when public_url is set"},
   "secrets_redacted": {"type": "boolean", "description": "present (true) when the token's role may not see uuid, sub_token, sub_url"},
   "referral_code": S, "referrer_id": {"type": ["integer", "null"]}, "balance_minor": I, "currency": S,
   "enabled": B, "created_at": I, "revision": I, "subscription": {"oneOf": [ref("Subscription"), {"type": "null"}]}}},
 "UserList": {"type": "object", "properties": {"users": {"type": "array", "items": ref("User")}, "total": I, "offset": I, "limit": I}},
 "PlanInput": {"type": "object", "additionalProperties": False, "properties": {"name": S, "duration_days": {"type": "integer", "minimum": 1, "maximum": 3660},
   "quota_bytes": {"type": "integer", "minimum": 0, "description": "0 = unlimited"}, "device_limit": {"type": "integer", "minimum": 0, "maximum": 1000},
   "reset_strategy": {"type": "string", "enum": ["none", "daily", "weekly", "monthly"]}, "enabled": B,
   "prices": {"type": "object", "description": "currency -> amount in minor units", "additionalProperties": {"type": "integer", "minimum": 0}},
   "node_groups": {"type": "array", "maxItems": 7, "uniqueItems": True, "items": {"type": "string", "pattern": "^[a-z0-9_-]{1,32}$"},
                   "description": "node groups the plan may use; [] = every node"}}},
 "Plan": {"type": "object", "properties": {"id": I, "name": S, "duration_days": I, "quota_bytes": I, "device_limit": I, "reset_strategy": S,
   "enabled": B, "prices": {"type": "object", "additionalProperties": I}, "created_at": I, "node_groups": {"type": "array", "items": S}}},
 "Subscription": {"type": "object", "properties": {"id": I, "user_id": I, "plan_id": I, "starts_at": I, "ends_at": I, "used_up": I, "used_down": I,
   "state": {"type": "string", "enum": ["active", "limited", "expired", "revoked"]}, "quota_bytes": I, "device_limit": I, "reset_strategy": S, "last_reset_at": I}},
 "NodeCreate": {"type": "object", "required": ["name", "address", "public_key"], "additionalProperties": False, "properties": {
   "name": S, "address": S, "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 443}, "country": {"type": "string", "pattern": "^([A-Z]{2})?$"},
   "public_key": {"type": "string", "description": "X25519, base64url without padding"}, "short_ids": {"type": "array", "maxItems": 8, "items": S},
   "server_names": {"type": "array", "maxItems": 8, "items": S}, "weight": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 100},
   "usage_percent": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100, "description": "users are billed traffic x usage_percent / 100"},
   "group": {"type": "string", "pattern": "^([a-z0-9_-]{1,32})?$", "description": "node group (\"\" = none); plans with node_groups use only their groups"}}},
 "Node": {"type": "object", "properties": {"id": I, "name": S, "address": S, "port": I, "country": S, "public_key": S,
   "short_ids": {"type": "array", "items": S}, "server_names": {"type": "array", "items": S}, "weight": I, "usage_percent": I,
   "health": {"type": "string", "enum": ["unknown", "up", "down"]}, "draining": B, "last_seen": I, "traffic_up": I, "traffic_down": I, "created_at": I,
   "group": S, "load": {"type": "object", "description": "from the node's last usage push", "properties": {
     "connections": I, "cpu": {"type": "integer", "description": "percent of all cores"}, "bps": {"type": "integer", "description": "bytes/s"}}}}},
 "NodeCreated": {"allOf": [ref("Node"), {"type": "object", "properties": {"token": {"type": "string", "description": "node token, shown once"}}}]},
 "Payment": {"type": "object", "properties": {"id": I, "provider": S, "external_id": S, "amount_minor": I, "currency": S,
   "status": {"type": "string", "enum": ["pending", "succeeded", "failed", "refunded"]}, "created_at": I}},
 "Device": {"type": "object", "properties": {"id": I, "hwid": S, "user_agent": S, "last_ip": S, "first_seen": I, "last_seen": I}},
 "Stats": {"type": "object", "properties": {"users": {"type": "object"}, "subscriptions": {"type": "object"}, "nodes": {"type": "object"},
   "traffic": {"type": "object"}, "payments_succeeded": I, "revision": I}},
 "AuditEntry": {"type": "object", "properties": {"id": I, "actor": S, "action": S, "target": S, "at": I, "source_ip": S, "details": {}}},
 "SyncUsers": {"type": "object", "properties": {"v": I, "revision": I, "full": B, "users": {"type": "array", "items": {"type": "object"}},
   "removed": {"type": "array", "items": I}}},
 "UsagePush": {"type": "object", "required": ["v", "push_id", "usage", "health"], "properties": {"v": {"type": "integer", "enum": [1]},
   "push_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
   "usage": {"type": "array", "items": {"type": "object", "properties": {"id": I, "up": I, "down": I}}}, "health": {"type": "object"}}},
 "UsageResponse": {"type": "object", "properties": {"v": I, "duplicate": B, "revision": I}},
}

# ---- billing (src/hub/billing, docs/billing.md) ----
TEXT = {"description": "plain text", "content": {"text/plain": {"schema": {"type": "string"}}}}
def hook(summary, method="post"):
    o = {"summary": summary, "tags": ["webhooks"], "security": [],
         "responses": {str(c): TEXT for c in (200, 400, 401, 403, 404, 413, 503)}}
    o["responses"]["429"] = RATE
    return o
schemas["Invoice"] = {"type": "object", "properties": {
    "payment_id": I, "user_id": I, "provider": {"type": "string", "enum": ["yookassa", "robokassa", "cryptobot", "stars", "balance", "manual"]},
    "external_id": {"type": "string", "description": "the provider's id (our idempotency key until the provider answered)"},
    "amount_minor": I, "currency": S,
    "status": {"type": "string", "enum": ["pending", "succeeded", "canceled", "expired", "failed", "refunded"]},
    "plan_id": {"type": ["integer", "null"], "description": "null: a balance top-up"}, "pay_url": {"type": ["string", "null"]},
    "flag": {"type": ["string", "null"], "description": "why it was not credited: amount_mismatch, currency_mismatch, paid_after_close, balance_bound, grant_failed"},
    "discount_minor": I, "bonus_days": I, "created_at": I, "expires_at": I, "settled_at": I}}
schemas["PromoCode"] = {"type": "object", "properties": {"id": I, "code": S, "kind": {"type": "string", "enum": ["money", "days", "percent"]},
    "value": I, "currency": {"type": ["string", "null"]}, "max_uses": {"type": "integer", "description": "0: unlimited"}, "used": I,
    "valid_from": I, "valid_until": {"type": "integer", "description": "0: open"}, "enabled": B, "created_at": I}}
schemas["Payment"]["properties"]["status"]["enum"] = ["pending", "succeeded", "canceled", "expired", "failed", "refunded"]
paths["/api/v1/invoices"] = {"post": op(
    "Create an invoice: a pending payment row first, then the provider's invoice (pay_url). The price is the plan's price in the "
    "provider's currency (XTR for Stars; the balance's currency for balance); none there is 422 no_price. provider balance pays at "
    "once from the balance (409 insufficient_balance). A top-up gives amount_minor instead of plan_id, in the balance's currency "
    "(422 currency_mismatch). Promo codes apply to plans.", "payments", 201, jr(ref("Invoice"), "Created"),
    body={"type": "object", "required": ["user_id", "provider"], "additionalProperties": False, "properties": {
        "user_id": {"type": "integer", "minimum": 1}, "plan_id": {"type": "integer", "minimum": 1},
        "amount_minor": {"type": "integer", "minimum": 1, "description": "top-ups only"},
        "provider": {"type": "string", "enum": ["yookassa", "robokassa", "cryptobot", "stars", "balance"]},
        "promo_code": {"type": "string", "maxLength": 32}}},
    errors=(400, 401, 403, 404, 409, 413, 415, 422, 502, 503))}
paths["/api/v1/payments"]["get"] = op(
    "Payments for the admin, newest first, filtered by status, provider and since (unix seconds, created at or after)",
    "payments", 200, jr({"type": "object", "properties": {"payments": {"type": "array", "items": ref("Invoice")}}}), security="read",
    params=[{"name": "status", "in": "query", "schema": {"type": "string"}}, {"name": "provider", "in": "query", "schema": {"type": "string"}},
            {"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
    errors=(401, 403, 422))
paths["/api/v1/payments/{id}"] = {"get": op("One payment", "payments", 200, jr(ref("Invoice")), security="read", params=ID, errors=(401, 403, 404))}
paths["/api/v1/payments/{id}/refund"] = {"post": op(
    "Refund a succeeded payment at its provider (YooKassa /refunds; balance purchases go back to the balance) and mark it refunded; "
    "a refunded top-up is taken back out of the balance (409 balance_spent). Robokassa and Crypto Pay have no refund API "
    "(422 refund_unsupported); Stars refunds are the bot's.", "payments", 200, jr(ref("Invoice")), params=ID,
    errors=(401, 403, 404, 409, 422, 502))}
paths["/api/v1/promo-codes"] = {
    "post": op("Create a promo code: money off (value minor units in currency), days added to the plan, or percent off; max_uses "
               "(0 unlimited), valid_from/valid_until; each customer uses a code once, counted when the payment succeeds",
               "payments", 201, jr(ref("PromoCode"), "Created"),
               body={"type": "object", "required": ["code", "kind", "value"], "additionalProperties": False, "properties": {
                   "code": {"type": "string", "pattern": "^[A-Z0-9_-]{3,32}$"}, "kind": {"type": "string", "enum": ["money", "days", "percent"]},
                   "value": {"type": "integer", "minimum": 1}, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                   "max_uses": {"type": "integer", "minimum": 0}, "valid_from": {"type": "integer", "minimum": 0},
                   "valid_until": {"type": "integer", "minimum": 0}, "enabled": B}},
               errors=(400, 401, 403, 409, 413, 415, 422)),
    "get": op("All promo codes, newest first", "payments", 200,
              jr({"type": "object", "properties": {"promo_codes": {"type": "array", "items": ref("PromoCode")}}}), security="read", errors=(401, 403))}
paths["/api/v1/users/{id}/ledger"] = {"get": op(
    "The customer's balance ledger, newest first: every credit and debit (opening, topup, purchase, referral, referral_bonus, refund, "
    "admin, admin_set) with the balance after it", "payments", 200,
    jr({"type": "object", "properties": {"user_id": I, "currency": S, "balance_minor": I, "entries": {"type": "array", "items": {
        "type": "object", "properties": {"id": I, "currency": S, "delta_minor": I, "balance_after": I, "reason": S,
                                         "payment_id": {"type": ["integer", "null"]}, "created_at": I}}}}}),
    security="read", params=ID, errors=(401, 403, 404))}
paths["/api/v1/stats/revenue"] = {"get": op(
    "Revenue analytics over payments settled in [since, until) (default: the last 30 days): revenue per day, provider and currency; "
    "per currency revenue, paying customers, ARPU, referral commission and first-payment bonuses paid; conversion (registered -> "
    "paid); churn (latest subscription ended in the window and not renewed within 7 days); refunded and flagged counts. Balance "
    "purchases are not revenue.", "stats", 200, jr({"type": "object"}), security="read",
    params=[{"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            {"name": "until", "in": "query", "schema": {"type": "integer", "minimum": 0}}], errors=(401, 403, 422))}
paths["/webhooks/yookassa"] = {"post": hook(
    "YooKassa notification: accepted only from billing.yookassa.trusted_networks (client address after trusted_proxies), then the "
    "payment is fetched back from the API and that object is applied; refusals are audited as webhook_rejected")}
paths["/webhooks/robokassa"] = {
    "post": hook("Robokassa ResultURL (form body): SignatureValue = hash(OutSum:InvId:Password2[:Shp_...]) over the exact OutSum "
                 "received; answers OK<InvId> once recorded"),
    "get": hook("Robokassa ResultURL sent as GET (query parameters OutSum, InvId, SignatureValue)")}
paths["/webhooks/cryptobot"] = {"post": hook(
    "Crypto Pay update: crypto-pay-api-signature = hex HMAC-SHA256(SHA-256(token), raw body), checked before parsing")}
# ---- the Telegram bot (src/hub/bot) ----
paths["/webhooks/telegram"] = json.loads('{"post": {"summary": "Telegram Bot API webhook (bot.mode \\"webhook\\"): the X-Telegram-Bot-Api-Secret-Token header must equal bot.webhook_secret (compared in constant time), else 401. The body is one Update; it is handled before the answer (pre_checkout_query must be answered within 10 s).", "tags": ["webhooks"], "security": [], "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}}, "responses": {"200": {"description": "handled ({})", "content": {"application/json": {"schema": {"type": "object"}}}}, "400": {"description": "not a Telegram update", "content": {"application/json": {"schema": {"type": "object"}}}}, "401": {"description": "wrong or missing secret", "content": {"application/json": {"schema": {"type": "object"}}}}, "404": {"description": "the bot is off or polls", "content": {"application/json": {"schema": {"type": "object"}}}}, "413": {"description": "body too large", "content": {"application/json": {"schema": {"type": "object"}}}}, "503": {"description": "database trouble: Telegram delivers again", "content": {"application/json": {"schema": {"type": "object"}}}}}}}')
paths["/add/{app}/{token}"] = {"get": op("\"Add to app\" redirect for the bot's buttons (Telegram URL buttons take only http(s)): 302 to the app's deep link (spec/ecosystem.md §a.6) carrying the subscription URL, with an HTML page linking there too. Needs the bot running and subscription.public_url.", "subscription", 302,
   {"description": "Location: the deep link (happ://add/..., v2rayng://install-config?..., ...); text/html body with the same link", "content": {"text/html": {"schema": {"type": "string"}}}},
   security=None, params=[{"name": "app", "in": "path", "required": True, "schema": {"type": "string", "enum": ["happ", "v2rayng", "hiddify", "streisand", "shadowrocket", "clashmeta", "stash", "flclashx", "koala-clash", "prizrak-box"]}},
                          {"name": "token", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"}}], errors=(404,))}
doc = {"openapi": "3.1.0",
 "info": {"title": "veil-hub API", "version": "1.0.0",
  "description": "Admin REST API (Bearer API tokens; role admin may change, role support may only read), node sync endpoints (per-node Bearer tokens) and the public subscription endpoint. Errors are {\"error\":{\"code\",\"message\"}}; bodies are limited to 64 KiB (413); over a configured rate limit the answer is 429 with Retry-After. Times are UTC unix seconds, money is integer minor units."},
 "servers": [{"url": "http://127.0.0.1:8080"}],
 "security": [{"adminToken": []}],
 "paths": paths,
 "components": {"securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer", "description": "API token (veil-hub --create-admin-token)"},
                                     "nodeToken": {"type": "http", "scheme": "bearer", "description": "per-node token from POST /api/v1/nodes"}},
                "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": ref("Error")}}},
                              "RateLimited": {"description": "Over the per-IP or per-token budget (rate_limit in hub.json); code rate_limited",
                                  "headers": {"Retry-After": {"description": "seconds until the window ends", "schema": {"type": "integer", "minimum": 1}}},
                                  "content": {"application/json": {"schema": ref("Error")}}},
                              "SyncError": {"description": "Malformed sync request (docs/sync-protocol.md)", "content": {"application/json": {"schema": {
                                  "type": "object", "required": ["v", "error"], "properties": {"v": {"type": "integer", "enum": [1]}, "error": {"type": "string"}}}}}}},
                "schemas": schemas}}
print(json.dumps(doc, indent=2, ensure_ascii=False))

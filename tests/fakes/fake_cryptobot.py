"""A local Crypto Pay API (@CryptoBot, spec/ecosystem.md §b.3) for tests: Crypto-Pay-API-Token
checked on every method, createInvoice / getInvoices with parameters as JSON, form or query, and
webhooks {"update_type": "invoice_paid", ...} signed with crypto-pay-api-signature =
hex(HMAC-SHA256(key = SHA-256(token), body)).

Usage: fake_cryptobot.py --port-file F --token T --hook URL
Test control: POST /_control/pay {"invoice_id", "times", "concurrent", "deliver"}."""
import argparse
import hashlib
import hmac
import json
import secrets
import threading
import urllib.parse
from datetime import datetime, timezone

import fakecommon as fc

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--token", required=True)
ap.add_argument("--hook", required=True)
args = ap.parse_args()

lock = threading.Lock()
invoices = {}
next_id = [1000]
next_update = [1]


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fail(status, name):
    return fc.jresp(status, {"ok": False, "error": {"code": status, "name": name}})


def params(h, q, body):
    p = dict(q)
    ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip()
    if body and ctype == "application/json":
        p.update(json.loads(body))
    elif body:
        p.update(dict(urllib.parse.parse_qsl(body.decode())))
    return p


def create_invoice(h, path, q, body):
    if h.headers.get("Crypto-Pay-API-Token") != args.token:
        return fail(401, "UNAUTHORIZED")
    p = params(h, q, body)
    if p.get("currency_type") != "fiat" or len(str(p.get("fiat", ""))) != 3 or "amount" not in p:
        return fail(400, "PARAMS_INVALID")
    if len(str(p.get("payload", ""))) > 4096 or len(str(p.get("description", ""))) > 1024:
        return fail(400, "PARAMS_INVALID")
    with lock:
        iid = next_id[0]
        next_id[0] += 1
        h_ = secrets.token_hex(6).upper()
        inv = {"invoice_id": iid, "hash": "IV" + h_, "currency_type": "fiat", "fiat": p["fiat"],
               "amount": str(p["amount"]), "accepted_assets": str(p.get("accepted_assets", "USDT,TON")).split(","),
               "status": "active", "description": p.get("description", ""), "payload": str(p.get("payload", "")),
               "bot_invoice_url": f"https://t.me/CryptoBot?start=IV{h_}",
               "mini_app_invoice_url": f"https://t.me/CryptoBot/app?startapp=invoice-IV{h_}",
               "web_app_invoice_url": f"https://app.cr.bot/invoices/IV{h_}", "created_at": now(),
               "allow_comments": True, "allow_anonymous": True}
        invoices[iid] = inv
        return fc.jresp(200, {"ok": True, "result": inv})


def get_invoices(h, path, q, body):
    if h.headers.get("Crypto-Pay-API-Token") != args.token:
        return fail(401, "UNAUTHORIZED")
    p = params(h, q, body)
    ids = [int(x) for x in str(p.get("invoice_ids", "")).split(",") if x]
    with lock:
        items = [invoices[i] for i in ids if i in invoices] if ids else list(invoices.values())
        if p.get("status"):
            items = [i for i in items if i["status"] == p["status"]]
        return fc.jresp(200, {"ok": True, "result": {"items": items}})


def control_pay(h, path, q, body):
    c = json.loads(body)
    with lock:
        inv = invoices[int(c["invoice_id"])]
        inv.update(status="paid", paid_asset="USDT", paid_amount="3.41", paid_usd_rate="87.60",
                   fee_amount="0.03", paid_at=now(), paid_anonymously=False)
        upd = {"update_id": next_update[0], "update_type": "invoice_paid", "request_date": now(), "payload": inv}
        next_update[0] += 1
    data = json.dumps(upd).encode()
    key = hashlib.sha256(args.token.encode()).digest()
    sig = hmac.new(key, data, hashlib.sha256).hexdigest()
    out = []
    if c.get("deliver", True):
        out = fc.deliver(args.hook, data, {"Content-Type": "application/json", "crypto-pay-api-signature": sig},
                         c.get("times", 1), c.get("concurrent", 1), c.get("source", "127.0.0.1"))
    return fc.jresp(200, {"deliveries": out})


fc.serve({("POST", "/api/createInvoice"): create_invoice, ("GET", "/api/createInvoice"): create_invoice,
          ("GET", "/api/getInvoices"): get_invoices, ("POST", "/api/getInvoices"): get_invoices,
          ("POST", "/_control/pay"): control_pay}, args.port_file)

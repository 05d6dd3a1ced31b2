"""A local YooKassa API v3 (spec/ecosystem.md §b.1) for tests: Basic auth with shopId:secret,
Idempotence-Key honoured (same key + same body -> the same payment; another body -> 400),
payments and refunds, and "HTTP notifications" delivered to the hub.

Usage: fake_yookassa.py --port-file F --shop-id ID --secret KEY --hook URL
Test control (not part of YooKassa): POST /_control/pay {"id", "times", "concurrent", "source",
"deliver": true}; POST /_control/cancel {"id"}."""
import argparse
import base64
import json
import threading
import uuid
from datetime import datetime, timezone

import fakecommon as fc

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--shop-id", required=True)
ap.add_argument("--secret", required=True)
ap.add_argument("--hook", required=True)
args = ap.parse_args()

lock = threading.Lock()
payments = {}
by_key = {}  # Idempotence-Key -> (body bytes, response)


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def err(status, code, desc):
    return fc.jresp(status, {"type": "error", "id": str(uuid.uuid4()), "code": code, "description": desc})


def authed(h):
    want = "Basic " + base64.b64encode(f"{args.shop_id}:{args.secret}".encode()).decode()
    return h.headers.get("Authorization") == want


def valid_value(v):
    if not isinstance(v, str) or "." not in v:
        return False
    a, b = v.split(".", 1)
    return a.isdigit() and b.isdigit() and len(b) == 2


def create(h, path, q, body):
    if not authed(h):
        return err(401, "invalid_credentials", "Authentication by given credentials failed")
    key = h.headers.get("Idempotence-Key")
    if not key:
        return err(400, "invalid_request", "Idempotence-Key header is missing")
    with lock:
        if key in by_key:
            prev_body, prev = by_key[key]
            if prev_body != body:
                return err(400, "invalid_request", "Idempotence key duplicated with another request body")
            return fc.jresp(200, prev)
        try:
            req = json.loads(body)
            amount = req["amount"]
            assert valid_value(amount["value"]) and len(amount["currency"]) == 3
            conf = req["confirmation"]
            assert conf["type"] == "redirect" and conf["return_url"]
            meta = req.get("metadata", {})
            assert len(meta) <= 16 and all(len(k) <= 32 and len(str(v)) <= 512 for k, v in meta.items())
            assert len(req.get("description", "")) <= 128
        except (ValueError, KeyError, TypeError, AssertionError):
            return err(400, "invalid_request", "bad payment request")
        pid = str(uuid.uuid4())
        p = {"id": pid, "status": "pending", "paid": False, "amount": amount,
             "confirmation": {"type": "redirect", "confirmation_url": f"https://yoomoney.fake/checkout?orderId={pid}",
                              "return_url": conf["return_url"]},
             "created_at": now(), "description": req.get("description", ""), "metadata": meta,
             "recipient": {"account_id": args.shop_id, "gateway_id": "1"}, "refundable": False, "test": True}
        if req.get("capture") is not True:
            return err(400, "invalid_request", "this fake expects capture: true")
        payments[pid] = p
        by_key[key] = (body, p)
        return fc.jresp(200, p)


def get_payment(h, path, q, body):
    if not authed(h):
        return err(401, "invalid_credentials", "Authentication by given credentials failed")
    pid = path.rsplit("/", 1)[1]
    with lock:
        p = payments.get(pid)
        if p is None:
            return err(404, "not_found", "Payment not found")
        return fc.jresp(200, p)


def refunds(h, path, q, body):
    if not authed(h):
        return err(401, "invalid_credentials", "Authentication by given credentials failed")
    key = h.headers.get("Idempotence-Key")
    if not key:
        return err(400, "invalid_request", "Idempotence-Key header is missing")
    with lock:
        if key in by_key:
            return fc.jresp(200, by_key[key][1])
        req = json.loads(body)
        p = payments.get(req.get("payment_id"))
        if p is None or p["status"] != "succeeded":
            return err(400, "invalid_request", "payment is not refundable")
        r = {"id": str(uuid.uuid4()), "payment_id": p["id"], "status": "succeeded", "amount": req["amount"],
             "created_at": now()}
        p["refunded_amount"] = req["amount"]
        by_key[key] = (body, r)
        return fc.jresp(200, r)


def control_pay(h, path, q, body):
    c = json.loads(body)
    with lock:
        p = payments[c["id"]]
        if "amount" in c:
            p["amount"] = {"value": c["amount"], "currency": p["amount"]["currency"]}
        p.update(status="succeeded", paid=True, captured_at=now(), refundable=True,
                 payment_method={"type": "bank_card", "id": p["id"], "saved": False})
        note = json.dumps({"type": "notification", "event": "payment.succeeded", "object": p}).encode()
    out = []
    if c.get("deliver", True):
        out = fc.deliver(args.hook, note, {"Content-Type": "application/json"}, c.get("times", 1),
                         c.get("concurrent", 1), c.get("source", "127.0.0.1"))
    return fc.jresp(200, {"deliveries": out})


def control_cancel(h, path, q, body):
    c = json.loads(body)
    with lock:
        payments[c["id"]].update(status="canceled",
                                 cancellation_details={"party": "yoo_money", "reason": "expired_on_confirmation"})
    return fc.jresp(200, {})


fc.serve({("POST", "/v3/payments"): create, ("GET", "/v3/payments/"): get_payment,
          ("POST", "/v3/refunds"): refunds, ("POST", "/_control/pay"): control_pay,
          ("POST", "/_control/cancel"): control_cancel}, args.port_file)

#!/usr/bin/env python3
"""A local stand-in for the Telegram Bot API (https://core.telegram.org/bots/api), standard library
only. The bot calls POST /bot<token>/<method> with JSON, as against api.telegram.org; the fake
answers in the documented envelope ({"ok": true, "result": ...} or {"ok": false, "error_code",
"description", "parameters": {"retry_after"}}) and checks what Telegram checks (token, HTML
entities, callback_data <= 64 bytes, text <= 4096, Stars invoices). sendPhoto takes
multipart/form-data (a PNG "photo" file: signature, IHDR and the zlib stream are checked); the
recorded params then hold the fields and, for the file, {"filename", "content_type", "size",
"width", "height", "png": true}.

getUpdates follows Telegram: updates with update_id < offset are confirmed and forgotten; it waits
up to `timeout` seconds for new ones; it answers 409 while a webhook is set.

Control endpoints for tests:
  POST /control/inject   {update without update_id}   -> {"update_id": n} (queued for getUpdates)
  GET  /control/calls?since=N                          -> {"calls": [{"i", "t", "method", "params",
                                                           "status"}], "next": n} (every call, failed too)
  POST /control/fail     {"method", "status": 429|403|400|5xx, "retry_after"?, "times"?} -> next calls fail
  GET  /control/state                                  -> {"pending", "offsets": [getUpdates offsets],
                                                           "webhook": {...} | null}
  POST /control/block    {"chats": [ids]}              -> sends to these chats answer 403 (blocked)
  GET  /control/charges                                -> {charge id: {"user_id", "amount", "refunded"}}

Stars charges: an injected successful_payment records its telegram_payment_charge_id for its
sender; refundStarPayment(user_id, telegram_payment_charge_id) refunds a recorded charge once,
as Telegram does (a second refund, an unknown charge or another user's charge is a 400).
"""
import argparse
import email.parser
import email.policy
import html.parser
import json
import os
import re
import sys
import threading
import struct
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakecommon  # noqa: E402
from fakecommon import jresp  # noqa: E402

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code",
                "pre", "blockquote", "tg-emoji"}

lock = threading.Condition()
state = {"updates": [], "next_id": 1, "calls": [], "fail": {}, "offsets": [], "webhook": None, "message_id": 100,
         "blocked": set(), "charges": {}}
SENDS = ("sendMessage", "sendPhoto", "sendInvoice", "editMessageText")


class EntityCheck(html.parser.HTMLParser):
    """Telegram's HTML rules: known tags only, balanced, entities escaped."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.stack = []
        self.error = None

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.error = "Unsupported start tag \"%s\"" % tag
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.error = "Unexpected end tag \"%s\"" % tag

    def handle_entityref(self, name):
        if name not in ("lt", "gt", "amp", "quot"):
            self.error = "Unsupported entity \"%s\"" % name


def check_html(text):
    if re.search(r"&(?![a-zA-Z]+;|#[0-9]+;|#x[0-9a-fA-F]+;)", text):
        return "can't parse entities: unescaped &"
    if re.search(r"<(?![a-zA-Z/])", text):
        return "can't parse entities: unescaped <"
    p = EntityCheck()
    p.feed(text)
    p.close()
    if p.error is None and p.stack:
        p.error = "Can't find end tag corresponding to start tag \"%s\"" % p.stack[-1]
    return None if p.error is None else "can't parse entities: " + p.error


def check_markup(params):
    kb = params.get("reply_markup")
    if kb is None:
        return None
    if isinstance(kb, str):
        kb = json.loads(kb)
    for row in kb.get("inline_keyboard", []):
        for b in row:
            if not b.get("text"):
                return "BUTTON_TEXT_EMPTY"
            if "callback_data" in b and not 1 <= len(b["callback_data"].encode()) <= 64:
                return "BUTTON_DATA_INVALID"
            if "url" in b and not re.match(r"^(https?|tg)://", b["url"]):
                return "BUTTON_URL_INVALID"
            kinds = [k for k in ("callback_data", "url", "copy_text", "pay", "web_app", "login_url") if k in b]
            if len(kinds) != 1:
                return "BUTTON_TYPE_INVALID"
    return None


def check_text(params, key="text"):
    text = params.get(key)
    if not isinstance(text, str) or not text:
        return "message text is empty"
    if len(text) > 4096:
        return "message is too long"
    if params.get("parse_mode") == "HTML":
        return check_html(text)
    return None


def check_invoice(p):
    if p.get("currency") != "XTR":
        return "CURRENCY_INVALID"
    if p.get("provider_token") not in (None, ""):
        return "PROVIDER_TOKEN_INVALID"
    prices = p.get("prices")
    if not isinstance(prices, list) or len(prices) != 1 or not isinstance(prices[0].get("amount"), int) \
            or prices[0]["amount"] <= 0:
        return "PRICES_INVALID"
    if not 1 <= len(str(p.get("payload", "")).encode()) <= 128:
        return "PAYLOAD_INVALID"
    if not 1 <= len(p.get("title", "")) <= 32:
        return "TITLE_INVALID"
    if not 1 <= len(p.get("description", "")) <= 255:
        return "DESCRIPTION_INVALID"
    return None


def new_message(p):
    state["message_id"] += 1
    return {"message_id": state["message_id"], "date": int(time.time()), "chat": {"id": p.get("chat_id"),
            "type": "private"}, "text": p.get("text", "")}


def bad(desc):
    return jresp(400, {"ok": False, "error_code": 400, "description": "Bad Request: " + desc})


def png_info(data):
    """(width, height) of a well-formed PNG, or None: signature, chunk CRCs, IHDR, IDAT inflates
    to exactly the rows IHDR announces, IEND last."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos, ihdr, idat = 8, None, b""
    while pos + 12 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if len(chunk) != n or struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] != zlib.crc32(kind + chunk):
            return None
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    else:
        return None
    if ihdr is None or pos != len(data):
        return None
    w, hgt, depth, color = ihdr[0], ihdr[1], ihdr[2], ihdr[3]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color)
    if channels is None or not w or not hgt:
        return None
    try:
        raw = zlib.decompress(idat)
    except zlib.error:
        return None
    if len(raw) != hgt * (1 + (w * channels * depth + 7) // 8):
        return None
    return w, hgt


def multipart(h, body):
    """The fields (str) and files of a multipart/form-data body, or None when it is not one."""
    ctype = h.headers.get("Content-Type", "")
    if not ctype.startswith("multipart/form-data;"):
        return None
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        return None
    params = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            return None
        data = part.get_payload(decode=True) or b""
        fn = part.get_filename()
        if fn is None:
            params[name] = data.decode()
            continue
        info = png_info(data)
        params[name] = {"filename": fn, "content_type": part.get_content_type(), "size": len(data),
                        "png": info is not None, "width": info[0] if info else 0, "height": info[1] if info else 0}
    return params


def check_photo(p):
    photo = p.get("photo")
    if not isinstance(photo, dict):
        return "photo must be uploaded as a file"
    if not photo["png"] or photo["size"] > 10 * 1024 * 1024:
        return "IMAGE_PROCESS_FAILED"
    if not p.get("chat_id"):
        return "chat not found"
    if len(p.get("caption", "")) > 1024:
        return "MEDIA_CAPTION_TOO_LONG"
    return None


def api(h, path, query, body, token):
    parts = path.split("/")
    if len(parts) != 3 or parts[1] != "bot" + token:
        return jresp(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    method = parts[2]
    params = multipart(h, body)
    if params is None:
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            return bad("invalid JSON")
    with lock:
        rec = {"i": len(state["calls"]), "t": time.time(), "method": method, "params": params, "status": 200}
        if method != "getUpdates":
            state["calls"].append(rec)
        if method in SENDS and params.get("chat_id") in state["blocked"]:
            rec["status"] = 403
            return jresp(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
        plan = state["fail"].get(method)
        if plan and plan["times"] > 0:
            plan["times"] -= 1
            rec["status"] = plan["status"]
            if plan["status"] == 429:
                return jresp(429, {"ok": False, "error_code": 429, "description":
                                   "Too Many Requests: retry after %d" % plan["retry_after"],
                                   "parameters": {"retry_after": plan["retry_after"]}})
            if plan["status"] == 403:
                return jresp(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
            if plan["status"] == 400:
                return bad("injected failure")
            return jresp(plan["status"], {"ok": False, "error_code": plan["status"],
                                          "description": "Internal Server Error"})
    if method == "getUpdates":
        return get_updates(params)
    result = True
    err = None
    if method in ("sendMessage", "editMessageText"):
        err = check_text(params) or check_markup(params)
        result = new_message(params) if method == "sendMessage" else {"message_id": params.get("message_id"),
                                                                        "chat": {"id": params.get("chat_id")}}
    elif method == "sendInvoice":
        err = check_invoice(params)
        result = new_message(params)
    elif method == "answerCallbackQuery":
        if not params.get("callback_query_id"):
            err = "query id is empty"
        elif len(params.get("text", "")) > 200:
            err = "MESSAGE_TOO_LONG"
    elif method == "answerPreCheckoutQuery":
        if not params.get("pre_checkout_query_id") or not isinstance(params.get("ok"), bool):
            err = "QUERY_ID_INVALID"
        elif not params["ok"] and not params.get("error_message"):
            err = "error_message is required"
    elif method == "setWebhook":
        with lock:
            state["webhook"] = params
    elif method == "deleteWebhook":
        with lock:
            state["webhook"] = None
    elif method == "sendPhoto":
        err = check_photo(params) or check_markup(params)
        result = new_message(params)
    elif method == "refundStarPayment":
        err = refund_star_payment(params)
    elif method == "getMe":
        result = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Veil", "username": "veil_test_bot"}
    else:
        return jresp(404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
    if err:
        with lock:
            rec["status"] = 400
        return bad(err)
    return jresp(200, {"ok": True, "result": result})


def refund_star_payment(p):
    """Bot API refundStarPayment: user_id (Integer) and telegram_payment_charge_id (String), both
    required; True on success."""
    user, charge = p.get("user_id"), p.get("telegram_payment_charge_id")
    if not isinstance(user, int) or isinstance(user, bool) or user <= 0:
        return "USER_ID_INVALID"
    if not isinstance(charge, str) or not charge:
        return "CHARGE_ID_EMPTY"
    with lock:
        c = state["charges"].get(charge)
        if c is None or c["user_id"] != user:
            return "CHARGE_NOT_FOUND"
        if c["refunded"]:
            return "CHARGE_ALREADY_REFUNDED"
        c["refunded"] = True
    return None


def get_updates(p):
    offset = int(p.get("offset", 0) or 0)
    timeout = min(int(p.get("timeout", 0) or 0), 50)
    limit = int(p.get("limit", 100) or 100)
    deadline = time.time() + timeout
    with lock:
        if state["webhook"]:
            return jresp(409, {"ok": False, "error_code": 409, "description":
                               "Conflict: can't use getUpdates method while webhook is active"})
        state["offsets"].append(offset)
        if offset > 0:  # confirmed: gone for good, as at Telegram
            state["updates"] = [u for u in state["updates"] if u["update_id"] >= offset]
        while True:
            ready = [u for u in state["updates"] if u["update_id"] >= offset]
            left = deadline - time.time()
            if ready or left <= 0:
                return jresp(200, {"ok": True, "result": ready[:limit]})
            lock.wait(left)


def control(h, path, query, body):
    with lock:
        if path == "/control/inject":
            u = json.loads(body)
            u["update_id"] = state["next_id"]
            state["next_id"] += 1
            state["updates"].append(u)
            paid = (u.get("message") or {}).get("successful_payment")
            if paid:
                state["charges"][paid["telegram_payment_charge_id"]] = {
                    "user_id": u["message"]["from"]["id"], "amount": paid["total_amount"], "refunded": False}
            lock.notify_all()
            return jresp(200, {"update_id": u["update_id"]})
        if path == "/control/calls":
            since = int(query.get("since", 0))
            return jresp(200, {"calls": state["calls"][since:], "next": len(state["calls"])})
        if path == "/control/fail":
            f = json.loads(body)
            state["fail"][f["method"]] = {"status": int(f["status"]), "retry_after": int(f.get("retry_after", 1)),
                                          "times": int(f.get("times", 1))}
            return jresp(200, {"ok": True})
        if path == "/control/block":
            state["blocked"].update(int(c) for c in json.loads(body)["chats"])
            return jresp(200, {"ok": True})
        if path == "/control/charges":
            return jresp(200, state["charges"])
        if path == "/control/state":
            return jresp(200, {"pending": len(state["updates"]), "offsets": state["offsets"],
                               "webhook": state["webhook"], "next_id": state["next_id"]})
    return jresp(404, {"error": "unknown control path"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token", required=True)
    a = ap.parse_args()
    routes = {
        ("POST", "/bot" + a.token + "/"): lambda h, path, q, b: api(h, path, q, b, a.token),
        ("POST", "/control/"): control,
        ("GET", "/control/"): control,
    }
    fakecommon.serve(routes, a.port_file)


if __name__ == "__main__":
    main()

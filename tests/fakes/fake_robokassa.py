"""A local Robokassa (spec/ecosystem.md §b.2) for tests: the payment page checks the link's
SignatureValue = HASH(MerchantLogin:OutSum:InvId:Password1), and a paid invoice is reported to the
hub's ResultURL as a form POST signed HASH(OutSum:InvId:Password2) in uppercase hex with OutSum
written as Robokassa does ("299.000000"); the hub must answer "OK<InvId>".

Usage: fake_robokassa.py --port-file F --login L --password1 P1 --password2 P2 --hash md5 --hook URL
Test control: POST /_control/pay {"inv_id", "times", "concurrent", "out_sum"?}."""
import argparse
import hashlib
import json
import threading
import urllib.parse

import fakecommon as fc

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--login", required=True)
ap.add_argument("--password1", required=True)
ap.add_argument("--password2", required=True)
ap.add_argument("--hash", default="md5")
ap.add_argument("--hook", required=True)
args = ap.parse_args()

lock = threading.Lock()
invoices = {}


def sign(*parts):
    return hashlib.new(args.hash, ":".join(parts).encode()).hexdigest()


def page(h, path, q, body):
    need = ("MerchantLogin", "OutSum", "InvId", "SignatureValue")
    if any(k not in q for k in need) or q["MerchantLogin"] != args.login:
        return 400, "text/html; charset=utf-8", b"<p>Error: bad parameters</p>"
    shp = sorted((k, v) for k, v in q.items() if k.startswith("Shp_"))
    want = sign(q["MerchantLogin"], q["OutSum"], q["InvId"], args.password1, *[f"{k}={v}" for k, v in shp])
    if want != q["SignatureValue"].lower():
        return 400, "text/html; charset=utf-8", b"<p>Error: SignatureValue is wrong (error 29)</p>"
    with lock:
        invoices[q["InvId"]] = {"out_sum": q["OutSum"], "shp": shp, "paid": False}
    return 200, "text/html; charset=utf-8", f"<p>Pay {q['OutSum']} for #{q['InvId']}</p>".encode()


def control_pay(h, path, q, body):
    c = json.loads(body)
    inv = str(c["inv_id"])
    with lock:
        i = invoices[inv]
        i["paid"] = True
    out_sum = c.get("out_sum") or "%.6f" % float(i["out_sum"])
    shp = i["shp"]
    sig = sign(out_sum, inv, args.password2, *[f"{k}={v}" for k, v in shp]).upper()
    form = [("OutSum", out_sum), ("InvId", inv), ("Fee", "0.000000"), ("EMail", "buyer@example.com"),
            ("SignatureValue", sig), ("PaymentMethod", "BankCard"), ("IncCurrLabel", "BankCardPSR")] + shp
    data = urllib.parse.urlencode(form).encode()
    out = fc.deliver(args.hook, data, {"Content-Type": "application/x-www-form-urlencoded"}, c.get("times", 1),
                     c.get("concurrent", 1), c.get("source", "127.0.0.1"))
    return fc.jresp(200, {"deliveries": out})


fc.serve({("GET", "/Merchant/Index.aspx"): page, ("POST", "/_control/pay"): control_pay}, args.port_file)

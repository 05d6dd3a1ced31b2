#!/usr/bin/env bash
# Loads the Clash Meta / mihomo YAML golden files of the subscription renderer with PyYAML and
# checks the structure a client needs (test_hub_sub_render asserts the renderer output equals
# these files byte for byte). PyYAML comes from the Debian package python3-yaml.
set -euo pipefail
dir="${VEIL_VECTORS:-$(dirname "$0")/../vectors}/sub"
if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "python3-yaml missing (apt-get install python3-yaml)" >&2
  exit 1
fi
python3 - "$dir" <<'PY'
import sys, yaml, os
d = sys.argv[1]
PBK = "2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y"

def load(name):
    with open(os.path.join(d, name), "rb") as f:
        raw = f.read()
    raw.decode("utf-8")  # must be valid UTF-8
    return yaml.safe_load(raw)

def check_groups(doc):
    names = {p["name"] for p in doc["proxies"]}
    groups = {g["name"]: g for g in doc["proxy-groups"]}
    assert len(groups) == len(doc["proxy-groups"]), "duplicate group names"
    assert not (names & set(groups)), "proxy and group share a name"
    assert len(names) == len(doc["proxies"]), "duplicate proxy names"
    for g in doc["proxy-groups"]:
        assert g["type"] in ("select", "url-test"), g
        for member in g["proxies"]:
            assert member in names or member in groups or member == "DIRECT", member
    assert doc["rules"][-1] == "MATCH,Proxy", doc["rules"]
    for r in doc["rules"]:
        assert isinstance(r, str) and r.count(",") >= 1, r

doc = load("clash_meta.yaml")
assert doc["mode"] == "rule" and isinstance(doc["mixed-port"], int)
ps = doc["proxies"]
assert [p["name"] for p in ps] == ["\U0001F1E9\U0001F1EA Frankfurt", "Helsinki", "Helsinki 2"], ps
want = [("203.0.113.10", 443, "www.example.com", "chrome", "0123456789abcdef"),
        ("2001:db8::1", 8443, "2001:db8::1", "chrome", ""),
        ("hel2.example.net", 443, "cdn.example.org", "firefox", "aa")]
for p, (server, port, sni, fp, sid) in zip(ps, want):
    assert p["type"] == "vless" and p["network"] == "tcp", p
    assert p["server"] == server and p["port"] == port, p
    assert p["uuid"] == "b831381d-6324-4d53-ad4f-8cda48b30811", p
    assert p["udp"] is True and p["tls"] is True, p
    assert p["servername"] == sni and p["client-fingerprint"] == fp, p
    assert p["flow"] == "xtls-rprx-vision", p
    assert p["reality-opts"] == {"public-key": PBK, "short-id": sid}, p
check_groups(doc)
auto = [g for g in doc["proxy-groups"] if g["name"] == "Auto"][0]
assert auto["type"] == "url-test" and auto["url"].startswith("http") and isinstance(auto["interval"], int)

doc = load("expired_clash.yaml")
assert len(doc["proxies"]) == 1
p = doc["proxies"][0]
assert p["name"] == "Subscription expired" and p["server"] == "0.0.0.0" and p["port"] == 1 and p["tls"] is False
check_groups(doc)

doc = load("clash_legacy.yaml")
assert doc["proxies"] == []
assert doc["proxy-groups"][0]["proxies"] == ["DIRECT"]
check_groups(doc)
print("sub yaml: ok")
PY

#!/usr/bin/env python3
"""Writes a veil-node config for the integration tests: one REALITY inbound, a freedom outbound, and
the test-friendly limits below, with the caller's JSON overlays merged over it in order (objects
merge key by key, any other value replaces).

usage: node_config.py OUT PORT TARGET SNI PRIVATE_KEY SHORT_ID [OVERLAY_JSON...]
An overlay "-" is read from stdin (a here-document). An overlay may hold "clients" (the inbound's
VLESS clients), "reality" (more realitySettings) and "listen" (the inbound's address, 127.0.0.1);
every other key is a top-level member of the config ("veil", "log", ...).
"""
import json
import sys

# The probing guard (veil.limits.probeFallbacks, 100 failed hellos per /24 by default) bans the
# client's network. Every test connects from 127.0.0.1 and several send failed hellos on purpose
# (fallback volume, an fd flood, an unknown SNI), so a ban would end them for a reason that is not
# theirs: off here, on only where it is the subject (test_node_probing sets its own thresholds).
TEST_LIMITS = {"probeFallbacks": 0}


def merge(base, over):
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    out, port, target, sni, key, sid = sys.argv[1:7]
    over = {}
    for arg in sys.argv[7:]:
        merge(over, json.load(sys.stdin) if arg == "-" else json.loads(arg))
    reality = merge({"target": target, "serverNames": [sni], "privateKey": key, "shortIds": [sid]},
                    over.pop("reality", {}))
    config = {
        "log": {"loglevel": "info"},
        "inbounds": [{"listen": over.pop("listen", "127.0.0.1"), "port": int(port), "protocol": "vless",
                      "settings": {"clients": over.pop("clients", []), "decryption": "none"},
                      "streamSettings": {"network": "raw", "security": "reality", "realitySettings": reality}}],
        "outbounds": [{"protocol": "freedom"}],
        "veil": {"workers": 1, "limits": dict(TEST_LIMITS)},
    }
    with open(out, "w") as f:
        json.dump(merge(config, over), f, indent=1)


if __name__ == "__main__":
    main()

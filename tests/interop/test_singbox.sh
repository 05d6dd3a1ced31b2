#!/usr/bin/env bash
# The genuine sing-box client (../shared/peers/sing-box, 1.11.15, with_utls) through veil-node:
# every uTLS fingerprint sing-box offers, each with Vision and with no flow (UDP as XUDP,
# packet_encoding "xudp"), one user per pair; plain TCP, TCP carrying TLS, UDP, per-user usage
# checked to the byte, and the same accept/refuse outcome as Xray-core's own REALITY server for
# the same hello (fingerprint_matrix in support/interop.sh).
source "$(dirname "$0")/support/interop.sh"
fingerprint_matrix singbox "chrome firefox edge safari 360 qq ios android random randomized" \
  "chrome firefox edge safari ios"

#!/usr/bin/env bash
# The genuine Xray-core client (../shared/peers/xray, 25.9.11) through veil-node: every uTLS
# fingerprint Xray offers, each with Vision (xtls-rprx-vision) and with no flow, one user per
# pair; plain TCP, TCP carrying TLS, UDP (XUDP), per-user usage checked to the byte, and the
# same accept/refuse outcome as Xray-core's own REALITY server for the same hello
# (fingerprint_matrix in support/interop.sh). "android" and "360" offer no TLS 1.3 hello that
# REALITY can use: Xray-core refuses them, and so must the node.
source "$(dirname "$0")/support/interop.sh"
fingerprint_matrix xray "chrome firefox safari ios android edge 360 qq random randomized randomizednoalpn" \
  "chrome firefox safari ios edge"

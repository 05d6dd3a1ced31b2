/* Target scans a node runs on request (docs/sync-protocol.md "Scans", docs/hub.md "Node-run
 * target scans"): the hub puts a request in a node's pull answer ("scan"), the node runs
 * `veil scan --json` on the candidates from where it stands and posts the ranked rows back
 * (POST /api/v1/node/scan). Codecs only, strict like ctl/sync.h. */
#ifndef VEIL_CTL_SYNC_SCAN_H
#define VEIL_CTL_SYNC_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct sync_err;

#define SYNC_SCAN_CANDIDATES_MAX 32 /* candidates in one request */
#define SYNC_SCAN_CANDIDATE_MAX 262 /* "host", "host:port", "[v6]:port" or an IPv4 CIDR (/24 or smaller) */
#define SYNC_SCAN_ROWS_MAX 1024     /* result rows (CIDRs expand) */
#define SYNC_SCAN_HOST_MAX 253

/* The request in a pull answer ("scan": {"id", "candidates", "sni"}); id 0: none. */
struct sync_scan {
    uint64_t id;
    size_t n;
    char candidates[SYNC_SCAN_CANDIDATES_MAX][SYNC_SCAN_CANDIDATE_MAX + 1];
    char sni[SYNC_SCAN_HOST_MAX + 1]; /* "" : each candidate's own name (an IP: its certificate's) */
};

/* One ranked row: `veil scan --json` as it prints it (further keys are ignored). */
struct sync_scan_row {
    char host[SYNC_SCAN_HOST_MAX + 1];
    uint16_t port;
    char sni[SYNC_SCAN_HOST_MAX + 1];
    bool suitable;
    char verdict[33];
    uint64_t rtt_ms;
    int64_t score;
};

/* Body of POST /api/v1/node/scan: {"v": 1, "id": N, "results": [rows]}. rows are malloc'd. */
struct sync_scan_result {
    uint64_t id;
    size_t n;
    struct sync_scan_row *rows;
};

/* true when s is a candidate a node may scan: a host name or IP with an optional port, or an
 * IPv4 CIDR of /24 or smaller (at most 256 addresses). */
bool sync_scan_candidate_valid(const char *s);

/* A request as text ({"id": N, "candidates": [...], "sni"?: ""}, e.g. stored by the hub) into s,
 * with the pull answer's rules. 0 or ERR_MALFORMED / ERR_LIMIT, err says why. */
int sync_scan_request_decode(struct sync_scan *s, const char *json, size_t len, struct sync_err *err);

/* Results: encode appends compact JSON; decode is strict (ERR_MALFORMED, ERR_RANGE, ERR_LIMIT,
 * ERR_UNSUPPORTED for "v" other than 1, ERR_TOO_LONG, ERR_NOMEM), *m empty on failure. */
int sync_scan_result_encode(const struct sync_scan_result *m, struct buf *out);
int sync_scan_result_decode(struct sync_scan_result *m, const char *json, size_t len, struct sync_err *err);
void sync_scan_result_dispose(struct sync_scan_result *m);

#endif

/* Target scans the hub asks this node to run (ctl/sync_scan.h, docs/hub.md "Node-run target
 * scans"): a thread of its own (never the event loop) runs `veil scan --json` on the candidates,
 * so the RTT and the verdicts are those seen from this node, and hands the ranked rows to a
 * callback (the hub sync posts them). One scan at a time; a request that arrives while one runs
 * waits for it (the latest wins). The `veil` binary is the one next to veil-node, else $PATH's
 * (VEIL_SCAN_BIN overrides). */
#ifndef VEIL_NODE_SCAN_JOB_H
#define VEIL_NODE_SCAN_JOB_H

#include "core/buf.h"
#include "ctl/sync_scan.h"

struct node_scan_job;

/* Receives the results body ({"v":1,"id":N,"results":[...]}); 0 or an error (logged). */
typedef int node_scan_post_fn(void *arg, const struct buf *body);

/* Starts the thread. timeout_sec: per candidate (veil scan --timeout). NULL on failure. */
struct node_scan_job *node_scan_job_start(unsigned timeout_sec, node_scan_post_fn *post, void *arg);
/* Queues a request (copied). Any thread. */
void node_scan_job_request(struct node_scan_job *j, const struct sync_scan *req);
/* Stops and joins (a running scan is killed). NULL is a no-op. */
void node_scan_job_stop(struct node_scan_job *j);

/* The veil scan argument list for a request, NULL-terminated, into argv (cap entries; strings
 * point into req). Returns the count, or 0 when it does not fit. Pure: exposed for tests. */
size_t node_scan_argv(const struct sync_scan *req, const char *bin, unsigned timeout_sec, char *timeout_buf,
                      size_t timeout_cap, const char **argv, size_t cap);

/* Wraps veil scan's JSON array (out, n bytes) as the results body of request id, checked with
 * the hub's own decoder and encoded again; an output that does not parse gives an empty result
 * (the hub then closes the request). 0 or ERR_NOMEM. */
int node_scan_body(uint64_t id, const char *out, size_t n, struct buf *body);

#endif

/* Per-user accounting for every user of the node (config, admin API and hub users alike):
 * application bytes each way and open tunnels, keyed by the user's 16-byte lookup key (the id
 * with bytes 6-7 zeroed, vless/users.h).
 *
 * Two byte counters per user and direction:
 *   - "since reset": what the admin API reads, and read-and-resets atomically (a panel polling
 *     with reset, spec/ecosystem.md §d.2): every byte lands in exactly one read;
 *   - "total": monotonic since the process started, never reset (Prometheus counters).
 *
 * Tunnels report deltas while they run (session.c every veil.usageReportSec, udp.c on its
 * tick) and the remainder when they end, so a long download is visible as it goes. Bytes of
 * hub users (hub_id != 0) are forwarded to hub sync from the same deltas.
 *
 * Thread-safe: any worker may report. The table is split into mutex-guarded stripes by key
 * hash, so workers rarely contend; a report is one short critical section. Entries are never
 * removed (a removed user keeps its counters until the process ends: bounded by the users the
 * node ever served). Every function accepts u == NULL as "accounting off" (no-op). */
#ifndef VEIL_NODE_USAGE_H
#define VEIL_NODE_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct node_hubsync;
struct node_usage;

#define NODE_USAGE_KEY_LEN 16

struct node_usage_entry {
    uint8_t key[NODE_USAGE_KEY_LEN];
    uint64_t hub_id;               /* last hub id seen for the key; 0 = not a hub user */
    uint64_t up, down;             /* since the last reset (up = client to destination) */
    uint64_t total_up, total_down; /* since start, never reset */
    uint64_t active;               /* open tunnels now */
    uint64_t bittorrent;           /* BitTorrent flows recognised since start (node/bt_guard.h) */
    uint64_t smtp;                 /* flows to port 25 refused since start (node/port_guard.h) */
};

/* NULL on OOM. */
struct node_usage *node_usage_new(void);
/* NULL is a no-op. No report may be running. */
void node_usage_free(struct node_usage *u);

/* Where hub users' deltas go (NULL: nowhere). When this returns, no thread is still inside
 * the previous hub sync through us, so the caller may stop it. */
void node_usage_set_hubsync(struct node_usage *u, struct node_hubsync *h);

/* The accounting key of a user id (bytes 6 and 7 zeroed). */
void node_usage_key(const uint8_t id[static NODE_USAGE_KEY_LEN], uint8_t key[static NODE_USAGE_KEY_LEN]);

/* Adds bytes for a user (any thread). Out of memory for a new entry: the bytes are counted in
 * node_usage_lost() (and still forwarded to hub sync). */
void node_usage_add(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], uint64_t hub_id, uint64_t up,
                    uint64_t down);
/* A BitTorrent flow of the user was recognised: counted, and forwarded to hub sync for a hub user. */
void node_usage_bittorrent(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], uint64_t hub_id);
/* A flow of the user to port 25 was refused (veil.blockedPorts): likewise. */
void node_usage_smtp(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], uint64_t hub_id);
/* A tunnel of the user opened / closed. open returns false when it could not be counted (OOM,
 * u NULL): then do not call close for it. */
bool node_usage_open(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], uint64_t hub_id);
void node_usage_close(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN]);

/* One user's counters; with reset, the "since reset" counters are zeroed in the same critical
 * section (out has the values before). 0 or ERR_NOT_FOUND (never reported: *out zeroed). */
int node_usage_get(struct node_usage *u, const uint8_t key[static NODE_USAGE_KEY_LEN], bool reset,
                   struct node_usage_entry *out);
/* Every user's counters (malloc'd array, order unspecified; free()). With reset, each entry
 * is read and zeroed atomically. 0 or ERR_NOMEM (nothing reset then). */
int node_usage_list(struct node_usage *u, bool reset, struct node_usage_entry **out, size_t *n);
/* The n users with the most total bytes (up + down, ties by key), into out[0..ret), largest
 * first. */
size_t node_usage_top(struct node_usage *u, size_t n, struct node_usage_entry *out);

/* Users with at least one open tunnel. */
uint64_t node_usage_online(const struct node_usage *u);
/* Users known to the table. */
uint64_t node_usage_users(const struct node_usage *u);
/* Bytes that could not be booked to a user (out of memory). */
uint64_t node_usage_lost(const struct node_usage *u);

#endif

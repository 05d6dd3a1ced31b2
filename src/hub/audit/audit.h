/* The audit module: verifies the audit log's hash chain (hub/store/store_audit.c) every
 * "audit": {"verify_interval": N} seconds (default 3600, 0 = never) as a scheduler job on every
 * replica, logs "audit_chain_broken" (an error, with the row) when a link is broken, and keeps
 * the result for GET /metrics (veil_hub_audit_chain_ok), so an alert fires on tampering. */
#ifndef VEIL_HUB_AUDIT_H
#define VEIL_HUB_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

struct store;

struct audit_status {
    bool checked;      /* false until the first verification in this process */
    bool ok;           /* the chain held at the last check */
    int64_t at;        /* when it was checked (UTC seconds) */
    int64_t rows;      /* rows verified */
    int64_t broken_id; /* the first broken row when !ok */
};

/* Verifies the chain now, records the result and logs a broken link. 0, or a store error
 * (the recorded result is then left as it was). */
int audit_check(struct store *st, int64_t now);
/* The last recorded result (thread-safe). */
void audit_status_get(struct audit_status *out);

#endif

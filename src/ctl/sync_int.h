/* Private to ctl/sync*.c: the REALITY parts of the sync messages (sync_targets.c), used by the
 * codecs in sync.c. */
#ifndef VEIL_CTL_SYNC_INT_H
#define VEIL_CTL_SYNC_INT_H

#include <jansson.h>

#include "ctl/sync.h"

/* Writes the message into err (when given) and returns rc: every decoder's refusal. */
__attribute__((format(printf, 3, 4))) int sync__fail(struct sync_err *err, int rc, const char *fmt, ...);

/* The "reality" object of a pull answer; NULL when r is invalid or out of memory. */
json_t *sync__reality_to_json(const struct sync_reality *r);
/* root["reality"] into r (rev 0 when absent). 0 or ERR_MALFORMED / ERR_RANGE / ERR_LIMIT. */
int sync__reality_from_json(const json_t *root, struct sync_reality *r, struct sync_err *err);
/* The "targets" array of a push's health; NULL when invalid or out of memory. */
json_t *sync__targets_to_json(const struct sync_health *h);
/* health["targets"] into h (none when absent). */
int sync__targets_from_json(const json_t *health, struct sync_health *h, struct sync_err *err);

/* The "probes" array of a push's health (sync_probes.c); NULL when invalid or out of memory. */
json_t *sync__probes_to_json(const struct sync_health *h);
/* health["probes"] into h (none when absent). */
int sync__probes_from_json(const json_t *health, struct sync_health *h, struct sync_err *err);

/* The "scan" object of a pull answer (ctl/sync_scan.h); NULL when invalid or out of memory. */
json_t *sync__scan_to_json(const struct sync_scan *s);
/* root["scan"] into s (id 0 when absent). 0 or ERR_MALFORMED / ERR_LIMIT. */
int sync__scan_from_json(const json_t *root, struct sync_scan *s, struct sync_err *err);

#endif

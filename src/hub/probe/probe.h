/* Active node probe (issue 15 item 4): the hub sends a TLS 1.3 ClientHello to each node's public
 * address; a REALITY node answers it like its target, so a TLS record back means the port
 * serves, and refused / silent / non-TLS answers, fleet.probe_failures times in a row, take the
 * node out of /sub (api_node_reachable) until a probe succeeds again. Each hub probes on its
 * own: the result is about reachability from where that hub runs. */
#ifndef VEIL_HUB_PROBE_PROBE_H
#define VEIL_HUB_PROBE_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_HELLO_RAND 96 /* random bytes a ClientHello takes: random, session id, key share */
#define PROBE_HELLO_MAX 512

/* Writes a TLS 1.3 ClientHello record (TLS_AES_*; X25519; server_name when sni is a DNS name
 * of 1..253 bytes) into out. Returns its length, or 0 when cap is too small. Pure. */
size_t probe_client_hello(uint8_t *out, size_t cap, const char *sni, const uint8_t rnd[static PROBE_HELLO_RAND]);

/* Connects to host:port (name or IP literal), sends a ClientHello for sni and reads the first
 * bytes of the answer, all within timeout_ms. 0 when they look like a TLS server's
 * (hub_probe_answer_is_tls), ERR_MALFORMED when something else answered, ERR_TIMEOUT,
 * ERR_CLOSED (closed without a byte), ERR_NOT_FOUND (name does not resolve), -errno. */
int probe_tls(const char *host, uint16_t port, const char *sni, int timeout_ms);

#endif

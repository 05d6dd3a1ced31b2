/* Who is the client: the peer address, or — only when the peer is one of our own proxies — the
 * address those proxies recorded in X-Forwarded-For. Used for rate limits, audit source_ip and
 * provider IP allow-lists (billing webhooks). Pure: text in, text out, no sockets.
 *
 * X-Forwarded-For is a list each proxy appends the address it received from to; everything to
 * the left of the entries our proxies added was written by the client and proves nothing. So the
 * list is read right to left, skipping entries in the trusted set; the first other entry is the
 * client if it is a syntactically valid IP address, else the peer address is used. */
#ifndef VEIL_HUB_API_CLIENT_IP_H
#define VEIL_HUB_API_CLIENT_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENT_IP_MAX 46 /* INET6_ADDRSTRLEN: longest text form, with the NUL */

/* One CIDR block. IPv4 is kept as IPv4 (family 4); IPv4-mapped IPv6 addresses match it. */
struct client_ip_net {
    uint8_t family; /* 4 or 6 */
    uint8_t prefix; /* 0..32 or 0..128 */
    uint8_t addr[16];
};

/* Parses "10.0.0.0/8", "2001:db8::/32" or a single address ("127.0.0.1" = /32). Host bits
 * beyond the prefix must be zero (a typo there usually means a wrong prefix). ERR_MALFORMED. */
int client_ip_net_parse(const char *s, struct client_ip_net *out);

/* true when ip (text) is a valid address inside one of the n blocks. */
bool client_ip_in_nets(const char *ip, const struct client_ip_net *nets, size_t n);

/* Normalises a textual address (IPv4-mapped IPv6 becomes IPv4) into out; false when s is not
 * exactly an IP address (no port, brackets, spaces or other text). */
bool client_ip_normalise(const char *s, size_t len, char out[static CLIENT_IP_MAX]);

/* The client address for a request from `peer` (text) carrying the X-Forwarded-For value `xff`
 * (all header lines joined with ","; NULL when absent). Forwarded entries are honoured only when
 * the peer is inside `trusted` (n blocks; n == 0 never trusts). Writes the normalised address
 * into out (the peer text when nothing better is known; "" when peer is NULL). */
void client_ip_resolve(const char *peer, const char *xff, const struct client_ip_net *trusted, size_t n,
                       char out[static CLIENT_IP_MAX]);

#endif

/* SOCKS5 UDP ASSOCIATE for `veil client` (RFC 1928 §7): a UDP relay socket next to the control
 * connection; the application's datagrams (SOCKS UDP header, FRAG 0 only) go through one VLESS
 * connection opened on the first datagram:
 *  - flow "": VLESS UDP (command 2) to the first datagram's destination; datagrams to other
 *    destinations are dropped, as Xray does;
 *  - Vision: VLESS Mux (command 3) with one XUDP session (id 0, a random GlobalID), every
 *    datagram addressed individually, replies labelled with their source.
 * If the node ends the tunnel (idle timeout, End frame), the next datagram opens a new one.
 * The association lives as long as the control connection. */
#ifndef VEIL_CLI_UDP_ASSOC_H
#define VEIL_CLI_UDP_ASSOC_H

#include "cli/outbound.h"

/* Serves one association on the control socket `ctl` (blocking thread): sends the SOCKS reply
 * (success with the relay address, or failure), relays until `ctl` closes. */
void cli_udp_associate(int ctl, const struct outbound_cfg *cfg);

#endif

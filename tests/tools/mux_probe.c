/* Test tool: a real REALITY + VLESS client that sends hand-made UDP/Mux plaintext and prints
 * what comes back, for the node's malformed-input paths that `veil client` never produces.
 * Usage: mux_probe LINK udp|mux DEST_IP:PORT HEX SECONDS
 *   Sends the VLESS request (command 2 to DEST, or Mux) with the bytes of HEX as the first
 *   data, then prints the decoded downlink as hex on one line and "closed" when the node
 *   closed the connection within SECONDS, "open" otherwise. Exit 0 unless setup failed. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/outbound.h"
#include "core/enc.h"
#include "core/err.h"
#include "net/sock.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: mux_probe LINK udp|mux DEST_IP:PORT HEX SECONDS\n");
        return 2;
    }
    struct outbound_cfg cfg;
    char err[256];
    if (outbound_cfg_from_link(&cfg, argv[1], err, sizeof(err)) < 0) {
        fprintf(stderr, "mux_probe: %s\n", err);
        return 2;
    }
    struct sock_addr sa;
    struct vless_addr dest;
    if (sock_addr_parse(&sa, argv[3]) < 0 || sock_addr_family(&sa) != AF_INET) {
        fprintf(stderr, "mux_probe: DEST must be ipv4:port\n");
        return 2;
    }
    vless_addr_ipv4(&dest, (const uint8_t *)&sa.u.in4.sin_addr, sock_addr_port(&sa));
    static uint8_t data[65536];
    size_t n = 0;
    if (hex_decode(data, sizeof(data), &n, argv[4], strlen(argv[4])) < 0) {
        fprintf(stderr, "mux_probe: bad hex\n");
        return 2;
    }
    struct outbound ob;
    int rc = outbound_open_cmd(&ob, &cfg, strcmp(argv[2], "mux") ? VLESS_CMD_UDP : VLESS_CMD_MUX, &dest);
    if (rc < 0) {
        fprintf(stderr, "mux_probe: handshake failed: %s\n", err_str(rc));
        return 2;
    }
    size_t off = 0;
    while (rc == 0 && off < n) {
        ssize_t k = tunnel_xprt_ops.send(&ob.xprt, ob.fd, data + off, n - off);
        if (k == -EAGAIN) {
            struct pollfd p = {.fd = ob.fd, .events = POLLOUT};
            (void)poll(&p, 1, 1000);
            continue;
        }
        if (k < 0)
            rc = (int)k;
        else
            off += (size_t)k;
    }
    while (rc == 0 && (rc = tunnel_xprt_ops.flush(&ob.xprt, ob.fd)) == -EAGAIN) {
        struct pollfd p = {.fd = ob.fd, .events = POLLOUT};
        (void)poll(&p, 1, 1000);
        rc = 0;
    }
    int limit_ms = atoi(argv[5]) * 1000;
    bool closed = false;
    while (!closed) {
        struct pollfd p = {.fd = ob.fd, .events = POLLIN};
        if (poll(&p, 1, limit_ms) <= 0)
            break;
        uint8_t tmp[16384];
        for (;;) {
            ssize_t k = tunnel_xprt_ops.recv(&ob.xprt, ob.fd, tmp, sizeof(tmp));
            if (k == -EAGAIN)
                break;
            if (k <= 0) {
                closed = true;
                break;
            }
            for (ssize_t i = 0; i < k; i++)
                printf("%02x", tmp[i]);
        }
    }
    printf("\n%s\n", closed ? "closed" : "open");
    outbound_close(&ob);
    return 0;
}

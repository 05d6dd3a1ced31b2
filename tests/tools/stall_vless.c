/* Test tool: completes a real REALITY handshake with a node, then sends only the first bytes
 * of its VLESS request header and goes silent. Exits 0 when the node closes the connection
 * within the given number of seconds (its handshake timeout), 1 otherwise.
 * Usage: stall_vless 'vless://...' SECONDS */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "cli/outbound.h"
#include "core/err.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: stall_vless LINK SECONDS\n");
        return 2;
    }
    struct outbound_cfg cfg;
    char err[256];
    if (outbound_cfg_from_link(&cfg, argv[1], err, sizeof(err)) < 0) {
        fprintf(stderr, "stall_vless: %s\n", err);
        return 2;
    }
    struct vless_addr dest;
    const uint8_t ip[4] = {127, 0, 0, 1};
    vless_addr_ipv4(&dest, ip, 9);
    struct outbound ob;
    int rc = outbound_open(&ob, &cfg, &dest);
    if (rc < 0) {
        fprintf(stderr, "stall_vless: handshake failed: %s\n", err_str(rc));
        return 2;
    }
    /* Half of the request header in one record, then nothing. */
    struct buf out;
    buf_init(&out);
    rc = tls13_send(ob.tls, buf_data(&ob.xprt.prefix), 5, &out);
    if (rc == 0 && send(ob.fd, buf_data(&out), buf_len(&out), MSG_NOSIGNAL) != (ssize_t)buf_len(&out))
        rc = -1;
    buf_dispose(&out);
    if (rc < 0) {
        outbound_close(&ob);
        return 2;
    }
    time_t start = time(NULL);
    int limit_ms = atoi(argv[2]) * 1000;
    int closed = 0;
    while (!closed) {
        struct pollfd p = {.fd = ob.fd, .events = POLLIN};
        int pr = poll(&p, 1, limit_ms);
        if (pr <= 0)
            break;
        char tmp[4096];
        ssize_t k = recv(ob.fd, tmp, sizeof(tmp), 0);
        closed = k == 0 || (k < 0 && (p.revents & (POLLHUP | POLLERR)));
    }
    printf("stall_vless: %s after %lds\n", closed ? "closed by the node" : "still open", (long)(time(NULL) - start));
    outbound_close(&ob);
    return closed ? 0 : 1;
}

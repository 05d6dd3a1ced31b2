/* Test tool: replays a real Xray client's decrypted uplink (a transcript's c2s.hex: one TLS
 * record's plaintext per "#" section, VLESS header and Vision framing included) through a fresh
 * REALITY session with a node, one TLS record per section, then prints the node's downlink as
 * `veil client` decodes it (response header and Vision framing removed), hex on one line.
 * Usage: replay_xudp LINK C2S_HEX_FILE SECONDS   (LINK: the transcript's user and flow) */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/outbound.h"
#include "core/enc.h"
#include "core/err.h"

static int send_record(struct outbound *ob, const uint8_t *p, size_t n)
{
    struct buf out;
    buf_init(&out);
    int rc = tls13_send(ob->tls, p, n, &out);
    size_t off = 0;
    while (rc == 0 && off < buf_len(&out)) {
        ssize_t k = send(ob->fd, buf_data(&out) + off, buf_len(&out) - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EAGAIN) {
            struct pollfd p2 = {.fd = ob->fd, .events = POLLOUT};
            (void)poll(&p2, 1, 1000);
            continue;
        }
        if (k < 0)
            rc = -errno;
        else
            off += (size_t)k;
    }
    buf_dispose(&out);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: replay_xudp LINK C2S_HEX_FILE SECONDS\n");
        return 2;
    }
    struct outbound_cfg cfg;
    char err[256];
    if (outbound_cfg_from_link(&cfg, argv[1], err, sizeof(err)) < 0) {
        fprintf(stderr, "replay_xudp: %s\n", err);
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (f == NULL) {
        perror(argv[2]);
        return 2;
    }
    struct outbound ob;
    int rc = outbound_open_cmd(&ob, &cfg, VLESS_CMD_MUX, NULL);
    if (rc < 0) {
        fprintf(stderr, "replay_xudp: handshake failed: %s\n", err_str(rc));
        fclose(f);
        return 2;
    }
    static char line[8192];
    static uint8_t rec[20000];
    size_t n = 0;
    bool in_rec = false;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        size_t len = strcspn(line, "\r\n");
        if (line[0] == '#') {
            if (in_rec && n > 0)
                rc = send_record(&ob, rec, n);
            in_rec = strstr(line, "outer-tls-plaintext") != NULL;
            n = 0;
            continue;
        }
        size_t got = 0;
        if (len > 0 && hex_decode(rec + n, sizeof(rec) - n, &got, line, len) < 0)
            rc = ERR_MALFORMED;
        n += got;
    }
    if (rc == 0 && in_rec && n > 0)
        rc = send_record(&ob, rec, n);
    fclose(f);
    if (rc < 0) {
        fprintf(stderr, "replay_xudp: %s\n", err_str(rc));
        outbound_close(&ob);
        return 2;
    }
    int limit_ms = atoi(argv[3]) * 1000;
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
    printf("\n");
    outbound_close(&ob);
    return 0;
}

/* Private to the session pipeline (node/session*.c): the per-connection state and the steps
 * that the files share. One job per file:
 *   session.c          lifecycle (start, close, shed), socket plumbing, the event handlers and
 *                      the pipeline driver session_advance()
 *   session_proxy.c    HAProxy's PROXY header in, our PROXY header to the target
 *   session_reality.c  target dial, mirroring, ClientHello peek, the decision, target flight,
 *                      fallback relay (spec/reality.md §4, §6)
 *   session_tls.c      our TLS 1.3 flight and the client's Finished (§7)
 *   session_vless.c    the VLESS request, flow check and admission (node/limits.h)
 *   session_tunnel.c   destination dial, relay, Vision splice switch, UDP / Mux hand-off
 *   session_acct.c     bytes booked to the user, the worker and the fallback volume
 * Steps that may close the session return false when the pipeline must stop here (closed, or
 * waiting for more input); the caller then does nothing more with the session's buffers. */
#ifndef VEIL_NODE_SESSION_INT_H
#define VEIL_NODE_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "net/loop.h"
#include "net/relay.h"
#include "node/session.h"
#include "node/worker.h"
#include "reality/client_hello.h"
#include "reality/outcome.h"
#include "reality/target.h"
#include "tunnel/xprt.h"
#include "vless/header.h"

#define SESSION_READ_CHUNK 16384
#define SESSION_MAX_CLIENT_PREFIX (70 * 1024) /* ClientHello records + anything before a decision */
#define SESSION_MAX_HEADER_PLAIN 4096         /* VLESS header arrives in the first records */

enum session_decision {
    DECIDE_NONE = 0,
    DECIDE_FALLBACK,
    DECIDE_AUTHENTICATED,
};

/* What only the handshake needs (~500 B), freed when the tunnel's relay starts; a fallback
 * relay keeps it until it closes. */
struct session_hs {
    struct buf cin;   /* client bytes not yet handed on (all of them while peeking) */
    size_t cin_fwd;   /* cin bytes already written to the target (mirroring) */
    size_t fwd_limit; /* stop mirroring here (end of the ClientHello records once authenticated) */
    struct buf tout;  /* bytes for the target: PROXY header, then the mirror */
    struct buf cout;  /* bytes for the client during our handshake */
    struct buf scratch;
    struct reality_client_hello *ch; /* from the peek until our handshake ends */
    struct reality_auth_result auth;
    struct reality_target target;
    uint64_t tdial_ms; /* monotonic ms when the target dial started (node/target_health.h RTT) */
    struct buf app;    /* decrypted application bytes before the VLESS header is complete */
    size_t first_len;
    struct vless_request req; /* ~400 B (the domain); the tunnel keeps its user in the session */
};

struct session {
    struct node_session_link link; /* first: the worker's list */
    struct node_worker *w;
    struct node_snapshot *snap;
    const struct node_inbound_rt *in;
    uint64_t id;
    enum node_session_state state;
    enum session_decision decision;
    int cfd, tfd, dfd;
    struct loop_io cio, tio;
    struct loop_timer deadline;
    struct loop_task free_task;
    struct sock_addr peer, local;

    struct session_hs *hs; /* until the tunnel is up (heap: idle tunnels do not carry it) */
    enum reality_outcome outcome;
    bool target_up, target_spoke;
    bool target_redialed; /* the target dial was retried once after shedding a probe for its fd */
    bool dest_redialed;   /* the destination dial was retried once after shedding for its fd */
    struct node_dial *tdial, *ddial;

    struct tls13_conn *tls;
    const struct vless_user *user; /* the request's, once it is accepted */
    bool vision;

    struct relay relay;
    bool relay_started;
    struct tunnel_xprt xprt;
    bool xprt_ready;
    struct relay_cfg relay_cfg; /* kept to restart the relay in splice mode (Vision direct copy) */
    struct loop_timer splice_timer;
    unsigned splice_tries;
    uint64_t moved_up, moved_down;     /* bytes moved by relays already replaced */
    struct node_udp *udp;              /* UDP / Mux tunnels (node/udp.h) */
    struct node_limits_ticket ticket;  /* device / connection slot while the tunnel lives */
    struct loop_timer acct;            /* books the tunnel's bytes every veil.usageReportSec */
    uint64_t acct_up, acct_down;       /* bytes booked so far (moved_* + the relay's) */
    bool acct_open;                    /* counted as an open tunnel of the user (node/usage.h) */
    struct vless_flow_decision flow_d; /* kept while admission waits for Redis */
    struct loop_timer limit_timer;     /* retries that admission */
    uint64_t limit_until;              /* then decides without waiting */
};

/* session.c */
/* Frees the handshake state (idempotent); from then on s->hs is NULL. */
void session_drop_hs(struct session *s);
void session_close(struct session *s, enum node_close_reason why, int err);
/* Closes the oldest connection that has not authenticated (a fallback relay first), other than
 * `keep`; false when there is none. */
bool session_shed_unauthenticated_except(struct node_worker *w, const struct session *keep);
void session_close_fd(struct session *s, struct loop_io *io, int *fd);
bool session_probe_log(struct session *s, uint64_t *suppressed);
int session_write_some(int fd, struct buf *b);
ssize_t session_read_some(int fd, struct buf *b);
void session_update_interest(struct session *s);
void session_advance(struct session *s);
/* After an event: the handshake states still watch their sockets. */
void session_after_event(struct session *s);

/* session_proxy.c */
/* Strips HAProxy's header from cin. true: done (state PEEK_HELLO); false: needs more or closed. */
bool session_proxy_header(struct session *s);
/* Queues our PROXY header for the target (inbound xver) into tout, once HAProxy's header (if
 * expected) has given the client's source. 0, or a negative error with the session closed. */
int session_proxy_to_target(struct session *s, int tfd);

/* session_reality.c */
int session_dial_target(struct session *s);
int session_mirror(struct session *s);
bool session_peek_hello(struct session *s);
bool session_wait_target(struct session *s);
bool session_target_flight(struct session *s);
void session_start_fallback(struct session *s);

/* session_tls.c */
void session_fail_tls(struct session *s, int err);
void session_send_flight(struct session *s);
bool session_tls_handshake(struct session *s);

/* session_vless.c */
void session_vless_header(struct session *s);
void session_on_limit_timer(struct loop *loop, struct loop_timer *t);

/* session_tunnel.c */
void session_dial_dest(struct session *s);
void session_start_udp(struct session *s, const struct vless_flow_decision *d);
void session_relay_done(struct relay *r, enum relay_reason reason, int err);
void session_on_splice_timer(struct loop *loop, struct loop_timer *t);

/* session_acct.c */
void session_account(struct session *s);
void session_on_acct(struct loop *loop, struct loop_timer *t);
void session_open_tunnel(struct session *s);
void session_start_acct(struct session *s);
uint64_t session_hub_id(const struct session *s);

#endif

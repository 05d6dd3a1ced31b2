/* REALITY in front of a session (spec/reality.md): the target connection, mirroring the client's
 * bytes to it while the ClientHello arrives (§4.1), the decision (§4.3, §4.4), learning the
 * target's flight for an authenticated client, and the transparent fallback relay (§6). */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "node/session_int.h"
#include "node/target_health.h"
#include "node/telemetry.h"

/* Mirroring (§4.1): client bytes up to fwd_limit go to the target. Not while HAProxy's header
 * is incomplete: those bytes are not the client's, and are consumed once parsed. */
int session_mirror(struct session *s)
{
    if (!s->target_up || s->state == NODE_SS_PROXY_HEADER)
        return 0;
    size_t limit = s->hs->fwd_limit < buf_len(&s->hs->cin) ? s->hs->fwd_limit : buf_len(&s->hs->cin);
    if (s->hs->cin_fwd < limit) {
        TRY(buf_append(&s->hs->tout, buf_data(&s->hs->cin) + s->hs->cin_fwd, limit - s->hs->cin_fwd));
        s->hs->cin_fwd = limit;
    }
    return session_write_some(s->tfd, &s->hs->tout);
}

static void on_target(struct loop *loop, struct loop_io *io, unsigned ev)
{
    (void)loop;
    struct session *s = container_of(io, struct session, tio);
    if (ev & LOOP_WRITE) {
        int rc = session_write_some(s->tfd, &s->hs->tout);
        if (rc < 0) {
            session_close(s, NODE_CR_TARGET_DIAL, rc);
            return;
        }
    }
    if (ev & (LOOP_READ | LOOP_HUP | LOOP_ERROR)) {
        uint8_t tmp[8192];
        ssize_t k = recv(s->tfd, tmp, sizeof(tmp), 0);
        if (k == -1 && (errno == EAGAIN || errno == EINTR)) {
            session_update_interest(s);
            return;
        }
        if (k <= 0) {
            /* The target hung up: before the handshake completed, so does the client (§7.3),
             * and a target that closes while we peek makes a fallback that ends at once. */
            int err = k == 0 ? ERR_CLOSED : -errno; /* before close() can change errno */
            if (s->state == NODE_SS_PEEK_HELLO || s->state == NODE_SS_WAIT_TARGET) {
                s->target_spoke = true;
                session_close_fd(s, &s->tio, &s->tfd);
                session_close(s, NODE_CR_TARGET_DIAL, err);
                return;
            }
            session_close(s, NODE_CR_TARGET_FLIGHT, err);
            return;
        }
        if (s->state == NODE_SS_TLS_HANDSHAKE)
            return; /* late target bytes (ticket tail) are not for the client */
        size_t used = 0;
        /* The target spoke first (§4.4): bytes from it before the client's hello is decided
         * mean it is not waiting for a ClientHello, so the decision becomes a fallback. */
        if (s->state == NODE_SS_PEEK_HELLO || s->state == NODE_SS_WAIT_TARGET)
            s->target_spoke = true;
        if (s->hs->target.state == REALITY_TARGET_ST_EXPECT_RECORDS &&
            reality_target_feed(&s->hs->target, tmp, (size_t)k, &used) < 0) {
            session_close(s, NODE_CR_NOMEM, ERR_NOMEM);
            return;
        }
    }
    session_after_event(s);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t inbound_index(const struct session *s)
{
    return (size_t)(s->in - s->snap->inbounds);
}

static void target_dialed(void *arg, enum node_dial_result res, int err, int fd, const struct sock_addr *peer)
{
    struct session *s = arg;
    s->tdial = NULL;
    (void)peer;
    bool fd_short = (err == -EMFILE || err == -ENFILE);
    if (!fd_short) /* our own fd shortage says nothing about the target */
        node_target_note_dial(inbound_index(s), res == NODE_DIAL_OK);
    if (res != NODE_DIAL_OK) {
        /* Out of fds while probes hold them: every new connection dials the target before it
         * can authenticate, so make room once, as accept does, instead of refusing a client. */
        if ((err == -EMFILE || err == -ENFILE) && !s->target_redialed && session_shed_unauthenticated_except(s->w, s)) {
            s->target_redialed = true;
            if (session_dial_target(s) == 0)
                return;
        }
        reality_outcome_count(REALITY_OUTCOME_DIAL_FAILED);
        log_warn("node", s->id, "target_unreachable", LF_STR("result", node_dial_result_str(res)),
                 LF_STR("err", err_str(err)));
        session_close(s, NODE_CR_TARGET_DIAL, err);
        return;
    }
    s->tfd = fd;
    s->target_up = true;
    loop_io_init(&s->tio, fd, on_target);
    if (session_proxy_to_target(s, fd) < 0)
        return;
    int rc = session_mirror(s);
    if (rc < 0) {
        session_close(s, NODE_CR_TARGET_DIAL, rc);
        return;
    }
    session_after_event(s);
}

int session_dial_target(struct session *s)
{
    const struct node_inbound *ib = s->in->ib;
    s->hs->tdial_ms = mono_ms();
    return node_dial_start(s->w->dialer, ib->target_host, ib->target_port, NODE_DIAL_TRUSTED, target_dialed, s,
                           &s->tdial);
}

/* §4.3: fallback or authenticated, from the parsed ClientHello. */
static void decide(struct session *s)
{
    if (s->target_spoke) { /* §4.4: the target answered before we decided */
        s->outcome = REALITY_OUTCOME_TARGET_FIRST;
        s->decision = DECIDE_FALLBACK;
        return;
    }
    int rc = reality_auth(s->in->reality, s->hs->ch, clock_unix_ms(), &s->hs->auth);
    s->outcome = rc < 0 ? REALITY_OUTCOME_MALFORMED : s->hs->auth.outcome;
    if (rc < 0 || s->hs->auth.outcome != REALITY_OUTCOME_AUTHENTICATED) {
        s->decision = DECIDE_FALLBACK;
        uint64_t sup;
        if (session_probe_log(s, &sup))
            log_debug("node", s->id, "reality_fallback", LF_STR("reason", reality_outcome_str(s->outcome)),
                      LF_UINT("suppressed", sup));
        return;
    }
    s->decision = DECIDE_AUTHENTICATED;
    s->hs->fwd_limit = s->hs->ch->record_bytes; /* the hello goes to the target, nothing after it */
    atomic_fetch_add(&s->w->stats.authenticated, 1);
    reality_outcome_count(REALITY_OUTCOME_AUTHENTICATED);
}

bool session_peek_hello(struct session *s)
{
    if (s->hs->ch == NULL && (s->hs->ch = calloc(1, sizeof(*s->hs->ch))) == NULL) {
        session_close(s, NODE_CR_NOMEM, ERR_NOMEM);
        return false;
    }
    int rc = reality_ch_peek(buf_data(&s->hs->cin), buf_len(&s->hs->cin), &s->hs->scratch, s->hs->ch);
    if (rc == ERR_NEED_MORE) {
        if (buf_len(&s->hs->cin) > SESSION_MAX_CLIENT_PREFIX)
            rc = ERR_TOO_LONG;
        else
            return false;
    }
    if (rc < 0) {
        s->outcome = REALITY_OUTCOME_MALFORMED;
        s->decision = DECIDE_FALLBACK;
    } else {
        decide(s);
    }
    s->state = NODE_SS_WAIT_TARGET;
    return true;
}

bool session_wait_target(struct session *s)
{
    if (!s->target_up)
        return false;
    if (s->decision == DECIDE_FALLBACK) {
        session_start_fallback(s);
        return false;
    }
    int rc = session_mirror(s);
    if (rc < 0) {
        session_close(s, NODE_CR_TARGET_DIAL, rc);
        return false;
    }
    s->state = NODE_SS_TARGET_FLIGHT;
    return true;
}

bool session_target_flight(struct session *s)
{
    switch (s->hs->target.state) {
    case REALITY_TARGET_ST_EXPECT_RECORDS:
        return false;
    case REALITY_TARGET_ST_FALLBACK: {
        uint64_t sup;
        if (session_probe_log(s, &sup))
            log_debug("node", s->id, "target_flight_fallback",
                      LF_STR("why", s->hs->target.why ? s->hs->target.why : ""), LF_UINT("suppressed", sup));
        s->outcome = REALITY_OUTCOME_TARGET_BAD_SERVER_HELLO;
        session_start_fallback(s);
        return false;
    }
    case REALITY_TARGET_ST_CLOSE:
        reality_outcome_count(REALITY_OUTCOME_TARGET_BAD_FLIGHT);
        session_close(s, NODE_CR_TARGET_FLIGHT, ERR_MALFORMED);
        return false;
    case REALITY_TARGET_ST_READY:
        node_target_note_flight(inbound_index(s), mono_ms() - s->hs->tdial_ms, &s->hs->target.plan);
        session_send_flight(s);
        return s->state == NODE_SS_TLS_HANDSHAKE;
    case REALITY_TARGET_ST__COUNT:
    default:
        session_close(s, NODE_CR_TARGET_FLIGHT, ERR_INTERNAL);
        return false;
    }
}

/* Bytes one fallback direction copies before it splices: four relay blocks, more than a probe's
 * exchange or a small page, so only bulk transfers pay for pipes. */
#define FALLBACK_SPLICE_AFTER (4u * 16384u)

/* §6: a transparent relay between the client and the target. */
void session_start_fallback(struct session *s)
{
    struct node_worker *w = s->w;
    const struct node_inbound *ib = s->in->ib;
    loop_timer_stop(w->loop, &s->deadline);
    loop_io_pause(w->loop, &s->cio); /* the relay takes both watchers over below */
    loop_io_pause(w->loop, &s->tio);
    s->state = NODE_SS_FALLBACK_RELAY;
    atomic_fetch_add(&w->stats.fallback, 1);
    reality_outcome_count(s->outcome);
    /* the client failed (not the target): probing guard, node/probe_guard.h */
    if (s->outcome != REALITY_OUTCOME_TARGET_FIRST && s->outcome != REALITY_OUTCOME_TARGET_BAD_SERVER_HELLO)
        node_limits_note_fallback(w->rt->limits, &s->peer, loop_now(w->loop));
    struct relay_cfg rc = {
        /* Copy first: two fds per fallback instead of six (a pipe pair each way is four more),
         * so a flood of probes cannot take the fd table; buffers are only held while bytes are
         * in flight. A direction that proves bulk (a browser's download from the target) moves
         * to splice after FALLBACK_SPLICE_AFTER bytes, and its pipe is parked again when the
         * relay idles (node_session_park_quiet). The preloads go out before any spliced byte. */
        .mode = RELAY_MODE_COPY,
        .splice_after = FALLBACK_SPLICE_AFTER,
        .pipe_size = 1u << 20,
        .pool = w->pool,
        .idle_ms = (uint64_t)s->snap->cfg->fallback_idle_sec * 1000,
        .rate = {[RELAY_A_TO_B] = {ib->fallback_upload.after_bytes, ib->fallback_upload.bytes_per_sec,
                                   ib->fallback_upload.burst_bytes_per_sec},
                 [RELAY_B_TO_A] = {ib->fallback_download.after_bytes, ib->fallback_download.bytes_per_sec,
                                   ib->fallback_download.burst_bytes_per_sec}},
        .on_done = session_relay_done,
    };
    relay_init(&s->relay, w->loop, &rc);
    /* Unsent mirror bytes first, then whatever the client sent that was not mirrored yet. */
    int err = 0;
    if (buf_len(&s->hs->tout))
        err = relay_preload(&s->relay, RELAY_A_TO_B, buf_data(&s->hs->tout), buf_len(&s->hs->tout));
    if (err == 0 && s->hs->cin_fwd < buf_len(&s->hs->cin))
        err = relay_preload(&s->relay, RELAY_A_TO_B, buf_data(&s->hs->cin) + s->hs->cin_fwd,
                            buf_len(&s->hs->cin) - s->hs->cin_fwd);
    struct bytes got = reality_target_received(&s->hs->target);
    if (err == 0 && got.len)
        err = relay_preload(&s->relay, RELAY_B_TO_A, got.p, got.len);
    if (err == 0)
        err = relay_take_watcher(&s->relay, RELAY_SIDE_A, &s->cio);
    if (err == 0)
        err = relay_take_watcher(&s->relay, RELAY_SIDE_B, &s->tio);
    if (err == 0)
        err = relay_start(&s->relay, s->cfd, s->tfd);
    if (err < 0) {
        relay_dispose(&s->relay);
        session_close(s, err == ERR_NOMEM ? NODE_CR_NOMEM : NODE_CR_IO, err);
        return;
    }
    s->relay_started = true;
    session_start_acct(s);
    buf_dispose(&s->hs->cin);
    buf_dispose(&s->hs->tout);
    reality_target_dispose(&s->hs->target);
}

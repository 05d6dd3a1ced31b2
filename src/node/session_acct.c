/* Books the bytes a session moved: a tunnel's to its user (node/usage.h, which feeds hub sync)
 * and the worker's totals, a probe's to the fallback volume. */
#include "core/container.h"
#include "node/session_int.h"
#include "node/telemetry.h"
#include "node/usage.h"
#include "tls13/tls13.h"

uint64_t session_hub_id(const struct session *s)
{
    const struct node_inbound *ib = s->in->ib;
    uint64_t tag = s->user->tag;
    return tag < ib->n_users ? ib->users[tag].hub_id : 0;
}

/* Books the bytes moved and not booked yet (application bytes each way, Vision direct copy and
 * splice included). Runs on the periodic tick, when the relay ends and when the session closes,
 * so every byte is booked exactly once. */
void session_account(struct session *s)
{
    if (s->state != NODE_SS_RELAY && s->state != NODE_SS_FALLBACK_RELAY)
        return;
    struct node_worker *w = s->w;
    uint64_t up = s->moved_up + relay_bytes(&s->relay, RELAY_A_TO_B);
    uint64_t down = s->moved_down + relay_bytes(&s->relay, RELAY_B_TO_A);
    uint64_t dup = up - s->acct_up, ddown = down - s->acct_down;
    if (dup == 0 && ddown == 0)
        return;
    s->acct_up = up;
    s->acct_down = down;
    if (s->state == NODE_SS_FALLBACK_RELAY) {
        node_tm_add(NODE_TM_FALLBACK_UP, dup);
        node_tm_add(NODE_TM_FALLBACK_DOWN, ddown);
        return;
    }
    atomic_fetch_add(&w->stats.bytes_up, dup);
    atomic_fetch_add(&w->stats.bytes_down, ddown);
    node_usage_add(w->rt->usage, s->user->key, session_hub_id(s), dup, ddown);
}

/* Periodic tick: books the bytes, and a tunnel that moved nothing since the last tick gives its
 * AES-GCM contexts back (rebuilt on its next record, ~3k instructions each). */
void session_on_acct(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct session *s = container_of(t, struct session, acct);
    uint64_t up = s->acct_up, down = s->acct_down;
    session_account(s);
    if (s->state == NODE_SS_RELAY && s->acct_up == up && s->acct_down == down && tunnel_xprt_idle(&s->xprt))
        tls13_conn_park(s->tls);
}

/* A tunnel that moved no byte for quiet_ms and buffers nothing gives its AES-GCM contexts back
 * (~2.3 kB; rebuilt from the kept keys on its next record, ~3k instructions each). Run every
 * second by the worker: idle tunnels then hold no context a second or two after their last
 * byte, and the freed chunks go to the next tunnels instead of sitting between live ones. */
void node_session_park_quiet(struct node_worker *w, uint64_t quiet_ms)
{
    uint64_t now = loop_now(w->loop);
    for (struct node_session_link *l = w->sessions.next; l != &w->sessions; l = l->next) {
        struct session *s = container_of(l, struct session, link);
        if (s->state == NODE_SS_RELAY && s->xprt_ready && relay_running(&s->relay) &&
            now - s->relay.last_active >= quiet_ms && tunnel_xprt_idle(&s->xprt)) {
            tls13_conn_park(s->tls);
            (void)relay_park_pipes(&s->relay); /* spliced Vision directions: 2 fds, 16 pages each */
        } else if (s->state == NODE_SS_FALLBACK_RELAY && relay_running(&s->relay) &&
                   now - s->relay.last_active >= quiet_ms) {
            (void)relay_park_pipes(&s->relay); /* a fallback that went bulk, now idle */
        }
    }
}

/* The user has one more tunnel up (closed in session_close). */
void session_open_tunnel(struct session *s)
{
    s->acct_open = node_usage_open(s->w->rt->usage, s->user->key, session_hub_id(s));
}

void session_start_acct(struct session *s)
{
    uint32_t sec = s->snap->cfg->usage_report_sec ? s->snap->cfg->usage_report_sec : 5;
    (void)loop_timer_start(s->w->loop, &s->acct, (uint64_t)sec * 1000, (uint64_t)sec * 1000); /* best effort */
}

#include "nodecfg/links.h"

#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/enc.h"
#include "core/err.h"

static bool wildcard_listen(const char *listen)
{
    return listen == NULL || strcmp(listen, "0.0.0.0") == 0 || strcmp(listen, "::") == 0 ||
           strcmp(listen, "localhost") == 0;
}

static int copy_field(char *dst, size_t cap, const char *src, const char *what, char *err, size_t errlen)
{
    if (strlen(src) >= cap) {
        snprintf(err, errlen, "%s is too long", what);
        return ERR_TOO_LONG;
    }
    strcpy(dst, src);
    return 0;
}

/* The user (by name, or the only one) and its inbound. */
static int pick_user(const struct node_cfg *cfg, const struct node_link_opts *o, const struct node_user **user,
                     const struct node_inbound **in, char *err, size_t errlen)
{
    if (o->user) {
        *user = node_cfg_find_user(cfg, o->user, in);
        if (*user == NULL) {
            snprintf(err, errlen, "no user \"%.64s\" (match by email, UUID or id)", o->user);
            return ERR_NOT_FOUND;
        }
        return 0;
    }
    size_t total = 0;
    *user = NULL;
    for (size_t i = 0; i < cfg->n_inbounds; i++) {
        total += cfg->inbounds[i].n_users;
        if (cfg->inbounds[i].n_users && *user == NULL) {
            *in = &cfg->inbounds[i];
            *user = &cfg->inbounds[i].users[0];
        }
    }
    if (total != 1) {
        snprintf(err, errlen, "the config has %zu users; choose one", total);
        return ERR_MALFORMED;
    }
    return 0;
}

int node_link_build(const struct node_cfg *cfg, const struct node_link_opts *o, struct vlink *l, char *err,
                    size_t errlen)
{
    const struct node_inbound *in = NULL;
    const struct node_user *user = NULL;
    TRY(pick_user(cfg, o, &user, &in, err, errlen));
    if (o->inbound && (in->tag == NULL || strcmp(in->tag, o->inbound) != 0)) {
        snprintf(err, errlen, "the user is not in an inbound tagged \"%.64s\"", o->inbound);
        return ERR_NOT_FOUND;
    }
    const char *host = o->address;
    if (host == NULL) {
        if (wildcard_listen(in->listen)) {
            snprintf(err, errlen, "an address is required (the inbound listens on %s)",
                     in->listen ? in->listen : "all addresses");
            return ERR_MALFORMED;
        }
        host = in->listen;
    }
    if (!vlink_host_valid(host)) {
        snprintf(err, errlen, "address \"%.64s\" is not a domain name or an IP address", host);
        return ERR_MALFORMED;
    }
    const char *sni = in->server_names[0];
    if (o->sni) {
        sni = NULL;
        for (size_t i = 0; i < in->n_server_names; i++)
            if (strcmp(in->server_names[i], o->sni) == 0)
                sni = o->sni;
        if (sni == NULL) {
            snprintf(err, errlen, "server name %.64s is not one of the inbound's serverNames", o->sni);
            return ERR_MALFORMED;
        }
    } else {
        for (size_t i = 0; i < in->n_server_names && *sni == '\0'; i++)
            sni = in->server_names[i];
    }
    const char *sid = in->short_id_text[0];
    if (o->sid) {
        uint8_t want[8];
        sid = NULL;
        for (size_t i = 0; i < in->n_short_ids && cfg_decode_short_id(o->sid, want) == 0; i++)
            if (memcmp(in->short_ids[i], want, 8) == 0)
                sid = in->short_id_text[i];
        if (sid == NULL) {
            snprintf(err, errlen, "shortId %.32s is not one of the inbound's shortIds", o->sid);
            return ERR_MALFORMED;
        }
    }

    vlink_init_reality(l);
    char pbk[64];
    b64_encode(pbk, in->public_key, 32, B64_RAW_URL);
    const char *remark = o->name ? o->name : user->email ? user->email : "veil";
    TRY(copy_field(l->id, sizeof(l->id), user->id_text, "the user id", err, errlen));
    TRY(copy_field(l->host, sizeof(l->host), host, "the address", err, errlen));
    TRY(copy_field(l->sni, sizeof(l->sni), sni, "the server name", err, errlen));
    TRY(copy_field(l->pbk, sizeof(l->pbk), pbk, "the public key", err, errlen));
    TRY(copy_field(l->sid, sizeof(l->sid), sid, "the shortId", err, errlen));
    TRY(copy_field(l->flow, sizeof(l->flow), node_flow_name(user->flow), "the flow", err, errlen));
    TRY(copy_field(l->remark, sizeof(l->remark), remark, "the name", err, errlen));
    l->port = in->port;
    return 0;
}

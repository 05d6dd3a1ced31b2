/* vless:// share links for a node's users (spec/config-and-links.md §5), built from the
 * effective config: the inbound's port, REALITY public key, a server name and a shortId, the
 * user's id and flow. Shared by `veil link` and the admin API's GET .../link. */
#ifndef VEIL_NODECFG_LINKS_H
#define VEIL_NODECFG_LINKS_H

#include <stddef.h>

#include "ctl/vlink.h"
#include "nodecfg/config.h"

struct node_link_opts {
    const char *user;    /* email, UUID or configured id; NULL = the only user */
    const char *address; /* host clients dial; NULL = the inbound's specific listen address */
    const char *name;    /* remark; NULL = the user's email, else "veil" */
    const char *sni;     /* one of serverNames; NULL = the first non-empty one */
    const char *sid;     /* one of shortIds; NULL = the first */
    const char *inbound; /* tag the user must be in; NULL = any */
};

/* Fills *l. 0, ERR_NOT_FOUND (no such user, or not in that inbound), ERR_MALFORMED (a missing
 * address, a server name or shortId the inbound does not have, several users and none chosen)
 * or ERR_TOO_LONG, each with a message in err. */
int node_link_build(const struct node_cfg *cfg, const struct node_link_opts *o, struct vlink *l, char *err,
                    size_t errlen);

#endif

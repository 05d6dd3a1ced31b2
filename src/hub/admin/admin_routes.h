/* The dashboard's routes (admin_routes.c), registered by the admin module. */
#ifndef VEIL_HUB_ADMIN_ADMIN_ROUTES_H
#define VEIL_HUB_ADMIN_ADMIN_ROUTES_H

#include <stddef.h>

#include "hub/api/api.h"

void admin_routes_add(void);
/* A dashboard form: POST pattern, public to the API router (the handler authenticates by the
 * session cookie and checks the CSRF field itself: admin_changer), any body up to
 * ADMIN_BODY_MAX. admin_routes_add_posts registers n of them. */
struct admin_post {
    const char *pattern;
    api_handler_fn *fn;
};
void admin_routes_add_posts(const struct admin_post *posts, size_t n);
#define ADMIN_POSTS(arr) admin_routes_add_posts((arr), sizeof(arr) / sizeof((arr)[0]))
/* Each page file adds its own routes (admin_module.c calls them all). */
void admin_user_detail_routes(void);
void admin_user_create_routes(void);
void admin_plans_routes(void);
void admin_nodes_routes(void);
void admin_settings_routes(void);
void admin_payments_routes(void);
void admin_audit_routes(void);

#define ADMIN_URL_MAX 512
struct hub_cfg;
struct api_call;
/* The settings page's copy of the configuration (admin_settings.c): taken at start and reload. */
void admin_view_set(const struct hub_cfg *cfg);
/* The hub's public URL for commands shown on pages: public_url, else the Host the request came to. */
void admin_view_public_url(struct api_call *c, char *out, size_t cap);

#endif

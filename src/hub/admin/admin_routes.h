/* The dashboard's routes (admin_routes.c), registered by the admin module. */
#ifndef VEIL_HUB_ADMIN_ADMIN_ROUTES_H
#define VEIL_HUB_ADMIN_ADMIN_ROUTES_H

void admin_routes_add(void);
/* Each page file adds its own routes (admin_module.c calls them all). */
void admin_user_detail_routes(void);
void admin_plans_routes(void);

#endif

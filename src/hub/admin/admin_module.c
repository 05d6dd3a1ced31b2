/* The admin dashboard module: each page file registers its own routes; sessions live in memory
 * (admin_session.c); the settings page gets a copy of the configuration at start and reload. */
#include "hub/admin/admin_routes.h"
#include "hub/module.h"

static void admin_reg(void)
{
    admin_routes_add();
    admin_user_detail_routes();
    admin_user_create_routes();
    admin_plans_routes();
    admin_nodes_routes();
    admin_payments_routes();
    admin_audit_routes();
    admin_settings_routes();
}

static int admin_start(struct hub_env *env, void **state)
{
    admin_view_set(env->cfg);
    *state = NULL;
    return 0;
}

static void admin_reload(struct hub_env *env, void *state, const struct hub_cfg *next)
{
    admin_view_set(next);
}

HUB_MODULE(admin) = {.name = "admin", .order = 45, .reg = admin_reg, .start = admin_start, .reload = admin_reload};

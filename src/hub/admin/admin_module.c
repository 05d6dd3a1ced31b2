/* The admin dashboard module: routes only; sessions live in memory (admin_session.c). Each
 * page file registers its own routes. */
#include "hub/admin/admin_routes.h"
#include "hub/module.h"

static void admin_reg(void)
{
    admin_routes_add();
    admin_user_detail_routes();
    admin_plans_routes();
}

HUB_MODULE(admin) = {.name = "admin", .order = 45, .reg = admin_reg};

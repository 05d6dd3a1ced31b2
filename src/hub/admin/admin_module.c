/* The admin dashboard module: routes only; sessions live in memory (admin_session.c). */
#include "hub/admin/admin_routes.h"
#include "hub/module.h"

HUB_MODULE(admin) = {.name = "admin", .order = 45, .reg = admin_routes_add};

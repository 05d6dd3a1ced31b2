/* A user's devices (the HWIDs their apps sent to /sub): /users/{id}/devices and
 * DELETE /devices/{id}. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"

void api__users_devices(struct api_call *c)
{
    struct hub_user u;
    int rc = store_user_get(c->ctx->st, c->id, &u);
    if (rc < 0) {
        api__store_error(c, rc, "user");
        return;
    }
    struct store_device *list;
    size_t n;
    if ((rc = store_device_list(c->ctx->st, c->id, &list, &n)) < 0) {
        api__store_error(c, rc, "devices");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr,
                              json_pack("{s:I,s:s,s:s,s:s,s:I,s:I}", "id", (json_int_t)list[i].id, "hwid", list[i].hwid,
                                        "user_agent", list[i].user_agent, "last_ip", list[i].last_ip, "first_seen",
                                        (json_int_t)list[i].first_seen, "last_seen", (json_int_t)list[i].last_seen));
    free(list);
    api__json(c, 200, json_pack("{s:o}", "devices", arr));
}

void api__devices_delete(struct api_call *c)
{
    struct store_audit a = api__audit(c, "device.delete", NULL);
    int rc = store_device_delete(c->ctx->st, c->id, c->now, &a);
    if (rc < 0) {
        api__store_error(c, rc, "device");
        return;
    }
    api_reply(c, 204, "application/json", "", 0);
}

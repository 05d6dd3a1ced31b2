/* Fuzz target: the VLESS request header parser (every prefix must be consistent with the
 * whole), the addons protobuf decoder, the response parser, and re-encoding of accepted
 * headers (parse -> encode -> parse gives the same request). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "vless/header.h"
#include "vless/users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vless_users *users(void)
{
    static struct vless_users *u;
    if (u == NULL) {
        /* The ids of the transcripts and the spec vectors. */
        static const uint8_t ids[3][16] = {
            {0x2b, 0xda, 0xde, 0xcc, 0x25, 0xca, 0x4f, 0xcc, 0xa4, 0x71, 0xb5, 0x94, 0x81, 0xd9, 0x9b, 0x48},
            {0x6a, 0xf7, 0xa9, 0x4f, 0xee, 0x73, 0x42, 0x7c, 0x92, 0x15, 0x82, 0x74, 0x87, 0x3f, 0x1c, 0xa5},
            {0xb8, 0x31, 0x38, 0x1d, 0x63, 0x24, 0x4d, 0x53, 0xad, 0x4f, 0x8c, 0xda, 0x48, 0xb3, 0x08, 0x11},
        };
        struct vless_users_builder *b = vless_users_builder_new(1);
        for (int i = 0; i < 3; i++)
            vless_users_builder_add(b, ids[i], i == 1 ? VLESS_FLOW_NONE : VLESS_FLOW_VISION, NULL, (uint64_t)i);
        if (vless_users_freeze(b, &u) < 0)
            abort();
    }
    return u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vless_users *u = users();
    struct vless_request req, again;
    int rc = vless_request_parse(&req, data, size, size, u, size % 2 == 0);
    if (rc == 0) {
        if (req.header_len > size || req.user == NULL || req.action != VLESS_ACT_ACCEPT)
            abort();
        /* Every shorter prefix needs more (the first chunk being the whole input). */
        for (size_t i = 0; i < req.header_len; i++)
            if (vless_request_parse(&again, data, i, size, u, false) != ERR_NEED_MORE)
                abort();
        /* Re-encode: the parse must be stable (IP-literal domains become IPs, so compare
         * the decoded request, not the bytes). */
        struct buf b;
        buf_init(&b);
        enum vless_flow f = req.addons.flow == VLESS_FLOW_VISION ? VLESS_FLOW_VISION : VLESS_FLOW_NONE;
        if (vless_request_encode(&b, req.id, f, req.cmd, &req.dest) == 0) {
            if (vless_request_parse(&again, buf_data(&b), buf_len(&b), buf_len(&b), u, false) != 0)
                abort();
            if (again.cmd != req.cmd || !vless_addr_equal(&again.dest, &req.dest) || again.user != req.user)
                abort();
        }
        buf_dispose(&b);
    } else if (rc == ERR_NEED_MORE) {
        if (req.action != VLESS_ACT_NEED_MORE)
            abort();
    } else if (rc == ERR_AUTH) {
        if (req.action != VLESS_ACT_FALLBACK && req.action != VLESS_ACT_CLOSE)
            abort();
    } else if (rc != ERR_MALFORMED || req.action != VLESS_ACT_CLOSE) {
        abort();
    }
    struct vless_addons a;
    (void)vless_addons_decode(&a, data, size < 255 ? size : 255);
    size_t c;
    (void)vless_response_parse(data, size, 0, &c, NULL);
    return 0;
}

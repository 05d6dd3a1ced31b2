/* Fuzz target: vless:// share-link parser (ctl/vlink). Whatever parses must format back to a
 * link that parses to the same fields (the writer's escaping covers everything the parser
 * accepts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/vlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const char *a, const char *b)
{
    if (strcmp(a, b) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vlink a, b; /* ~5 KiB each: keep them off the stack */
    const char *why = NULL;
    if (vlink_parse(&a, (const char *)data, size, &why) != 0) {
        if (why == NULL || a.id[0] != '\0')
            abort();
        return 0;
    }
    char *s = vlink_format_str(&a);
    if (s == NULL)
        abort();
    size_t n = strlen(s);
    if (n <= VLINK_TEXT_MAX) {
        if (vlink_parse(&b, s, n, &why) != 0)
            abort();
        same(a.id, b.id);
        same(a.host, b.host);
        if (a.port != b.port)
            abort();
        same(a.encryption, b.encryption);
        same(a.flow, b.flow);
        same(a.security, b.security);
        same(a.sni, b.sni);
        same(a.fp, b.fp);
        same(a.pbk, b.pbk);
        same(a.sid, b.sid);
        same(a.spx, b.spx);
        same(a.pqv, b.pqv);
        same(a.type, b.type);
        if (vlink_is_raw(&a) && a.header_type[0] != '\0')
            same(a.header_type, b.header_type);
        same(a.host_header, b.host_header);
        same(a.path, b.path);
        same(a.alpn, b.alpn);
        same(a.remark, b.remark);
    }
    free(s);
    return 0;
}

/* Fuzz target: subscription request handling (hub/sub): User-Agent / Accept detection, the
 * /sub/<token>[/<format>] path splitter, and rendering with attacker-influenced strings (the
 * node name comes from the input) in every format; JSON outputs must stay valid JSON and
 * headers must never contain CR or LF. The web page's language choice reads Accept-Language and
 * ?lang=. Input: "<path>\n<user-agent>\n<accept>\n<name>\n<accept-language>". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hub/sub/sub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits off the next '\n'-terminated field as a NUL-terminated copy. */
static char *field(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    const uint8_t *fe = nl ? nl : end;
    size_t n = (size_t)(fe - *p);
    char *s = malloc(n + 1);
    if (s == NULL)
        abort();
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const uint8_t *p = data, *end = data + size;
    char *path = field(&p, end), *ua = field(&p, end), *accept = field(&p, end), *name = field(&p, end);
    char *alang = field(&p, end);
    enum sub_lang lang = sub_pick_lang(name, alang);
    if (lang >= SUB_LANG__COUNT || sub_pick_lang(NULL, alang) >= SUB_LANG__COUNT)
        abort();

    struct sub_path sp;
    if (sub_parse_path(path, strlen(path), "/sub/", &sp) == 0) {
        if (sp.token_len < 16 || sp.token_len > 128 || sp.token < path || sp.token + sp.token_len > path + strlen(path))
            abort();
        if (sp.format < SUB_FMT_AUTO || sp.format >= SUB_FMT__COUNT)
            abort();
    } else if (sp.token != NULL) {
        abort();
    }
    enum sub_format f;
    (void)sub_format_from_name(path, strlen(path), &f);
    enum sub_format det = sub_detect_format(ua, accept, (size & 1) != 0);
    if (det <= SUB_FMT_AUTO || det >= SUB_FMT__COUNT)
        abort();

    struct sub_node node = {.name = name,
                            .address = "203.0.113.10",
                            .port = 443,
                            .public_key = "2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y",
                            .short_id = "ab"};
    struct sub_user user = {.uuid = "b831381d-6324-4d53-ad4f-8cda48b30811", .name = name, .total = size};
    struct sub_request req = {.format = SUB_FMT_AUTO,
                              .user_agent = ua,
                              .accept = accept,
                              .xray_json = true,
                              .user = &user,
                              .nodes = &node,
                              .n_nodes = 1,
                              .profile_title = name,
                              .announce = ua,
                              .support_url = accept,
                              .web_page_url = path,
                              .lang = lang,
                              .accent_color = name,
                              .logo_url = ua,
                              .renew_url = accept};
    for (int fmt = SUB_FMT_AUTO; fmt < SUB_FMT__COUNT; fmt++) {
        struct sub_response r;
        req.format = (enum sub_format)fmt;
        if (sub_render(&req, &r) != 0)
            abort();
        if (strlen(r.body) != r.body_len)
            abort();
        for (size_t i = 0; i < r.n_headers; i++)
            if (strpbrk(r.headers[i].value, "\r\n") != NULL)
                abort();
        if (r.format == SUB_FMT_SINGBOX || r.format == SUB_FMT_XRAY_JSON) {
            json_t *j = json_loads(r.body, JSON_REJECT_DUPLICATES, NULL);
            if (j == NULL)
                abort();
            json_decref(j);
        }
        sub_response_dispose(&r);
    }
    free(path);
    free(ua);
    free(accept);
    free(name);
    free(alang);
    return 0;
}

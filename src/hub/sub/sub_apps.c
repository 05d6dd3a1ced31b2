/* Client apps per platform and their "add subscription" deep links (spec/ecosystem.md §a.6),
 * for the buttons of the subscription web page. */
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "hub/sub/sub_int.h"

/* How an app takes the subscription URL. */
enum link_form {
    FORM_PATH,      /* <prefix><url> */
    FORM_PATH_NAME, /* <prefix><url>#<name> */
    FORM_NAME_URL,  /* <prefix>name=<name>&url=<url> */
    FORM_URL,       /* <prefix>url=<url> */
};

struct sub__app {
    const char *name;
    const char *prefix;
    enum link_form form;
    const char *download; /* the project's own download page; NULL when none is known */
};

static const struct sub__app happ = {"Happ", "happ://add/", FORM_PATH, "https://www.happ.su/"};
static const struct sub__app v2rayng = {"v2rayNG", "v2rayng://install-config?", FORM_NAME_URL,
                                        "https://github.com/2dust/v2rayNG/releases"};
static const struct sub__app hiddify = {"Hiddify", "hiddify://import/", FORM_PATH,
                                        "https://github.com/hiddify/hiddify-app/releases"};
static const struct sub__app streisand = {"Streisand", "streisand://import/", FORM_PATH, NULL};
static const struct sub__app shadowrocket = {"Shadowrocket", "shadowrocket://add/", FORM_PATH_NAME,
                                             "https://apps.apple.com/app/shadowrocket/id932747118"};
static const struct sub__app clashmeta = {"Clash Meta", "clashmeta://install-config?", FORM_NAME_URL,
                                          "https://github.com/MetaCubeX/ClashMetaForAndroid/releases"};
static const struct sub__app stash = {"Stash", "stash://install-config?", FORM_URL, NULL};
static const struct sub__app flclashx = {"FlClashX", "flclashx://install-config?", FORM_URL, NULL};
static const struct sub__app koala = {"Koala Clash", "koala-clash://install-config?", FORM_URL, NULL};
static const struct sub__app prizrak = {"Prizrak-Box", "prizrak-box://install-config?", FORM_URL, NULL};

static const struct sub__app *const android_apps[] = {&happ, &v2rayng, &hiddify, &flclashx, &clashmeta, NULL};
static const struct sub__app *const ios_apps[] = {&happ, &streisand, &shadowrocket, &hiddify, &stash, NULL};
static const struct sub__app *const windows_apps[] = {&happ, &hiddify, &flclashx, &koala, &prizrak, NULL};
static const struct sub__app *const macos_apps[] = {&happ, &hiddify, &stash, &flclashx, &koala, NULL};
static const struct sub__app *const linux_apps[] = {&hiddify, &flclashx, &koala, NULL};

static const struct sub__platform platforms[SUB_PLATFORM__COUNT] = {
    [SUB_PLATFORM_ANDROID] = {"android", "Android", android_apps},
    [SUB_PLATFORM_IOS] = {"ios", "iOS", ios_apps},
    [SUB_PLATFORM_WINDOWS] = {"windows", "Windows", windows_apps},
    [SUB_PLATFORM_MACOS] = {"macos", "macOS", macos_apps},
    [SUB_PLATFORM_LINUX] = {"linux", "Linux", linux_apps},
};

const struct sub__platform *sub__platform(enum sub__platform_id id)
{
    return (unsigned)id < SUB_PLATFORM__COUNT ? &platforms[id] : &platforms[0];
}

static bool has(const char *ua, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = ua; *p != '\0'; p++)
        if (strncasecmp(p, word, n) == 0)
            return true;
    return false;
}

enum sub__platform_id sub__platform_of(const char *ua)
{
    if (ua == NULL)
        return SUB_PLATFORM_ANDROID;
    /* Order matters: Android UAs say "Linux", iPhone UAs say "like Mac OS X". */
    if (has(ua, "Android"))
        return SUB_PLATFORM_ANDROID;
    if (has(ua, "iPhone") || has(ua, "iPad") || has(ua, "iPod"))
        return SUB_PLATFORM_IOS;
    if (has(ua, "Windows"))
        return SUB_PLATFORM_WINDOWS;
    if (has(ua, "Macintosh") || has(ua, "Mac OS X"))
        return SUB_PLATFORM_MACOS;
    if (has(ua, "Linux") || has(ua, "X11"))
        return SUB_PLATFORM_LINUX;
    return SUB_PLATFORM_ANDROID; /* phones are the common case */
}

/* Percent-encodes everything but RFC 3986 unreserved characters: the value of a query parameter
 * or fragment. */
static int pct(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        unsigned char ch = *p;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
            ch == '.' || ch == '_' || ch == '~') {
            TRY(buf_append(out, p, 1));
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            TRY(buf_append(out, e, 3));
        }
    }
    return 0;
}

const char *sub__app_name(const struct sub__app *a)
{
    return a->name;
}

const char *sub__app_download(const struct sub__app *a)
{
    return a->download;
}

int sub__app_link(const struct sub__app *a, const char *url, const char *name, struct buf *out)
{
    TRY(sub__put(out, a->prefix));
    switch (a->form) {
    case FORM_PATH:
        return sub__put(out, url);
    case FORM_PATH_NAME:
        TRY(sub__put(out, url));
        TRY(sub__put(out, "#"));
        return pct(out, name);
    case FORM_NAME_URL:
        TRY(sub__put(out, "name="));
        TRY(pct(out, name));
        TRY(sub__put(out, "&url="));
        return pct(out, url);
    case FORM_URL:
        TRY(sub__put(out, "url="));
        return pct(out, url);
    }
    return ERR_INTERNAL;
}

static const struct {
    const char *slug;
    const struct sub__app *app;
} by_slug[] = {{"happ", &happ},           {"v2rayng", &v2rayng},           {"hiddify", &hiddify},
               {"streisand", &streisand}, {"shadowrocket", &shadowrocket}, {"clashmeta", &clashmeta},
               {"stash", &stash},         {"flclashx", &flclashx},         {"koala-clash", &koala},
               {"prizrak-box", &prizrak}};

static const struct sub__app *app_of(const char *slug)
{
    for (size_t i = 0; slug != NULL && i < sizeof by_slug / sizeof by_slug[0]; i++)
        if (strcmp(slug, by_slug[i].slug) == 0)
            return by_slug[i].app;
    return NULL;
}

int sub_app_deeplink(const char *slug, const char *url, const char *name, struct buf *out)
{
    const struct sub__app *a = app_of(slug);
    return a == NULL ? ERR_NOT_FOUND : sub__app_link(a, url, name, out);
}

const char *sub_app_slug(size_t i)
{
    return i < sizeof by_slug / sizeof by_slug[0] ? by_slug[i].slug : NULL;
}

const char *sub_app_title(const char *slug)
{
    const struct sub__app *a = app_of(slug);
    return a == NULL ? NULL : a->name;
}

#include "core/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/secmem.h"
#include "core/secure.h"

__attribute__((format(printf, 4, 5))) static int fail(int rc, char *why, size_t cap, const char *fmt, ...)
{
    if (cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void secret_free(struct secret *s)
{
    if (s->s != NULL)
        secmem_free(s->s, s->len + 1); /* wipes it */
    s->s = NULL;
    s->len = 0;
}

/* Reads up to max + 1 bytes from fd into buf (max + 2 bytes), so an overlong file is noticed. */
static ssize_t read_capped(int fd, char *buf, size_t max)
{
    size_t n = 0;
    while (n <= max) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

static int read_secret(const char *name, size_t max, bool text, struct secret *out, char *why, size_t whycap)
{
    out->s = NULL;
    out->len = 0;
    char path[4096];
    if (name == NULL || name[0] == '\0')
        return fail(ERR_CONFIG, why, whycap, "no file named");
    if (name[0] == '/') {
        if (strlen(name) >= sizeof path)
            return fail(ERR_CONFIG, why, whycap, "path too long");
        memcpy(path, name, strlen(name) + 1);
    } else {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        if (dir == NULL || dir[0] == '\0')
            return fail(ERR_CONFIG, why, whycap,
                        "\"%.200s\" is relative but $CREDENTIALS_DIRECTORY is not set (use an absolute path, or "
                        "LoadCredential= in the systemd unit)",
                        name);
        int n = snprintf(path, sizeof path, "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= sizeof path)
            return fail(ERR_CONFIG, why, whycap, "path too long");
    }
    /* fstat on the opened file: the mode checked is the mode of what is read. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        return fail(-e, why, whycap, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return fail(-e, why, whycap, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fail(-EINVAL, why, whycap, "%s: not a regular file", path);
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        close(fd);
        return fail(-EPERM, why, whycap,
                    "%s: holds a secret but group or others may access it (mode %04o); chmod 600 it (or 400)", path,
                    (unsigned)(st.st_mode & 07777));
    }
    /* Locked and kept out of core dumps while it lives (core/secmem.h). */
    char *buf = secmem_alloc(max + 2);
    if (buf == NULL) {
        close(fd);
        return fail(ERR_NOMEM, why, whycap, "%s: out of memory", path);
    }
    ssize_t n = read_capped(fd, buf, max);
    close(fd);
    int rc = 0;
    if (n < 0) {
        rc = fail((int)n, why, whycap, "%s: read error: %s", path, strerror((int)-n));
    } else if ((size_t)n > max) {
        rc = fail(ERR_TOO_LONG, why, whycap, "%s: longer than %zu bytes", path, max);
    } else {
        size_t len = (size_t)n;
        if (text && len > 0 && buf[len - 1] == '\n')
            len--;
        if (text && len > 0 && buf[len - 1] == '\r')
            len--;
        if (len == 0)
            rc = fail(ERR_MALFORMED, why, whycap, "%s: is empty", path);
        for (size_t i = 0; text && rc == 0 && i < len; i++)
            if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
                rc = fail(ERR_MALFORMED, why, whycap, "%s: holds a control character (one secret on one line)", path);
        if (rc == 0) {
            buf[len] = '\0';
            /* wipe what follows the secret (the trimmed newline) so free() leaves nothing behind */
            secure_wipe(buf + len + 1, max + 1 - len);
            out->s = buf;
            out->len = len;
            return 0;
        }
    }
    secmem_free(buf, max + 2);
    return rc;
}

int secret_file_read(const char *name, size_t max, struct secret *out, char *why, size_t whycap)
{
    return read_secret(name, max, true, out, why, whycap);
}

int secret_file_read_bytes(const char *name, size_t max, struct secret *out, char *why, size_t whycap)
{
    return read_secret(name, max, false, out, why, whycap);
}

/* $CREDENTIALS_DIRECTORY/<name> when the variable is set and the file exists: 1 with *out
 * filled, 0 when absent, < 0 on an unusable file. */
static int from_credentials(const char *name, struct secret *out, char *why, size_t cap)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (name == NULL || dir == NULL || dir[0] == '\0')
        return 0;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path || (access(path, F_OK) != 0 && errno == ENOENT))
        return 0;
    return secret_file_read(name, SECRET_FILE_MAX, out, why, cap) < 0 ? ERR_CONFIG : 1;
}

int secret_src_resolve(json_t *obj, const struct secret_src *src, const char *where, char *why, size_t cap)
{
    const char *dot = where[0] ? "." : "";
    json_t *inline_v = json_object_get(obj, src->key), *file_v = json_object_get(obj, src->file_key);
    if (file_v != NULL && json_is_null(file_v)) {
        json_object_del(obj, src->file_key);
        file_v = NULL;
    }
    if (inline_v != NULL && json_is_null(inline_v)) {
        json_object_del(obj, src->key);
        inline_v = NULL;
    }
    if (file_v != NULL && inline_v != NULL)
        return fail(ERR_CONFIG, why, cap, "%s%s%s: give either %s or %s, not both", where, dot, src->key, src->key,
                    src->file_key);
    if (inline_v != NULL)
        return 0;
    struct secret s = {0};
    if (file_v != NULL) {
        if (!json_is_string(file_v) || json_string_length(file_v) == 0)
            return fail(ERR_CONFIG, why, cap, "%s%s%s: must be the path of a file", where, dot, src->file_key);
        char reason[512];
        if (secret_file_read(json_string_value(file_v), SECRET_FILE_MAX, &s, reason, sizeof reason) < 0)
            return fail(ERR_CONFIG, why, cap, "%s%s%s: %s", where, dot, src->file_key, reason);
        json_object_del(obj, src->file_key);
    } else {
        char reason[512];
        int rc = from_credentials(src->cred, &s, reason, sizeof reason);
        if (rc < 0)
            return fail(ERR_CONFIG, why, cap, "%s%s%s: credential %s", where, dot, src->key, reason);
        const char *env = src->env != NULL ? getenv(src->env) : NULL;
        if (rc == 0 && env != NULL && env[0] != '\0') {
            s.len = strlen(env);
            s.s = secmem_alloc(s.len + 1); /* every struct secret buffer is a secmem one */
            if (s.s == NULL)
                return fail(ERR_CONFIG, why, cap, "out of memory");
            memcpy(s.s, env, s.len + 1);
        }
    }
    if (s.s == NULL)
        return 0;
    json_t *v = json_stringn(s.s, s.len);
    secret_free(&s);
    if (v == NULL || json_object_set_new(obj, src->key, v) < 0)
        return fail(ERR_CONFIG, why, cap, "%s%s%s: not valid UTF-8 text", where, dot, src->key);
    return 0;
}

void secret_wipe_block(void *p)
{
    if (p != NULL)
        secure_wipe(p, malloc_usable_size(p));
}

static void wiping_free(void *p)
{
    secret_wipe_block(p);
    free(p);
}

void secret_json_wipe_on_free(void)
{
    json_set_alloc_funcs(malloc, wiping_free);
}

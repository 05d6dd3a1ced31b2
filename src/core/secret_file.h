/* Secrets that live outside the main configuration: a file of its own, a systemd credential
 * ($CREDENTIALS_DIRECTORY/<name>, LoadCredential= / LoadCredentialEncrypted=) or an environment
 * variable. Both daemons resolve them into their JSON document before parsing it, so every
 * consumer keeps reading one inline key.
 *
 * A secret file is named by an absolute path, or by a name relative to $CREDENTIALS_DIRECTORY
 * (systemd's LoadCredential=: "admin_token_file": "admin-token"). It must be a regular file that
 * neither group nor others may access (mode 0600 or 0400): a readable file is refused, naming
 * the file and its mode, never its content. One trailing newline (LF or CRLF) is trimmed, as
 * `echo secret > file` adds one; a secret is one line without control characters. */
#ifndef VEIL_CORE_SECRET_FILE_H
#define VEIL_CORE_SECRET_FILE_H

#include <stddef.h>

#include <jansson.h>

#define SECRET_FILE_MAX 4096 /* longest secret we accept (a PostgreSQL URL, a token, a key) */

struct secret {
    char *s; /* NUL-terminated, owned (a core/secmem.h buffer: locked, not in core dumps); NULL when empty */
    size_t len;
};

/* Reads the secret in the file name (absolute, or relative to $CREDENTIALS_DIRECTORY) into *out
 * (disposed with secret_free). 0 on success; -ENOENT when the file does not exist; -EPERM when
 * group or others may access it; -EINVAL when it is not a regular file; ERR_MALFORMED when it is
 * empty or holds a control character; ERR_TOO_LONG above max bytes; ERR_CONFIG for a relative name
 * without $CREDENTIALS_DIRECTORY; another -errno when it cannot be read. why (whycap bytes) gets
 * "<path>: <reason>" on failure. */
int secret_file_read(const char *name, size_t max, struct secret *out, char *why, size_t whycap);

/* As secret_file_read, for binary secrets (a raw key): the same permission checks, but every
 * byte is kept (no newline trimmed, control characters allowed); only an empty file is
 * ERR_MALFORMED. out->s is still NUL-terminated after len bytes. */
int secret_file_read_bytes(const char *name, size_t max, struct secret *out, char *why, size_t whycap);

/* Wipes and frees the secret; safe on a zeroed or already freed struct. */
void secret_free(struct secret *s);

/* Where one secret of a JSON object may come from. */
struct secret_src {
    const char *key;      /* the inline key ("admin_token") */
    const char *file_key; /* the key naming a file ("admin_token_file") */
    const char *cred;     /* the name in $CREDENTIALS_DIRECTORY ("admin_token"), NULL for none */
    const char *env;      /* the environment variable ("VEIL_HUB_ADMIN_TOKEN"), NULL for none */
};

/* Sets obj[src->key] from the first source present, in this order: obj[file_key] (read with
 * secret_file_read, then removed from obj), obj[key] itself (left as it is), the credential,
 * the environment variable. Giving both key and file_key is an error, as is a credential or
 * file that is present but unreadable. where names obj in messages ("billing.yookassa"; "" at
 * the top). 0 when resolved or when no source holds the secret; ERR_CONFIG with why filled. */
int secret_src_resolve(json_t *obj, const struct secret_src *src, const char *where, char *why, size_t whycap);

/* Makes jansson wipe every block it frees (json_set_alloc_funcs): the parsed configuration
 * holds the secrets resolved into it, and API bodies hold personal data, so neither lingers in
 * freed heap memory (or a core dump of it). Call once at the start of a daemon. */
void secret_json_wipe_on_free(void);
/* Wipes the whole usable size of a malloc'd block (the part secret_json_wipe_on_free wipes). */
void secret_wipe_block(void *p);

#endif

/* Secrets kept out of config files: a config names a file ("adminTokenFile", "admin_token_file")
 * and the process reads the secret from it. A relative name is looked up in
 * $CREDENTIALS_DIRECTORY, where systemd's LoadCredential= puts the service's secrets. */
#ifndef VEIL_CORE_SECRET_FILE_H
#define VEIL_CORE_SECRET_FILE_H

#include <stddef.h>

/* Reads the secret named by name into out (NUL-terminated, at most cap - 1 bytes). One trailing
 * "\n" or "\r\n" is dropped; an empty secret, a NUL, a control character or a longer file is
 * refused. 0 on success; on failure ERR_CONFIG with a message in why (never the secret). */
int secret_file_read(const char *name, char *out, size_t cap, char *why, size_t why_cap);

#endif

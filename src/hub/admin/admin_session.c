/* Dashboard sessions: a random cookie value per login, kept only as its SHA-256, with its own
 * CSRF token, role and expiry (capped at the token's), in a fixed table guarded by a mutex.
 * Every request also checks that the token is still live (admin_http.c): revoking it ends its
 * sessions on every hub. */
#include <pthread.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/admin/admin.h"

struct slot {
    bool used;
    uint8_t sid_hash[32];
    struct admin_session s;
};

static struct slot slots[ADMIN_SESSIONS_MAX];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int random_secret(char out[static ADMIN_SECRET_LEN + 1])
{
    uint8_t rnd[32];
    TRY(crypto_random(rnd, sizeof rnd));
    b64_encode(out, rnd, sizeof rnd, B64_RAW_URL);
    secure_wipe(rnd, sizeof rnd);
    return 0;
}

static int sid_hash(const char *sid, uint8_t out[32])
{
    return crypto_hash(CRYPTO_SHA256, sid, strlen(sid), out);
}

int admin_session_create(enum hub_role role, int64_t token_id, int64_t token_expires, int64_t now,
                         char sid[static ADMIN_SECRET_LEN + 1], struct admin_session *out)
{
    struct admin_session s = {.role = role, .token_id = token_id, .expires = now + ADMIN_SESSION_TTL};
    if (token_expires != 0 && token_expires < s.expires)
        s.expires = token_expires; /* a session never outlives the token it was made from */
    uint8_t h[32];
    TRY(random_secret(sid));
    TRY(random_secret(s.csrf));
    TRY(sid_hash(sid, h));
    pthread_mutex_lock(&mu);
    /* A free or expired slot, else the one closest to expiry. */
    size_t pick = 0;
    for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++) {
        if (!slots[i].used || slots[i].s.expires <= now) {
            pick = i;
            break;
        }
        if (slots[i].s.expires < slots[pick].s.expires)
            pick = i;
    }
    slots[pick].used = true;
    memcpy(slots[pick].sid_hash, h, sizeof h);
    slots[pick].s = s;
    pthread_mutex_unlock(&mu);
    *out = s;
    return 0;
}

/* The slot of a live session, or -1; the caller holds mu. Every slot is compared. */
static long find_locked(const uint8_t h[32], int64_t now)
{
    long hit = -1;
    for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++)
        if (slots[i].used && secure_memcmp(slots[i].sid_hash, h, 32) == 0 && slots[i].s.expires > now)
            hit = (long)i;
    return hit;
}

int admin_session_find(const char *sid, int64_t now, struct admin_session *out)
{
    uint8_t h[32];
    if (sid == NULL || strlen(sid) != ADMIN_SECRET_LEN || sid_hash(sid, h) < 0)
        return ERR_NOT_FOUND;
    pthread_mutex_lock(&mu);
    long i = find_locked(h, now);
    if (i >= 0)
        *out = slots[i].s;
    pthread_mutex_unlock(&mu);
    return i >= 0 ? 0 : ERR_NOT_FOUND;
}

void admin_session_end(const char *sid)
{
    uint8_t h[32];
    if (sid == NULL || strlen(sid) != ADMIN_SECRET_LEN || sid_hash(sid, h) < 0)
        return;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++)
        if (slots[i].used && secure_memcmp(slots[i].sid_hash, h, 32) == 0)
            memset(&slots[i], 0, sizeof slots[i]);
    pthread_mutex_unlock(&mu);
}

void admin_session_reset(void)
{
    pthread_mutex_lock(&mu);
    memset(slots, 0, sizeof slots);
    pthread_mutex_unlock(&mu);
}

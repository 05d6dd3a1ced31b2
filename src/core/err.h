/* Error codes. Functions return int: 0 is success, a negative errno is a system error,
 * and project codes live below -4096 (so they never collide with errno values).
 * err_str() names any of them. Constructors return NULL instead. */
#ifndef VEIL_CORE_ERR_H
#define VEIL_CORE_ERR_H

#define ERR_MAP(X)                                                                                                     \
    X(NEED_MORE, "more input needed")                                                                                  \
    X(MALFORMED, "malformed input")                                                                                    \
    X(TOO_LONG, "input too long")                                                                                      \
    X(NOMEM, "out of memory")                                                                                          \
    X(RANGE, "value out of range")                                                                                     \
    X(BAD_STATE, "operation not valid in this state")                                                                  \
    X(UNSUPPORTED, "not supported")                                                                                    \
    X(CONFIG, "invalid configuration")                                                                                 \
    X(AUTH, "authentication failed")                                                                                   \
    X(DECRYPT, "decryption failed")                                                                                    \
    X(CRYPTO, "cryptographic library failure")                                                                         \
    X(NOT_FOUND, "not found")                                                                                          \
    X(EXISTS, "already exists")                                                                                        \
    X(CLOSED, "connection closed")                                                                                     \
    X(TIMEOUT, "timed out")                                                                                            \
    X(LIMIT, "limit reached")                                                                                          \
    X(IO, "input/output error")                                                                                        \
    X(INTERNAL, "internal error")

/* Indexes first, then codes counting down from -4097, so every code is below -4096. */
enum err_index_ {
#define ERR_IDX_(name, text) ERR_IDX_##name,
    ERR_MAP(ERR_IDX_)
#undef ERR_IDX_
        ERR_IDX__COUNT, /* sentinel */
};

enum err_code {
#define ERR_ENUM_(name, text) ERR_##name = -4097 - ERR_IDX_##name,
    ERR_MAP(ERR_ENUM_)
#undef ERR_ENUM_
};

/* A static, human-readable description of any return code (0, -errno or ERR_*). */
const char *err_str(int code);

/* Returns early with the code when an expression fails; for functions with nothing to clean up. */
#define TRY(expr)                                                                                                      \
    do {                                                                                                               \
        int try_rc_ = (expr);                                                                                          \
        if (try_rc_ < 0)                                                                                               \
            return try_rc_;                                                                                            \
    } while (0)

#endif

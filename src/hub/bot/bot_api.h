/* Calls to the Telegram Bot API (spec/ecosystem.md §c) over httpc: POST <api_url>/bot<token>/<method>
 * with a JSON body. 429 is honoured by waiting exactly parameters.retry_after and retrying; the
 * other failures are returned for the caller to act on. The token never reaches the log. */
#ifndef VEIL_HUB_BOT_API_H
#define VEIL_HUB_BOT_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define BOT_API_RETRIES_429 5

struct bot_api {
    char base[512]; /* <api_url>/bot<token>/ */
    /* true stops waits and long polls at once (the service is stopping). May be NULL. */
    bool (*cancel)(void *arg);
    void *cancel_arg;
};

int bot_api_init(struct bot_api *a, const char *api_url, const char *token);
void bot_api_wipe(struct bot_api *a);

/* Calls method with params (a JSON object, borrowed). timeout_s bounds one HTTP exchange (0:
 * 10 s). On success *result (when not NULL) receives the "result" value (a new reference).
 * Errors: ERR_AUTH for 403 (the user blocked the bot or is deactivated), ERR_MALFORMED for 400
 * (logged with the method and Telegram's reason; not worth a retry), ERR_LIMIT when 429 persists
 * after BOT_API_RETRIES_429 waits, ERR_IO for network trouble or other answers, ERR_CLOSED when
 * cancelled. */
int bot_api_call(struct bot_api *a, const char *method, const json_t *params, unsigned timeout_s, json_t **result);

/* The same for an upload (sendPhoto): params become multipart/form-data fields (strings as
 * they are, other values as JSON text), plus the file part. */
#define BOT_UPLOAD_FIELDS_MAX 16
int bot_api_upload(struct bot_api *a, const char *method, const json_t *params, const char *file_field,
                   const char *filename, const char *content_type, const void *data, size_t len, json_t **result);

/* Sleeps ms milliseconds in short steps, returning early (false) when cancel says so. */
bool bot_api_sleep(struct bot_api *a, long long ms);

#endif

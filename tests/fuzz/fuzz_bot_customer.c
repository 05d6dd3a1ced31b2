/* Fuzzes what the customer screens parse from the network: callback data from Telegram
 * (bot_ccb_parse) and the path of GET /add/<app>/<token> (bot_addapp_parse_path). The first byte
 * picks one. Accepted input must yield values inside their documented bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/bot/bot_customer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool token_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = malloc(size);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    if (data[0] % 2 == 0) {
        int64_t a;
        enum billing_prov prov;
        enum bot_ccb cb = bot_ccb_parse(s, &a, &prov);
        if ((unsigned)cb >= BOT_CCB__COUNT)
            abort();
        if (cb != BOT_CCB_NONE && cb != BOT_CCB_DEVICES && cb != BOT_CCB_TOPUP && a <= 0)
            abort();
        if (cb == BOT_CCB_TOPUP_PAY && (unsigned)prov >= BILLING__COUNT)
            abort();
        if (cb == BOT_CCB_NONE && a != 0)
            abort();
    } else {
        char app[33], token[HUB_TOKEN_MAX + 1];
        if (bot_addapp_parse_path(s, app, token)) {
            size_t an = strlen(app), tn = strlen(token);
            if (an == 0 || an > 32 || strchr(app, '/') != NULL || tn < 16 || tn > HUB_TOKEN_MAX)
                abort();
            for (size_t i = 0; i < tn; i++)
                if (!token_char(token[i]))
                    abort();
        }
    }
    free(s);
    return 0;
}

/* Fuzzes the admin command parser (message text from Telegram): a recognised command either has
 * a usage error or arguments inside their documented bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"
#include "hub/bot/bot_admin.h"
#include "hub/domain/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    if (text == NULL)
        return 0;
    struct bot_admin_cmd c;
    enum bot_admin_kind k = bot_admin_parse(text, &c);
    if ((unsigned)k >= BOT_ADM__COUNT || strlen(c.error) >= sizeof c.error || strlen(c.who) > BOT_ADMIN_WHO_MAX)
        abort();
    if (k != BOT_ADM_NONE && c.error[0] == '\0') {
        if (k == BOT_ADM_GRANT && (c.days < 1 || c.days > HUB_MAX_DURATION_DAYS || c.who[0] == '\0'))
            abort();
        if (k == BOT_ADM_FIND && c.who[0] == '\0')
            abort();
        if (k == BOT_ADM_REFUND && c.payment_id < 1)
            abort();
        if (k == BOT_ADM_BROADCAST && (c.text < text || c.text > text + strlen(text)))
            abort();
    }
    free(text);
    return 0;
}

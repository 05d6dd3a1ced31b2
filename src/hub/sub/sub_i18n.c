/* Words of the subscription web page in English and Russian, and the language choice from
 * ?lang= and Accept-Language (RFC 9110 §12.5.4). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hub/sub/sub_int.h"

const char *sub_lang_code(enum sub_lang l)
{
    return l == SUB_LANG_RU ? "ru" : "en";
}

/* The language of one tag ("ru", "ru-RU", "en-GB", ...); SUB_LANG__COUNT when unsupported. */
static enum sub_lang tag_lang(const char *s, size_t n)
{
    if (n < 2 || (n > 2 && s[2] != '-'))
        return SUB_LANG__COUNT;
    if (strncasecmp(s, "ru", 2) == 0)
        return SUB_LANG_RU;
    if (strncasecmp(s, "en", 2) == 0)
        return SUB_LANG_EN;
    return SUB_LANG__COUNT;
}

/* q-value in thousandths ("q=0.8" -> 800); malformed -> 0, which drops the tag. */
static int qvalue(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (end - p < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
        return 0;
    p += 2;
    if (*p == '1')
        return 1000;
    if (*p != '0')
        return 0;
    int q = 0, scale = 100;
    p++;
    if (p < end && *p == '.')
        for (p++; p < end && *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
            q += (*p - '0') * scale;
    return q;
}

enum sub_lang sub_pick_lang(const char *choice, const char *accept_language)
{
    if (choice != NULL) {
        enum sub_lang l = tag_lang(choice, strlen(choice));
        if (l != SUB_LANG__COUNT && strlen(choice) == 2)
            return l;
    }
    enum sub_lang best = SUB_LANG_EN;
    int best_q = 0;
    for (const char *p = accept_language; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        /* p <= end always; the test tells gcc -O2, which otherwise warns of a huge bound */
        const char *semi = p < end ? memchr(p, ';', (size_t)(end - p)) : NULL;
        const char *tag_end = semi ? semi : end;
        while (tag_end > p && (tag_end[-1] == ' ' || tag_end[-1] == '\t'))
            tag_end--;
        int q = semi ? qvalue(semi + 1, end) : 1000;
        enum sub_lang l = tag_lang(p, (size_t)(tag_end - p));
        if (l != SUB_LANG__COUNT && q > best_q) { /* the first of equal q wins: header order */
            best = l;
            best_q = q;
        }
        p = comma ? comma + 1 : end;
    }
    return best;
}

static const char *const words[SUB_W__COUNT][SUB_LANG__COUNT] = {
    [SUB_W_STATE_ACTIVE] = {"Active", "Активна"},
    [SUB_W_STATE_EXPIRING] = {"Expires soon", "Скоро закончится"},
    [SUB_W_STATE_EXPIRED] = {"Expired", "Закончилась"},
    [SUB_W_STATE_LIMITED] = {"Traffic limit reached", "Трафик исчерпан"},
    [SUB_W_STATE_PENDING] = {"Not started yet", "Ещё не началась"},
    [SUB_W_STATE_DISABLED] = {"Disabled", "Отключена"},
    [SUB_W_STATUS] = {"Status", "Статус"},
    [SUB_W_NO_EXPIRY] = {"No end date", "Без срока"},
    [SUB_W_ENDS_ON] = {"Ends on", "Действует до"},
    [SUB_W_ENDED_ON] = {"Ended on", "Закончилась"},
    [SUB_W_TRAFFIC] = {"Traffic", "Трафик"},
    [SUB_W_OF] = {"of", "из"},
    [SUB_W_UNLIMITED] = {"unlimited", "без ограничений"},
    [SUB_W_RESETS_ON] = {"Resets on", "Обнулится"},
    [SUB_W_TRAFFIC_USED] = {"Traffic used", "Израсходовано трафика"},
    [SUB_W_ADD_TITLE] = {"Add to your app", "Добавить в приложение"},
    [SUB_W_ADD_HINT] = {"Tap your app below, or scan the QR code, or copy the link.",
                        "Нажмите на своё приложение ниже, отсканируйте QR-код или скопируйте ссылку."},
    [SUB_W_QR_LABEL] = {"QR code of the subscription link", "QR-код ссылки на подписку"},
    [SUB_W_LINK_LABEL] = {"Subscription link", "Ссылка на подписку"},
    [SUB_W_COPY] = {"Copy link", "Скопировать ссылку"},
    [SUB_W_COPIED] = {"Copied", "Скопировано"},
    [SUB_W_APPS] = {"Apps", "Приложения"},
    [SUB_W_ADD_TO] = {"Add to", "Добавить в"},
    [SUB_W_DOWNLOAD] = {"Download", "Скачать"},
    [SUB_W_SERVERS] = {"Servers", "Серверы"},
    [SUB_W_SERVER_QR] = {"QR code", "QR-код"},
    [SUB_W_NO_SERVERS] = {"Servers appear here while the subscription is active.",
                          "Серверы появятся здесь, когда подписка активна."},
    [SUB_W_SUPPORT] = {"Support", "Поддержка"},
    [SUB_W_NO_LINK] = {"The operator has not set the public address; ask support for the link.",
                       "Оператор не указал публичный адрес; попросите ссылку в поддержке."},
    [SUB_W_LANGUAGE] = {"Language", "Язык"},
    [SUB_W_USER] = {"Subscription of", "Подписка"},
    [SUB_W_RENEW] = {"Renew", "Продлить"},
    [SUB_W_DEVICES] = {"Devices", "Устройства"},
    [SUB_W_DEVICES_FULL] = {"Device limit reached: a new device will not connect until one is removed (ask support).",
                            "Достигнут лимит устройств: новое устройство не подключится, пока не удалить одно из "
                            "старых (напишите в поддержку)."},
};

const char *sub__word(enum sub_lang l, enum sub_word w)
{
    if ((unsigned)l >= SUB_LANG__COUNT)
        l = SUB_LANG_EN;
    if ((unsigned)w >= SUB_W__COUNT)
        return "";
    return words[w][l];
}

void sub__days_left(char *dst, size_t cap, enum sub_lang l, int64_t days)
{
    if (l != SUB_LANG_RU) {
        snprintf(dst, cap, days == 1 ? "%lld day left" : "%lld days left", (long long)days);
        return;
    }
    /* Russian plural forms: 1, 21 -> "день"; 2-4, 22-24 -> "дня"; the rest and 11-14 -> "дней". */
    int64_t m10 = days % 10, m100 = days % 100;
    const char *noun = "дней", *verb = "Осталось";
    if (m10 == 1 && m100 != 11) {
        noun = "день";
        verb = "Остался";
    } else if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14)) {
        noun = "дня";
    }
    snprintf(dst, cap, "%s %lld %s", verb, (long long)days, noun);
}

void sub__date(char *dst, size_t cap, enum sub_lang l, int64_t t)
{
    static const char *const mon[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL) {
        snprintf(dst, cap, "?");
        return;
    }
    if (l == SUB_LANG_RU)
        snprintf(dst, cap, "%02d.%02d.%04d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900);
    else
        snprintf(dst, cap, "%d %s %04d", tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900);
}

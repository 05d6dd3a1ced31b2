/* The bot's phrases (bot_text.h). Fixed text only: dynamic values are escaped and joined by the
 * caller, so no phrase is a format string. */
#include <string.h>

#include "core/err.h"
#include "hub/bot/bot_text.h"

static const char *const phrases[BOT_M__COUNT][BOT_LANG__COUNT] = {
    [BOT_M_WELCOME] = {"Welcome! This bot sells access to a fast, private VPN.",
                       "Добро пожаловать! Этот бот продаёт доступ к быстрому и приватному VPN."},
    [BOT_M_MENU] = {"Main menu:", "Главное меню:"},
    [BOT_M_BTN_BUY] = {"Buy / renew", "Купить / продлить"},
    [BOT_M_BTN_TRIAL] = {"Free trial", "Пробный период"},
    [BOT_M_BTN_SUB] = {"My subscription", "Моя подписка"},
    [BOT_M_BTN_HELP] = {"Help", "Помощь"},
    [BOT_M_BTN_BACK] = {"« Back", "« Назад"},
    [BOT_M_BTN_COPY] = {"Copy link", "Скопировать ссылку"},
    [BOT_M_BTN_OPEN] = {"Open link", "Открыть ссылку"},
    [BOT_M_BTN_STARS] = {"Telegram Stars", "Telegram Stars"},
    [BOT_M_BTN_YOOKASSA] = {"Bank card (YooKassa)", "Банковская карта (ЮKassa)"},
    [BOT_M_BTN_ROBOKASSA] = {"Robokassa", "Робокасса"},
    [BOT_M_BTN_CRYPTOBOT] = {"Crypto (Crypto Pay)", "Криптовалюта (Crypto Pay)"},
    [BOT_M_BTN_BALANCE] = {"From my balance", "С баланса"},
    [BOT_M_BTN_PAY] = {"Pay", "Оплатить"},
    [BOT_M_PAY_LINK] = {"Your invoice is ready. Pay with the button below; the bot tells you when the payment arrives.",
                        "Счёт готов. Оплатите по кнопке ниже; бот сообщит, когда оплата поступит."},
    [BOT_M_NO_FUNDS] = {"Not enough money on your balance.", "На балансе недостаточно средств."},
    [BOT_M_BTN_REF] = {"Invite friends", "Пригласить друзей"},
    [BOT_M_BTN_BAL] = {"Balance", "Баланс"},
    [BOT_M_BTN_LANG] = {"Language / Язык", "Язык / Language"},
    [BOT_M_BTN_EN] = {"English", "English"},
    [BOT_M_BTN_RU] = {"Русский", "Русский"},
    [BOT_M_LANG_CHOOSE] = {"Choose your language:", "Выберите язык:"},
    [BOT_M_LANG_SET] = {"Language: English.", "Язык: русский."},
    [BOT_M_REF_HEAD] = {"Your invitation link (friends who start the bot with it become your referrals):",
                        "Ваша ссылка-приглашение (друзья, открывшие бота по ней, становятся вашими рефералами):"},
    [BOT_M_REF_INVITED] = {"Invited: ", "Приглашено: "},
    [BOT_M_REF_EARNED] = {"Earned: ", "Заработано: "},
    [BOT_M_REF_NOTHING] = {"nothing yet", "пока ничего"},
    [BOT_M_BAL_HEAD] = {"Balance: ", "Баланс: "},
    [BOT_M_BAL_HISTORY] = {"History:", "История:"},
    [BOT_M_BAL_EMPTY] = {"No operations yet.", "Операций пока нет."},
    [BOT_M_R_TOPUP] = {"top-up", "пополнение"},
    [BOT_M_R_PURCHASE] = {"purchase", "покупка"},
    [BOT_M_R_REFERRAL] = {"referral reward", "реферальное вознаграждение"},
    [BOT_M_R_REFERRAL_BONUS] = {"welcome bonus", "приветственный бонус"},
    [BOT_M_R_REFUND] = {"refund", "возврат"},
    [BOT_M_R_ADMIN] = {"correction", "корректировка"},
    [BOT_M_BTN_QR] = {"QR code", "QR-код"},
    [BOT_M_REMIND_SOON] = {"Your subscription ends on ", "Ваша подписка заканчивается "},
    [BOT_M_REMIND_RENEW] = {"Renew it so your VPN keeps working: /buy",
                            "Продлите её, чтобы VPN продолжал работать: /buy"},
    [BOT_M_REMIND_EXPIRED] = {"Your subscription has expired. Renew it to get your VPN back: /buy",
                              "Ваша подписка закончилась. Продлите её, чтобы вернуть VPN: /buy"},
    [BOT_M_QR_CAPTION] = {"Scan this in your VPN app to add the subscription.",
                          "Отсканируйте код в VPN-приложении, чтобы добавить подписку."},
    [BOT_M_TRIAL_OK] = {"Your trial is active.", "Пробный период активирован."},
    [BOT_M_TRIAL_TAKEN] = {"The trial was already used on this Telegram account.",
                           "Пробный период уже использован для этого аккаунта Telegram."},
    [BOT_M_TRIAL_HAS_SUB] = {"You already have a running subscription.", "У вас уже есть действующая подписка."},
    [BOT_M_TRIAL_OFF] = {"There is no trial at the moment.", "Пробный период сейчас недоступен."},
    [BOT_M_NO_SUB] = {"You have no subscription yet.", "У вас пока нет подписки."},
    [BOT_M_SUB_HEAD] = {"Subscription: ", "Подписка: "},
    [BOT_M_SUB_UNTIL] = {"Valid until: ", "Действует до: "},
    [BOT_M_SUB_DAYS_LEFT] = {"Days left: ", "Осталось дней: "},
    [BOT_M_SUB_LINK] = {"Your subscription link (add it to your VPN app):",
                        "Ваша ссылка подписки (добавьте её в VPN-приложение):"},
    [BOT_M_PLANS] = {"Choose a plan:", "Выберите тариф:"},
    [BOT_M_NO_PLANS] = {"No plans are on sale right now.", "Сейчас нет тарифов в продаже."},
    [BOT_M_PLAN_DAYS] = {" days", " дн."},
    [BOT_M_CHOOSE_PROVIDER] = {"How would you like to pay?", "Как вы хотите оплатить?"},
    [BOT_M_INVOICE_DESC] = {"VPN subscription: ", "Подписка на VPN: "},
    [BOT_M_INVOICE_SENT] = {"Here is your invoice.", "Вот ваш счёт."},
    [BOT_M_PAID] = {"Payment received, thank you!", "Оплата получена, спасибо!"},
    [BOT_M_ERROR] = {"Something went wrong. Please try again later.",
                     "Что-то пошло не так. Пожалуйста, попробуйте позже."},
    [BOT_M_HELP] =
        {"Commands: /start menu, /buy plans, /sub your subscription, /trial free trial, /ref invite friends,"
         " /balance balance and history, /lang language, /help this text.",
         "Команды: /start меню, /buy тарифы, /sub ваша подписка, /trial пробный период, /ref пригласить друзей,"
         " /balance баланс и история, /lang язык, /help эта справка."},
    [BOT_M_SUPPORT] = {"Support: ", "Поддержка: "},
    [BOT_M_UNAVAILABLE] = {"This payment method is not available right now.", "Этот способ оплаты сейчас недоступен."},
};

enum bot_lang bot_lang_of(const char *code)
{
    if (code == NULL)
        return BOT_LANG_EN;
    static const char *const ru_like[] = {"ru", "uk", "be", "kk"};
    for (size_t i = 0; i < sizeof ru_like / sizeof ru_like[0]; i++)
        if (strncmp(code, ru_like[i], 2) == 0 && (code[2] == '\0' || code[2] == '-' || code[2] == '_'))
            return BOT_LANG_RU;
    return BOT_LANG_EN;
}

const char *bot_lang_code(enum bot_lang l)
{
    return l == BOT_LANG_RU ? "ru" : "en";
}

const char *bot_msg(enum bot_lang l, enum bot_msg m)
{
    if ((unsigned)l >= BOT_LANG__COUNT)
        l = BOT_LANG_EN;
    if ((unsigned)m >= BOT_M__COUNT)
        return "";
    return phrases[m][l];
}

int bot_html_escape(const char *in, char *out, size_t cap)
{
    if (cap == 0)
        return ERR_TOO_LONG;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)in;
    while (*p) {
        const char *rep = NULL;
        size_t n = 1;
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        default:
            /* A whole UTF-8 character at a time, so a cut never splits one. */
            while (p[n] != '\0' && (p[n] & 0xc0) == 0x80 && n < 4)
                n++;
            break;
        }
        size_t w = rep ? strlen(rep) : n;
        if (o + w >= cap) {
            out[o] = '\0';
            return ERR_TOO_LONG;
        }
        memcpy(out + o, rep ? (const void *)rep : (const void *)p, w);
        o += w;
        p += rep ? 1 : n;
    }
    out[o] = '\0';
    return 0;
}

/* The phrases of the customer screens and notices (bot_customer.h), English and Russian. Fixed
 * text only: dynamic values are escaped and joined by the caller. */
#include "hub/bot/bot_customer.h"

static const char *const phrases[BOT_C__COUNT][BOT_LANG__COUNT] = {
    [BOT_C_QUOTA_80] = {"You have used 80 % of your traffic.", "Вы израсходовали 80 % трафика."},
    [BOT_C_QUOTA_100] = {"Your traffic is used up: the VPN is paused until the quota resets or you renew.",
                         "Трафик закончился: VPN приостановлен до сброса лимита или продления."},
    [BOT_C_QUOTA_USED] = {"Used: ", "Израсходовано: "},
    [BOT_C_REWARD] = {"You earned a referral reward: ", "Вы получили реферальное вознаграждение: "},
    [BOT_C_REWARD_TAIL] = {"A friend you invited paid for a subscription. The reward is on your balance: /balance",
                           "Приглашённый вами друг оплатил подписку. Вознаграждение зачислено на баланс: /balance"},
    [BOT_C_PROMO_OK] = {"Promo code applied to your next purchase: ", "Промокод применится к следующей покупке: "},
    [BOT_C_PROMO_TAIL] = {"Choose a plan: /buy", "Выберите тариф: /buy"},
    [BOT_C_PROMO_PERCENT] = {" % off", " % скидки"},
    [BOT_C_PROMO_DAYS] = {" extra days", " дополнительных дней"},
    [BOT_C_PROMO_MONEY] = {" off", " скидки"},
    [BOT_C_PROMO_UNKNOWN] = {"This promo code does not exist.", "Такого промокода нет."},
    [BOT_C_PROMO_EXPIRED] = {"This promo code has expired or is used up.",
                             "Срок действия промокода истёк, или он исчерпан."},
    [BOT_C_PROMO_USED] = {"You have already used this promo code.", "Вы уже использовали этот промокод."},
    [BOT_C_PROMO_PENDING] = {"Promo code: ", "Промокод: "},
    [BOT_C_BTN_TOPUP] = {"Top up", "Пополнить"},
    [BOT_C_TOPUP_AMOUNT] = {"How much would you like to add?", "На какую сумму пополнить?"},
    [BOT_C_TOPUP_PROVIDER] = {"Top up by ", "Пополнение на "},
    [BOT_C_TOPUP_NONE] = {"Top-ups are not available right now.", "Пополнение сейчас недоступно."},
    [BOT_C_TOPUP_DONE] = {"Your balance was topped up: +", "Баланс пополнен: +"},
    [BOT_C_TOPUP_BALANCE] = {"Balance: ", "Баланс: "},
    [BOT_C_BTN_DEVICES] = {"Devices", "Устройства"},
    [BOT_C_DEV_HEAD] = {"Devices: ", "Устройства: "},
    [BOT_C_DEV_NONE] = {"No device has fetched your subscription yet.", "Ни одно устройство ещё не получало подписку."},
    [BOT_C_DEV_HINT] = {"Free a slot to add a new device.", "Освободите место, чтобы добавить новое устройство."},
    [BOT_C_DEV_FREE] = {"Free #", "Освободить №"},
    [BOT_C_DEV_FREED] = {"The slot is free.", "Место освобождено."},
    [BOT_C_DEV_GONE] = {"This device is no longer listed.", "Этого устройства больше нет в списке."},
    [BOT_C_DEV_NO_LIMIT] = {"Your plan has no device limit.", "В вашем тарифе нет ограничения на устройства."},
    [BOT_C_DEV_SEEN] = {"last seen ", "последний раз "},
    [BOT_C_ADD_TO] = {"Add to ", "Добавить в "},
    [BOT_C_ADD_PAGE] = {"Opening ", "Открываем "},
    [BOT_C_TRAFFIC] = {"Traffic: ", "Трафик: "},
    [BOT_C_UNLIMITED] = {"unlimited", "без ограничений"},
    [BOT_C_ADD_TAP] = {"Nothing happened? Tap here", "Ничего не произошло? Нажмите здесь"},
};

const char *bot_cmsg(enum bot_lang l, enum bot_cmsg m)
{
    if ((unsigned)l >= BOT_LANG__COUNT)
        l = BOT_LANG_EN;
    if ((unsigned)m >= BOT_C__COUNT)
        return "";
    return phrases[m][l];
}

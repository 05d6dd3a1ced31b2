/* Allocation failures in the bot's keyboards (bot_kbd.c, bot_ckbd.c share one row builder): with
 * each allocation failing in turn, a builder answers NULL and keeps nothing, for one-button rows
 * (the menu, the subscription screen) and two-button rows (top-up amounts). The keyboards are
 * jansson values, so jansson allocates through this file (failalloc counts only callers here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "failalloc.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_kbd.h"

static void *json_malloc(size_t n)
{
    return malloc(n);
}

static void json_free(void *p)
{
    free(p);
}

static bool is_nomem(int rc)
{
    return rc == ERR_NOMEM;
}

/* 0 when the keyboard was built (and freed), ERR_NOMEM when the builder gave up. */
static int built(json_t *kbd)
{
    if (kbd == NULL)
        return ERR_NOMEM;
    json_decref(kbd);
    return 0;
}

static int devices(void)
{
    struct store_device d[2] = {{.id = 7}, {.id = 9}};
    return built(bot_kbd_devices(BOT_LANG_EN, d, 2));
}

static void test_keyboards_nomem(void **state)
{
    (void)state;
    FAILALLOC_SWEEP("main menu", is_nomem, built(bot_kbd_main(BOT_LANG_RU, true)));
    FAILALLOC_SWEEP("subscription", is_nomem, built(bot_kbd_sub(BOT_LANG_EN, "https://hub.example/sub/abc")));
    FAILALLOC_SWEEP("top-up amounts", is_nomem, built(bot_kbd_topup_amounts(BOT_LANG_EN, "RUB")));
    FAILALLOC_SWEEP("devices", is_nomem, devices());
}

int main(void)
{
    json_set_alloc_funcs(json_malloc, json_free);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_keyboards_nomem)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

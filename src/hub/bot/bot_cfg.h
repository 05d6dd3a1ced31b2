/* The "bot" section of hub.json (docs/bot.md). No section: the bot is off. */
#ifndef VEIL_HUB_BOT_CFG_H
#define VEIL_HUB_BOT_CFG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOT_ADMINS_MAX 32

struct bot_cfg {
    char token[128];          /* "<digits>:<[A-Za-z0-9_-]>" (secret: never logged) */
    char api_url[256];        /* "https://api.telegram.org"; tests point it at a fake */
    bool webhook;             /* mode "webhook" (else "polling") */
    char webhook_secret[257]; /* 1-256 of [A-Za-z0-9_-], required in webhook mode */
    char webhook_url[512];    /* when set, setWebhook is called at start (webhook mode) */
    int64_t admins[BOT_ADMINS_MAX];
    size_t n_admins;
    char support[64];     /* "@handle" shown in help */
    int64_t trial_days;   /* 0: no trial */
    int64_t poll_timeout; /* getUpdates long-poll seconds (default 25) */
};

/* ERR_CONFIG with err filled for a bad section; section NULL is not an error (bot off). */
int bot_cfg_parse(const json_t *section, struct bot_cfg *out, char *err, size_t errcap);
void bot_cfg_wipe(struct bot_cfg *c);

#endif

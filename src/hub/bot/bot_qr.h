/* The subscription link as a QR code PNG, for sendPhoto: libqrencode (level M, 8-bit mode) and
 * libpng (8-bit grayscale), a 4-module quiet zone, each module scale x scale pixels. */
#ifndef VEIL_HUB_BOT_QR_H
#define VEIL_HUB_BOT_QR_H

#include <stddef.h>

#define BOT_QR_QUIET 4
#define BOT_QR_SCALE 8

/* *png (malloc'd, *len bytes). ERR_MALFORMED: text empty or too long for a QR code;
 * ERR_RANGE: scale 0 or over 32; ERR_NOMEM. */
int bot_qr_png(const char *text, unsigned scale, unsigned char **png, size_t *len);

#endif

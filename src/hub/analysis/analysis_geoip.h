/* Country of a client address from a MaxMind DB file (GeoLite2-Country / GeoIP2-Country or any
 * mmdb with country.iso_code), for the account_sharing rule (analysis.h). The file is opened
 * once and memory-mapped read-only by libmaxminddb; lookups are thread-safe. */
#ifndef VEIL_HUB_ANALYSIS_GEOIP_H
#define VEIL_HUB_ANALYSIS_GEOIP_H

#include <stdbool.h>
#include <stddef.h>

struct analysis_geoip;

/* Opens path. 0, or ERR_CONFIG with the reason (never file content) in err. */
int analysis_geoip_open(const char *path, struct analysis_geoip **out, char *err, size_t errcap);
void analysis_geoip_close(struct analysis_geoip *g);
/* The ISO 3166-1 alpha-2 code of ip's country into out; false when the address does not parse,
 * is not in the database or has no two-letter country.iso_code. */
bool analysis_geoip_country(const struct analysis_geoip *g, const char *ip, char out[static 3]);
/* The location.latitude / location.longitude of ip (GeoLite2-City and the like); false when the
 * address is not found or the database has no valid coordinates for it. */
bool analysis_geoip_location(const struct analysis_geoip *g, const char *ip, double *lat, double *lon);

#endif

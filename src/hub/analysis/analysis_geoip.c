/* GeoIP country lookups through libmaxminddb (analysis_geoip.h). */
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/analysis/analysis_geoip.h"

struct analysis_geoip {
    MMDB_s db;
};

int analysis_geoip_open(const char *path, struct analysis_geoip **out, char *err, size_t errcap)
{
    *out = NULL;
    struct analysis_geoip *g = calloc(1, sizeof *g);
    if (g == NULL) {
        snprintf(err, errcap, "out of memory");
        return ERR_NOMEM;
    }
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->db);
    if (rc != MMDB_SUCCESS) {
        snprintf(err, errcap, "%s: %s", path, MMDB_strerror(rc));
        free(g);
        return ERR_CONFIG;
    }
    *out = g;
    return 0;
}

void analysis_geoip_close(struct analysis_geoip *g)
{
    if (g == NULL)
        return;
    MMDB_close(&g->db);
    free(g);
}

bool analysis_geoip_country(const struct analysis_geoip *g, const char *ip, char out[static 3])
{
    out[0] = '\0';
    int gai = 0, mmdb = 0;
    /* MMDB_lookup_string does not change the database; its prototype just lacks the const. */
    MMDB_lookup_result_s r = MMDB_lookup_string((MMDB_s *)&g->db, ip, &gai, &mmdb);
    if (gai != 0 || mmdb != MMDB_SUCCESS || !r.found_entry)
        return false;
    MMDB_entry_data_s d;
    if (MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size != 2)
        return false;
    for (int i = 0; i < 2; i++) {
        char c = d.utf8_string[i];
        if (c < 'A' || c > 'Z')
            return false;
        out[i] = c;
    }
    out[2] = '\0';
    return true;
}

static bool coordinate(MMDB_entry_s *e, const char *key, double lo, double hi, double *out)
{
    MMDB_entry_data_s d;
    if (MMDB_get_value(e, &d, "location", key, NULL) != MMDB_SUCCESS || !d.has_data)
        return false;
    if (d.type == MMDB_DATA_TYPE_DOUBLE)
        *out = d.double_value;
    else if (d.type == MMDB_DATA_TYPE_FLOAT)
        *out = d.float_value;
    else
        return false;
    return *out >= lo && *out <= hi; /* also false for NaN */
}

bool analysis_geoip_location(const struct analysis_geoip *g, const char *ip, double *lat, double *lon)
{
    int gai = 0, mmdb = 0;
    MMDB_lookup_result_s r = MMDB_lookup_string((MMDB_s *)&g->db, ip, &gai, &mmdb);
    if (gai != 0 || mmdb != MMDB_SUCCESS || !r.found_entry)
        return false;
    return coordinate(&r.entry, "latitude", -90, 90, lat) && coordinate(&r.entry, "longitude", -180, 180, lon);
}

/* crypto_cert_info: validity and host match of one DER certificate (a target's leaf). */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/err.h"
#include "crypto/crypto.h"

static int asn1_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return ERR_MALFORMED;
    /* days from the civil date (proleptic Gregorian), no timezone involved */
    int64_t y = (int64_t)tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return 0;
}

int crypto_cert_info(const uint8_t *der, size_t len, const char *host, struct crypto_cert_info *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > 65536)
        return ERR_MALFORMED;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    int rc = 0;
    if (x == NULL || p != der + len) {
        rc = ERR_MALFORMED;
        goto out;
    }
    if (asn1_unix(X509_get0_notBefore(x), &out->not_before) < 0 ||
        asn1_unix(X509_get0_notAfter(x), &out->not_after) < 0) {
        rc = ERR_MALFORMED;
        goto out;
    }
    X509_NAME *subj = X509_get_subject_name(x);
    if (subj != NULL &&
        X509_NAME_get_text_by_NID(subj, NID_commonName, out->subject_cn, (int)sizeof(out->subject_cn)) < 0)
        out->subject_cn[0] = '\0';
    if (host != NULL && host[0] != '\0') {
        /* An IP literal matches iPAddress entries, a name dNSName (and the CN only without SANs). */
        out->names_host = X509_check_ip_asc(x, host, 0) == 1 || X509_check_host(x, host, strlen(host), 0, NULL) == 1;
    }
out:
    X509_free(x);
    ERR_clear_error();
    return rc;
}

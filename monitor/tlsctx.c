/* tlsctx.c - OpenSSL for NTS-KE clients.
 *
 * One SSL_CTX serves every probe: TLS 1.3 only (RFC 8915 section 3 requires
 * it), peer verification against the system roots and an optional extra CA
 * file, ALPN "ntske/1" offered, and SSL_OP_IGNORE_UNEXPECTED_EOF because
 * many servers close without close_notify once they have sent End of
 * Message.  Each connection gets SNI plus a host-name check, or for an IP
 * literal an IP check without SNI (RFC 6066 forbids literals in SNI). */
#include "monitor/tlsctx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static const unsigned char alpn_ntske[] = "\x07ntske/1";
#define EXPORTER_LABEL "EXPORTER-network-time-security"

struct tlsctx {
    SSL_CTX *ctx;
};

void
tlsctx_error_detail(char *detail, const char *what, unsigned long e)
{
    char buf[160];

    if (!e)
        e = ERR_peek_error();
    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
        result_detail(detail, "%s: %s", what, buf);
    } else {
        result_detail(detail, "%s", what);
    }
    ERR_clear_error();
}

struct tlsctx *
tlsctx_new(const char *ca_file, bool no_system_roots, char *err, size_t errlen)
{
    struct tlsctx *t = calloc(1, sizeof(*t));

    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx)
        goto fail;
    if (!SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION))
        goto fail;
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
    /* SSL_CTX_set_alpn_protos returns 0 on success. */
    if (SSL_CTX_set_alpn_protos(t->ctx, alpn_ntske, sizeof(alpn_ntske) - 1) != 0)
        goto fail;
    /* The system roots are read into memory now, from the bundle file only:
       a hashed directory would make OpenSSL open files during certificate
       checks, inside the event loop. */
    if (!no_system_roots) {
        const char *env = getenv(X509_get_default_cert_file_env());
        const char *bundle = env && *env ? env : X509_get_default_cert_file();

        if (access(bundle, R_OK) == 0 &&
            !SSL_CTX_load_verify_locations(t->ctx, bundle, NULL))
            goto fail;
    }
    if (ca_file && !SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL)) {
        char buf[160] = "unknown error";
        unsigned long e = ERR_get_error();

        if (e)
            ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(err, errlen, "cannot load CA file %s: %s", ca_file, buf);
        ERR_clear_error();
        tlsctx_free(t);
        return NULL;
    }
    return t;
fail: {
        char buf[160] = "unknown error";

        if (ERR_peek_error())
            ERR_error_string_n(ERR_peek_error(), buf, sizeof(buf));
        snprintf(err, errlen, "cannot set up TLS: %s", buf);
    }
    ERR_clear_error();
    tlsctx_free(t);
    return NULL;
}

void
tlsctx_free(struct tlsctx *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

static bool
is_ip_literal(const char *host)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

struct ssl_st *
tlsctx_ssl_new(struct tlsctx *t, const char *host)
{
    SSL *ssl = SSL_new(t->ctx);

    if (!ssl)
        return NULL;
    if (is_ip_literal(host)) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        if (!X509_VERIFY_PARAM_set1_ip_asc(param, host))
            goto fail;
    } else {
        /* The SNI macro casts away const; hand it a copy of our own. */
        char name[256];

        if (snprintf(name, sizeof(name), "%s", host) >= (int)sizeof(name) ||
            !SSL_set_tlsext_host_name(ssl, name) || !SSL_set1_host(ssl, host))
            goto fail;
        /* A name in a certificate's CN is not a name we trust (RFC 6125). */
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    }
    return ssl;
fail:
    SSL_free(ssl);
    return NULL;
}

void
tlsctx_ssl_free(struct ssl_st *ssl)
{
    SSL_free(ssl);
}

static void
name_oneline(X509_NAME *name, char *out, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int n;

    out[0] = '\0';
    if (!bio)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        n = BIO_read(bio, out, (int)cap - 1);
        if (n < 0)
            n = 0;
        /* Never end inside a UTF-8 sequence: back up over continuation
           bytes to the lead byte, and drop it if its sequence was cut. */
        if (BIO_pending(bio) > 0) {
            int i = n;
            while (i > 0 && ((unsigned char)out[i - 1] & 0xC0) == 0x80)
                i--;
            if (i > 0 && ((unsigned char)out[i - 1] & 0x80))
                n = i - 1;
        }
        out[n] = '\0';
    }
    BIO_free(bio);
}

enum ke_status
tlsctx_session_status(struct ssl_st *ssl)
{
    const unsigned char *alpn = NULL;
    unsigned int alpn_len = 0;

    if (SSL_version(ssl) != TLS1_3_VERSION)
        return KE_TLS_VERSION;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len != 7 || memcmp(alpn, "ntske/1", 7) != 0)
        return KE_ALPN_MISMATCH;
    return KE_OK;
}

enum ke_status
tlsctx_describe(struct ssl_st *ssl, struct ke_result *r)
{
    enum ke_status st;
    const unsigned char *alpn = NULL;
    unsigned int alpn_len = 0;
    X509 *cert;

    snprintf(r->tls_version, sizeof(r->tls_version), "%s", SSL_get_version(ssl));
    snprintf(r->cipher, sizeof(r->cipher), "%s",
             SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len >= sizeof(r->alpn))
        alpn_len = sizeof(r->alpn) - 1;
    for (unsigned i = 0; i < alpn_len; i++)
        r->alpn[i] = (alpn[i] >= 0x20 && alpn[i] < 0x7f) ? (char)alpn[i] : '?';
    r->alpn[alpn_len] = '\0';

    cert = SSL_get0_peer_certificate(ssl);
    if (cert) {
        const ASN1_TIME *na = X509_get0_notAfter(cert);
        struct tm tm;

        name_oneline(X509_get_subject_name(cert), r->subject, sizeof(r->subject));
        name_oneline(X509_get_issuer_name(cert), r->issuer, sizeof(r->issuer));
        if (na && ASN1_TIME_to_tm(na, &tm))
            r->not_after = (int64_t)timegm(&tm);
    }
    st = tlsctx_session_status(ssl);
    if (st == KE_TLS_VERSION)
        result_detail(r->detail, "negotiated %s, NTS-KE needs TLS 1.3", r->tls_version);
    else if (st == KE_ALPN_MISMATCH)
        result_detail(r->detail, "server did not select ALPN ntske/1%s%s",
                      alpn_len ? ", selected " : "", r->alpn);
    return st;
}

enum ke_status
tlsctx_classify_failure(struct ssl_st *ssl, unsigned long err, int sys_errno,
                        char *detail)
{
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    int reason = err ? ERR_GET_REASON(err) : 0;
    char buf[160] = "";

    if (err)
        ERR_error_string_n(err, buf, sizeof(buf));
    ERR_clear_error();

    if (vr != X509_V_OK) {
        result_detail(detail, "certificate verification failed: %s",
                      X509_verify_cert_error_string(vr));
        switch (vr) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return KE_CERT_EXPIRED;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            return KE_CERT_NAME_MISMATCH;
        default:
            return KE_CERT_UNTRUSTED;
        }
    }
    if (err && ERR_GET_LIB(err) == ERR_LIB_SSL) {
        switch (reason) {
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        case SSL_R_WRONG_SSL_VERSION:
            result_detail(detail, "no TLS 1.3: %s", buf);
            return KE_TLS_VERSION;
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_PACKET_LENGTH_TOO_LONG:
        case SSL_R_RECORD_LENGTH_MISMATCH:
            /* The first bytes were not a TLS record at all. */
            result_detail(detail, "the peer does not speak TLS: %s", buf);
            return KE_TLS_FAILED;
        case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
        case SSL_R_NO_APPLICATION_PROTOCOL:
            result_detail(detail, "ALPN ntske/1 refused: %s", buf);
            return KE_ALPN_MISMATCH;
        default:
            break;
        }
    }
    if (err)
        result_detail(detail, "TLS handshake failed: %s", buf);
    else if (sys_errno)
        result_detail(detail, "TLS handshake failed: %s", strerror(sys_errno));
    else
        result_detail(detail, "TLS handshake failed: connection closed by peer");
    return KE_TLS_FAILED;
}

int
tlsctx_export_keys(struct ssl_st *ssl, uint16_t protocol, uint16_t aead_context,
                   size_t key_len, uint8_t *c2s, uint8_t *s2c)
{
    unsigned char context[5] = {(unsigned char)(protocol >> 8), (unsigned char)protocol,
                                (unsigned char)(aead_context >> 8),
                                (unsigned char)aead_context, 0x00};

    if (SSL_export_keying_material(ssl, c2s, key_len, EXPORTER_LABEL,
                                   sizeof(EXPORTER_LABEL) - 1, context, sizeof(context),
                                   1) != 1)
        return -1;
    context[4] = 0x01;
    if (SSL_export_keying_material(ssl, s2c, key_len, EXPORTER_LABEL,
                                   sizeof(EXPORTER_LABEL) - 1, context, sizeof(context),
                                   1) != 1)
        return -1;
    return 0;
}

bool
tlsctx_error_is_library(unsigned long e)
{
    return ERR_GET_LIB(e) != 0;
}

int
tlsctx_random(void *buf, size_t n)
{
    return n <= (size_t)INT32_MAX && RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

int
tlsctx_add_ca(void *ssl_ctx, const char *ca_file)
{
    if (!ssl_ctx || !ca_file || !SSL_CTX_load_verify_locations(ssl_ctx, ca_file, NULL)) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

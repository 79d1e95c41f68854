#ifndef IRSA_COPENSSLSHIMS_H
#define IRSA_COPENSSLSHIMS_H
// OpenSSL 3.0 macros the Swift importer misses, one COpenSSLShims_<macro> each.
#include <openssl/ssl.h>
#include <openssl/bio.h>

static inline long COpenSSLShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long COpenSSLShims_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long COpenSSLShims_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}
static inline long COpenSSLShims_SSL_set_mode(SSL *ssl, long mode) {
    return SSL_set_mode(ssl, mode);
}
static inline long COpenSSLShims_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long COpenSSLShims_SSL_CTX_sess_set_cache_size(SSL_CTX *ctx, long size) {
    return SSL_CTX_sess_set_cache_size(ctx, size);
}
static inline long COpenSSLShims_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return SSL_CTX_set1_groups_list(ctx, list);
}
static inline long COpenSSLShims_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline long COpenSSLShims_SSL_CTX_set_read_ahead(SSL_CTX *ctx, int yes) {
    return SSL_CTX_set_read_ahead(ctx, yes);
}
static inline long COpenSSLShims_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *)) {
    return SSL_CTX_set_tlsext_servername_callback(ctx, cb);
}
static inline size_t COpenSSLShims_BIO_pending(BIO *bio) {
    return BIO_pending(bio);
}
static inline long COpenSSLShims_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}
static inline long COpenSSLShims_BIO_set_mem_eof_return(BIO *bio, int value) {
    return BIO_set_mem_eof_return(bio, value);
}
static inline int COpenSSLShims_BIO_reset(BIO *bio) {
    return (int)BIO_reset(bio);
}

static inline void COpenSSLShims_BIO_set_retry_read(BIO *bio) {
    BIO_set_retry_read(bio);
}
static inline void COpenSSLShims_BIO_clear_retry_flags(BIO *bio) {
    BIO_clear_retry_flags(bio);
}
static inline long COpenSSLShims_SSL_CTX_add0_chain_cert(SSL_CTX *ctx, X509 *certificate) {
    return SSL_CTX_add0_chain_cert(ctx, certificate);
}

// SSL_OP_* are 64-bit shifted expressions the importer drops.
static inline uint64_t COpenSSLShims_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t COpenSSLShims_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t COpenSSLShims_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline uint64_t COpenSSLShims_SSL_OP_NO_TICKET(void) { return SSL_OP_NO_TICKET; }
static inline uint64_t COpenSSLShims_SSL_OP_NO_SSLv3(void) { return SSL_OP_NO_SSLv3; }
static inline uint64_t COpenSSLShims_SSL_OP_NO_TLSv1(void) { return SSL_OP_NO_TLSv1; }
static inline uint64_t COpenSSLShims_SSL_OP_NO_TLSv1_1(void) { return SSL_OP_NO_TLSv1_1; }
static inline uint64_t COpenSSLShims_SSL_OP_ENABLE_MIDDLEBOX_COMPAT(void) { return SSL_OP_ENABLE_MIDDLEBOX_COMPAT; }
static inline uint64_t COpenSSLShims_SSL_OP_IGNORE_UNEXPECTED_EOF(void) { return SSL_OP_IGNORE_UNEXPECTED_EOF; }

#endif

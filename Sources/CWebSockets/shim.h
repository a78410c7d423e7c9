#ifndef PB_CWS_SHIM_H
#define PB_CWS_SHIM_H
#include <libwebsockets.h>
#include <string.h>

/* Macros and helpers Swift cannot import directly. */

/* Bytes lws_write needs free in front of the payload. */
static inline size_t pb_lws_pre(void) { return LWS_PRE; }

/* LWS_WRITE_RAW is a macro alias of LWS_WRITE_HTTP. */
static inline int pb_lws_write_raw_protocol(void) { return (int)LWS_WRITE_RAW; }

/* The lws version as major*1000000 + minor*1000 + patch. */
static inline int pb_lws_version_number(void) {
    return LWS_LIBRARY_VERSION_MAJOR * 1000000 + LWS_LIBRARY_VERSION_MINOR * 1000 + LWS_LIBRARY_VERSION_PATCH;
}

/* CONTEXT_PORT_NO_LISTEN as an int. */
static inline int pb_lws_no_listen_port(void) { return CONTEXT_PORT_NO_LISTEN; }

/* Writes `len` bytes that sit at `buf` (with LWS_PRE bytes valid before it). */
static inline int pb_lws_write(struct lws *wsi, unsigned char *buf, size_t len, int protocol) {
    return lws_write(wsi, buf, len, (enum lws_write_protocol)protocol);
}

/* Flags for one frame of a possibly multi-frame message; binary != 0 selects a binary message. */
static inline int pb_lws_ws_flags(int binary, int is_start, int is_end) {
    return lws_write_ws_flags(binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT, is_start, is_end);
}

/* Sets the close code and reason sent when the callback next returns -1. */
static inline void pb_lws_close_reason(struct lws *wsi, int status, const unsigned char *reason, size_t len) {
    lws_close_reason(wsi, (enum lws_close_status)status, (unsigned char *)reason, len);
}

/* Adds `name: value` to a client handshake in LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER. */
static inline int pb_lws_append_header(struct lws *wsi, const char *name_with_colon, const char *value,
                                       void *in, size_t len) {
    unsigned char **p = (unsigned char **)in;
    unsigned char *end = (*p) + len;
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name_with_colon,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* Fills a zeroed lws_client_connect_info. Strings must outlive the connect call. */
static inline void pb_lws_fill_connect_info(struct lws_client_connect_info *info, struct lws_context *context,
                                            struct lws_vhost *vhost, const char *address, int port, int ssl_flags,
                                            const char *path, const char *host, const char *method,
                                            void *opaque_user_data, struct lws **pwsi) {
    memset(info, 0, sizeof(*info));
    info->context = context;
    info->vhost = vhost;
    info->address = address;
    info->port = port;
    info->ssl_connection = ssl_flags;
    info->path = path;
    info->host = host;
    info->origin = host;
    info->method = method;
    info->opaque_user_data = opaque_user_data;
    info->pwsi = pwsi;
    info->ietf_version_or_minus_one = -1;
}

/* Fills a zeroed context creation info for the one process-wide context (no listening, explicit vhosts). */
static inline void pb_lws_fill_context_info(struct lws_context_creation_info *info, void *user) {
    memset(info, 0, sizeof(*info));
    info->port = CONTEXT_PORT_NO_LISTEN;
    info->options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    /* Request headers a server vhost keeps per connection: a larger request is refused, never buffered. */
    info->max_http_header_data = 4096;
    info->user = user;
    info->gid = -1;
    info->uid = -1;
}

/* Fills a zeroed vhost creation info for client connections, optionally with a CA file. */
static inline void pb_lws_fill_client_vhost_info(struct lws_context_creation_info *info, const char *name,
                                                 const struct lws_protocols *protocols, const char *ca_file,
                                                 void *user) {
    memset(info, 0, sizeof(*info));
    info->port = CONTEXT_PORT_NO_LISTEN;
    info->options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->vhost_name = name;
    info->protocols = protocols;
    info->client_ssl_ca_filepath = ca_file;
    info->user = user;
    info->gid = -1;
    info->uid = -1;
}

/* Fills a zeroed vhost creation info for a plain HTTP listener on `iface`:`port` (0 = any free port). */
static inline void pb_lws_fill_server_vhost_info(struct lws_context_creation_info *info, const char *name,
                                                 const struct lws_protocols *protocols, const char *iface, int port) {
    memset(info, 0, sizeof(*info));
    info->port = port;
    info->iface = iface;
    info->vhost_name = name;
    info->protocols = protocols;
    info->gid = -1;
    info->uid = -1;
    /* A client that opens a connection and sends nothing (or dribbles a request) is dropped after this. */
    info->timeout_secs = 10;
    info->keepalive_timeout = 5;
}

/* Copies the Authorization header into dest; its length, 0 when absent, -1 when it does not fit. */
static inline int pb_lws_get_authorization(struct lws *wsi, char *dest, int len) {
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (total <= 0) return 0;
    if (total >= len) return -1;
    return lws_hdr_copy(wsi, dest, len, WSI_TOKEN_HTTP_AUTHORIZATION);
}

/* Writes a response's status line and headers (content length known) into `start`..`end` and sends them. */
static inline int pb_lws_write_http_headers(struct lws *wsi, unsigned int status, const char *content_type,
                                           size_t length, unsigned char *start, unsigned char *end) {
    unsigned char *p = start;
    if (lws_add_http_common_headers(wsi, status, content_type, (lws_filepos_t)length, &p, end)) return 1;
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:", (const unsigned char *)"no-store",
                                    8, &p, end)) return 1;
    return lws_finalize_write_http_header(wsi, start, &p, end);
}

/* The request path of a GET; -1 if the request is not a GET, -2 if the path does not fit in `len`. */
static inline int pb_lws_get_uri(struct lws *wsi, char *dest, int len) {
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);
    if (total <= 0) return -1;
    if (total >= len) return -2;
    return lws_hdr_copy(wsi, dest, len, WSI_TOKEN_GET_URI);
}

/* The request path and method of a GET (0), PUT (1) or POST (2): the path's length, -1 for another method, -2 if
   the path does not fit in `len`. */
static inline int pb_lws_get_method_uri(struct lws *wsi, char *dest, int len, int *method) {
    static const enum lws_token_indexes tokens[3] = {WSI_TOKEN_GET_URI, WSI_TOKEN_PUT_URI, WSI_TOKEN_POST_URI};
    for (int m = 0; m < 3; m++) {
        int total = lws_hdr_total_length(wsi, tokens[m]);
        if (total <= 0) continue;
        *method = m;
        if (total >= len) return -2;
        return lws_hdr_copy(wsi, dest, len, tokens[m]);
    }
    return -1;
}

/* The request's Content-Length; 0 when absent, -1 when it is not a number. */
static inline long long pb_lws_content_length(struct lws *wsi) {
    char value[32];
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (total <= 0) return 0;
    if (total >= (int)sizeof(value)) return -1;
    if (lws_hdr_copy(wsi, value, sizeof(value), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) return -1;
    long long result = 0;
    for (char *c = value; *c; c++) {
        if (*c < '0' || *c > '9') return -1;
        result = result * 10 + (*c - '0');
        if (result > (1LL << 40)) return -1;
    }
    return result;
}

/* Query fragment `index` (`name=value`) into dest: its length, -1 when there is none, -2 when it does not fit. */
static inline int pb_lws_query_fragment(struct lws *wsi, char *dest, int len, int index) {
    int count = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, index);
    if (count <= 0) return -1;
    if (count >= len) return -2;
    return lws_hdr_copy_fragment(wsi, dest, len, WSI_TOKEN_HTTP_URI_ARGS, index);
}

/* Keeps a connection whose response is being computed open for `seconds`. */
static inline void pb_lws_await_response(struct lws *wsi, int seconds) {
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, seconds);
}

/* The protocol user pointer of the wsi's protocol. */
static inline void *pb_lws_protocol_user(struct lws *wsi) {
    const struct lws_protocols *protocol = lws_get_protocol(wsi);
    return protocol ? protocol->user : NULL;
}

/* LWS_WRITE_HTTP and LWS_WRITE_HTTP_FINAL as ints. */
static inline int pb_lws_write_http(int final) { return final ? (int)LWS_WRITE_HTTP_FINAL : (int)LWS_WRITE_HTTP; }

/* OpenSSL macros used by the line socket's own TLS layer (lws 4.1's raw-role TLS client is broken). */
static inline long pb_ssl_set_sni(SSL *ssl, const char *host) { return SSL_set_tlsext_host_name(ssl, host); }
static inline int pb_ssl_error_want_read(void) { return SSL_ERROR_WANT_READ; }
static inline int pb_ssl_error_want_write(void) { return SSL_ERROR_WANT_WRITE; }
static inline int pb_ssl_error_zero_return(void) { return SSL_ERROR_ZERO_RETURN; }
static inline int pb_ssl_verify_peer(void) { return SSL_VERIFY_PEER; }
static inline int pb_ssl_verify_none(void) { return SSL_VERIFY_NONE; }

#endif

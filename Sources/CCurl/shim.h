#ifndef PB_CCURL_SHIM_H
#define PB_CCURL_SHIM_H
#include <curl/curl.h>

/* Swift cannot call C variadics, so each curl_*_setopt/getinfo use gets a typed wrapper. */

typedef size_t (*pb_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*pb_curl_xferinfo_callback)(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
                                         curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode pb_curl_easy_setopt_long(CURL *h, CURLoption opt, long value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode pb_curl_easy_setopt_string(CURL *h, CURLoption opt, const char *value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode pb_curl_easy_setopt_pointer(CURL *h, CURLoption opt, void *value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode pb_curl_easy_setopt_slist(CURL *h, CURLoption opt, struct curl_slist *value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode pb_curl_easy_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode pb_curl_easy_setopt_write_callback(CURL *h, pb_curl_data_callback cb) {
    return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb);
}
static inline CURLcode pb_curl_easy_setopt_header_callback(CURL *h, pb_curl_data_callback cb) {
    return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cb);
}
static inline CURLcode pb_curl_easy_setopt_xferinfo_callback(CURL *h, pb_curl_xferinfo_callback cb) {
    return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb);
}
static inline CURLcode pb_curl_easy_getinfo_long(CURL *h, CURLINFO info, long *out) {
    return curl_easy_getinfo(h, info, out);
}
static inline CURLcode pb_curl_easy_getinfo_pointer(CURL *h, CURLINFO info, void **out) {
    return curl_easy_getinfo(h, info, out);
}
static inline CURLcode pb_curl_easy_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *out) {
    return curl_easy_getinfo(h, info, out);
}
static inline CURLMcode pb_curl_multi_setopt_long(CURLM *m, CURLMoption opt, long value) {
    return curl_multi_setopt(m, opt, value);
}

/* Macros and constants that do not import as usable Swift values. */
static inline size_t pb_curl_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline int pb_curl_pause_cont(void) { return CURLPAUSE_CONT; }
static inline long pb_curl_global_default(void) { return CURL_GLOBAL_DEFAULT; }
static inline long pb_curl_http_version_2tls(void) { return CURL_HTTP_VERSION_2TLS; }

#endif

#ifndef PB_CCURL_SHIM_H
#define PB_CCURL_SHIM_H
#include <curl/curl.h>
#endif

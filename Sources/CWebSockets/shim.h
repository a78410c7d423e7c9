#ifndef PB_CWS_SHIM_H
#define PB_CWS_SHIM_H
#include <libwebsockets.h>
#endif

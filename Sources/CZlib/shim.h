#ifndef PB_CZLIB_SHIM_H
#define PB_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit is a macro over inflateInit_; Swift cannot see macros with arguments.
static inline int pb_inflate_init(z_streamp strm) { return inflateInit(strm); }
/// deflateInit is a macro as well; the fake Discord server and benchmarks compress with it.
static inline int pb_deflate_init(z_streamp strm, int level) { return deflateInit(strm, level); }
/// inflateInit2 with -15 window bits reads raw deflate data, as zip archives store it (CHARX character cards).
static inline int pb_inflate_init_raw(z_streamp strm) { return inflateInit2(strm, -15); }
#endif

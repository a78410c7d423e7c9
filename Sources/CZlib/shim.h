#ifndef PB_CZLIB_SHIM_H
#define PB_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit is a macro over inflateInit_; Swift cannot see macros with arguments.
static inline int pb_inflate_init(z_streamp strm) { return inflateInit(strm); }
/// deflateInit is a macro as well; the fake Discord server and benchmarks compress with it.
static inline int pb_deflate_init(z_streamp strm, int level) { return deflateInit(strm, level); }
#endif

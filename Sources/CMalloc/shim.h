#ifndef PB_CMALLOC_SHIM_H
#define PB_CMALLOC_SHIM_H

#include <stddef.h>
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

/// Returns free memory held by the allocator's arenas to the system; 1 when some was released. Elsewhere a no-op.
static inline int pb_malloc_trim(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

/// Caps the allocator's arenas at `count` (glibc's M_ARENA_MAX); 1 when set. Elsewhere a no-op.
static inline int pb_malloc_arena_max(int count) {
#if defined(__GLIBC__)
    return mallopt(M_ARENA_MAX, count);
#else
    (void)count;
    return 0;
#endif
}

#endif

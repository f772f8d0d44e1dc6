/* Threads: OpenMP for our loops, OpenBLAS kept single-threaded inside them so
 * that the two do not oversubscribe the cores and so that every BLAS call
 * gives the same bits whatever the thread count. */
#ifndef LT_PAR_H
#define LT_PAR_H

#include <stddef.h>

/* Force OpenBLAS to one thread; returns the previous setting to restore. */
int lt_blas_single_begin(void);
void lt_blas_single_end(int previous);

/* Threads to use: `requested` if > 0, else OpenMP's default. */
int lt_threads(int requested);

/* A fixed partition of n rows into blocks of whole work that does not depend
 * on the thread count: block b covers [lt_block_begin(n, nb, b), ..._begin(b+1)). */
size_t lt_block_count(size_t n, size_t min_rows, size_t max_blocks);
static inline size_t lt_block_begin(size_t n, size_t nb, size_t b) { return (size_t)((unsigned __int128)n * b / nb); }

#endif

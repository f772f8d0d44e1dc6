#include "par.h"

#include <cblas.h>
#include <omp.h>

int lt_blas_single_begin(void)
{
    /* Inside a parallel region the caller's caller has already set it:
     * the setting is process-wide, so only the outermost level touches it. */
    if (omp_in_parallel()) return -1;
    int prev = openblas_get_num_threads();
    openblas_set_num_threads(1);
    return prev;
}

void lt_blas_single_end(int previous)
{
    if (previous > 0) openblas_set_num_threads(previous);
}

int lt_threads(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

size_t lt_block_count(size_t n, size_t min_rows, size_t max_blocks)
{
    size_t nb = (n + min_rows - 1) / (min_rows ? min_rows : 1);
    if (nb > max_blocks) nb = max_blocks;
    return nb ? nb : 1;
}

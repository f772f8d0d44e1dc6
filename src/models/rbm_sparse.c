/* RBM training on binary data: the same CD-k / PCD update as the GEMM path
 * of rbm.c, computed from the visible rows' on-bits.
 *
 * With Bernoulli visible units and data in {0, 1} every visible row the
 * trainer meets is binary: the data rows, and the chains' visible draws. A
 * product with a binary row is a sum of the rows of W it selects, so
 *
 *   hidden input   v W          = sum over on-bits i of W[i, :]
 *   weight update  v' h (a row) : W[i, :] += f * h for each row with v_i on
 *
 * cost nnz(v) * nh instead of nv * nh. On binarised MNIST (13% of the pixels
 * on) that is about a seventh of the work of those products. The chains'
 * visible step, W h, has h binary too (their hidden draws, about a sixth on
 * in Fashion-MNIST training): it sums the columns of W that h selects, 16
 * visible units at a time from a transposed tile of W. The weight update
 * adds, for each visible unit, the (scaled) hidden rows of the batch's rows
 * that have it on; with at most TROWS rows (data and chains) it takes these
 * sums from tables, per group of four rows the sums of its sixteen subsets,
 * so a row of W adds R / 4 entries instead of one hidden row per row with
 * the unit on (R / 3 to R of them). Each kernel has a portable version and
 * one for AVX-512.
 *
 * Threads split the hidden units, in blocks of LT_RBM_HBLOCK (fixed by the
 * size alone): a thread owns the columns of W, c, the hidden probabilities
 * and the hidden draws of its blocks, so its share of W stays in its own
 * cache from one mini-batch to the next. The visible step needs every
 * block: each block writes its part of W h for every chain row, and after
 * one barrier every thread adds the parts in block order and draws the
 * chains' visible rows itself (the same draws on every thread). So a
 * mini-batch costs one barrier per Gibbs step, and the visible biases,
 * which every thread needs at once, are kept by each thread in its own
 * copy, updated alike. While training, W lives in a copy whose rows are
 * padded to whole cache lines (no line holds two threads' blocks), copied
 * back into the model after each epoch; the training rows are kept as
 * lists of their on-bits, made once.
 *
 * The random draws are those of the GEMM path (lt_draw_row): the same
 * streams keyed by (seed, step, row) for visible rows and (seed, step, row
 * and block) for hidden ones, the same uniforms for the same units, eight
 * lanes at a time with AVX-512, so both paths follow the same chain up to
 * float rounding (tests/test_rbm.c compares them). Nothing depends on which
 * thread does a block, or on how many threads there are.
 */
#include "rbm_internal.h"

#include "internal.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(LT_NO_CLONES)
#define LT_X86 1
#include <immintrin.h>
#define LT_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#define LT_AVX512 __attribute__((target("avx512f")))
#else
#define LT_X86 0
#define LT_HOT
#endif

/* gcc's unroll-and-jam (at -O3) fuses two rows of a sum of rows into one
 * loop that it then leaves scalar: 4.6x the instructions of the vector
 * loop in the portable kernels (cachegrind) */
#if defined(__GNUC__) && !defined(__clang__)
#define LT_NOJAM __attribute__((optimize("no-loop-unroll-and-jam")))
#else
#define LT_NOJAM
#endif
#define CHUNK 128 /* columns of W updated together (a chunk of h0 and h1 stays in L1) */
#define TCOLS 32     /* columns of W updated together from tables of sums */
#define TROWS 48     /* the most rows (data and chain) a batch's update takes from tables */

/* What each thread keeps to itself. */
typedef struct thread_state {
    uint32_t *nz1;       /* P x nv: the chains' visible draws as lists of on-bits */
    size_t *c1;          /* the lists' lengths */
    float *pre;          /* nv: a chain's visible probabilities */
    float *b, *vel_b;    /* nv: the visible biases and their velocity (every thread's alike) */
    uint32_t *lists;     /* nv x (bmax + P): per visible unit, the rows of hsc that have it on */
    uint32_t *n01;       /* 2 x nv: how many data rows; how many rows in all */
    float *g;            /* nh: a row's update (the portable kernel) */
    float *tile;         /* LT_RBM_HBLOCK x 16: a block of W's columns for 16 visible units, transposed */
    uint64_t *rm;        /* nv: per visible unit, the rows of the batch (data, then chains) that have it on */
    uint16_t *toff;      /* nv x TROWS / 4: per visible unit and group of four rows, its sum in the tables */
    float *tbl;          /* TROWS / 4 x 16 x TCOLS: per group, the sums of each subset of its rows */
    uint64_t gibbs;      /* Gibbs steps taken (the parity of the shared parts) */
    int started;         /* PCD chains initialised */
} thread_state;

struct lt_rbm_sparse {
    size_t nv, nh, hp, bmax, P, nb; /* hp: the padded row length of h buffers; nb: hidden blocks */
    int persistent, avx512, threads;
    float *h0, *h1;      /* bmax x hp, P x hp: p(h | v) of the data rows, of the chains */
    uint16_t *hl;        /* P x hp: the chains' hidden draws as lists of on-bits, block by block (the units
                            of block blk from hl[r * hp + blk * LT_RBM_HBLOCK], as offsets in the block) */
    uint32_t *hc;        /* P x nb: the lists' lengths */
    float *hsc;          /* (bmax + P) x hp: h0's rows, then h1's, scaled by their factors in the update */
    float *part;         /* 2 x nb x P x nv: the chains' visible inputs, block by block, two generations */
    float *W, *vel_w;    /* nv x hp: the weights while training, and their velocity, rows padded with
                            zeros to whole lines so that no line holds two threads' blocks */
    float *vel_c, *q;
    size_t *xptr;        /* n + 1: the training rows' on-bits, row r at xcol[xptr[r] .. xptr[r + 1]) */
    uint32_t *xcol;
    thread_state *ts;
};

static void thread_state_free(thread_state *t)
{
    free(t->nz1), free(t->c1), free(t->pre), free(t->b);
    free(t->vel_b), free(t->lists), free(t->n01), free(t->g), free(t->tile);
    free(t->rm), free(t->toff), free(t->tbl);
}

void lt_rbm_sparse_free(lt_rbm_sparse *s)
{
    if (!s) return;
    if (s->ts)
        for (int t = 0; t < s->threads; t++) thread_state_free(&s->ts[t]);
    free(s->ts);
    free(s->h0), free(s->h1), free(s->hsc), free(s->hl), free(s->hc), free(s->part);
    free(s->W), free(s->vel_w), free(s->vel_c), free(s->q);
    free(s->xptr), free(s->xcol);
    free(s);
}

/* Zeroed memory aligned to a cache line (NULL on overflow or no memory). */
static void *line_calloc(size_t n, size_t size)
{
    if (size && n > (SIZE_MAX - 64) / size) return NULL;
    size_t bytes = (n * size + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p) memset(p, 0, bytes);
    return p;
}

lt_status lt_rbm_sparse_new(const lt_rbm *m, const lt_rbm_options *o, const float *x, size_t n, size_t bmax,
                            int threads, lt_rbm_sparse **out)
{
    *out = NULL;
    if (m->visible != LT_RBM_BERNOULLI) return LT_OK;
    /* one pass: the data must be binary; their on-bits are counted */
    size_t nnz = 0;
    for (size_t t = 0; t < n * m->nv; t++) {
        if (x[t] != 0.0f && x[t] != 1.0f) return LT_OK;
        nnz += x[t] != 0.0f;
    }
    lt_rbm_sparse *s = lt_calloc(1, sizeof *s);
    if (!s) return LT_ERR_NOMEM;
    size_t nv = m->nv, nh = m->nh, P = bmax, hp = (nh + 15) / 16 * 16;
    s->nv = nv, s->nh = nh, s->hp = hp, s->bmax = bmax, s->P = P, s->nb = lt_rbm_hblocks(nh);
    s->persistent = o->persistent, s->threads = threads < 1 ? 1 : threads;
#if LT_X86
    s->avx512 = __builtin_cpu_supports("avx512f");
#endif
    s->h0 = line_calloc(bmax * hp, sizeof(float));
    s->h1 = line_calloc(P * hp, sizeof(float));
    s->hsc = line_calloc((bmax + P) * hp + CHUNK, sizeof(float)); /* CHUNK to spare: see chunk_update_512 */
    s->hl = lt_malloc(P * hp, sizeof(uint16_t));
    s->hc = lt_calloc(P * s->nb, sizeof(uint32_t));
    s->part = lt_malloc(2 * s->nb * P * nv, sizeof(float));
    s->W = line_calloc(nv * hp, sizeof(float));
    s->vel_w = line_calloc(nv * hp, sizeof(float));
    s->vel_c = lt_calloc(nh, sizeof(float));
    s->q = lt_malloc(nh, sizeof(float));
    s->ts = lt_calloc((size_t)s->threads, sizeof(thread_state));
    s->xptr = lt_malloc(n + 1, sizeof(size_t));
    s->xcol = lt_malloc(nnz + 1, sizeof(uint32_t));
    int ok = s->h0 && s->h1 && s->hsc && s->hl && s->hc && s->part && s->W && s->vel_w && s->vel_c &&
             s->q && s->ts && s->xptr && s->xcol;
    if (ok) {
        size_t c = 0;
        for (size_t r = 0; r < n; r++) {
            s->xptr[r] = c;
            for (size_t i = 0; i < nv; i++)
                if (x[r * nv + i] != 0.0f) s->xcol[c++] = (uint32_t)i;
        }
        s->xptr[n] = c;
    }
    for (int t = 0; ok && t < s->threads; t++) {
        thread_state *T = &s->ts[t];
        T->nz1 = lt_malloc(P * nv + 16, sizeof(uint32_t)); /* 16 to spare: see draw_row */
        T->c1 = lt_calloc(P, sizeof(size_t));
        T->pre = lt_malloc(nv, sizeof(float));
        T->b = lt_malloc(nv, sizeof(float));
        T->vel_b = lt_calloc(nv, sizeof(float));
        T->lists = lt_malloc(nv * (bmax + P), sizeof(uint32_t));
        T->n01 = lt_malloc(2 * nv, sizeof(uint32_t));
        T->g = lt_malloc(nh, sizeof(float));
        T->tile = line_calloc(LT_RBM_HBLOCK * 16, sizeof(float));
        T->rm = lt_malloc(nv, sizeof(uint64_t));
        T->toff = lt_malloc(nv * (TROWS / 4), sizeof(uint16_t));
        T->tbl = line_calloc(TROWS / 4 * 16 * TCOLS, sizeof(float));
        ok = T->nz1 && T->c1 && T->pre && T->b && T->vel_b && T->lists &&
             T->n01 && T->g && T->tile && T->rm && T->toff && T->tbl;
        if (ok) memcpy(T->b, m->b, nv * sizeof(float));
    }
    if (!ok) {
        lt_rbm_sparse_free(s);
        return LT_ERR_NOMEM;
    }
    for (size_t j = 0; j < nh; j++) s->q[j] = (float)o->sparsity_target;
    for (size_t i = 0; i < nv; i++) memcpy(s->W + i * hp, m->w + i * nh, nh * sizeof(float));
    *out = s;
    return LT_OK;
}

void lt_rbm_sparse_portable(lt_rbm_sparse *s) { s->avx512 = 0; }

void lt_rbm_sparse_sync(lt_rbm_sparse *s, lt_rbm *m)
{
    const thread_state *T0 = &s->ts[0]; /* thread 0 took part in every batch */
    memcpy(m->b, T0->b, s->nv * sizeof(float));
    for (size_t i = 0; i < s->nv; i++) memcpy(m->w + i * s->nh, s->W + i * s->hp, s->nh * sizeof(float));
    for (int t = 1; t < s->threads; t++) {
        thread_state *T = &s->ts[t];
        memcpy(T->b, T0->b, s->nv * sizeof(float));
        memcpy(T->vel_b, T0->vel_b, s->nv * sizeof(float));
        T->gibbs = T0->gibbs, T->started = T0->started;
    }
}

/* ------------------------------------------------------------ kernels */

/* out[j] = sum over the cnt rows idx[] of W[idx[l], j], for j in [j0, j1)
 * (the rows in list order; ld: W's row length). */
LT_NOJAM LT_HOT static void rows_sum_any(const float *restrict W, size_t ld, size_t j0, size_t j1,
                                         const uint32_t *idx, size_t cnt, float *restrict out)
{
    for (size_t j = j0; j < j1; j++) out[j] = 0;
    for (size_t l = 0; l < cnt; l++) {
        const float *w = W + (size_t)idx[l] * ld;
        for (size_t j = j0; j < j1; j++) out[j] += w[j];
    }
}

/* part[r][i] = sum over j in [j0, j1) of h[r][j] W[i][j] for R binary rows
 * h given by their lists of on-bits in the block (row r's list at
 * hl + r * hp, offsets from j0, its length hc[r * nb]): 16 visible units at
 * a time, their columns [j0, j1) of W transposed into the tile, then each
 * row's part is the sum of the tile's rows it has on (cnt sums of 16
 * instead of the j1 - j0 products of the dense product). */
LT_NOJAM LT_HOT static void visible_sparse_any(const float *restrict W, size_t nv, size_t ld, size_t j0,
                                               size_t j1, const uint16_t *hl, size_t hp, const uint32_t *hc,
                                               size_t nb, size_t R, float *restrict tile, float *restrict part)
{
    for (size_t i0 = 0; i0 < nv; i0 += 16) {
        const size_t ni = nv - i0 < 16 ? nv - i0 : 16;
        for (size_t a = 0; a < 16; a++) {
            const float *w = W + (i0 + (a < ni ? a : 0)) * ld;
            for (size_t j = j0; j < j1; j++) tile[(j - j0) * 16 + a] = a < ni ? w[j] : 0.0f;
        }
        for (size_t r = 0; r < R; r++) {
            const uint16_t *L = hl + r * hp;
            const size_t n = hc[r * nb];
            float acc[16] = {0};
            for (size_t l = 0; l < n; l++) {
                const float *t = tile + (size_t)L[l] * 16;
                for (int a = 0; a < 16; a++) acc[a] += t[a];
            }
            for (size_t a = 0; a < ni; a++) part[r * nv + i0 + a] = acc[a];
        }
    }
}

/* The update of columns [ja, jb) of a row of W: g = the sum of the n rows
 * L of hsc (the batch's hidden rows, each already scaled by its factor:
 * lr / B for data rows, -lr / P for chain rows); without momentum
 * w = (1 - dec) w + g, with it v = vel + g - dec w, w += v, vel = mn v. */
typedef struct row_update {
    const float *hsc;
    size_t hp;
    const uint32_t *L;
    size_t n;
    float dec, mn;
    int mom;
} row_update;

LT_NOJAM LT_HOT static void row_update_any(const row_update *u, size_t ja, size_t jb, float *restrict w,
                                           float *restrict vel, float *restrict g)
{
    for (size_t j = ja; j < jb; j++) g[j] = 0;
    for (size_t l = 0; l < u->n; l++) {
        const float *h = u->hsc + (size_t)u->L[l] * u->hp;
        for (size_t j = ja; j < jb; j++) g[j] += h[j];
    }
    if (!u->mom) {
        const float keep = 1.0f - u->dec;
        for (size_t j = ja; j < jb; j++) w[j] = w[j] * keep + g[j];
    } else {
        for (size_t j = ja; j < jb; j++) {
            float v = vel[j] + g[j] - u->dec * w[j];
            w[j] += v;
            vel[j] = v * u->mn;
        }
    }
}

/* The tables of columns [jc, jc + TCOLS) for the R rows of the batch (its
 * nd data rows, hsc's first nd rows, then its chain rows, hsc's rows from
 * bmax on): for each group of four rows, the sums of its sixteen subsets,
 * tbl[(16 g + m) * TCOLS ..] the sum of rows 4 g + b for the bits b of m.
 * The rows of hsc are padded with zeros and the buffer has CHUNK floats to
 * spare, so whole TCOLS are read. */
LT_NOJAM LT_HOT static void tables_any(const float *hsc, size_t hp, size_t nd, size_t bmax, size_t R,
                                       size_t jc, float *restrict tbl)
{
    for (size_t g = 0; g < (R + 3) / 4; g++) {
        float *t = tbl + g * 16 * TCOLS;
        for (size_t c = 0; c < TCOLS; c++) t[c] = 0;
        for (unsigned m = 1; m < 16; m++) {
            const unsigned low = m & -m;
            const size_t k = 4 * g + (size_t)__builtin_ctz(m);
            const float *p = t + (m ^ low) * TCOLS;
            float *q = t + m * TCOLS;
            if (k < R) {
                const float *h = hsc + (k < nd ? k : bmax + k - nd) * hp + jc;
                for (size_t c = 0; c < TCOLS; c++) q[c] = p[c] + h[c];
            } else {
                for (size_t c = 0; c < TCOLS; c++) q[c] = p[c];
            }
        }
    }
}

/* row_update_any for columns [jc, jd) (jd - jc <= TCOLS) of every row of W
 * from the tables: row i's update is the sum of one table entry per group
 * of rows, toff[i * G + g] (an offset into tbl), instead of one row of hsc
 * per row that has unit i on. rm[i] = 0: no row has unit i on. */
LT_NOJAM LT_HOT static void table_update_any(const row_update *u, size_t nv, size_t ld, const uint16_t *toff,
                                             size_t G, const uint64_t *rm, const float *tbl, size_t jc, size_t jd,
                                             float *restrict W, float *restrict vel_w)
{
    const size_t nc = jd - jc;
    for (size_t i = 0; i < nv; i++) {
        if (rm[i] == 0 && !u->mom && u->dec == 0) continue;
        const uint16_t *o = toff + i * G;
        float g[TCOLS];
        for (size_t c = 0; c < TCOLS; c++) g[c] = tbl[o[0] + c];
        for (size_t k = 1; k < G; k++)
            for (size_t c = 0; c < TCOLS; c++) g[c] += tbl[o[k] + c];
        float *w = W + i * ld + jc, *vel = vel_w + i * ld + jc;
        if (!u->mom) {
            const float keep = 1.0f - u->dec;
            for (size_t c = 0; c < nc; c++) w[c] = w[c] * keep + g[c];
        } else {
            for (size_t c = 0; c < nc; c++) {
                float v = vel[c] + g[c] - u->dec * w[c];
                w[c] += v;
                vel[c] = v * u->mn;
            }
        }
    }
}

#if LT_X86
/* The mask of the columns [j, j + 16) that are below n. */
LT_AVX512 static inline __mmask16 tail_mask(size_t j, size_t n)
{
    return j >= n ? 0 : n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
}

/* rows_sum_any for one chunk of at most 128 columns from j0, nvec = its
 * vectors (the last one can be partial: mask kl). Inlined with nvec a
 * constant, so that the accumulators stay in registers (gcc keeps eight in
 * registers, not sixteen). */
LT_AVX512 __attribute__((always_inline)) static inline void rows_sum_n(const float *restrict W, size_t ld, size_t j0,
                                                                       const uint32_t *idx, size_t cnt,
                                                                       float *restrict out, const int nvec,
                                                                       __mmask16 kl)
{
    __m512 a[8];
    for (int q = 0; q < nvec; q++) a[q] = _mm512_setzero_ps();
    for (size_t l = 0; l < cnt; l++) {
        const float *w = W + (size_t)idx[l] * ld + j0;
        if (l + 4 < cnt) { /* the rows are scattered: fetch ahead */
            const float *wf = W + (size_t)idx[l + 4] * ld + j0;
            for (int q = 0; q < nvec; q++) _mm_prefetch((const char *)(wf + 16 * q), _MM_HINT_T0);
        }
        for (int q = 0; q + 1 < nvec; q++) a[q] = _mm512_add_ps(a[q], _mm512_loadu_ps(w + 16 * q));
        a[nvec - 1] = _mm512_add_ps(a[nvec - 1], _mm512_maskz_loadu_ps(kl, w + 16 * (nvec - 1)));
    }
    for (int q = 0; q + 1 < nvec; q++) _mm512_storeu_ps(out + j0 + 16 * q, a[q]);
    _mm512_mask_storeu_ps(out + j0 + 16 * (nvec - 1), kl, a[nvec - 1]);
}

/* rows_sum_any for 241 to 256 columns from j0, the last vector masked by
 * kl: sixteen accumulators, one pass over the rows (named, not an array:
 * gcc would keep an array of sixteen in memory). */
LT_AVX512 static void rows_sum_16(const float *restrict W, size_t ld, size_t j0, const uint32_t *idx, size_t cnt,
                                  float *restrict out, __mmask16 kl)
{
#define ALL15(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)
#define DECL(q) __m512 a##q = _mm512_setzero_ps();
#define ADD(q) a##q = _mm512_add_ps(a##q, _mm512_loadu_ps(w + 16 * q));
#define PF(q) _mm_prefetch((const char *)(wf + 16 * q), _MM_HINT_T0);
#define STORE(q) _mm512_storeu_ps(out + j0 + 16 * q, a##q);
    ALL15(DECL)
    __m512 a15 = _mm512_setzero_ps();
    for (size_t l = 0; l < cnt; l++) {
        const float *w = W + (size_t)idx[l] * ld + j0;
        if (l + 4 < cnt) { /* the rows are scattered: fetch ahead */
            const float *wf = W + (size_t)idx[l + 4] * ld + j0;
            ALL15(PF)
            _mm_prefetch((const char *)(wf + 240), _MM_HINT_T0);
        }
        ALL15(ADD)
        a15 = _mm512_add_ps(a15, _mm512_maskz_loadu_ps(kl, w + 240));
    }
    ALL15(STORE)
    _mm512_mask_storeu_ps(out + j0 + 240, kl, a15);
#undef ALL15
#undef DECL
#undef ADD
#undef PF
#undef STORE
}

LT_AVX512 static void rows_sum_512(const float *restrict W, size_t ld, size_t j0, size_t j1, const uint32_t *idx,
                                   size_t cnt, float *restrict out)
{
    if (j1 - j0 > 240) {
        rows_sum_16(W, ld, j0, idx, cnt, out, tail_mask(j0 + 240, j1));
        return;
    }
    for (size_t jc = j0; jc < j1; jc += 128) {
        const size_t jd = jc + 128 < j1 ? jc + 128 : j1;
        const int nvec = (int)((jd - jc + 15) / 16);
        const __mmask16 kl = tail_mask(jc + 16 * (size_t)(nvec - 1), jd);
        switch (nvec) {
#define RS(n)                                                                                                          \
    case n: rows_sum_n(W, ld, jc, idx, cnt, out, n, kl); break;
            RS(1) RS(2) RS(3) RS(4) RS(5) RS(6) RS(7) RS(8)
#undef RS
        default: break;
        }
    }
}

/* The 16 x 16 tile t[a][b] transposed in place: t[b][a]. */
LT_AVX512 static inline void transpose16(__m512 t[16])
{
    __m512 u[16], v[16];
    for (int k = 0; k < 8; k++) { /* lane L: rows 2k, 2k + 1 of columns 4L, 4L + 1 (then 4L + 2, 4L + 3) */
        u[2 * k] = _mm512_unpacklo_ps(t[2 * k], t[2 * k + 1]);
        u[2 * k + 1] = _mm512_unpackhi_ps(t[2 * k], t[2 * k + 1]);
    }
    for (int k = 0; k < 4; k++) { /* v[4k + c], lane L: rows 4k .. 4k + 3 of column 4L + c */
        v[4 * k] = _mm512_shuffle_ps(u[4 * k], u[4 * k + 2], 0x44);
        v[4 * k + 1] = _mm512_shuffle_ps(u[4 * k], u[4 * k + 2], 0xEE);
        v[4 * k + 2] = _mm512_shuffle_ps(u[4 * k + 1], u[4 * k + 3], 0x44);
        v[4 * k + 3] = _mm512_shuffle_ps(u[4 * k + 1], u[4 * k + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) { /* column 4L + c: lane L of v[c], v[4 + c], v[8 + c], v[12 + c] */
        __m512 w0 = _mm512_shuffle_f32x4(v[c], v[4 + c], 0x88), w1 = _mm512_shuffle_f32x4(v[c], v[4 + c], 0xDD);
        __m512 w2 = _mm512_shuffle_f32x4(v[8 + c], v[12 + c], 0x88);
        __m512 w3 = _mm512_shuffle_f32x4(v[8 + c], v[12 + c], 0xDD);
        t[c] = _mm512_shuffle_f32x4(w0, w2, 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(w1, w3, 0x88);
        t[8 + c] = _mm512_shuffle_f32x4(w0, w2, 0xDD);
        t[12 + c] = _mm512_shuffle_f32x4(w1, w3, 0xDD);
    }
}

/* visible_part_any from the rows' lists of on-bits (hl, hc: row r's list
 * of the block at hl + r * hp, its length hc[r * nb]), 16 visible units at
 * a time: their columns [j0, j1) of W transposed into the tile, then each
 * row's part is the sum of the tile's rows that it has on (cnt vectors
 * instead of the j1 - j0 of the dense product). */
LT_AVX512 static void visible_sparse_512(const float *restrict W, size_t nv, size_t ld, size_t j0, size_t j1,
                                         const uint16_t *hl, size_t hp, const uint32_t *hc, size_t nb, size_t R,
                                         float *restrict tile, float *restrict part)
{
    for (size_t i0 = 0; i0 < nv; i0 += 16) {
        const size_t ni = nv - i0 < 16 ? nv - i0 : 16;
        const __mmask16 ki = tail_mask(0, ni);
        for (size_t jb = j0; jb < j1; jb += 16) {
            const __mmask16 k = tail_mask(jb, j1);
            __m512 t[16];
            for (size_t a = 0; a < 16; a++)
                t[a] = a < ni ? _mm512_maskz_loadu_ps(k, W + (i0 + a) * ld + jb) : _mm512_setzero_ps();
            transpose16(t);
            for (int b = 0; b < 16; b++) _mm512_store_ps(tile + (jb - j0 + (size_t)b) * 16, t[b]);
        }
        for (size_t r = 0; r < R; r++) {
            const uint16_t *L = hl + r * hp;
            const size_t n = hc[r * nb];
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
                   a3 = _mm512_setzero_ps();
            size_t l = 0;
            for (; l + 4 <= n; l += 4) {
                a0 = _mm512_add_ps(a0, _mm512_load_ps(tile + (size_t)L[l] * 16));
                a1 = _mm512_add_ps(a1, _mm512_load_ps(tile + (size_t)L[l + 1] * 16));
                a2 = _mm512_add_ps(a2, _mm512_load_ps(tile + (size_t)L[l + 2] * 16));
                a3 = _mm512_add_ps(a3, _mm512_load_ps(tile + (size_t)L[l + 3] * 16));
            }
            for (; l < n; l++) a0 = _mm512_add_ps(a0, _mm512_load_ps(tile + (size_t)L[l] * 16));
            _mm512_mask_storeu_ps(part + r * nv + i0, ki,
                                  _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
        }
    }
}

/* Columns [jc, jd) (jd - jc <= CHUNK) of the update of every row of W that
 * needs one: lists[i * LW ..] holds the rows of hsc that row i sums,
 * counts[i] of them. The rows of hsc are padded with zeros to whole
 * vectors and the buffer has CHUNK floats to spare, so the eight vectors
 * of g are always computed; only the stores into w and vel are masked. */
LT_AVX512 static void chunk_update_512(const row_update *u, size_t nv, size_t ld, const uint32_t *lists, size_t LW,
                                       const uint32_t *counts, size_t jc, size_t jd, float *restrict W,
                                       float *restrict vel_w)
{
    const __m512 keep = _mm512_set1_ps(1.0f - u->dec), dec = _mm512_set1_ps(u->dec), mn = _mm512_set1_ps(u->mn);
    const float *hsc = u->hsc + jc;
    const size_t hp = u->hp;
    for (size_t i = 0; i < nv; i++) {
        const uint32_t *L = lists + i * LW, n = counts[i];
        if (n == 0 && !u->mom && u->dec == 0) continue;
        __m512 g[8];
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) g[q] = _mm512_setzero_ps();
        for (uint32_t l = 0; l < n; l++) {
            const float *h = hsc + (size_t)L[l] * hp;
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++) g[q] = _mm512_add_ps(g[q], _mm512_loadu_ps(h + 16 * q));
        }
        float *w = W + i * ld + jc, *vel = vel_w + i * ld + jc;
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) {
            const __mmask16 k = tail_mask(jc + 16 * (size_t)q, jd);
            __m512 wv = _mm512_maskz_loadu_ps(k, w + 16 * q);
            if (!u->mom) {
                _mm512_mask_storeu_ps(w + 16 * q, k, _mm512_fmadd_ps(wv, keep, g[q]));
            } else {
                __m512 v = _mm512_fnmadd_ps(dec, wv, _mm512_add_ps(_mm512_maskz_loadu_ps(k, vel + 16 * q), g[q]));
                _mm512_mask_storeu_ps(w + 16 * q, k, _mm512_add_ps(wv, v));
                _mm512_mask_storeu_ps(vel + 16 * q, k, _mm512_mul_ps(v, mn));
            }
        }
    }
}

/* tables_any with AVX-512. */
LT_AVX512 static void tables_512(const float *hsc, size_t hp, size_t nd, size_t bmax, size_t R, size_t jc,
                                 float *restrict tbl)
{
    const size_t G = (R + 3) / 4;
    for (size_t g = 0; g < G; g++) {
        float *t = tbl + g * 16 * TCOLS;
        __m512 row[4][2];
        for (size_t b = 0; b < 4; b++) {
            const size_t k = 4 * g + b;
            if (k < R) {
                const float *h = hsc + (k < nd ? k : bmax + k - nd) * hp + jc;
                row[b][0] = _mm512_loadu_ps(h), row[b][1] = _mm512_loadu_ps(h + 16);
            } else {
                row[b][0] = row[b][1] = _mm512_setzero_ps();
            }
        }
        _mm512_store_ps(t, _mm512_setzero_ps()), _mm512_store_ps(t + 16, _mm512_setzero_ps());
        for (unsigned m = 1; m < 16; m++) {
            const unsigned low = m & -m, b = (unsigned)__builtin_ctz(m);
            const float *p = t + (m ^ low) * TCOLS;
            _mm512_store_ps(t + m * TCOLS, _mm512_add_ps(_mm512_load_ps(p), row[b][0]));
            _mm512_store_ps(t + m * TCOLS + 16, _mm512_add_ps(_mm512_load_ps(p + 16), row[b][1]));
        }
    }
}

/* table_update_any with AVX-512 (its sums in two halves, then added). */
LT_AVX512 static void table_update_512(const row_update *u, size_t nv, size_t ld, const uint16_t *toff, size_t G,
                                       const uint64_t *rm, const float *tbl, size_t jc, size_t jd,
                                       float *restrict W, float *restrict vel_w)
{
    const __m512 keep = _mm512_set1_ps(1.0f - u->dec), dec = _mm512_set1_ps(u->dec), mn = _mm512_set1_ps(u->mn);
    const __mmask16 k[2] = {tail_mask(jc, jd), tail_mask(jc + 16, jd)};
    for (size_t i = 0; i < nv; i++) {
        if (rm[i] == 0 && !u->mom && u->dec == 0) continue;
        const uint16_t *o = toff + i * G;
        __m512 a0 = _mm512_load_ps(tbl + o[0]), a1 = _mm512_load_ps(tbl + o[0] + 16);
        __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
        size_t g = 1;
        for (; g + 1 < G; g += 2) {
            a0 = _mm512_add_ps(a0, _mm512_load_ps(tbl + o[g])), a1 = _mm512_add_ps(a1, _mm512_load_ps(tbl + o[g] + 16));
            b0 = _mm512_add_ps(b0, _mm512_load_ps(tbl + o[g + 1]));
            b1 = _mm512_add_ps(b1, _mm512_load_ps(tbl + o[g + 1] + 16));
        }
        if (g < G)
            a0 = _mm512_add_ps(a0, _mm512_load_ps(tbl + o[g])), a1 = _mm512_add_ps(a1, _mm512_load_ps(tbl + o[g] + 16));
        const __m512 gv[2] = {_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1)};
        float *w = W + i * ld + jc, *vel = vel_w + i * ld + jc;
        for (int q = 0; q < 2; q++) {
            __m512 wv = _mm512_maskz_loadu_ps(k[q], w + 16 * q);
            if (!u->mom) {
                _mm512_mask_storeu_ps(w + 16 * q, k[q], _mm512_fmadd_ps(wv, keep, gv[q]));
            } else {
                __m512 v = _mm512_fnmadd_ps(dec, wv, _mm512_add_ps(_mm512_maskz_loadu_ps(k[q], vel + 16 * q), gv[q]));
                _mm512_mask_storeu_ps(w + 16 * q, k[q], _mm512_add_ps(wv, v));
                _mm512_mask_storeu_ps(vel + 16 * q, k[q], _mm512_mul_ps(v, mn));
            }
        }
    }
}

#endif


/* ------------------------------------------------------------ one update */

#if LT_X86
/* The eight lanes' next uniforms, lane q's state in lane q of s[0..3]
 * (xoshiro256**, as lt_rng_u64_inline, then lt_uniformf). */
LT_AVX512 static inline __m256 lanes_uniform(__m512i s[4])
{
    const __m512i x = _mm512_add_epi64(_mm512_slli_epi64(s[1], 2), s[1]); /* s1 * 5 */
    const __m512i y = _mm512_rol_epi64(x, 7), r = _mm512_add_epi64(_mm512_slli_epi64(y, 3), y); /* * 9 */
    const __m512i t = _mm512_slli_epi64(s[1], 17);
    s[2] = _mm512_xor_si512(s[2], s[0]);
    s[3] = _mm512_xor_si512(s[3], s[1]);
    s[1] = _mm512_xor_si512(s[1], s[2]);
    s[0] = _mm512_xor_si512(s[0], s[3]);
    s[2] = _mm512_xor_si512(s[2], t);
    s[3] = _mm512_rol_epi64(s[3], 45);
    /* (r >> 40) * 2^-24 as lt_uniformf: 24 bits, exact in a float */
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm512_cvtepi64_epi32(_mm512_srli_epi64(r, 40))),
                         _mm256_set1_ps(0x1p-24f));
}

LT_AVX512 static uint32_t draw_512(const float *p, size_t n, uint64_t seed, uint64_t key, uint64_t row,
                                   uint32_t *nz, uint16_t *nz16)
{
    lt_rng g[LT_RBM_LANES];
    lt_row_lanes(g, seed, key, row);
    __m512i L[4]; /* word w of lane q's state: g[q].s[w], the 4 q + w-th word of g */
    for (int w = 0; w < 4; w++)
        L[w] = _mm512_i64gather_epi64(_mm512_setr_epi64(w, 4 + w, 8 + w, 12 + w, 16 + w, 20 + w, 24 + w, 28 + w),
                                      (const void *)g, 8);
    const __m512i step = _mm512_set1_epi32(16);
    __m512i j16 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    uint32_t c = 0;
    for (size_t j = 0; j < n; j += 16, j16 = _mm512_add_epi32(j16, step)) {
        const __mmask16 k = tail_mask(j, n);
        /* lane q's next two draws are for j + q and j + 8 + q */
        const __m256 lo = lanes_uniform(L), hi = lanes_uniform(L);
        const __m512 u = _mm512_castpd_ps(
            _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
        const __mmask16 on = _mm512_mask_cmp_ps_mask(k, u, _mm512_maskz_loadu_ps(k, p + j), _CMP_LT_OQ);
        const __m512i idx = _mm512_maskz_compress_epi32(on, j16);
        if (nz) _mm512_storeu_si512(nz + c, idx);
        else _mm256_storeu_si256((__m256i *)(nz16 + c), _mm512_cvtepi32_epi16(idx));
        c += (uint32_t)__builtin_popcount(on);
    }
    return c;
}
#endif

/* The draws of lt_draw_row for n probabilities p (stream `row` of step
 * `key`), as the list of on-bits nz or nz16 (whichever is given; the
 * AVX-512 kernel writes up to n rounded up to 16 entries); returns the
 * count. */
static uint32_t draw_row(const lt_rbm_sparse *s, const float *p, size_t n, uint64_t seed, uint64_t key,
                         uint64_t row, uint32_t *nz, uint16_t *nz16)
{
#if LT_X86
    if (s->avx512) return draw_512(p, n, seed, key, row, nz, nz16);
#else
    (void)s;
#endif
    lt_rng g[LT_RBM_LANES];
    lt_row_lanes(g, seed, key, row);
    uint32_t c = 0;
    for (size_t j = 0; j < n; j++) {
        uint8_t on = lt_uniformf(&g[j % LT_RBM_LANES]) < p[j];
        if (nz) nz[c] = (uint32_t)j; /* branch-free: the draws are coin flips to a predictor */
        else nz16[c] = (uint16_t)j;
        c += on;
    }
    return c;
}

/* Columns [j0, j1) of p(h | v) of a binary row given by its on-list. */
static void hidden_block(const lt_rbm_sparse *s, const lt_rbm *m, const uint32_t *nz, size_t cnt, size_t j0,
                         size_t j1, float *h)
{
#if LT_X86
    if (s->avx512) rows_sum_512(s->W, s->hp, j0, j1, nz, cnt, h);
    else
#endif
        rows_sum_any(s->W, s->hp, j0, j1, nz, cnt, h);
    lt_sigmoid_row(h + j0, m->c + j0, j1 - j0);
}

void lt_rbm_sparse_batch(lt_rbm_sparse *s, lt_rbm *m, const lt_rbm_options *o, const size_t *idx,
                         size_t bn, double lr, double mom, double mom_next, uint64_t step)
{
    const size_t nv = s->nv, nh = s->nh, hp = s->hp, nb = s->nb, P = s->persistent ? s->P : bn;
    const int th = omp_get_thread_num(), nt = omp_get_num_threads();
    thread_state *T = &s->ts[th];
    const uint64_t seed = o->seed;
    const int from_data = !s->persistent || !T->started;
#define BLOCK_LOOP(blk, j0, j1)                                                                                        \
    for (size_t blk = (size_t)th, j0 = blk * LT_RBM_HBLOCK, j1 = j0 + LT_RBM_HBLOCK < nh ? j0 + LT_RBM_HBLOCK : nh;    \
         blk < nb; blk += (size_t)nt, j0 = blk * LT_RBM_HBLOCK, j1 = j0 + LT_RBM_HBLOCK < nh ? j0 + LT_RBM_HBLOCK : nh)

    /* this thread's blocks of the data rows' hidden probabilities; chains
     * that start from the data (CD; PCD's first batch) draw from them */
    BLOCK_LOOP(blk, j0, j1)
    for (size_t r = 0; r < bn; r++) {
        float *h = s->h0 + r * hp;
        const size_t q0 = s->xptr[idx[r]];
        hidden_block(s, m, s->xcol + q0, s->xptr[idx[r] + 1] - q0, j0, j1, h);
        if (from_data && r < P)
            s->hc[r * nb + blk] =
                draw_row(s, h + j0, j1 - j0, seed, step * 4096, r * nb + blk, NULL, s->hl + r * hp + j0);
    }

    for (size_t st = 0; st < o->cd_k; st++) {
        const uint64_t key = step * 4096 + 1 + 2 * (st % 2047);
        float *part = s->part + (T->gibbs++ & 1) * nb * P * nv;
        BLOCK_LOOP(blk, j0, j1)
        {
#if LT_X86
            if (s->avx512)
                visible_sparse_512(s->W, nv, hp, j0, j1, s->hl + j0, hp, s->hc + blk, nb, P, T->tile,
                                   part + blk * P * nv);
            else
#endif
                visible_sparse_any(s->W, nv, hp, j0, j1, s->hl + j0, hp, s->hc + blk, nb, P, T->tile,
                                   part + blk * P * nv);
        }
#pragma omp barrier
        /* every thread draws every chain's visible row (the same draws) */
        for (size_t r = 0; r < P; r++) {
            float *pre = T->pre;
            memcpy(pre, part + r * nv, nv * sizeof(float));
            for (size_t blk = 1; blk < nb; blk++) {
                const float *pb = part + (blk * P + r) * nv;
                for (size_t i = 0; i < nv; i++) pre[i] += pb[i];
            }
            lt_sigmoid_row(pre, T->b, nv);
            T->c1[r] = draw_row(s, pre, nv, seed, key, r, T->nz1 + r * nv, NULL);
        }
        /* the last draw of h matters only to persistent chains */
        const int draw = st + 1 < o->cd_k || s->persistent;
        BLOCK_LOOP(blk, j0, j1)
        for (size_t r = 0; r < P; r++) {
            float *h = s->h1 + r * hp;
            hidden_block(s, m, T->nz1 + r * nv, T->c1[r], j0, j1, h);
            if (draw)
                s->hc[r * nb + blk] =
                    draw_row(s, h + j0, j1 - j0, seed, key + 1, r * nb + blk, NULL, s->hl + r * hp + j0);
        }
    }
    T->started = 1;

    const double sd = 1.0 / (double)bn, sm = 1.0 / (double)P;
    /* this thread's hidden biases, in double over the rows in order, as the
     * GEMM path */
    BLOCK_LOOP(blk, j0, j1)
    for (size_t j = j0; j < j1; j++) {
        double a = 0, z = 0;
        for (size_t r = 0; r < bn; r++) a += s->h0[r * hp + j];
        for (size_t r = 0; r < P; r++) z += s->h1[r * hp + j];
        a *= sd;
        double g = a - z * sm;
        if (o->sparsity_target > 0) {
            s->q[j] = (float)(o->sparsity_decay * s->q[j] + (1 - o->sparsity_decay) * a);
            g -= o->sparsity_cost * (s->q[j] - o->sparsity_target);
        }
        s->vel_c[j] = (float)(mom * s->vel_c[j] + lr * g);
        m->c[j] += s->vel_c[j];
    }

    /* per visible unit, the data and chain rows that have it on: for the
     * tables as a mask of the batch's rows (data rows r, then chain rows
     * bn + r) and the unit's entry in each group's table; otherwise as a list
     * of rows of hsc (data rows r, then chain rows bmax + r). With them, how
     * many rows have it on, for the visible biases (every thread its copy) */
    const size_t LW = s->bmax + s->P, G = (bn + P + 3) / 4;
    uint32_t *n0 = T->n01, *ntot = T->n01 + nv; /* data rows; data and chain rows */
    const int tables = bn + P <= TROWS;
    if (tables) {
        memset(T->rm, 0, nv * sizeof *T->rm);
        for (size_t r = 0; r < bn; r++)
            for (size_t q = s->xptr[idx[r]]; q < s->xptr[idx[r] + 1]; q++) T->rm[s->xcol[q]] |= (uint64_t)1 << r;
        for (size_t r = 0; r < P; r++)
            for (size_t l = 0; l < T->c1[r]; l++) T->rm[T->nz1[r * nv + l]] |= (uint64_t)1 << (bn + r);
        const uint64_t data = ((uint64_t)1 << bn) - 1; /* bn < TROWS < 64 */
        for (size_t i = 0; i < nv; i++) {
            n0[i] = (uint32_t)__builtin_popcountll(T->rm[i] & data);
            ntot[i] = (uint32_t)__builtin_popcountll(T->rm[i]);
            for (size_t g = 0; g < G; g++)
                T->toff[i * G + g] = (uint16_t)((g * 16 + ((T->rm[i] >> (4 * g)) & 15)) * TCOLS);
        }
    } else {
        memset(T->n01, 0, 2 * nv * sizeof *T->n01);
        for (size_t r = 0; r < bn; r++)
            for (size_t q = s->xptr[idx[r]]; q < s->xptr[idx[r] + 1]; q++) {
                uint32_t i = s->xcol[q];
                T->lists[i * LW + ntot[i]++] = (uint32_t)r;
            }
        memcpy(n0, ntot, nv * sizeof *n0);
        for (size_t r = 0; r < P; r++)
            for (size_t l = 0; l < T->c1[r]; l++) {
                uint32_t i = T->nz1[r * nv + l];
                T->lists[i * LW + ntot[i]++] = (uint32_t)(s->bmax + r);
            }
    }
    for (size_t i = 0; i < nv; i++) {
        double gb = (double)n0[i] * sd - (double)(ntot[i] - n0[i]) * sm;
        T->vel_b[i] = (float)(mom * T->vel_b[i] + lr * gb);
        T->b[i] += T->vel_b[i];
    }

    /* this thread's columns of the hidden rows scaled by their factors in
     * the gradient (lr / B for the data, -lr / P for the chains), as the
     * GEMM path scales them */
    const float f0 = (float)(lr * sd), f1 = (float)(-lr * sm);
    BLOCK_LOOP(blk, j0, j1)
    {
        for (size_t r = 0; r < bn; r++)
            for (size_t j = j0; j < j1; j++) s->hsc[r * hp + j] = s->h0[r * hp + j] * f0;
        for (size_t r = 0; r < P; r++)
            for (size_t j = j0; j < j1; j++) s->hsc[(s->bmax + r) * hp + j] = s->h1[r * hp + j] * f1;
    }

    /* this thread's columns of W, a chunk of columns at a time over every
     * row, so that the chunk of hsc stays in L1 */
    const float dec = (float)(lr * o->weight_decay);
    const int mom_on = !(mom == 0 && mom_next == 0);
    const row_update u = {.hsc = s->hsc, .hp = hp, .dec = dec, .mn = (float)mom_next, .mom = mom_on};
    if (tables) {
        BLOCK_LOOP(blk, j0, j1)
        for (size_t jc = j0; jc < j1; jc += TCOLS) {
            const size_t jd = jc + TCOLS < j1 ? jc + TCOLS : j1;
#if LT_X86
            if (s->avx512) {
                tables_512(s->hsc, hp, bn, s->bmax, bn + P, jc, T->tbl);
                table_update_512(&u, nv, hp, T->toff, G, T->rm, T->tbl, jc, jd, s->W, s->vel_w);
                continue;
            }
#endif
            tables_any(s->hsc, hp, bn, s->bmax, bn + P, jc, T->tbl);
            table_update_any(&u, nv, hp, T->toff, G, T->rm, T->tbl, jc, jd, s->W, s->vel_w);
        }
    } else {
        BLOCK_LOOP(blk, j0, j1)
        for (size_t jc = j0; jc < j1; jc += CHUNK) {
            size_t jd = jc + CHUNK < j1 ? jc + CHUNK : j1;
#if LT_X86
            if (s->avx512) {
                chunk_update_512(&u, nv, hp, T->lists, LW, ntot, jc, jd, s->W, s->vel_w);
                continue;
            }
#endif
            for (size_t i = 0; i < nv; i++) {
                row_update ui = u;
                ui.L = T->lists + i * LW, ui.n = ntot[i];
                if (ui.n > 0 || mom_on || dec != 0)
                    row_update_any(&ui, jc, jd, s->W + i * hp, s->vel_w + i * hp, T->g);
            }
        }
    }
#undef BLOCK_LOOP
}

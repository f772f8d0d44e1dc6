/* Time GHMM's Baum-Welch (libghmm, Debian libghmm-dev 0.9~rc3) the way
 * bench/hmm_latent.c times latent.
 *
 *   hmm_ghmm english DATA.txt --k K --init PREFIX [--n 200000 (symbols; gauss: rows, 0 = all)]
 *   hmm_ghmm gauss DATA.npy --k K --init PREFIX [--seq-len 10000]
 *            [--m1 1 --m2 3 --tag NAME]
 *
 * Same data, same initial parameters (bench/hmm_data.py) as the other
 * programs. Two fits from fresh copies of the initial model run m1 and m2
 * iterations; (t2 - t1) / (m2 - m1) is one iteration.
 *
 * english: a discrete model (ghmm_dmodel, 27 symbols, every transition
 * allowed), trained by ghmm_dmodel_baum_welch_nstep with
 * likelihood_delta = 0, so it stops early only if the likelihood does not
 * increase. After its loop GHMM scores the trained model once more; that
 * fixed cost cancels in the subtraction.
 *
 * gauss: GHMM has no diagonal-covariance density. The nearest it has is
 * one multivariate normal per state (ghmm_cmodel, type multinormal, full
 * covariance), started from the same diagonal covariances; so this column
 * estimates d(d+1)/2 = 10 covariance entries per state where the others
 * estimate 4, its M-step takes covariances about the previous iteration's
 * means (GHMM's formula), and it floors each covariance entry at
 * |u| >= 1e-4. ghmm_cmodel_baum_welch also stops by itself once an
 * iteration improves the log-likelihood by less than 1e-4 of its value
 * (GHMM_EPS_ITER_BW, a floor on the caller's eps); the iterations that ran
 * are counted from its log ("BW Iter") and the time is divided by those.
 *
 * GHMM has no threads: this program always runs on one (threads=1 in the
 * RESULT line).
 *
 * The quality is the log-likelihood per step of the m2 model
 * (ghmm_dmodel_logp / ghmm_cmodel_logp over the sequences, not timed).
 */
#include "hmm_util.h"

#include <lapacke.h>
#include <math.h>

#include <ghmm/foba.h>
#include <ghmm/ghmm.h>
#include <ghmm/model.h>
#include <ghmm/reestimate.h>
#include <ghmm/sfoba.h>
#include <ghmm/smodel.h>
#include <ghmm/sreestimate.h>

static const char *prog = "hmm_ghmm";

/* Debian's libghmm calls ATLAS's C LAPACK interface (clapack_dgetrf,
 * clapack_dgetri, clapack_dpotrf; for multivariate normals only) but
 * links liblapack.so.3, which under OpenBLAS does not have it. These three
 * provide it through LAPACKE, with ATLAS's conventions: order and uplo are
 * the CBLAS enum values (101 row-major, 102 column-major; 121 upper, 122
 * lower), the result is LAPACK's info, and pivot indices are 0-based (LAPACK
 * counts from 1). main() checks what GHMM derives from them (inverse and
 * determinant of each covariance) after training. */
int clapack_dgetrf(int order, int m, int n, double *a, int lda, int *ipiv);
int clapack_dgetri(int order, int n, double *a, int lda, const int *ipiv);
int clapack_dpotrf(int order, int uplo, int n, double *a, int lda);

int clapack_dgetrf(int order, int m, int n, double *a, int lda, int *ipiv)
{
    int info = (int)LAPACKE_dgetrf(order, m, n, a, lda, ipiv);
    for (int i = 0; i < (m < n ? m : n); i++)
        ipiv[i] -= 1;
    return info;
}

int clapack_dgetri(int order, int n, double *a, int lda, const int *ipiv)
{
    int *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p) return -1;
    for (int i = 0; i < n; i++)
        p[i] = ipiv[i] + 1;
    int info = (int)LAPACKE_dgetri(order, n, a, lda, p);
    free(p);
    return info;
}

int clapack_dpotrf(int order, int uplo, int n, double *a, int lda)
{
    return (int)LAPACKE_dpotrf(order, uplo == 122 ? 'L' : 'U', n, a, lda);
}

/* Largest |S^-1 S - I| entry and relative error of det over the states:
 * GHMM's derived inverse and determinant against its covariance. */
static double cmodel_check_inverse(const ghmm_cmodel *mo, size_t d)
{
    double worst = 0.0;
    for (int i = 0; i < mo->N; i++) {
        const ghmm_c_emission *e = &mo->s[i].e[0];
        double lu[64], det = 1.0;
        int piv[8];
        if (d > 8) return NAN;
        memcpy(lu, e->variance.mat, d * d * sizeof(double));
        if (LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (int)d, (int)d, lu, (int)d, piv) != 0) return INFINITY;
        for (size_t a = 0; a < d; a++)
            det *= lu[a * d + a] * (piv[a] != (int)a + 1 ? -1.0 : 1.0);
        worst = fmax(worst, fabs(e->det - det) / fabs(det));
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < d; b++) {
                double s = 0.0;
                for (size_t c = 0; c < d; c++)
                    s += e->sigmainv[a * d + c] * e->variance.mat[c * d + b];
                worst = fmax(worst, fabs(s - (a == b ? 1.0 : 0.0)));
            }
    }
    return worst;
}

/* What GHMM logged during the last training call. */
static size_t bw_iterations;
static int log_echo;

static void capture_log(int level, const char *msg, void *ud)
{
    (void)ud;
    if (strstr(msg, "BW Iter")) bw_iterations++;
    if (log_echo || level <= 1) fprintf(stderr, "%s: ghmm[%d]: %s\n", prog, level, msg);
}

/* ---- discrete -------------------------------------------------------------- */

static ghmm_dmodel *dmodel_new(size_t k, const double *start, const double *trans, const double *emit)
{
    int *deg = malloc(k * sizeof *deg);
    if (!deg) bench_die(prog, "out of memory", NULL);
    for (size_t i = 0; i < k; i++)
        deg[i] = (int)k;
    ghmm_dmodel *mo = ghmm_dmodel_calloc(HMM_N_SYMBOLS, (int)k, GHMM_kDiscreteHMM, deg, deg);
    free(deg);
    if (!mo) bench_die(prog, "ghmm_dmodel_calloc failed", NULL);
    for (size_t i = 0; i < k; i++) {
        ghmm_dstate *s = &mo->s[i];
        s->pi = start[i];
        s->out_states = s->in_states = (int)k;
        for (size_t j = 0; j < k; j++) {
            s->out_id[j] = (int)j;
            s->out_a[j] = trans[i * k + j];
            s->in_id[j] = (int)j;
            s->in_a[j] = trans[j * k + i];
        }
        for (size_t m = 0; m < HMM_N_SYMBOLS; m++)
            s->b[m] = emit[i * HMM_N_SYMBOLS + m];
    }
    if (ghmm_dmodel_check(mo) != 0) bench_die(prog, "ghmm_dmodel_check rejected the initial model", NULL);
    return mo;
}

static ghmm_dseq *dseq_new(const int32_t *sym, const size_t *lengths, size_t n_seqs)
{
    ghmm_dseq *sq = ghmm_dseq_calloc((long)n_seqs);
    if (!sq) bench_die(prog, "ghmm_dseq_calloc failed", NULL);
    size_t off = 0;
    for (size_t i = 0; i < n_seqs; i++) {
        int *s = malloc(lengths[i] * sizeof *s);
        if (!s) bench_die(prog, "out of memory", NULL);
        for (size_t t = 0; t < lengths[i]; t++)
            s[t] = sym[off + t];
        off += lengths[i];
        sq->seq[i] = s;
        sq->seq_len[i] = (int)lengths[i];
        sq->seq_w[i] = 1.0;
    }
    sq->seq_number = (long)n_seqs;
    sq->total_w = (double)n_seqs;
    return sq;
}

/* ---- continuous (multivariate normal, full covariance) ---------------------- */

static ghmm_cmodel *cmodel_new(size_t k, size_t d, const double *start, const double *trans, const double *means,
                               const double *vars)
{
    ghmm_cmodel *mo = ghmm_cmodel_calloc((int)k, GHMM_kContinuousHMM | GHMM_kMultivariate);
    if (!mo) bench_die(prog, "ghmm_cmodel_calloc failed", NULL);
    mo->M = 1;
    mo->dim = (int)d;
    mo->cos = 1;
    mo->prior = -1;
    for (size_t i = 0; i < k; i++) {
        ghmm_cstate *s = &mo->s[i];
        if (ghmm_cstate_alloc(s, 1, (int)k, (int)k, 1) != 0) bench_die(prog, "ghmm_cstate_alloc failed", NULL);
        s->M = 1;
        s->pi = start[i];
        s->out_states = s->in_states = (int)k;
        s->fix = 0;
        for (size_t j = 0; j < k; j++) {
            s->out_id[j] = (int)j;
            s->out_a[0][j] = trans[i * k + j];
            s->in_id[j] = (int)j;
            s->in_a[0][j] = trans[j * k + i];
        }
        s->c[0] = 1.0;
        ghmm_c_emission *e = &s->e[0];
        e->type = multinormal;
        e->dimension = (int)d;
        e->fixed = 0;
        if (ghmm_c_emission_alloc(e, (int)d) != 0) bench_die(prog, "ghmm_c_emission_alloc failed", NULL);
        /* The initial covariance is diagonal: its inverse, determinant and
         * Cholesky factor are written directly. */
        double det = 1.0;
        for (size_t a = 0; a < d; a++) {
            e->mean.vec[a] = means[i * d + a];
            for (size_t b = 0; b < d; b++) {
                double v = a == b ? vars[i * d + a] : 0.0;
                e->variance.mat[a * d + b] = v;
                e->sigmainv[a * d + b] = a == b ? 1.0 / v : 0.0;
                e->sigmacd[a * d + b] = a == b ? sqrt(v) : 0.0;
            }
            det *= vars[i * d + a];
        }
        e->det = det;
    }
    if (ghmm_cmodel_check(mo) != 0) bench_die(prog, "ghmm_cmodel_check rejected the initial model", NULL);
    return mo;
}

static ghmm_cseq *cseq_new(const double *X, size_t d, const size_t *lengths, size_t n_seqs)
{
    ghmm_cseq *sq = ghmm_cseq_calloc((long)n_seqs);
    if (!sq) bench_die(prog, "ghmm_cseq_calloc failed", NULL);
    size_t off = 0;
    for (size_t i = 0; i < n_seqs; i++) {
        double *s = malloc(lengths[i] * d * sizeof *s);
        if (!s) bench_die(prog, "out of memory", NULL);
        memcpy(s, X + off * d, lengths[i] * d * sizeof *s);
        off += lengths[i];
        sq->seq[i] = s;
        sq->seq_len[i] = (int)(lengths[i] * d); /* GHMM counts doubles, not steps */
        sq->seq_w[i] = 1.0;
    }
    sq->seq_number = (long)n_seqs;
    sq->total_w = (double)n_seqs;
    sq->dim = (int)d;
    return sq;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argv[1][0] == '-') {
        fprintf(stderr,
                "usage: %s english|gauss DATA --k K --init PREFIX [--n SYMBOLS --seq-len L --m1 M1 --m2 M2\n"
                "       --tag NAME --verbose 1]\n",
                prog);
        return 2;
    }
    const char *kind = argv[1], *path = argv[2];
    int english = strcmp(kind, "english") == 0;
    if (!english && strcmp(kind, "gauss") != 0) bench_die(prog, "the case is english or gauss", kind);
    size_t k = bench_arg_size(argc, argv, "--k", 16);
    const char *prefix = bench_arg(argc, argv, "--init", NULL);
    size_t limit = bench_arg_size(argc, argv, "--n", english ? 200000 : 0); /* symbols, or rows */
    size_t seq_len = bench_arg_size(argc, argv, "--seq-len", 10000);
    size_t m1 = bench_arg_size(argc, argv, "--m1", 1), m2 = bench_arg_size(argc, argv, "--m2", 3);
    const char *tag = bench_arg(argc, argv, "--tag", "-");
    log_echo = (int)bench_arg_size(argc, argv, "--verbose", 0);
    if (!prefix) bench_die(prog, "--init PREFIX is required", NULL);
    if (m2 <= m1 || m1 == 0) bench_die(prog, "need 0 < m1 < m2", NULL);
    ghmm_set_logfunc(capture_log, NULL);
    ghmm_set_loglevel(10); /* everything reaches capture_log, which keeps quiet */

    size_t n_seqs, total, d = 1, *lengths;
    int32_t *sym = NULL;
    double *X = NULL;
    if (english) {
        sym = hmm_english_read(prog, path, limit, &lengths, &n_seqs, &total);
    } else {
        X = bench_npy_read(prog, path, limit, &total, &d);
        lengths = hmm_even_lengths(prog, total, seq_len, &n_seqs);
    }
    double *start = hmm_init_read(prog, prefix, "start", 1, k);
    double *trans = hmm_init_read(prog, prefix, "trans", k, k);
    double *emit = english ? hmm_init_read(prog, prefix, "emit", k, HMM_N_SYMBOLS) : NULL;
    double *means = english ? NULL : hmm_init_read(prog, prefix, "means", k, d);
    double *vars = english ? NULL : hmm_init_read(prog, prefix, "vars", k, d);

    size_t ms[2] = {m1, m2}, iters[2];
    double secs[2], ll = 0.0;
    int early = 0;
    if (english) {
        ghmm_dseq *sq = dseq_new(sym, lengths, n_seqs);
        for (int r = 0; r < 2; r++) {
            ghmm_dmodel *mo = dmodel_new(k, start, trans, emit);
            double t0 = bench_now();
            if (ghmm_dmodel_baum_welch_nstep(mo, sq, (int)ms[r], 0.0) != 0)
                bench_die(prog, "ghmm_dmodel_baum_welch_nstep failed", NULL);
            secs[r] = bench_now() - t0;
            iters[r] = ms[r]; /* the discrete loop does not log its iterations; delta 0 stops only on a decrease */
            if (r == 1) {
                for (size_t i = 0; i < n_seqs; i++) {
                    double lp;
                    if (ghmm_dmodel_logp(mo, sq->seq[i], sq->seq_len[i], &lp) != 0)
                        bench_die(prog, "ghmm_dmodel_logp failed", NULL);
                    ll += lp;
                }
            }
            ghmm_dmodel_free(&mo);
        }
        ghmm_dseq_free(&sq);
    } else {
        ghmm_cseq *sq = cseq_new(X, d, lengths, n_seqs);
        for (int r = 0; r < 2; r++) {
            ghmm_cmodel *mo = cmodel_new(k, d, start, trans, means, vars);
            double logp = 0.0;
            ghmm_cmodel_baum_welch_context cs = {mo, sq, &logp, 0.0, (int)ms[r]};
            bw_iterations = 0;
            double t0 = bench_now();
            if (ghmm_cmodel_baum_welch(&cs) != 0) bench_die(prog, "ghmm_cmodel_baum_welch failed", NULL);
            secs[r] = bench_now() - t0;
            iters[r] = bw_iterations ? bw_iterations : ms[r];
            if (iters[r] != ms[r]) {
                early = 1;
                fprintf(stderr, "%s: warning: GHMM stopped after %zu of %zu iterations (its 1e-4 relative rule)\n",
                        prog, iters[r], ms[r]);
            }
            if (r == 1) {
                double err = cmodel_check_inverse(mo, d);
                if (!(err < 1e-8))
                    bench_die(prog, "GHMM's covariance inverse or determinant is off (clapack shims?)", NULL);
                for (size_t i = 0; i < n_seqs; i++) {
                    double lp;
                    if (ghmm_cmodel_logp(mo, sq->seq[i], sq->seq_len[i], &lp) != 0)
                        bench_die(prog, "ghmm_cmodel_logp failed", NULL);
                    ll += lp;
                }
            }
            ghmm_cmodel_free(&mo);
        }
        ghmm_cseq_free(&sq);
    }
    if (iters[1] <= iters[0]) bench_die(prog, "the m2 fit ran no more iterations than the m1 fit", NULL);
    double per_iter = (secs[1] - secs[0]) / (double)(iters[1] - iters[0]);
    ll /= (double)total;
    double flops = hmm_fb_flops((double)total, (double)k);

    fprintf(stderr,
            "%s: %s %s T=%zu in %zu sequences, k=%zu d=%zu threads=1: %.4f s/iteration (%.1f ns/step, %.2f GFLOP/s), "
            "log-likelihood per step %.6f\n",
            prog, tag, kind, total, n_seqs, k, d, per_iter, per_iter / (double)total * 1e9, flops / per_iter * 1e-9,
            ll);
    printf("RESULT impl=ghmm tag=%s case=%s t=%zu n_seqs=%zu k=%zu d=%zu threads=1 m1=%zu m2=%zu iters1=%zu "
           "iters2=%zu t1=%.6f t2=%.6f sec_per_iter=%.6f fb_flops=%.6e loglik=%.10f early_stop=%d%s\n",
           tag, kind, total, n_seqs, k, d, m1, m2, iters[0], iters[1], secs[0], secs[1], per_iter, flops, ll, early,
           english ? "" : " cov=full");

    free(start);
    free(trans);
    free(emit);
    free(means);
    free(vars);
    free(lengths);
    free(sym);
    free(X);
    return 0;
}

/* Time latent's RBM training the way bench/rbm_sklearn.py times
 * scikit-learn's BernoulliRBM, and score models on held-out data.
 *
 *   rbm_latent TRAIN.npy TEST.npy --hidden H --batch B --lr LR [--e1 1 --e2 4]
 *              [--cd 1] [--pcd 1] [--momentum 0] [--weight-decay 0] [--threads 2]
 *              [--seed 0] [--n ROWS] [--n-test ROWS] [--save MODEL.safetensors]
 *              [--ais-runs 0] [--ais-betas 10000] [--pl-seeds 10] [--tag NAME] [--impl latent]
 *   rbm_latent TRAIN.npy TEST.npy --score-only 1 [--model MODEL.safetensors]
 *              [--sklearn-params PREFIX] --ais-runs R [--ais-betas K] [...]
 *
 * TRAIN and TEST are float32 (n x nv) .npy files of 0/1 values
 * (bench/rbm_data.py).
 *
 * Fit mode. The defaults are scikit-learn's algorithm: PCD-1 (persistent
 * chains, one Gibbs step per update; as many chains as the batch has rows),
 * no momentum (momentum = initial_momentum = 0), no weight decay, weights
 * N(0, 0.01^2), a constant learning rate; --cd, --pcd, --momentum and
 * --weight-decay change that (the CD-25 run of bench/run_rbm.sh). What still
 * differs from BernoulliRBM: latent starts the visible biases at the data's
 * log-odds (Hinton's guide) where scikit-learn starts them at 0, starts the
 * persistent chains from the first batch rather than from h = 0, and visits
 * the rows in a fresh random order each epoch where scikit-learn takes the
 * same slices in the data's order. An untimed warm-up fit of one epoch on at
 * most 1,000 rows, then two fits from the same seed of exactly e1 and e2
 * epochs; (t2 - t1) / (e2 - e1) is one epoch with the fixed costs
 * (validation, the data means, allocation, the reconstruction error at the
 * end) cancelled. With --e1 0 a single fit of e2 epochs runs and t2 / e2 is
 * reported (the fixed costs included).
 *
 * Flops per epoch, counted as the matrix formulation needs them (a multiply
 * and an add each one flop; sigmoids, draws and the parameter update not
 * counted): for every batch of B rows the positive hidden pass (2 B nv nh),
 * k Gibbs steps of the B chains, each a visible and a hidden pass
 * (4 B nv nh), and the weight gradient as one GEMM over the 2B stacked data
 * and chain rows (4 B nv nh): (6 + 4k) n nv nh per epoch, 10 n nv nh for
 * PCD-1 (scikit-learn does the same five products of B rows).
 *
 * Held-out pseudo-likelihood of the e2 model (lt_rbm_pseudo_likelihood,
 * scikit-learn's estimator: one visible unit per row flipped at random):
 * pl_test with seed 0 as scikit-learn reports it, and pl_test_avg, the mean
 * over --pl-seeds seeds (less noisy).
 *
 * With --ais-runs R > 0, log Z of the e2 model is estimated by annealed
 * importance sampling (lt_rbm_ais, R runs, --ais-betas intermediate
 * distributions, the base model the training data's visible marginals),
 * and the held-out mean log p(v) = -F(v) - log Z is reported with the
 * standard error of log Z (the AIS error, the same for every row) and the
 * standard error of the mean over the rows.
 *
 * Score-only mode scores saved models without training: --model, a model
 * lt_rbm_save wrote (the fit mode's --save), and --sklearn-params PREFIX,
 * scikit-learn's fitted parameters as bench/rbm_sklearn.py --save-params
 * writes them (PREFIX-components.npy, H x nv; PREFIX-intercept_hidden.npy;
 * PREFIX-intercept_visible.npy), loaded into an lt_rbm with W =
 * components_' (latent's W is nv x nh, row-major), b = intercept_visible_,
 * c = intercept_hidden_, and the AIS base model from the training data's
 * means as for latent's own models.
 *
 * Prints "RESULT " lines (key=value pairs) on stdout: kind=fit for a timed
 * fit (impl=--impl, default "latent"; omp_wait_policy is the environment's
 * OMP_WAIT_POLICY), kind=ais for each model scored by AIS; bench/run_rbm.sh collects them.
 */
#include "bench_util.h"

#include "latent/rbm.h"

#include <math.h>

static const char *prog = "rbm_latent";

/* Read a little-endian float32, C-order NPY file of 1 or 2 dimensions (a
 * 1-D array is read as one column). Only the first `limit` rows are kept
 * when limit > 0. The result is malloc'ed. */
static float *npy_read_f32(const char *path, size_t limit, size_t *rows, size_t *cols)
{
    FILE *f = fopen(path, "rb");
    if (!f) bench_die(prog, "cannot open", path);
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) bench_die(prog, "not an NPY file", path);
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) bench_die(prog, "truncated NPY header", path);
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        bench_die(prog, "unsupported NPY version", path);
    }
    if (hlen > 65536) bench_die(prog, "NPY header too long", path);
    char *h = calloc(hlen + 1, 1);
    if (!h || fread(h, 1, hlen, f) != hlen) bench_die(prog, "truncated NPY header", path);
    if (!strstr(h, "'descr': '<f4'")) bench_die(prog, "NPY dtype is not little-endian float32 ('<f4')", path);
    if (!strstr(h, "'fortran_order': False")) bench_die(prog, "NPY array is not in C order", path);
    const char *sh = strstr(h, "'shape': (");
    unsigned long long r = 0, c = 0;
    if (!sh) bench_die(prog, "NPY header has no shape", path);
    if (sscanf(sh + 10, "%llu, %llu)", &r, &c) == 2) {
    } else if (sscanf(sh + 10, "%llu,)", &r) == 1) {
        c = 1;
    } else {
        bench_die(prog, "NPY array is not 1-D or 2-D", path);
    }
    if (r == 0 || c == 0) bench_die(prog, "NPY array is empty", path);
    free(h);
    size_t keep = limit > 0 && limit < r ? limit : (size_t)r;
    if ((size_t)c > SIZE_MAX / sizeof(float) / keep) bench_die(prog, "NPY array too large", path);
    float *X = malloc(keep * (size_t)c * sizeof(float));
    if (!X) bench_die(prog, "out of memory reading", path);
    if (fread(X, sizeof(float), keep * (size_t)c, f) != keep * (size_t)c) bench_die(prog, "truncated NPY data", path);
    fclose(f);
    *rows = keep;
    *cols = (size_t)c;
    return X;
}

static lt_rbm *fit(const float *X, size_t n, size_t nv, const lt_rbm_options *o, double *seconds)
{
    lt_rbm *m = NULL;
    double t0 = bench_now();
    lt_status s = lt_rbm_fit(o, X, n, nv, &m);
    *seconds = bench_now() - t0;
    if (s != LT_OK) bench_die(prog, "lt_rbm_fit failed", lt_last_error());
    return m;
}

static double mean_of(const double *v, size_t n, double *se)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    double mu = s / (double)n;
    for (size_t i = 0; i < n; i++) ss += (v[i] - mu) * (v[i] - mu);
    if (se) *se = n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : 0.0;
    return mu;
}

/* Mean pseudo-likelihood of n rows with seed `seed`. */
static double pseudo_ll(const lt_rbm *m, const float *T, size_t n, uint64_t seed, int threads, double *buf)
{
    if (lt_rbm_pseudo_likelihood(m, T, n, seed, threads, buf) != LT_OK)
        bench_die(prog, "lt_rbm_pseudo_likelihood failed", lt_last_error());
    return mean_of(buf, n, NULL);
}

/* AIS log Z of m, then the mean held-out log p(v); one RESULT kind=ais line. */
static void score_ais(const lt_rbm *m, const char *impl, const char *tag, const float *X, size_t n,
                      const float *T, size_t nt, size_t runs, size_t betas, uint64_t seed, int threads,
                      size_t pl_seeds)
{
    lt_ais_options ao;
    lt_ais_options_default(&ao);
    ao.runs = runs;
    ao.betas = betas;
    ao.seed = seed;
    ao.threads = threads;
    lt_ais_result r;
    double t0 = bench_now();
    if (lt_rbm_ais(m, &ao, &r) != LT_OK) bench_die(prog, "lt_rbm_ais failed", lt_last_error());
    double ais_sec = bench_now() - t0;
    size_t nmax = nt > n ? nt : n;
    double *lp = malloc(nmax * sizeof *lp);
    if (!lp) bench_die(prog, "out of memory", NULL);
    if (lt_rbm_log_prob(m, T, nt, r.log_z, threads, lp) != LT_OK)
        bench_die(prog, "lt_rbm_log_prob failed", lt_last_error());
    double se_rows;
    double ll_test = mean_of(lp, nt, &se_rows);
    size_t ntr = n < 2000 ? n : 2000;
    if (lt_rbm_log_prob(m, X, ntr, r.log_z, threads, lp) != LT_OK)
        bench_die(prog, "lt_rbm_log_prob failed", lt_last_error());
    double ll_train = mean_of(lp, ntr, NULL);
    double pl0 = pseudo_ll(m, T, nt, 0, threads, lp), pls = 0;
    for (size_t s = 0; s < pl_seeds; s++) pls += pseudo_ll(m, T, nt, s, threads, lp);
    free(lp);
    fprintf(stderr,
            "%s: %s %s nv=%zu H=%zu: AIS (%zu runs, %zu betas, %.1f s) log Z = %.4f +- %.4f (ESS %.1f), "
            "held-out log p = %.4f (rows' se %.4f), training rows %.4f; pseudo-likelihood (latent's) %.4f\n",
            prog, tag, impl, m->nv, m->nh, runs, betas, ais_sec, r.log_z, r.log_z_stderr, r.ess, ll_test, se_rows,
            ll_train, pls / (double)pl_seeds);
    printf("RESULT impl=%s kind=ais tag=%s nv=%zu hidden=%zu n_test=%zu ais_runs=%zu ais_betas=%zu ais_sec=%.3f "
           "log_z=%.6f log_z_se=%.6f log_z_base=%.6f ess=%.3f ll_test=%.6f ll_test_rows_se=%.6f ll_train=%.6f "
           "pl_test_latent=%.6f pl_test_latent_avg=%.6f threads=%d\n",
           impl, tag, m->nv, m->nh, nt, runs, betas, ais_sec, r.log_z, r.log_z_stderr, r.log_z_base, r.ess, ll_test,
           se_rows, ll_train, pl0, pls / (double)pl_seeds, threads);
}

/* scikit-learn's parameters (rbm_sklearn.py --save-params) as an lt_rbm. */
static lt_rbm *load_sklearn(const char *prefix, size_t nv_expect, const float *X, size_t n)
{
    char path[4096];
    size_t h, nv, a, b;
    snprintf(path, sizeof path, "%s-components.npy", prefix);
    float *comp = npy_read_f32(path, 0, &h, &nv);
    if (nv != nv_expect) bench_die(prog, "components_ has the wrong width", path);
    snprintf(path, sizeof path, "%s-intercept_hidden.npy", prefix);
    float *ch = npy_read_f32(path, 0, &a, &b);
    if (a != h || b != 1) bench_die(prog, "intercept_hidden_ has the wrong size", path);
    snprintf(path, sizeof path, "%s-intercept_visible.npy", prefix);
    float *cv = npy_read_f32(path, 0, &a, &b);
    if (a != nv || b != 1) bench_die(prog, "intercept_visible_ has the wrong size", path);
    lt_rbm *m;
    if (lt_rbm_create(nv, h, LT_RBM_BERNOULLI, &m) != LT_OK) bench_die(prog, "lt_rbm_create failed", lt_last_error());
    for (size_t j = 0; j < h; j++)
        for (size_t i = 0; i < nv; i++) m->w[i * h + j] = comp[j * nv + i];
    memcpy(m->b, cv, nv * sizeof(float));
    memcpy(m->c, ch, h * sizeof(float));
    /* the AIS base model: the training data's visible means, as lt_rbm_fit sets them */
    for (size_t i = 0; i < nv; i++) {
        double s = 0;
        for (size_t r = 0; r < n; r++) s += X[r * nv + i];
        m->data_mean[i] = (float)(s / (double)n);
    }
    free(comp);
    free(ch);
    free(cv);
    return m;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        fprintf(stderr,
                "usage: %s TRAIN.npy TEST.npy --hidden H --batch B --lr LR [--e1 E1 --e2 E2 --cd K --pcd 0|1\n"
                "       --momentum M --weight-decay L --threads T --seed S --n ROWS --n-test ROWS\n"
                "       --save MODEL --ais-runs R --ais-betas K --pl-seeds P --tag NAME]\n"
                "   or: %s TRAIN.npy TEST.npy --score-only 1 [--model MODEL] [--sklearn-params PREFIX]\n"
                "       --ais-runs R [--ais-betas K --threads T --tag NAME ...]\n",
                prog, prog);
        return 2;
    }
    const char *train_path = argv[1], *test_path = argv[2];
    size_t hidden = bench_arg_size(argc, argv, "--hidden", 500);
    size_t batch = bench_arg_size(argc, argv, "--batch", 20);
    double lr = atof(bench_arg(argc, argv, "--lr", "0.05"));
    size_t e1 = bench_arg_size(argc, argv, "--e1", 1), e2 = bench_arg_size(argc, argv, "--e2", 4);
    size_t cd = bench_arg_size(argc, argv, "--cd", 1);
    int pcd = (int)bench_arg_size(argc, argv, "--pcd", 1);
    double momentum = atof(bench_arg(argc, argv, "--momentum", "0"));
    double wdecay = atof(bench_arg(argc, argv, "--weight-decay", "0"));
    int threads = (int)bench_arg_size(argc, argv, "--threads", 2);
    uint64_t seed = bench_arg_size(argc, argv, "--seed", 0);
    size_t limit = bench_arg_size(argc, argv, "--n", 0), limit_t = bench_arg_size(argc, argv, "--n-test", 0);
    const char *save = bench_arg(argc, argv, "--save", NULL);
    size_t ais_runs = bench_arg_size(argc, argv, "--ais-runs", 0);
    size_t ais_betas = bench_arg_size(argc, argv, "--ais-betas", 10000);
    size_t pl_seeds = bench_arg_size(argc, argv, "--pl-seeds", 10);
    int score_only = (int)bench_arg_size(argc, argv, "--score-only", 0);
    const char *model_path = bench_arg(argc, argv, "--model", NULL);
    const char *sk_prefix = bench_arg(argc, argv, "--sklearn-params", NULL);
    const char *tag = bench_arg(argc, argv, "--tag", "-");
    /* the name on the RESULT line of a fit (run_rbm.sh: "latent-passive" for
     * the same program under OMP_WAIT_POLICY=passive) */
    const char *impl = bench_arg(argc, argv, "--impl", "latent");
    if (pl_seeds == 0) pl_seeds = 1;

    size_t n, nv, nt, nvt;
    float *X = npy_read_f32(train_path, limit, &n, &nv);
    float *T = npy_read_f32(test_path, limit_t, &nt, &nvt);
    if (nvt != nv) bench_die(prog, "the training and held-out data differ in width", NULL);

    if (score_only) {
        if (!model_path && !sk_prefix) bench_die(prog, "--score-only needs --model and/or --sklearn-params", NULL);
        if (ais_runs < 2) bench_die(prog, "--score-only needs --ais-runs of at least 2", NULL);
        if (model_path) {
            lt_rbm *m;
            if (lt_rbm_load(model_path, &m) != LT_OK) bench_die(prog, "lt_rbm_load failed", lt_last_error());
            score_ais(m, "latent", tag, X, n, T, nt, ais_runs, ais_betas, seed, threads, pl_seeds);
            lt_rbm_free(m);
        }
        if (sk_prefix) {
            lt_rbm *m = load_sklearn(sk_prefix, nv, X, n);
            score_ais(m, "sklearn", tag, X, n, T, nt, ais_runs, ais_betas, seed, threads, pl_seeds);
            lt_rbm_free(m);
        }
        free(X);
        free(T);
        return 0;
    }

    if (e2 == 0 || e2 <= e1) bench_die(prog, "need 0 <= e1 < e2", NULL);
    lt_rbm_options o;
    lt_rbm_options_default(&o);
    o.n_hidden = hidden;
    o.visible = LT_RBM_BERNOULLI;
    o.cd_k = cd;
    o.persistent = pcd;
    o.batch = batch;
    o.lr = lr;
    o.schedule = LT_RBM_LR_CONSTANT;
    o.momentum = momentum;
    o.initial_momentum = momentum > 0 ? 0.5 : 0.0; /* with momentum: 0.5 for the first 5 epochs (latent's default) */
    o.weight_decay = wdecay;
    o.sparsity_target = 0;
    o.init_std = 0.01;
    o.seed = seed;
    o.threads = threads;

    double t1 = 0, t2, tw;
    o.epochs = 1;
    lt_rbm_free(fit(X, n < 1000 ? n : 1000, nv, &o, &tw)); /* warm-up, untimed */
    if (e1 > 0) {
        o.epochs = e1;
        lt_rbm_free(fit(X, n, nv, &o, &t1));
    }
    o.epochs = e2;
    lt_rbm *m = fit(X, n, nv, &o, &t2);
    double per_epoch = (t2 - t1) / (double)(e2 - e1);
    double flops = (6.0 + 4.0 * (double)cd) * (double)n * (double)nv * (double)hidden;

    double *buf = malloc((nt > 2000 ? nt : 2000) * sizeof *buf);
    if (!buf) bench_die(prog, "out of memory", NULL);
    double t0 = bench_now();
    double pl = pseudo_ll(m, T, nt, 0, threads, buf);
    double pl_sec = bench_now() - t0;
    double pl_avg = 0;
    for (size_t s = 0; s < pl_seeds; s++) pl_avg += pseudo_ll(m, T, nt, s, threads, buf);
    pl_avg /= (double)pl_seeds;
    double pl_train = pseudo_ll(m, X, n < 2000 ? n : 2000, 0, threads, buf);
    free(buf);

    fprintf(stderr,
            "%s: %s n=%zu nv=%zu H=%zu batch=%zu lr=%g %s-%zu threads=%d: %.4f s/epoch (%.2f GFLOP/s), "
            "held-out pseudo-likelihood %.4f (mean of %zu seeds %.4f; train %.4f), reconstruction error %.3f\n",
            prog, tag, n, nv, hidden, batch, lr, pcd ? "PCD" : "CD", cd, threads, per_epoch,
            per_epoch > 0 ? flops / per_epoch * 1e-9 : 0.0, pl, pl_seeds, pl_avg, pl_train, m->recon_error);
    printf("RESULT impl=%s kind=fit tag=%s n=%zu n_test=%zu nv=%zu hidden=%zu batch=%zu lr=%g cd=%zu "
           "persistent=%d momentum=%g weight_decay=%g threads=%d dtype=float32 e1=%zu e2=%zu t1=%.6f t2=%.6f "
           "sec_per_epoch=%.6f flops_per_epoch=%.6e pl_test=%.6f pl_test_avg=%.6f pl_train=%.6f pl_sec=%.6f "
           "recon_error=%.6f omp_wait_policy=%s\n",
           impl, tag, n, nt, nv, hidden, batch, lr, cd, pcd, momentum, wdecay, threads, e1, e2, t1, t2, per_epoch, flops,
           pl, pl_avg, pl_train, pl_sec, m->recon_error,
           getenv("OMP_WAIT_POLICY") && *getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "default");
    fflush(stdout);

    if (save && lt_rbm_save(m, save) != LT_OK) bench_die(prog, "lt_rbm_save failed", lt_last_error());
    if (ais_runs >= 2) score_ais(m, impl, tag, X, n, T, nt, ais_runs, ais_betas, seed, threads, pl_seeds);
    lt_rbm_free(m);
    free(X);
    free(T);
    return 0;
}

#!/usr/bin/python3
"""Time scikit-learn's GaussianMixture EM the way bench/gmm_latent.c times
latent: seconds per E+M iteration, excluding initialisation.

    /usr/bin/python3 bench/gmm_sklearn.py DATA.npy --k K --cov diag [--m1 2 --m2 8]
        [--threads 2] [--kmeans-iter 10] [--seed 0] [--n ROWS] [--estep-reps 3] [--tag NAME]

Initialisation, once and untimed: what GaussianMixture's init_params='kmeans'
does (KMeans labels -> hard responsibilities -> weights, means,
covariances + reg_covar), except that Lloyd is capped at --kmeans-iter
iterations like latent's and VLFeat's, which GaussianMixture cannot do by
itself. The result goes in as weights_init/means_init/precisions_init, and
two fits run exactly m1 and m2 iterations (tol=0); (t2 - t1)/(m2 - m1) is
one iteration with the fixed costs (validation, the init_params pass that
*_init overrides, the final E-step) cancelled.

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set
to --threads before numpy is imported, and threadpoolctl (if installed)
limits every pool too.

Prints one "RESULT impl=sklearn ..." line of key=value pairs on stdout.
"""

import argparse
import os
import sys


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--cov", default="diag", choices=("full", "diag", "spherical", "tied"))
    ap.add_argument("--m1", type=int, default=2)
    ap.add_argument("--m2", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kmeans-iter", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=0, help="use the first N rows only (0: all)")
    ap.add_argument("--estep-reps", type=int, default=3)
    ap.add_argument("--tag", default="-")
    a = ap.parse_args()
    if not 0 < a.m1 < a.m2:
        ap.error("need 0 < m1 < m2")
    return a


def estep_flops(cov, n, k, d):
    """Same count as bench_estep_flops in bench/bench_util.h."""
    if cov == "full":
        return 2.0 * n * k * d * d + 2.0 * n * k * d
    if cov == "tied":
        return 2.0 * n * d * d + 3.0 * n * k * d
    if cov == "diag":
        return 4.0 * n * k * d
    return 2.0 * n * k * d + 2.0 * n * d


def main():
    a = parse()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)

    import time
    import warnings

    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky, _estimate_gaussian_parameters

    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=a.threads)
    except ImportError:
        limiter = None

    X = np.load(a.data, mmap_mode="r")
    if a.n:
        X = X[: a.n]
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    reg = 1e-6

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters=a.k, init="k-means++", n_init=1, max_iter=a.kmeans_iter,
                    algorithm="lloyd", random_state=a.seed).fit(X)
    resp = np.zeros((n, a.k))
    resp[np.arange(n), km.labels_] = 1.0
    nk, means, covs = _estimate_gaussian_parameters(X, resp, reg, a.cov)
    del resp
    pc = _compute_precision_cholesky(covs, a.cov)
    if a.cov == "full":
        precs = np.einsum("kij,klj->kil", pc, pc)
    elif a.cov == "tied":
        precs = pc @ pc.T
    else:
        precs = pc**2
    weights = nk / nk.sum()
    init_sec = time.perf_counter() - t0

    def fit(max_iter, rows=None):
        gm = GaussianMixture(n_components=a.k, covariance_type=a.cov, tol=0.0, reg_covar=reg,
                             max_iter=max_iter, n_init=1, init_params="random_from_data",
                             weights_init=weights, means_init=means, precisions_init=precs,
                             random_state=a.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t = time.perf_counter()
            gm.fit(X if rows is None else X[:rows])
            t = time.perf_counter() - t
        if gm.n_iter_ != max_iter:
            print("gmm_sklearn: warning: %d of %d iterations ran" % (gm.n_iter_, max_iter), file=sys.stderr)
        return gm, t

    fit(1, rows=min(n, 20000))  # warm-up (thread pools, imports), untimed
    g1, t1 = fit(a.m1)
    iters1 = g1.n_iter_
    del g1
    g2, t2 = fit(a.m2)
    if g2.n_iter_ <= iters1:
        sys.exit("gmm_sklearn: the m2 fit ran no more iterations than the m1 fit")
    per_iter = (t2 - t1) / (g2.n_iter_ - iters1)  # by the iterations that actually ran

    et = []
    for _ in range(max(1, a.estep_reps)):
        t = time.perf_counter()
        logp = g2.score_samples(X)
        et.append(time.perf_counter() - t)
    estep = float(np.median(et))
    ll = float(np.mean(logp))
    flops = estep_flops(a.cov, n, a.k, d)

    print("gmm_sklearn: %s n=%d d=%d k=%d cov=%s threads=%d: %.4f s/iteration, E-step %.4f s (%.2f GFLOP/s), "
          "mean log-likelihood %.6f (scikit-learn %s%s)"
          % (a.tag, n, d, a.k, a.cov, a.threads, per_iter, estep, flops / estep * 1e-9, ll, sklearn.__version__,
             "" if limiter is not None else ", no threadpoolctl"), file=sys.stderr)
    print("RESULT impl=sklearn tag=%s n=%d d=%d k=%d cov=%s threads=%d m1=%d m2=%d iters1=%d iters2=%d "
          "t1=%.6f t2=%.6f sec_per_iter=%.6f init_sec=%.6f estep_sec=%.6f estep_flops=%.6e loglik=%.10f"
          % (a.tag, n, d, a.k, a.cov, a.threads, a.m1, a.m2, iters1, g2.n_iter_, t1, t2, per_iter, init_sec,
             estep, flops, ll))


if __name__ == "__main__":
    main()

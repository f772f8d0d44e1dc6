#!/usr/bin/python3
"""Time scikit-learn's BernoulliRBM the way bench/rbm_latent.c times latent:
seconds per epoch of PCD-1 training, and the held-out pseudo-likelihood.

    /usr/bin/python3 bench/rbm_sklearn.py TRAIN.npy TEST.npy --hidden H --batch B --lr LR
        [--e1 1 --e2 4] [--threads 2] [--seed 0] [--n ROWS] [--n-test ROWS]
        [--dtype float32] [--save-params PREFIX] [--tag NAME] [--impl sklearn]

BernoulliRBM(n_components=H, batch_size=B, learning_rate=LR, n_iter=E,
random_state=seed) is what scikit-learn has: persistent contrastive
divergence with one Gibbs step (stochastic maximum likelihood), no momentum,
no weight decay, weights N(0, 0.01^2), biases 0, the mini-batches in the
data's order every epoch. Two fits run exactly e1 and e2 epochs from the
same seed; (t2 - t1) / (e2 - e1) is one epoch with the fixed costs
(validation, allocation, the first touch of the data) cancelled. A warm-up
fit of one epoch on at most 1,000 rows runs first, untimed.

The data are passed in as --dtype (default float32, the .npy's own type and
latent's: scikit-learn then computes in float32; float64 is what a user who
does not convert gets, e.g. from pixels / 255.0, and is slower).

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set
to --threads before numpy is imported, and threadpoolctl (if installed)
limits every pool too.

Held-out pseudo-likelihood: the mean of score_samples over the held-out
rows, for the e2 model. It is scikit-learn's stochastic estimator: for
each row one visible unit chosen at random is flipped and the score is
nv * log sigmoid(F(flipped) - F(v)); with random_state fixed the same
units are flipped on every call. latent's lt_rbm_pseudo_likelihood is the
same estimator with its own draws.

--save-params PREFIX writes the e2 model as PREFIX-components.npy (H x nv),
PREFIX-intercept_hidden.npy (H) and PREFIX-intercept_visible.npy (nv),
float32, so that bench/rbm_latent can estimate its log-likelihood by AIS.

Prints one "RESULT impl=IMPL ..." line (--impl, default sklearn) of key=value pairs on stdout.
"""

import argparse
import os
import sys


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--e1", type=int, default=1)
    ap.add_argument("--e2", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=0, help="use the first N training rows only (0: all)")
    ap.add_argument("--n-test", type=int, default=0, help="use the first N held-out rows only (0: all)")
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--save-params", default="")
    ap.add_argument("--tag", default="-")
    ap.add_argument("--impl", default="sklearn", help="the name on the RESULT line (run_rbm.sh: sklearn-f64 for float64)")
    a = ap.parse_args()
    if not 0 < a.e1 < a.e2:
        ap.error("need 0 < e1 < e2")
    return a


def main():
    a = parse()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)

    import time

    import numpy as np
    import sklearn
    from sklearn.neural_network import BernoulliRBM

    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=a.threads)
    except ImportError:
        limiter = None

    dt = np.float32 if a.dtype == "float32" else np.float64
    X = np.load(a.train, mmap_mode="r")
    if a.n:
        X = X[: a.n]
    X = np.ascontiguousarray(X, dtype=dt)
    T = np.load(a.test, mmap_mode="r")
    if a.n_test:
        T = T[: a.n_test]
    T = np.ascontiguousarray(T, dtype=dt)
    n, nv = X.shape

    def fit(epochs, rows=None):
        rbm = BernoulliRBM(n_components=a.hidden, batch_size=a.batch, learning_rate=a.lr, n_iter=epochs,
                           random_state=a.seed, verbose=0)
        t = time.perf_counter()
        rbm.fit(X if rows is None else X[:rows])
        return rbm, time.perf_counter() - t

    fit(1, rows=min(n, 1000))  # warm-up (thread pools, imports), untimed
    r1, t1 = fit(a.e1)
    del r1
    r2, t2 = fit(a.e2)
    per_epoch = (t2 - t1) / (a.e2 - a.e1)
    flops = 10.0 * n * nv * a.hidden  # PCD-1: see bench/rbm_latent.c

    t0 = time.perf_counter()
    pl = float(np.mean(r2.score_samples(T)))
    pl_sec = time.perf_counter() - t0
    pl_train = float(np.mean(r2.score_samples(X[: min(n, 2000)])))

    if a.save_params:
        d = os.path.dirname(a.save_params)
        if d:
            os.makedirs(d, exist_ok=True)
        for name, arr in (("components", r2.components_), ("intercept_hidden", r2.intercept_hidden_),
                          ("intercept_visible", r2.intercept_visible_)):
            np.save("%s-%s.npy" % (a.save_params, name), np.ascontiguousarray(arr, dtype=np.float32))

    print("rbm_sklearn: %s n=%d nv=%d H=%d batch=%d lr=%g threads=%d %s: %.4f s/epoch (%.2f GFLOP/s), "
          "held-out pseudo-likelihood %.4f (train %.4f) (scikit-learn %s%s)"
          % (a.tag, n, nv, a.hidden, a.batch, a.lr, a.threads, a.dtype, per_epoch, flops / per_epoch * 1e-9
             if per_epoch > 0 else 0.0, pl, pl_train, sklearn.__version__,
             "" if limiter is not None else ", no threadpoolctl"), file=sys.stderr)
    print("RESULT impl=%s kind=fit tag=%s n=%d n_test=%d nv=%d hidden=%d batch=%d lr=%g cd=1 persistent=1 "
          "threads=%d dtype=%s e1=%d e2=%d t1=%.6f t2=%.6f sec_per_epoch=%.6f flops_per_epoch=%.6e "
          "pl_test=%.6f pl_train=%.6f pl_sec=%.6f"
          % (a.impl, a.tag, n, T.shape[0], nv, a.hidden, a.batch, a.lr, a.threads, a.dtype, a.e1, a.e2, t1, t2, per_epoch,
             flops, pl, pl_train, pl_sec))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""scikit-learn's side of the LDA benchmark (bench/run_lda.sh):
LatentDirichletAllocation, online (Hoffman, Blei and Bach 2010) or batch
variational Bayes, timed to each checkpoint and scored by the same
estimator as latent.

    /usr/bin/python3 bench/lda_sklearn.py TRAIN.docword TEST.docword --impl online|batch
        --k K --checkpoints 1,2,4,8 [--alpha 0.1 --beta 0.01 --threads 2 --seed 0
        --particles 20 --eval-seed 0 --score all|last|none --scorer PATH --tag NAME]
    /usr/bin/python3 bench/lda_sklearn.py TRAIN.docword TEST.docword --verify-fit [...]

One run of max(checkpoints) iterations (online: passes over the corpus in
mini-batches of 128 documents; batch: full E+M iterations), scikit-learn's
defaults otherwise (learning_offset 10, learning_decay 0.7,
max_doc_update_iter 100, mean_change_tol 1e-3), doc_topic_prior = --alpha,
topic_word_prior = --beta, n_jobs = --threads, total_samples = the number
of training documents. LatentDirichletAllocation.fit cannot stop in the
middle, so the run is fit's own loop, written out with the estimator's
methods (_validate_params, _check_non_neg_array, _init_latent_vars,
_em_step with one joblib Parallel, as scikit-learn 1.2's fit does), with
the model copied at the checkpoints while the clock is paused.
--verify-fit checks on the given data that this loop gives the same
components_ as fit(max_iter = the last checkpoint) and exits.

What fit does after its loop (an E-step over the training set to compute
bound_, a training-set perplexity) is not training and is left out.

Threads: with n_jobs > 1 joblib runs the E-step in n_jobs processes, each
with single-threaded BLAS; with n_jobs = 1, BLAS gets one thread too. The
worker processes are started (and import scikit-learn) before the clock;
joblib keeps and reuses them, as latent's thread pool is warmed up before
its timed fits.

Each checkpoint's topics (components_ normalised by row: the posterior mean
of phi) and alpha are scored by bench/lda_score_topics (left-to-right,
latent's estimator); scikit-learn's own bound per held-out word, -log
perplexity(TEST, sub_sampling=True) (the topics' KL term spread over a
corpus of the training set's size), is printed beside it as own_bound.
Scoring is not timed.

Prints one "RESULT impl=sklearn-... mode=quality ..." line per checkpoint.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lda_common as lc  # noqa: E402


def run(lda, X, iters, cps, clock, batch_update):
    """fit's loop (scikit-learn 1.2), with snapshots at the checkpoints."""
    from joblib import effective_n_jobs
    from sklearn.utils import gen_batches

    try:
        from sklearn.utils.parallel import Parallel  # what fit uses (scikit-learn >= 1.2.1)
    except ImportError:
        from joblib import Parallel

    lda._validate_params()
    X = lda._check_non_neg_array(X, reset_n_features=True, whom="LatentDirichletAllocation.fit")
    n_samples, n_features = X.shape
    lda._init_latent_vars(n_features, dtype=X.dtype)
    snaps = {}
    with Parallel(n_jobs=effective_n_jobs(lda.n_jobs), verbose=0) as parallel:
        for i in range(iters):
            if batch_update:
                lda._em_step(X, total_samples=n_samples, batch_update=True, parallel=parallel)
            else:
                for idx in gen_batches(n_samples, lda.batch_size):
                    lda._em_step(X[idx, :], total_samples=n_samples, batch_update=False, parallel=parallel)
            lda.n_iter_ += 1
            if cps is not None and i + 1 in cps:
                t = clock.pause()
                snaps[i + 1] = (clock.elapsed_at(t), lda.components_.copy())
                clock.resume(t)
    return snaps


def main():
    ap = lc.common_args(__doc__, ("online", "batch"))
    ap.add_argument("--verify-fit", action="store_true")
    a = ap.parse_args()
    cps = lc.parse_checkpoints(ap, a.checkpoints)
    lc.set_threads(1)

    import warnings

    import numpy as np
    from sklearn.decomposition import LatentDirichletAllocation

    D, W, d, w, c = lc.read_docword(a.train)
    X = lc.to_csr(D, W, d, w, c)
    Dt, Wt, dt, wt, ct = lc.read_docword(a.test)
    if Wt != W:
        sys.exit("TRAIN and TEST have different vocabulary sizes")
    Xt = lc.to_csr(Dt, Wt, dt, wt, ct)

    def make(max_iter):
        return LatentDirichletAllocation(n_components=a.k, doc_topic_prior=a.alpha, topic_word_prior=a.beta,
                                         learning_method=a.impl, max_iter=max_iter, batch_size=128,
                                         evaluate_every=-1, total_samples=D, n_jobs=a.threads,
                                         random_state=a.seed)

    if a.verify_fit:
        ref = make(cps[-1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref.fit(X)
        mine = make(cps[-1])
        run(mine, X, cps[-1], None, lc.Clock(), a.impl == "batch")
        diff = float(np.max(np.abs(ref.components_ - mine.components_) / np.abs(ref.components_)))
        print("lda_sklearn: --verify-fit %s, %d iterations: largest relative difference of components_ %.3g"
              % (a.impl, cps[-1], diff), file=sys.stderr)
        sys.exit(0 if diff < 1e-9 else 1)

    lda = make(cps[-1])
    warm_up(a.threads)
    clock = lc.Clock()
    snaps = run(lda, X, cps[-1], set(cps), clock, a.impl == "batch")

    name = "sklearn-" + a.impl
    alpha = np.full(a.k, a.alpha)
    for i, p in enumerate(cps):
        t, comp = snaps[p]
        fields = [("impl", name), ("mode", "quality"), ("tag", a.tag), ("k", a.k), ("threads", a.threads),
                  ("alpha", "%g" % a.alpha), ("beta", "%g" % a.beta), ("iters", p), ("n_iter", p),
                  ("fit_sec", "%.6f" % t)]
        if a.score == "all" or (a.score == "last" and i == len(cps) - 1):
            lda.components_ = comp
            lda.exp_dirichlet_component_ = np.exp(_dirichlet_expectation_2d(comp))
            r = lc.score_topics(a, comp / comp.sum(axis=1, keepdims=True), alpha)
            own = -np.log(lda.perplexity(Xt, sub_sampling=True))
            fields += [("heldout", r["heldout"]), ("heldout_se", r["heldout_se"]), ("score_sec", r["score_sec"]),
                       ("particles", a.particles), ("own_bound", "%.8f" % own),
                       ("phi_roundtrip_maxrel", r["phi_roundtrip_maxrel"])]
            print("lda_sklearn: %s %s k=%d threads=%d: %d iterations in %.3f s, held-out %s +- %s nats/token, "
                  "scikit-learn bound %.5f" % (a.tag, name, a.k, a.threads, p, t, r["heldout"], r["heldout_se"], own),
                  file=sys.stderr)
        fields += [("train_docs", D), ("train_tokens", int(c.sum())), ("test_docs", Dt), ("test_tokens", int(ct.sum()))]
        lc.result_line(fields)


def _import_lda():
    import sklearn.decomposition._lda  # noqa: F401

    return 0


def warm_up(n_jobs):
    """Start joblib's worker processes, and import scikit-learn's LDA in
    them, before the clock: the workers are kept and reused by the Parallel
    of the run (loky's reusable executor), and their start-up (seconds on a
    busy machine) is not LDA."""
    try:
        from sklearn.utils.parallel import Parallel, delayed
    except ImportError:
        from joblib import Parallel, delayed
    if n_jobs > 1:
        Parallel(n_jobs=n_jobs)(delayed(_import_lda)() for _ in range(4 * n_jobs))


def _dirichlet_expectation_2d(x):
    """E[log phi] under Dirichlet rows x: psi(x) - psi(sum x), as scikit-learn keeps it."""
    from scipy.special import psi

    return psi(x) - psi(x.sum(axis=1, keepdims=True))


if __name__ == "__main__":
    main()

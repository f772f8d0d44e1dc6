#!/usr/bin/python3
"""Time pomegranate's Baum-Welch (HiddenMarkovModel, Debian
python3-pomegranate 0.14) the way bench/hmm_latent.c times latent.

    /usr/bin/python3 bench/hmm_pomegranate.py english|gauss DATA --k K --init PREFIX
        [--n 200000] [--seq-len 10000] [--m1 1 --m2 3] [--threads 2] [--tag NAME]

Same data (bench/hmm_data.py's english_sequences for the text; the rows of
DATA.npy cut into sequences of --seq-len for gauss), same initial
parameters (PREFIX_*.npy), same model: from_matrix with no end state,
DiscreteDistribution over the 27 symbols, or per state an
IndependentComponentsDistribution of D NormalDistribution (a diagonal
Gaussian; min_std 0). fit() with no pseudocounts, no inertia,
stop_threshold = -inf (never stops early), n_jobs = --threads (pomegranate
runs sequences in parallel threads), multiple_check_input=False (the data
are checked once, not at every iteration: pomegranate's faster setting).

pomegranate's fit(max_iterations=N) performs N + 1 EM iterations
(tests/ref/make_hmm_ref.py shows this against a numpy Baum-Welch), so M
iterations are asked as max_iterations = M - 1, and M >= 2 (fit cannot run
a single iteration). After an untimed warm-up, two fits of m1 and m2
iterations from fresh models; (t2 - t1) / (m2 - m1) is one iteration.

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set
to --threads before numpy is imported.

Prints one "RESULT impl=pomegranate ..." line of key=value pairs on stdout;
the quality is the log-likelihood per step of the m2 model (sum of
log_probability over the sequences, not timed).
"""

import argparse
import os
import sys


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=("english", "gauss"))
    ap.add_argument("data")
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--init", required=True)
    ap.add_argument("--n", type=int, default=None, help="english: symbols (default 200000); gauss: rows (0: all)")
    ap.add_argument("--seq-len", type=int, default=10000)
    ap.add_argument("--m1", type=int, default=2)
    ap.add_argument("--m2", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tag", default="-")
    a = ap.parse_args()
    if not 2 <= a.m1 < a.m2:
        ap.error("need 2 <= m1 < m2 (pomegranate's fit cannot run fewer than 2 iterations)")
    if a.n is None:
        a.n = 200000 if a.case == "english" else 0
    return a


def main():
    a = parse()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)

    import time
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")  # numpy 1.24 deprecation warnings from pomegranate 0.14
    import pomegranate
    from pomegranate import (
        DiscreteDistribution,
        HiddenMarkovModel,
        IndependentComponentsDistribution,
        NormalDistribution,
    )

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from hmm_data import N_SYMBOLS, english_sequences

    k = a.k

    def load(what):
        return np.load("%s_%s.npy" % (a.init, what))

    start, trans = load("start")[0], load("trans")
    if a.case == "english":
        seqs = english_sequences(a.data, a.n)
        emit = load("emit")
        d = 1

        def dists():
            return [DiscreteDistribution({v: float(emit[i, v]) for v in range(N_SYMBOLS)}) for i in range(k)]
    else:
        X = np.load(a.data, mmap_mode="r")
        if a.n:
            X = X[: a.n]
        X = np.ascontiguousarray(X, dtype=np.float64)
        d = X.shape[1]
        seqs = [X[i : i + a.seq_len] for i in range(0, len(X), a.seq_len)]
        means, variances = load("means"), load("vars")

        def dists():
            return [IndependentComponentsDistribution(
                [NormalDistribution(float(means[i, j]), float(np.sqrt(variances[i, j]))) for j in range(d)])
                for i in range(k)]
    total = sum(len(s) for s in seqs)
    names = ["s%04d" % i for i in range(k)]  # bake() sorts states by name: keep the given order

    def fit(n_em, data):
        model = HiddenMarkovModel.from_matrix(trans, dists(), start, state_names=names, merge="None")
        t = time.perf_counter()
        model.fit(data, algorithm="baum-welch", max_iterations=n_em - 1, min_iterations=0,
                  stop_threshold=-np.inf, pseudocount=None, transition_pseudocount=0, emission_pseudocount=0.0,
                  use_pseudocount=False, inertia=None, edge_inertia=0.0, distribution_inertia=0.0, lr_decay=0.0,
                  n_jobs=a.threads, multiple_check_input=False)
        return model, time.perf_counter() - t

    # Warm-up on about 10% of the data (imports, thread pool), untimed.
    w, steps = [], 0
    for s in seqs:
        if w and steps >= total // 10:
            break
        w.append(s)
        steps += len(s)
    fit(2, w)

    _, t1 = fit(a.m1, seqs)
    m2, t2 = fit(a.m2, seqs)
    per_iter = (t2 - t1) / (a.m2 - a.m1)
    ll = sum(float(m2.log_probability(s)) for s in seqs) / total
    flops = 6.0 * total * k * k  # as hmm_fb_flops in bench/hmm_util.h

    print("hmm_pomegranate: %s %s T=%d in %d sequences, k=%d d=%d threads=%d: %.4f s/iteration (%.1f ns/step, "
          "%.2f GFLOP/s), log-likelihood per step %.6f (pomegranate %s)"
          % (a.tag, a.case, total, len(seqs), k, d, a.threads, per_iter, per_iter / total * 1e9,
             flops / per_iter * 1e-9, ll, pomegranate.__version__), file=sys.stderr)
    print("RESULT impl=pomegranate tag=%s case=%s t=%d n_seqs=%d k=%d d=%d threads=%d m1=%d m2=%d iters1=%d "
          "iters2=%d t1=%.6f t2=%.6f sec_per_iter=%.6f fb_flops=%.6e loglik=%.10f"
          % (a.tag, a.case, total, len(seqs), k, d, a.threads, a.m1, a.m2, a.m1, a.m2, t1, t2, per_iter, flops, ll))


if __name__ == "__main__":
    main()

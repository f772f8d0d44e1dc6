#!/usr/bin/python3
"""Make the inputs of the HMM benchmark (bench/run_hmm.sh) under bench/data/.

    /usr/bin/python3 bench/hmm_data.py [--seed 0] [--ks 2,16,64]

English text (case "english"): the text itself is data/english.txt, read by
every benchmark program in the same way (see english_sequences below). Here
only the initial models are made, one per K: start and transitions half
uniform and half a Dirichlet(1) draw (so no probability is near zero, where
Baum-Welch would keep it), emissions over the 27 symbols likewise:

    bench/data/hmm_english_k{K}_start.npy   1 x K
    bench/data/hmm_english_k{K}_trans.npy   K x K
    bench/data/hmm_english_k{K}_emit.npy    K x 27

Gaussian (case "gauss"): T = 1,000,000 steps as 100 sequences of 10,000,
D = 4, drawn from a "true" HMM with K = 16 states (sticky transitions,
0.9 on the diagonal; means N(0, 3^2) per coordinate; standard deviations
uniform in [0.5, 1.5]), and an initial model for Baum-Welch: means = 16
data rows drawn at random, every variance = the data's variance of that
coordinate, start and transitions as above:

    bench/data/hmm_gauss_t1000000_d4.npy    1,000,000 x 4, float64
    bench/data/hmm_gauss_k16_{start,trans,means,vars}.npy

All files are float64, C order, 2-D (what bench/bench_util.h reads), and
deterministic for a given --seed.
"""

import argparse
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
ROOT = os.path.dirname(HERE)
N_SYMBOLS = 27
GAUSS_K, GAUSS_D, GAUSS_SEQS, GAUSS_LEN = 16, 4, 100, 10000


def english_sequences(path, limit):
    """The text as symbols: one sequence per non-empty line (an address),
    a-z (either case) -> 0..25, every other character -> 26 (space), cut
    to `limit` symbols in all (0: no cut). The same rule is in
    bench/hmm_util.h."""
    with open(path, "rb") as f:
        text = f.read()
    seqs, total = [], 0
    for line in text.split(b"\n"):
        if not line:
            continue
        a = np.frombuffer(line.lower(), dtype=np.uint8).astype(np.int64) - ord("a")
        a[(a < 0) | (a > 25)] = 26
        if limit:
            a = a[: limit - total]
        seqs.append(a)
        total += len(a)
        if limit and total >= limit:
            break
    return seqs


def random_stochastic(rs, rows, cols):
    return 0.5 / cols + 0.5 * rs.dirichlet(np.ones(cols), size=rows)


def save(name, a):
    a = np.ascontiguousarray(np.atleast_2d(a), dtype=np.float64)
    np.save(os.path.join(DATA, name), a)


def make_english(seed, ks):
    for k in ks:
        rs = np.random.RandomState(seed + 1000 * k)
        save("hmm_english_k%d_start.npy" % k, random_stochastic(rs, 1, k))
        save("hmm_english_k%d_trans.npy" % k, random_stochastic(rs, k, k))
        save("hmm_english_k%d_emit.npy" % k, random_stochastic(rs, k, N_SYMBOLS))


def make_gauss(seed):
    k, d = GAUSS_K, GAUSS_D
    rs = np.random.RandomState(seed + 7)
    trans = 0.1 * rs.dirichlet(np.ones(k), size=k)
    trans[np.arange(k), np.arange(k)] += 0.9
    trans /= trans.sum(axis=1, keepdims=True)
    start = np.full(k, 1.0 / k)
    means = rs.normal(scale=3.0, size=(k, d))
    stds = rs.uniform(0.5, 1.5, size=(k, d))
    # All sequences advance together: one vectorised step per time index.
    cum = np.cumsum(trans, axis=1)
    z = np.searchsorted(np.cumsum(start), rs.uniform(size=GAUSS_SEQS))
    states = np.empty((GAUSS_SEQS, GAUSS_LEN), dtype=np.int64)
    for t in range(GAUSS_LEN):
        if t:
            u = rs.uniform(size=GAUSS_SEQS)
            z = np.minimum((u[:, None] > cum[z]).sum(axis=1), k - 1)
        states[:, t] = z
    zs = states.ravel()
    X = means[zs] + stds[zs] * rs.normal(size=(zs.size, d))
    save("hmm_gauss_t%d_d%d.npy" % (zs.size, d), X)

    rs = np.random.RandomState(seed + 8)
    save("hmm_gauss_k%d_start.npy" % k, random_stochastic(rs, 1, k))
    save("hmm_gauss_k%d_trans.npy" % k, random_stochastic(rs, k, k))
    save("hmm_gauss_k%d_means.npy" % k, X[rs.choice(zs.size, size=k, replace=False)])
    save("hmm_gauss_k%d_vars.npy" % k, np.tile(X.var(axis=0), (k, 1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ks", default="2,16,64", help="K of the English initial models")
    a = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    make_english(a.seed, [int(s) for s in a.ks.split(",")])
    make_gauss(a.seed)


if __name__ == "__main__":
    main()

"""Shared by bench/lda_gensim.py and bench/lda_sklearn.py: reading the UCI
docword files of bench/lda_data.py, the checkpoint clock, and scoring
topics with latent's left-to-right estimator through bench/
lda_score_topics (so every program is judged by the same estimator).

Imports numpy lazily: the callers set the BLAS thread variables first.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time


def common_args(description, impls):
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--impl", choices=impls, default=impls[0])
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--alpha", type=float, default=0.1, help="document-topic prior per topic (default 0.1)")
    ap.add_argument("--beta", type=float, default=0.01, help="topic-word prior per word (default 0.01)")
    ap.add_argument("--checkpoints", default="1,2,4,8",
                    help="passes (or iterations) after which the model is scored, increasing")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--particles", type=int, default=20)
    ap.add_argument("--eval-seed", type=int, default=0)
    ap.add_argument("--score", choices=("all", "last", "none"), default="all",
                    help="which checkpoints get a held-out score (the times are reported for all)")
    ap.add_argument("--scorer", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                     "build-bench", "bench", "lda_score_topics"))
    ap.add_argument("--tag", default="-")
    return ap


def parse_checkpoints(ap, s):
    try:
        cps = [int(x) for x in s.split(",") if x]
    except ValueError:
        ap.error("--checkpoints: integers separated by commas")
    if not cps or cps[0] < 1 or any(b <= a for a, b in zip(cps, cps[1:])):
        ap.error("--checkpoints: increasing positive integers")
    return cps


def set_threads(n):
    """BLAS/OpenMP pools of n threads; call before numpy is imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def read_docword(path):
    """UCI docword -> (D, W, doc ids, word ids, counts), 0-based numpy arrays."""
    import numpy as np

    with open(path) as f:
        D, W, nnz = (int(f.readline()) for _ in range(3))
        a = np.loadtxt(f, dtype=np.int64, ndmin=2) if nnz else np.zeros((0, 3), dtype=np.int64)
    if a.shape != (nnz, 3):
        sys.exit("%s: %d entries, the header says %d" % (path, a.shape[0], nnz))
    return D, W, a[:, 0] - 1, a[:, 1] - 1, a[:, 2]


def to_csr(D, W, d, w, c):
    import numpy as np
    import scipy.sparse as sp

    return sp.csr_matrix((c.astype(np.float64), (d, w)), shape=(D, W))


def to_bow(D, d, w, c):
    """gensim's corpus: a list of D lists of (word id, count)."""
    docs = [[] for _ in range(D)]
    for di, wi, ci in zip(d.tolist(), w.tolist(), c.tolist()):
        docs[di].append((wi, ci))
    return docs


class Clock:
    """Wall time with pauses (checkpoint snapshots are not training)."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.paused = 0.0

    def elapsed(self):
        return self.elapsed_at(time.perf_counter())

    def elapsed_at(self, t):
        """Training time at the moment t (a perf_counter reading)."""
        return t - self.t0 - self.paused

    def pause(self):
        return time.perf_counter()

    def resume(self, since):
        self.paused += time.perf_counter() - since


def score_topics(a, phi, alpha):
    """Held-out log-likelihood per token of topics phi (K x V) and alpha (K)
    by latent's left-to-right estimator (bench/lda_score_topics)."""
    import numpy as np

    if not os.access(a.scorer, os.X_OK):
        sys.exit("scorer %s not found: build the lda_score_topics target (LT_BUILD_BENCH=ON) or pass --scorer"
                 % a.scorer)
    with tempfile.TemporaryDirectory(prefix="lda_score_") as tmp:
        p_phi, p_alpha = os.path.join(tmp, "phi.npy"), os.path.join(tmp, "alpha.npy")
        np.save(p_phi, np.ascontiguousarray(phi, dtype=np.float64))
        np.save(p_alpha, np.ascontiguousarray(np.asarray(alpha, dtype=np.float64).reshape(1, -1)))
        out = subprocess.run([a.scorer, p_phi, p_alpha, a.test, "--particles", str(a.particles), "--seed",
                              str(a.eval_seed), "--threads", str(a.threads)], check=True, stdout=subprocess.PIPE,
                             universal_newlines=True).stdout
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return dict(tok.split("=", 1) for tok in line.split()[1:])
    sys.exit("lda_score_topics printed no RESULT line")


def result_line(fields):
    print("RESULT " + " ".join("%s=%s" % kv for kv in fields), flush=True)

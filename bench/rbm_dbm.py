#!/usr/bin/env python3
"""The DBM row of bench/run_rbm.sh: fit a deep Boltzmann machine with the
latent command line on the benchmark's binarized MNIST rows, score its
held-out mean-field lower bound with log Z by AIS, and print one line

    RESULT kind=dbm impl=latent tag=mnist-dbm hidden=500,1000 n=... n_test=...
           pretrain_epochs=... epochs=... fit_sec=... score_sec=... ll_test=... ll_se=...

(ll_test: the mean held-out bound per digit in nats; ll_se: its standard
error, the rows' spread and log Z's). With --n / --n-test the first rows of
each file are used (written next to --model).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def rows(path, n, out):
    if n <= 0:
        return path, int(np.load(path, mmap_mode="r").shape[0])
    x = np.load(path)[:n]
    np.save(out, x)
    return out, int(x.shape[0])


def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        sys.exit("rbm_dbm: failed: %s" % " ".join(cmd))
    return json.loads(p.stdout), dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latent", required=True, help="the latent command-line program")
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--model", required=True, help="where the model is written")
    ap.add_argument("--hidden", default="500,1000")
    ap.add_argument("--pretrain-epochs", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ais-runs", type=int, default=100)
    ap.add_argument("--ais-betas", type=int, default=10000)
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--n-test", type=int, default=0)
    a = ap.parse_args()
    base = os.path.splitext(a.model)[0]
    train, n = rows(a.train, a.n, base + "-train.npy")
    test, n_test = rows(a.test, a.n_test, base + "-test.npy")
    common = ["--threads", str(a.threads), "--seed", str(a.seed), "--json", "--quiet"]
    fit, fit_sec = run([a.latent, "fit", "dbm", train, "--hidden", a.hidden, "--pretrain-epochs",
                        str(a.pretrain_epochs), "--epochs", str(a.epochs), "-o", a.model] + common)
    score, score_sec = run([a.latent, "score", a.model, test, "--method", "ais", "--ais-runs", str(a.ais_runs),
                            "--ais-betas", str(a.ais_betas)] + common)
    print("RESULT kind=dbm impl=latent tag=mnist-dbm hidden=%s n=%d n_test=%d pretrain_epochs=%d epochs=%d "
          "batch=%s chains=%s fit_sec=%.3f score_sec=%.3f ll_test=%.6f ll_se=%.6f ais_runs=%d ais_betas=%d"
          % (a.hidden, n, n_test, a.pretrain_epochs, a.epochs, fit.get("batch", "-"), fit.get("chains", "-"),
             fit_sec, score_sec, score["mean_log_likelihood"], score["stderr"], a.ais_runs, a.ais_betas))


if __name__ == "__main__":
    main()

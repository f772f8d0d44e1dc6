#!/usr/bin/python3
"""Summarise a bench/run_gmm.sh log into the "## GMM" section of
bench/RESULTS.md (other sections are left as they are).

    /usr/bin/python3 bench/gmm_report.py LOG [--results bench/RESULTS.md]
        [--commit ABC] [--command "..."] [--mem-bw-gbs 31] [--stdout]

Reads the "RESULT key=value ..." lines the benchmark programs print. For
each case and implementation: the median over rounds of seconds per EM
iteration, the E-step time, and the final mean log-likelihood; the ratio
peer / latent; the E-step's achieved GFLOP/s against the dgemm rate
measured at the same thread count, and its time against the larger of
flops / dgemm rate and bytes / memory bandwidth.
"""

import argparse
import datetime
import os
import re
import statistics
import sys

import bench_report

ORDER = {"latent": 0, "sklearn": 1, "vlfeat": 2}
NAMES = {"latent": "latent", "sklearn": "scikit-learn GaussianMixture", "vlfeat": "VLFeat vl_gmm"}


def parse_log(path):
    results, failed, _ = bench_report.read_log(path)
    blas = [r for r in results if r.get("impl") == "blas"]
    return [r for r in results if r.get("impl") != "blas"], blas, failed


def fmt_time(s):
    if s >= 1:
        return "%.2f s" % s
    return "%.1f ms" % (s * 1e3)


def section(runs, blas, failures, a):
    threads = sorted({int(r["threads"]) for r in runs}) or [0]
    t = threads[-1]
    # The best rate seen over the rounds: on a shared machine the limit is what
    # the hardware reached, not what was left over at one moment.
    dgemm, sgemm = {}, {}
    for b in blas:
        table = dgemm if b["op"] == "dgemm" else sgemm
        th = int(b["threads"])
        table[th] = max(table.get(th, 0.0), float(b["gflops"]))
    rate = dgemm.get(t)
    bw = a.mem_bw_gbs * 1e9

    groups = {}
    for r in runs:
        groups.setdefault((r["tag"], r["impl"]), []).append(r)
    cases = []
    for tag, _ in groups:
        if tag not in cases:
            cases.append(tag)

    out = []
    out.append("## GMM")
    out.append("")
    out.append("- Date: %s" % datetime.date.today().isoformat())
    out.append("- Commit: `%s`" % a.commit)
    out.append("- Command: `%s`" % a.command)
    out.append("- Machine: %s, %d CPUs; %s" % (bench_report.cpu_model(), os.cpu_count() or 0,
                                               "threads: %s" % ", ".join(map(str, threads))))
    out.append("- Raw log: `%s`" % os.path.relpath(a.log, os.path.dirname(os.path.abspath(a.results))))
    if dgemm:
        out.append("- BLAS rate (bench/blas_rate, n = 2048, best of the rounds): " + "; ".join(
            "%d thread%s dgemm %.1f, sgemm %.1f GFLOP/s" % (k, "" if k == 1 else "s", dgemm[k], sgemm.get(k, 0.0))
            for k in sorted(dgemm)))
    out.append("- Each fit: `tol = 0`, `reg_covar = 1e-6`, one initialisation (k-means++ then at most "
               "10 Lloyd iterations, each library's own k-means), then exactly M EM iterations. "
               "Seconds per iteration = (t(M2) - t(M1)) / (M2 - M1), M1/M2 given with each case, so "
               "initialisation and fixed costs cancel. Median of %d rounds, the programs alternating."
               % max((len(v) for v in groups.values()), default=0))
    out.append("")
    out.append("| case | n × d | K | cov | implementation | s / iteration (min–max) | peer / latent "
               "| E-step | E-step GFLOP/s | of dgemm | E-step / bound | mean log-lik, nats |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for tag in cases:
        impls = sorted((i for (c, i) in groups if c == tag), key=lambda i: ORDER.get(i, 9))
        med = {}
        for impl in impls:
            rs = groups[(tag, impl)]
            med[impl] = statistics.median(float(r["sec_per_iter"]) for r in rs)
        for impl in impls:
            rs = groups[(tag, impl)]
            r0 = rs[0]
            n, d, k = int(r0["n"]), int(r0["d"]), int(r0["k"])
            spi = [float(r["sec_per_iter"]) for r in rs]
            est = statistics.median(float(r["estep_sec"]) for r in rs)
            ll = statistics.median(float(r["loglik"]) for r in rs)
            flops = float(r0["estep_flops"])
            gfs = flops / est * 1e-9
            bound = max(flops / (rate * 1e9) if rate else 0.0, 8.0 * n * (d + k) / bw)
            ratio = "1" if impl == "latent" else (
                "%.2f" % (med[impl] / med["latent"]) if "latent" in med and med["latent"] > 0 else "–")
            out.append("| %s (M %s/%s) | %d × %d | %d | %s | %s | %s (%s–%s) | %s | %s | %.1f | %s | %s | %.4f |" % (
                tag, r0["m1"], r0["m2"], n, d, k, r0["cov"], NAMES.get(impl, impl), fmt_time(med[impl]), fmt_time(min(spi)),
                fmt_time(max(spi)), ratio, fmt_time(est), gfs, "%.0f%%" % (100 * gfs / rate) if rate else "–",
                "%.1f×" % (est / bound) if bound > 0 else "–", ll))
            if med[impl] < 0.8 * est:
                notes.append("%s / %s: the median time per iteration (%s) is below the E-step alone (%s), "
                             "so noise dominated the subtraction: raise M2 or ROUNDS, or rerun on a quieter "
                             "machine." % (tag, impl, fmt_time(med[impl]), fmt_time(est)))
            if min(spi) <= 0:
                notes.append("%s / %s: a round measured t(M2) <= t(M1) (noise larger than M2 - M1 "
                             "iterations): raise M2 or ROUNDS." % (tag, impl))
            for r in rs:
                if r.get("iters2") != r.get("m2") or r.get("iters1") != r.get("m1") or r.get("early_stop") == "1":
                    notes.append("%s / %s round %s stopped early (converged): %s and %s iterations instead of "
                                 "%s and %s; its time is per iteration that ran, its log-likelihood after fewer "
                                 "iterations." % (tag, impl, r.get("round", "?"), r.get("iters1"),
                                                  r.get("iters2"), r.get("m1"), r.get("m2")))
    out.append("")
    out.append("Reading the table:")
    out.append("")
    out.append("- *peer / latent* is the peer's median time per iteration over latent's: above 1, latent is "
               "faster.")
    out.append("- *E-step* is scoring the whole training set once with the final model "
               "(`lt_gmm_score_samples`, `GaussianMixture.score_samples`, `vl_get_gmm_data_posteriors_d`), "
               "median of 3. Its flops are counted as the matrix formulation needs them: full 2nkd² + 2nkd, "
               "tied 2nd² + 3nkd, diag 4nkd, spherical 2nkd + 2nd (the nk exp/log are not counted). "
               "*of dgemm* compares that rate with dgemm at the same thread count. *E-step / bound* is the "
               "time over max(flops / dgemm rate, 8n(d + k) bytes / %.0f GB/s): 1× would be at the "
               "machine's limit." % a.mem_bw_gbs)
    out.append("- *mean log-lik* is the training-set mean log-likelihood per sample after M2 iterations "
               "(no held-out split): higher is better. The implementations start from different k-means "
               "results, so small differences are initialisation, not the EM; a faster run that ends "
               "clearly lower has not won. VLFeat floors variances at 1e-6 instead of adding 1e-6, and "
               "restarts empty modes by splitting.")
    out.append("- The machine is shared and noisy; compare ratios measured side by side, not absolute times.")
    for n_ in notes:
        out.append("- Warning: " + n_)
    for f_ in failures:
        out.append("- Failed run: `%s`" % f_)
    out.append("")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--command", default="bench/run_gmm.sh")
    ap.add_argument("--mem-bw-gbs", type=float, default=31.0,
                    help="streaming read+write bandwidth, GB/s (default: /work/shared/BENCHMARKS.md)")
    ap.add_argument("--stdout", action="store_true", help="print the section instead of writing RESULTS.md")
    a = ap.parse_args()
    runs, blas, failures = parse_log(a.log)
    if not runs:
        sys.exit("gmm_report: no RESULT lines in %s" % a.log)
    new = section(runs, blas, failures, a)
    if a.stdout:
        sys.stdout.write(new)
        return
    old = open(a.results).read() if os.path.exists(a.results) else ""
    tmp = a.results + ".tmp"
    with open(tmp, "w") as f:
        f.write(bench_report.replace_section(old, "GMM", new))
    os.replace(tmp, a.results)
    sys.stdout.write(new)


if __name__ == "__main__":
    main()

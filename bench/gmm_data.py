#!/usr/bin/python3
"""Write the GMM benchmark datasets as float64 C-order NPY into bench/data/.

    /usr/bin/python3 bench/gmm_data.py [--only synth|fmnist] [--force]

synth_n1000000_d16_k32.npy
    1,000,000 x 16 from a mixture of 32 Gaussians (seed 12345): weights
    Dirichlet(5), means N(0, 2^2) per coordinate, covariances A A^T + 0.1 I
    with A 16 x 16 of N(0, 0.25^2) entries (correlated, condition ~10-100).
    The rows are shuffled.
fmnist_pca50.npy
    Fashion-MNIST training images (60,000 x 784, Debian package
    dataset-fashion-mnist, /usr/share/datasets/fashion-mnist/) scaled to
    [0, 1] and projected on their first 50 principal components
    (sklearn PCA, svd_solver='randomized', random_state=0).

Existing files are kept unless --force. Files are written to a temporary
name and renamed, so an interrupted run leaves no partial file.
"""

import argparse
import gzip
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
FMNIST = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

SYNTH = "synth_n1000000_d16_k32.npy"
FMNIST_PCA = "fmnist_pca50.npy"


def save(name, X):
    X = np.ascontiguousarray(X, dtype=np.float64)
    path = os.path.join(DATA, name)
    tmp = path + ".tmp.npy"
    np.save(tmp, X)
    os.replace(tmp, path)
    print("wrote %s: %d x %d float64" % (path, X.shape[0], X.shape[1]), file=sys.stderr)


def make_synth(n=1_000_000, d=16, k=32, seed=12345):
    rs = np.random.RandomState(seed)
    weights = rs.dirichlet(np.full(k, 5.0))
    means = rs.normal(0.0, 2.0, size=(k, d))
    chols = []
    for _ in range(k):
        a = rs.normal(0.0, 0.25, size=(d, d))
        chols.append(np.linalg.cholesky(a @ a.T + 0.1 * np.eye(d)))
    counts = rs.multinomial(n, weights)
    X = np.empty((n, d))
    row = 0
    for j in range(k):
        z = rs.standard_normal(size=(counts[j], d))
        X[row : row + counts[j]] = means[j] + z @ chols[j].T
        row += counts[j]
    return X[rs.permutation(n)]


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, count, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
    if magic != 0x803:
        raise SystemExit("%s: not an IDX3 uint8 file (magic %#x)" % (path, magic))
    pixels = np.frombuffer(raw[16:], dtype=np.uint8)
    if pixels.size != count * rows * cols:
        raise SystemExit("%s: %d pixels, header says %d" % (path, pixels.size, count * rows * cols))
    return pixels.reshape(count, rows * cols)


def make_fmnist(k=50):
    from sklearn.decomposition import PCA

    images = read_idx_images(FMNIST).astype(np.float64) / 255.0
    pca = PCA(n_components=k, svd_solver="randomized", random_state=0)
    Z = pca.fit_transform(images)
    print("fmnist: %d PCs keep %.1f%% of the variance" % (k, 100 * pca.explained_variance_ratio_.sum()),
          file=sys.stderr)
    return Z


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("synth", "fmnist"))
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    for key, name, make in (("synth", SYNTH, make_synth), ("fmnist", FMNIST_PCA, make_fmnist)):
        if a.only and a.only != key:
            continue
        if os.path.exists(os.path.join(DATA, name)) and not a.force:
            print("%s exists, kept" % name, file=sys.stderr)
            continue
        save(name, make())


if __name__ == "__main__":
    main()

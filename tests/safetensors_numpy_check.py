#!/usr/bin/env python3
"""Read a model file written by liblatent without liblatent.

Usage:
    safetensors_numpy_check.py FILE [NAME=DTYPE:SHAPE:SUM ...] [--meta KEY=VALUE ...]

SHAPE is extents joined by 'x' ("3x2"; empty for a 0-d scalar). The file is
read with plain numpy + json, checked against the layout liblatent promises
(header padded so the data starts at a multiple of 8, "__metadata__" first,
tensors tiling the data region with no gaps, each at a multiple of its element
size -- what the reference safetensors reader needs), and every tensor is
printed. Each NAME=... must match: dtype, shape, and the sum of the values
(exact for integers, relative 1e-12 for floats). Each --meta KEY=VALUE must be
in the metadata. When the `safetensors` package is importable, it loads the
file too and must agree with numpy. Exit status 0 when everything matches, 1
otherwise, with the reasons on stderr.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F64": "<f8", "F32": "<f4", "U8": "u1", "I64": "<i8"}


def fail(msg, errors):
    errors.append(msg)
    print("MISMATCH: " + msg, file=sys.stderr)


def read_numpy(path, errors):
    with open(path, "rb") as fh:
        raw = fh.read()
    (n,) = struct.unpack("<Q", raw[:8])
    if (8 + n) % 8 != 0:
        fail("header length %d: data does not start at a multiple of 8" % n, errors)
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = raw[8 + n :]
    keys = list(header.keys())
    if keys and keys[0] != "__metadata__":
        fail("first key is %r, not __metadata__" % keys[0], errors)
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    spans = []
    for name, info in header.items():
        dt = np.dtype(DTYPES[info["dtype"]])
        shape = tuple(info["shape"])
        begin, end = info["data_offsets"]
        if begin % dt.itemsize != 0:
            fail("%s starts at %d, not a multiple of %d" % (name, begin, dt.itemsize), errors)
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if end - begin != count * dt.itemsize:
            fail("%s: %d bytes for shape %s" % (name, end - begin, shape), errors)
        spans.append((begin, end, name))
        tensors[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape)
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            fail("%s begins at %d, expected %d (no gaps)" % (name, begin, pos), errors)
        pos = end
    if pos != len(data):
        fail("tensors end at %d, the data region has %d bytes" % (pos, len(data)), errors)
    return tensors, meta


def check_with_safetensors(path, tensors, meta, errors):
    try:
        from safetensors import safe_open
        from safetensors.numpy import load_file
    except ImportError:
        print("note: the safetensors package is not installed; numpy only")
        return
    theirs = load_file(path)
    if set(theirs) != set(tensors):
        fail("safetensors sees tensors %s" % sorted(theirs), errors)
    for name, arr in tensors.items():
        other = theirs.get(name)
        if other is None or other.dtype != arr.dtype or other.shape != arr.shape or not np.array_equal(
            other, arr, equal_nan=arr.dtype.kind == "f"
        ):
            fail("safetensors reads %s differently" % name, errors)
    with safe_open(path, framework="np") as fh:
        if (fh.metadata() or {}) != meta:
            fail("safetensors reads different metadata", errors)
    print("safetensors package: agrees")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    errors = []
    tensors, meta = read_numpy(path, errors)
    np.set_printoptions(precision=17, threshold=50)
    for key, value in meta.items():
        print("meta %s = %r" % (key, value))
    for name, arr in tensors.items():
        print("%s %s %s\n%s" % (name, arr.dtype, list(arr.shape), arr))

    args = argv[2:]
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--meta":
            key, _, value = args[i + 1].partition("=")
            if meta.get(key) != value:
                fail("metadata %s is %r, expected %r" % (key, meta.get(key), value), errors)
            i += 2
            continue
        name, _, spec = a.partition("=")
        dtype, shape_s, sum_s = spec.split(":")
        shape = tuple(int(x) for x in shape_s.split("x")) if shape_s else ()
        arr = tensors.get(name)
        if arr is None:
            fail("no tensor %s" % name, errors)
        elif arr.dtype != np.dtype(DTYPES[dtype]) or arr.shape != shape:
            fail("%s is %s %s, expected %s %s" % (name, arr.dtype, arr.shape, dtype, shape), errors)
        elif arr.dtype.kind in "iu":
            got = sum(int(v) for v in arr.ravel())
            if got != int(sum_s):
                fail("sum of %s is %d, expected %s" % (name, got, sum_s), errors)
        else:
            got = float(arr.astype(np.float64).sum())
            want = float(sum_s)
            if abs(got - want) > 1e-12 * max(abs(got), abs(want), 1e-300):
                fail("sum of %s is %.17g, expected %.17g" % (name, got, want), errors)
        i += 1

    check_with_safetensors(path, tensors, meta, errors)
    print("%d mismatches" % len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

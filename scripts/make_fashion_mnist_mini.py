#!/usr/bin/env python
"""Make ``ttnet/data/fashion_mnist_mini.npz``, the small Fashion-MNIST subset packaged with ttnet.

The subset is class-balanced — 600 training and 100 test images of each of the
10 classes (6,000 + 1,000) — and drawn with a fixed seed by
:func:`ttnet.data.balanced_subset` from the real files (found like
``ttnet.data.load("fashion-mnist")`` finds them: ``--root``, ``$TTNET_DATA``,
``~/.cache/ttnet``, ``/usr/share/datasets/fashion-mnist``), so running this
script again gives the same images.

The file is an ordinary ``.npz`` (``np.load`` reads it) whose members are
compressed with LZMA instead of zlib: about 2.6 MB instead of 3.1 MB. It holds

* ``train_images`` (6000, 28, 28) uint8, ``train_labels`` (6000,) uint8,
* ``test_images`` (1000, 28, 28) uint8, ``test_labels`` (1000,) uint8,
* ``train_indices``, ``test_indices`` (uint16): positions in the full files,
* ``seed``: the seed used.

Images are stored at 28×28 like the originals; ``load`` pads them to 32×32.
The members carry a fixed timestamp, so the same input gives the same bytes.
After running it, copy the printed SHA-256 into ``MINI_SHA256`` in
``ttnet/data/datasets.py`` (``load`` checks it).

Usage::

    sudo apt-get install dataset-fashion-mnist       # or put the four files in --root
    python scripts/make_fashion_mnist_mini.py [--root DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np

from ttnet.data import balanced_subset, file_digest, load
from ttnet.train import atomic_write

SEED = 2016            # the paper's year; any fixed number would do
PER_CLASS_TRAIN = 600
PER_CLASS_TEST = 100
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "ttnet" / "data" / "fashion_mnist_mini.npz"


def select(train_labels: np.ndarray, test_labels: np.ndarray, seed: int = SEED,
           per_class_train: int = PER_CLASS_TRAIN, per_class_test: int = PER_CLASS_TEST):
    """Sorted training and test indices of the subset: one generator, training classes first."""
    rng = np.random.default_rng(seed)
    return (balanced_subset(train_labels, per_class_train, rng),
            balanced_subset(test_labels, per_class_test, rng))


def make_arrays(root=None, seed: int = SEED) -> dict[str, np.ndarray]:
    """The arrays of the mini file, from the full Fashion-MNIST found via ``root``."""
    train, test = load("fashion-mnist", "train", root=root), load("fashion-mnist", "test", root=root)
    train_idx, test_idx = select(train.labels, test.labels, seed)
    arrays = {"seed": np.array(seed, dtype=np.int64)}
    for split, data, idx in (("train", train, train_idx), ("test", test, test_idx)):
        padded = data.images[idx, 0]                      # (n, 32, 32), zero border of 2
        assert not padded[:, :2].any() and not padded[:, 30:].any()
        assert not padded[:, :, :2].any() and not padded[:, :, 30:].any()
        arrays[f"{split}_images"] = np.ascontiguousarray(padded[:, 2:30, 2:30])   # the 28×28 originals
        arrays[f"{split}_labels"] = data.labels[idx].astype(np.uint8)
        arrays[f"{split}_indices"] = idx.astype(np.uint16)
    return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an LZMA-compressed .npz with fixed timestamps (reproducible bytes)."""
    def write(f) -> None:
        with zipfile.ZipFile(f, "w") as archive:
            for key in sorted(arrays):
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_LZMA
                with archive.open(info, "w") as member:
                    np.lib.format.write_array(member, arrays[key], allow_pickle=False)

    atomic_write(path, write)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=None, help="directory holding the four Fashion-MNIST files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)
    write_npz(args.out, make_arrays(args.root, args.seed))
    digest = file_digest(args.out, "sha256")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    print(f"sha256 {digest}   <- MINI_SHA256 in ttnet/data/datasets.py")


if __name__ == "__main__":
    main()

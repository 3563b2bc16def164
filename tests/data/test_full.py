"""Tests on the real Fashion-MNIST files (Debian's dataset-fashion-mnist package).

Skipped when the files are missing, unless TTNET_REQUIRE_FULL_DATA is set (CI sets it), in which
case they fail. Each full split is loaded once per module.
"""

import dataclasses
import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from ttnet.data import FASHION_MNIST, file_digest, load
from ttnet.data.datasets import MINI_SHA256

from ..helpers import load_script
from . import SYSTEM_FASHION_DIR, leftover_parts, requires_full_data, serve_directory

pytestmark = [requires_full_data, pytest.mark.usefixtures("isolated")]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_fashion_mnist_mini.py"


@pytest.fixture(scope="module")
def full():
    return {split: load("fashion-mnist", split, root=SYSTEM_FASHION_DIR) for split in ("train", "test")}


def test_full_fashion_mnist(full):
    train, test = full["train"], full["test"]
    assert train.images.shape == (60000, 1, 32, 32) and test.images.shape == (10000, 1, 32, 32)
    np.testing.assert_array_equal(np.bincount(train.labels), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(test.labels), [1000] * 10)
    np.testing.assert_array_equal(train.labels[:10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
    np.testing.assert_array_equal(test.labels[:10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
    assert train.images.sum(dtype=np.int64) == 3431114169
    assert test.images.sum(dtype=np.int64) == 573469082
    for ds in (train, test):
        assert not ds.images[:, :, :2].any() and not ds.images[:, :, 30:].any()
        assert not ds.images[:, :, :, :2].any() and not ds.images[:, :, :, 30:].any()


def test_recorded_checksums_are_those_of_the_installed_files():
    for spec in FASHION_MNIST.files:
        path = spec.find_in(SYSTEM_FASHION_DIR)
        assert file_digest(path, "sha256", gunzip=True) == spec.digest


def test_uncompressed_copies_load_the_same(full, tmp_path):
    root = tmp_path / "plain"
    root.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (root / name).write_bytes(gzip.decompress((SYSTEM_FASHION_DIR / (name + ".gz")).read_bytes()))
    ds = load("fashion-mnist", "test", root=root)
    np.testing.assert_array_equal(ds.images, full["test"].images)
    np.testing.assert_array_equal(ds.labels, full["test"].labels)


def test_download_of_the_real_files_from_a_local_mirror(full, tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(SYSTEM_FASHION_DIR / name, site / name)
    source = dataclasses.replace(FASHION_MNIST, system_dir=None)    # so the installed copy is not found
    with serve_directory(site) as (url, requests):
        monkeypatch.setenv("TTNET_DATA_URL", url)
        ds = load(source, "test", root=tmp_path / "root", download=True)
    assert sorted(requests) == ["/t10k-images-idx3-ubyte.gz", "/t10k-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(ds.images, full["test"].images)
    assert leftover_parts(tmp_path / "root") == []


def _script():
    return load_script(SCRIPT, "make_fashion_mnist_mini")


def test_mini_is_the_documented_subset_of_the_full_set(full):
    script = _script()
    mini = {split: load("fashion-mnist-mini", split) for split in ("train", "test")}
    train_idx, test_idx = script.select(full["train"].labels, full["test"].labels)
    for split, idx in (("train", train_idx), ("test", test_idx)):
        np.testing.assert_array_equal(mini[split].images, full[split].images[idx])
        np.testing.assert_array_equal(mini[split].labels, full[split].labels[idx])


def test_the_script_reproduces_the_packaged_file_byte_for_byte(tmp_path, capsys):
    out = tmp_path / "mini.npz"
    _script().main(["--out", str(out)])
    assert hashlib.sha256(out.read_bytes()).hexdigest() == MINI_SHA256
    assert MINI_SHA256 in capsys.readouterr().out

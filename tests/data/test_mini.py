"""The packaged fashion-mnist-mini set: offline, balanced, checksummed."""

import io
from importlib import resources

import numpy as np
import pytest

from ttnet.data import FASHION_MNIST_CLASSES, DatasetError, file_digest, load
from ttnet.data.datasets import MINI_FILENAME, MINI_SHA256, _load_mini

from . import npz_bytes, sha256

pytestmark = pytest.mark.usefixtures("isolated")

PACKAGED = resources.files("ttnet.data").joinpath(MINI_FILENAME)


@pytest.mark.parametrize("split, per_class", [("train", 600), ("test", 100)])
def test_mini_loads_offline_and_is_balanced(split, per_class, monkeypatch, tmp_path):
    monkeypatch.setenv("TTNET_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("TTNET_DATA_URL", "http://127.0.0.1:9/")
    ds = load("fashion-mnist-mini", split)
    assert ds.images.shape == (10 * per_class, 1, 32, 32) and ds.images.dtype == np.uint8
    assert ds.labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(ds.labels, minlength=10), [per_class] * 10)
    assert ds.name == "fashion-mnist-mini" and ds.split == split
    assert ds.classes == FASHION_MNIST_CLASSES and ds.horizontal_flip is False
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert not ds.images[:, 0][:, border].any()                      # zero-padded from 28×28
    assert ds.images[:, 0, 2:30, 2:30].mean() > 50                   # real pictures inside


def test_mini_ignores_root_and_download(tmp_path):
    a = load("fashion-mnist-mini", "test")
    b = load("fashion-mnist-mini", "test", root=tmp_path / "missing", download=True)
    np.testing.assert_array_equal(a.images, b.images)
    assert not (tmp_path / "missing").exists()


def test_packaged_file_matches_the_recorded_checksum():
    with resources.as_file(PACKAGED) as path:
        assert file_digest(path) == MINI_SHA256
        assert path.stat().st_size < 3_000_000


def test_packaged_file_contents():
    with np.load(io.BytesIO(PACKAGED.read_bytes())) as f:
        assert sorted(f.files) == ["seed", "test_images", "test_indices", "test_labels",
                                   "train_images", "train_indices", "train_labels"]
        for split, n, total in (("train", 6000, 60000), ("test", 1000, 10000)):
            idx = f[f"{split}_indices"]
            assert idx.shape == (n,) and np.all(np.diff(idx.astype(int)) > 0) and idx.max() < total
            assert f[f"{split}_images"].shape == (n, 28, 28)


def test_a_modified_copy_fails_its_checksum(tmp_path):
    data = bytearray(PACKAGED.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / MINI_FILENAME
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=f"^{path}: checksum mismatch — sha256"):
        _load_mini("train", path)


def test_an_intact_copy_loads(tmp_path):
    path = tmp_path / "copy.npz"
    path.write_bytes(PACKAGED.read_bytes())
    np.testing.assert_array_equal(_load_mini("test", path).labels, load("fashion-mnist-mini", "test").labels)


@pytest.mark.parametrize("arrays, message", [
    (dict(test_images=np.zeros((2, 28, 28), np.uint8)), "not a valid mini data set"),
    (dict(train_images=np.zeros((2, 28, 28), np.float32), train_labels=np.zeros(2, np.uint8)),
     "expected uint8 images"),
    (dict(train_images=np.zeros((2, 28, 28), np.uint8), train_labels=np.zeros(3, np.uint8)),
     "expected uint8 images"),
])
def test_malformed_files_with_matching_checksums(tmp_path, arrays, message):
    data = npz_bytes(**arrays)
    path = tmp_path / "mini.npz"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=message):
        _load_mini("train", path, sha256(data))
    path.write_bytes(b"PK not a zip")
    with pytest.raises(DatasetError, match="not a valid mini data set"):
        _load_mini("train", path, sha256(b"PK not a zip"))

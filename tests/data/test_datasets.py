"""load() on small fixture files in the real formats: search order, checksums, errors, downloads."""

import dataclasses
import gzip

import numpy as np
import pytest

import ttnet.data as data
from ttnet.data import (CIFAR10, CIFAR10_CLASSES, FASHION_MNIST, FASHION_MNIST_CLASSES, DatasetError,
                        DatasetNotFoundError, DataSource, Dataset, DownloadError, FileSpec,
                        balanced_subset, load)

from . import (closed_port_url, idx_bytes, leftover_parts, make_cifar_fixture,
               make_fashion_fixture, serve_directory, sha256)

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def fashion(rng, tmp_path):
    return make_fashion_fixture(rng, system_dir=str(tmp_path / "system"))


def _expected_fashion(fixture, split):
    images, labels = fixture.arrays[split]
    padded = np.zeros((len(images), 1, 32, 32), np.uint8)
    padded[:, 0, 2:30, 2:30] = images
    return padded, labels


def _assert_fashion(ds, fixture, split):
    images, labels = _expected_fashion(fixture, split)
    assert isinstance(ds, Dataset)
    assert ds.images.dtype == np.uint8 and ds.images.shape == images.shape
    assert ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert ds.name == "fashion-mnist" and ds.split == split
    assert ds.classes == FASHION_MNIST_CLASSES and ds.horizontal_flip is False


# ----------------------------------------------------------------------------- Fashion-MNIST layout

@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("split", ["train", "test"])
def test_fashion_from_root_plain_or_gzipped(fashion, tmp_path, compress, split):
    fashion.write(tmp_path / "root", compress=compress)
    _assert_fashion(load(fashion.source, split, root=tmp_path / "root"), fashion, split)


def test_fashion_padding_is_two_zero_pixels_each_side(fashion, tmp_path):
    fashion.write(tmp_path / "root")
    ds = load(fashion.source, root=str(tmp_path / "root"))
    assert ds.image_shape == (1, 32, 32)
    assert not ds.images[:, :, :2].any() and not ds.images[:, :, 30:].any()
    assert not ds.images[:, :, :, :2].any() and not ds.images[:, :, :, 30:].any()
    np.testing.assert_array_equal(ds.images[:, 0, 2:30, 2:30], fashion.arrays["train"][0])


def test_fashion_in_the_subdirectory_of_root(fashion, tmp_path):
    fashion.write(tmp_path / "root" / "fashion-mnist", compress=True)
    _assert_fashion(load(fashion.source, "test", root=tmp_path / "root"), fashion, "test")


def test_a_split_needs_only_its_own_files(fashion, tmp_path):
    fashion.write(tmp_path / "root", names={"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    _assert_fashion(load(fashion.source, "test", root=tmp_path / "root"), fashion, "test")
    with pytest.raises(DatasetNotFoundError):
        load(fashion.source, "train", root=tmp_path / "root")


@pytest.mark.parametrize("where", ["env", "env-subdir", "cache", "system"])
def test_fashion_found_in_each_search_location(fashion, tmp_path, monkeypatch, isolated, where):
    directory = {"env": tmp_path / "env", "env-subdir": tmp_path / "env" / "fashion-mnist",
                 "cache": isolated / ".cache" / "ttnet" / "fashion-mnist",
                 "system": tmp_path / "system"}[where]
    monkeypatch.setenv("TTNET_DATA", str(tmp_path / "env"))
    fashion.write(directory, compress=True)
    _assert_fashion(load(fashion.source, "train"), fashion, "train")


def _corrupt_copy(fashion, directory):
    """A complete set whose labels file fails its checksum (so an error names the copy used)."""
    fashion.write(directory)
    path = directory / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-1] + b"\x09")
    return path


def test_search_order_root_env_cache_system(fashion, tmp_path, monkeypatch, isolated):
    monkeypatch.setenv("TTNET_DATA", str(tmp_path / "env"))
    copies = [_corrupt_copy(fashion, d) for d in (
        tmp_path / "root", tmp_path / "env", isolated / ".cache" / "ttnet" / "fashion-mnist",
        tmp_path / "system")]
    for path in copies:   # each load uses the first complete copy; remove it and the next one is used
        with pytest.raises(DatasetError, match="checksum mismatch") as info:
            load(fashion.source, "train", root=tmp_path / "root")
        assert str(info.value).startswith(str(path) + ":")
        for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
            (path.parent / name).unlink()
    with pytest.raises(DatasetNotFoundError):
        load(fashion.source, "train", root=tmp_path / "root")


def test_an_incomplete_directory_is_skipped(fashion, tmp_path, isolated):
    fashion.write(tmp_path / "root", names={"train-images-idx3-ubyte"})
    fashion.write(isolated / ".cache" / "ttnet" / "fashion-mnist", compress=True)
    _assert_fashion(load(fashion.source, root=tmp_path / "root"), fashion, "train")


def test_not_found_says_how_to_get_the_data(fashion, tmp_path, isolated):
    fashion.write(tmp_path / "root", names={"train-labels-idx1-ubyte"})
    with pytest.raises(DatasetNotFoundError) as info:
        load(fashion.source, "train", root=tmp_path / "root")
    assert isinstance(info.value, FileNotFoundError)
    text = str(info.value)
    for needle in ["fashion-mnist (split 'train') not found",
                   "train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]",
                   f"{tmp_path / 'root'}  [root]  (has only train-labels-idx1-ubyte)",
                   f"{tmp_path / 'root' / 'fashion-mnist'}  [root]",
                   f"{isolated / '.cache' / 'ttnet' / 'fashion-mnist'}  [cache]",
                   f"{tmp_path / 'system'}  [system]",
                   "sudo apt-get install dataset-fashion-mnist",
                   "load('fashion-mnist', split='train', download=True)",
                   f"saved in {tmp_path / 'root' / 'fashion-mnist'}",
                   "copy train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz (gzipped or not)",
                   "gzipped or not", "$TTNET_DATA", "load('fashion-mnist-mini')"]:
        assert needle in text, needle


def test_not_found_for_the_real_source_without_system_copy(tmp_path, isolated, monkeypatch):
    monkeypatch.setenv("TTNET_DATA", str(tmp_path / "env"))
    source = dataclasses.replace(FASHION_MNIST, system_dir=str(tmp_path / "no-system"))
    with pytest.raises(DatasetNotFoundError) as info:
        load(source, "test")
    text = str(info.value)
    assert f"{tmp_path / 'env'}  [$TTNET_DATA]" in text
    assert "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" in text
    assert f"saved in {isolated / '.cache' / 'ttnet' / 'fashion-mnist'}" in text


def test_not_found_message_uses_the_mirror_url(fashion, monkeypatch):
    monkeypatch.setenv("TTNET_DATA_URL", "http://mirror.invalid/fm/")
    with pytest.raises(DatasetNotFoundError, match="from http://mirror.invalid/fm/"):
        load(fashion.source)


def test_checksum_mismatch_names_the_file(fashion, tmp_path):
    fashion.write(tmp_path / "root", compress=True)
    path = tmp_path / "root" / "t10k-images-idx3-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[100] ^= 1
    path.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DatasetError, match=f"^{path}: checksum mismatch — sha256 of the decompressed"):
        load(fashion.source, "test", root=tmp_path / "root")


def _source_for(fashion, **contents):
    """Fixture files replaced by ``contents`` (name -> bytes), with checksums that match them."""
    new = {**fashion.contents, **contents}
    files = tuple(FileSpec(name, sha256(raw), gzip=True) for name, raw in new.items())
    return dataclasses.replace(fashion.source, files=files), new


@pytest.mark.parametrize("name, raw, message", [
    ("train-images-idx3-ubyte", b"\x1f\x00\x08\x03", "not an IDX file"),
    ("train-images-idx3-ubyte", idx_bytes(np.zeros((12, 28, 28), np.uint8))[:-5], "truncated IDX file"),
    ("train-labels-idx1-ubyte", idx_bytes(np.zeros(11, np.uint8)), "11 labels for the 12 images"),
    ("train-labels-idx1-ubyte", idx_bytes(np.full(12, 10, np.uint8)), "labels must be < 10"),
    ("train-labels-idx1-ubyte", idx_bytes(np.zeros((12, 1), np.uint8)), "expected uint8 labels"),
    ("train-images-idx3-ubyte", idx_bytes(np.zeros((12, 28, 28), np.int16)), "expected uint8 images"),
    ("train-images-idx3-ubyte", idx_bytes(np.zeros((12, 27, 27), np.uint8)), "cannot pad 27×27 images"),
])
def test_corrupt_files_with_matching_checksums(fashion, tmp_path, name, raw, message):
    source, contents = _source_for(fashion, **{name: raw})
    (tmp_path / "root").mkdir()
    for n, content in contents.items():
        (tmp_path / "root" / n).write_bytes(content)
    with pytest.raises(DatasetError, match=message) as info:
        load(source, "train", root=tmp_path / "root")
    assert str(tmp_path / "root") in str(info.value)


def test_corrupt_gzip_names_the_file(fashion, tmp_path):
    fashion.write(tmp_path / "root", compress=True)
    path = tmp_path / "root" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DatasetError, match=f"{path}: corrupt or truncated gzip"):
        load(fashion.source, root=tmp_path / "root")


# ----------------------------------------------------------------------------- downloads

@pytest.fixture
def fashion_site(fashion, tmp_path):
    """The fixture files as the official site serves them: gzipped."""
    site = fashion.write(tmp_path / "site", compress=True)
    return site


def test_download_fashion_into_root(fashion, fashion_site, tmp_path):
    with serve_directory(fashion_site) as (url, requests):
        source = dataclasses.replace(fashion.source, url=url)
        ds = load(source, "train", root=tmp_path / "root", download=True)
        _assert_fashion(ds, fashion, "train")
        assert sorted(requests) == ["/train-images-idx3-ubyte.gz", "/train-labels-idx1-ubyte.gz"]
        target = tmp_path / "root" / "fashion-mnist"
        assert sorted(p.name for p in target.iterdir()) == ["train-images-idx3-ubyte.gz",
                                                           "train-labels-idx1-ubyte.gz"]
        _assert_fashion(load(source, "train", root=tmp_path / "root", download=True), fashion, "train")
        assert len(requests) == 2   # already there: nothing downloaded again
    _assert_fashion(load(source, "train", root=tmp_path / "root"), fashion, "train")  # offline now


def test_download_defaults_to_the_cache(fashion, fashion_site, isolated):
    with serve_directory(fashion_site) as (url, _):
        load(dataclasses.replace(fashion.source, url=url), "test", download=True)
    cache = isolated / ".cache" / "ttnet" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    _assert_fashion(load(fashion.source, "test"), fashion, "test")


def test_download_fetches_only_missing_files(fashion, fashion_site, tmp_path):
    fashion.write(tmp_path / "root" / "fashion-mnist", names={"train-labels-idx1-ubyte"})
    with serve_directory(fashion_site) as (url, requests):
        ds = load(dataclasses.replace(fashion.source, url=url), root=tmp_path / "root", download=True)
    _assert_fashion(ds, fashion, "train")
    assert requests == ["/train-images-idx3-ubyte.gz"]


def test_data_url_environment_variable_overrides_the_source(fashion, fashion_site, tmp_path, monkeypatch):
    source = dataclasses.replace(fashion.source, url=closed_port_url())
    with serve_directory(fashion_site) as (url, requests):
        monkeypatch.setenv("TTNET_DATA_URL", url.rstrip("/"))    # with or without the trailing slash
        _assert_fashion(load(source, "test", root=tmp_path / "root", download=True), fashion, "test")
    assert len(requests) == 2


def test_download_with_a_bad_file_on_the_server_leaves_nothing(fashion, fashion_site, tmp_path):
    (fashion_site / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x00"))
    with serve_directory(fashion_site) as (url, _):
        with pytest.raises(DatasetError, match="train-labels-idx1-ubyte.gz .*not kept.*checksum mismatch"):
            load(dataclasses.replace(fashion.source, url=url), root=tmp_path / "root", download=True)
    target = tmp_path / "root" / "fashion-mnist"
    assert not (target / "train-labels-idx1-ubyte.gz").exists()
    assert leftover_parts(tmp_path / "root") == []


def test_download_from_an_unreachable_server(fashion, tmp_path):
    source = dataclasses.replace(fashion.source, url=closed_port_url())
    with pytest.raises(DownloadError, match="could not download http://127.0.0.1:"):
        load(source, root=tmp_path / "root", download=True)
    assert leftover_parts(tmp_path / "root") == []


def test_interrupted_download_then_retry(fashion, fashion_site, tmp_path):
    size = (fashion_site / "train-images-idx3-ubyte.gz").stat().st_size
    with serve_directory(fashion_site, truncate={"train-images-idx3-ubyte.gz": size // 2}) as (url, _):
        source = dataclasses.replace(fashion.source, url=url)
        with pytest.raises(DownloadError):
            load(source, root=tmp_path / "root", download=True)
    target = tmp_path / "root" / "fashion-mnist"
    assert not (target / "train-images-idx3-ubyte.gz").exists()
    assert leftover_parts(tmp_path / "root") == []
    with serve_directory(fashion_site) as (url, _):
        _assert_fashion(load(dataclasses.replace(source, url=url), root=tmp_path / "root", download=True),
                        fashion, "train")


# ----------------------------------------------------------------------------- CIFAR-10 layout

@pytest.fixture
def cifar(rng, tmp_path):
    return make_cifar_fixture(tmp_path / "made", rng)


def _assert_cifar(ds, fixture, split):
    images, labels = fixture.arrays[split]
    assert ds.images.shape == (len(images), 3, 32, 32) and ds.images.dtype == np.uint8
    assert ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert ds.name == "cifar10" and ds.split == split
    assert ds.classes == CIFAR10_CLASSES and ds.horizontal_flip is True


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar_from_the_batches_directory(cifar, split):
    ds = load(cifar.source, split, root=cifar.batch_dir.parent)
    _assert_cifar(ds, cifar, split)
    assert len(ds) == (15 if split == "train" else 3)


def test_cifar_root_may_be_the_batches_directory_itself(cifar):
    _assert_cifar(load(cifar.source, "test", root=cifar.batch_dir), cifar, "test")


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar_from_the_archive(cifar, tmp_path, split):
    root = tmp_path / "root" / "cifar10"
    root.mkdir(parents=True)
    cifar.archive.rename(root / cifar.archive.name)
    _assert_cifar(load(cifar.source, split, root=tmp_path / "root"), cifar, split)


def _archive_only(cifar, tmp_path):
    """A root holding only the archive (no batches directory); updates ``cifar.archive``."""
    root = tmp_path / "archive-only"
    root.mkdir()
    (root / cifar.archive.name).write_bytes(cifar.archive.read_bytes())
    cifar.archive = root / cifar.archive.name
    return root


def test_cifar_archive_checksum_mismatch(cifar, tmp_path):
    root = _archive_only(cifar, tmp_path)
    source = dataclasses.replace(cifar.source, archive=FileSpec(cifar.archive.name, "0" * 32, "md5"))
    with pytest.raises(DatasetError, match=f"^{cifar.archive}: checksum mismatch — md5"):
        load(source, root=root)


def test_cifar_member_checksum_mismatch_names_archive_and_member(cifar, tmp_path):
    root = _archive_only(cifar, tmp_path)
    files = tuple(FileSpec(s.name, "f" * 32, "md5") if s.name == "data_batch_3" else s for s in cifar.source.files)
    with pytest.raises(DatasetError, match=f"^{cifar.archive}:cifar-10-batches-py/data_batch_3: checksum mismatch"):
        load(dataclasses.replace(cifar.source, files=files), root=root)


def test_cifar_batch_file_checksum_mismatch(cifar):
    path = cifar.batch_dir / "test_batch"
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DatasetError, match=f"^{path}: checksum mismatch"):
        load(cifar.source, "test", root=cifar.batch_dir.parent)


def test_cifar_archive_missing_a_member(cifar, tmp_path):
    import tarfile
    root = tmp_path / "r"
    root.mkdir()
    archive = root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(cifar.batch_dir / "test_batch", arcname="cifar-10-batches-py/test_batch")
    source = dataclasses.replace(cifar.source, archive=FileSpec(archive.name, _md5(archive), "md5"))
    _assert_cifar(load(source, "test", root=root), cifar, "test")
    with pytest.raises(DatasetError, match="the archive has no member cifar-10-batches-py/data_batch_1"):
        load(source, "train", root=root)


def _md5(path):
    import hashlib
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_cifar_truncated_archive_with_matching_checksum(cifar, tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    archive = root / "cifar-10-python.tar.gz"
    archive.write_bytes(cifar.archive.read_bytes()[:-200])
    source = dataclasses.replace(cifar.source, archive=FileSpec(archive.name, _md5(archive), "md5"))
    with pytest.raises(DatasetError, match=f"{archive}: corrupt or truncated archive"):
        load(source, "test", root=root)


def test_cifar_download(cifar, tmp_path):
    with serve_directory(cifar.archive.parent) as (url, requests):
        ds = load(dataclasses.replace(cifar.source, url=url), "train", root=tmp_path / "root", download=True)
    _assert_cifar(ds, cifar, "train")
    assert requests == ["/cifar-10-python.tar.gz"]
    saved = tmp_path / "root" / "cifar10" / "cifar-10-python.tar.gz"
    assert saved.read_bytes() == cifar.archive.read_bytes()
    _assert_cifar(load(cifar.source, "test", root=tmp_path / "root"), cifar, "test")  # offline now


def test_cifar_download_checksum_mismatch_leaves_nothing(cifar, tmp_path):
    source = dataclasses.replace(cifar.source, archive=FileSpec("cifar-10-python.tar.gz", "1" * 32, "md5"))
    with serve_directory(cifar.archive.parent) as (url, _):
        with pytest.raises(DatasetError, match="cifar-10-python.tar.gz .*not kept.*checksum mismatch"):
            load(dataclasses.replace(source, url=url), root=tmp_path / "root", download=True)
    assert not (tmp_path / "root" / "cifar10" / "cifar-10-python.tar.gz").exists()
    assert leftover_parts(tmp_path / "root") == []


def test_cifar_not_found_message(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load("cifar10", "test", root=tmp_path)
    text = str(info.value)
    for needle in ["cifar10 (split 'test') not found", "cifar-10-python.tar.gz, or the directory "
                   "cifar-10-batches-py/ holding test_batch", f"{tmp_path / 'cifar10'}  [root]",
                   "https://www.cs.toronto.edu/~kriz/", "load('cifar10', split='test', download=True)",
                   "(163 MB)", "$TTNET_DATA"]:
        assert needle in text, needle
    assert "apt-get" not in text


def test_real_cifar_source_describes_the_official_files():
    assert CIFAR10.archive.digest == "c58f30108f718f92721af3b95e74349a"
    assert CIFAR10.splits["train"] == tuple(f"data_batch_{k}" for k in range(1, 6))
    assert [s.algorithm for s in CIFAR10.files] == ["md5"] * 6


# ----------------------------------------------------------------------------- argument errors

def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError, match="name must be one of 'fashion-mnist', 'fashion-mnist-mini', "
                                         "'cifar10'; got 'mnist'"):
        load("mnist")
    with pytest.raises(TypeError, match="name must be a string"):
        load(3)


@pytest.mark.parametrize("name", ["fashion-mnist", "fashion-mnist-mini", "cifar10"])
def test_unknown_split_lists_the_valid_splits(name):
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'; got 'valid'"):
        load(name, "valid")


def test_split_of_a_custom_source_is_checked(fashion):
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'; got 'Train'"):
        load(fashion.source, "Train")


def test_root_and_download_are_checked():
    with pytest.raises(TypeError, match="root must be a path"):
        load("fashion-mnist-mini", root=5)
    with pytest.raises(TypeError, match="download must be True or False"):
        load("fashion-mnist-mini", download="yes")


def test_data_source_validation(fashion):
    with pytest.raises(ValueError, match="format must be one of 'idx', 'cifar-pickle'"):
        dataclasses.replace(fashion.source, format="csv")
    with pytest.raises(ValueError, match=r"splits\['train'\] names files not in files"):
        dataclasses.replace(fashion.source, splits={"train": ("nope", "train-labels-idx1-ubyte")})
    with pytest.raises(ValueError, match="an 'idx' split needs"):
        dataclasses.replace(fashion.source, splits={"train": ("train-images-idx3-ubyte",)})
    with pytest.raises(ValueError, match="archive_dir must be given"):
        dataclasses.replace(CIFAR10, archive_dir=None)
    with pytest.raises(KeyError):
        fashion.source.file("nope")
    with pytest.raises(TypeError, match="url must be a non-empty string"):
        dataclasses.replace(fashion.source, url=None)
    with pytest.raises(TypeError, match="files must be a tuple of FileSpec"):
        dataclasses.replace(fashion.source, files=[("a", "b")])
    with pytest.raises(TypeError, match="archive must be None or a FileSpec"):
        dataclasses.replace(CIFAR10, archive="cifar-10-python.tar.gz")
    with pytest.raises(TypeError, match="classes must be a tuple of strings"):
        dataclasses.replace(fashion.source, classes=["a"])
    with pytest.raises(ValueError, match="pad_to must be >= 1"):
        dataclasses.replace(fashion.source, pad_to=0)
    with pytest.raises(TypeError, match="horizontal_flip must be True or False"):
        dataclasses.replace(fashion.source, horizontal_flip="no")


def test_public_constants():
    assert data.DATASETS == ("fashion-mnist", "fashion-mnist-mini", "cifar10")
    assert data.SPLITS == ("train", "test")
    assert data.DATA_DIR_ENV == "TTNET_DATA" and data.DATA_URL_ENV == "TTNET_DATA_URL"
    assert isinstance(FASHION_MNIST, DataSource) and FASHION_MNIST.pad_to == 32


# ----------------------------------------------------------------------------- Dataset

def _images(n=6, c=1):
    return np.arange(n * c * 4 * 4, dtype=np.uint8).reshape(n, c, 4, 4)


def test_dataset_basics():
    ds = Dataset(_images(), [0, 1, 2, 0, 1, 2], name="toy", split="test", classes=("a", "b", "c"))
    assert len(ds) == 6 and ds.num_classes == 3 and ds.image_shape == (1, 4, 4)
    assert ds.labels.dtype == np.int64 and ds.horizontal_flip is False
    assert repr(ds) == "Dataset('toy', split='test', images=(6, 1, 4, 4) uint8, labels=(6,), classes=3)"
    assert Dataset(_images(2), np.array([0, 4], np.uint8)).classes == ("0", "1", "2", "3", "4")
    assert Dataset(_images(0), []).classes == ()


def test_dataset_subset_copies():
    ds = Dataset(_images(), [0, 1, 2, 0, 1, 2], horizontal_flip=True)
    sub = ds.subset([4, 0])
    np.testing.assert_array_equal(sub.images, ds.images[[4, 0]])
    np.testing.assert_array_equal(sub.labels, [1, 0])
    assert sub.horizontal_flip and sub.classes == ds.classes
    assert not np.shares_memory(sub.images, ds.images)
    mask = np.array([True, False, True, False, False, False])
    np.testing.assert_array_equal(ds.subset(mask).labels, [0, 2])
    assert len(ds.subset(np.array([], dtype=int))) == 0


@pytest.mark.parametrize("indices, error, message", [
    ([0.5], TypeError, "indices must be a 1-D array of integers"),
    ([[0, 1]], TypeError, "indices must be a 1-D array of integers"),
    ([6], ValueError, r"indices must lie in \[-6, 6\)"),
    ([True, False], ValueError, r"boolean mask must have shape \(6,\)"),
])
def test_dataset_subset_errors(indices, error, message):
    with pytest.raises(error, match=message):
        Dataset(_images(), [0] * 6).subset(indices)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(images=_images().astype(np.float32)), TypeError, "images must be a uint8 array"),
    (dict(images=[[1]]), TypeError, "images must be a uint8 array"),
    (dict(images=_images()[:, 0]), ValueError, r"images must have shape \(N, C, H, W\)"),
    (dict(labels=np.zeros(6)), TypeError, "labels must be a 1-D array of integers"),
    (dict(labels=[0] * 5), ValueError, "one entry per image: 6 images, got 5 labels"),
    (dict(labels=[0, 0, 0, 0, 0, -1]), ValueError, "labels must be >= 0"),
    (dict(classes=("a",), labels=[0, 0, 0, 0, 0, 1]), ValueError, r"labels must be < len\(classes\) = 1"),
    (dict(classes="abc"), TypeError, "classes must be a sequence of strings"),
    (dict(classes=(1, 2)), TypeError, "classes must be a sequence of strings"),
    (dict(name=None), TypeError, "name must be a string"),
    (dict(split=1), TypeError, "split must be a string"),
    (dict(horizontal_flip=1), TypeError, "horizontal_flip must be True or False"),
])
def test_dataset_validation(kwargs, error, message):
    args = dict(images=_images(), labels=[0] * 6)
    args.update(kwargs)
    images, labels = args.pop("images"), args.pop("labels")
    with pytest.raises(error, match=message):
        Dataset(images, labels, **args)


# ----------------------------------------------------------------------------- balanced_subset

def test_balanced_subset(rng):
    labels = rng.integers(0, 4, size=400)
    idx = balanced_subset(labels, 20, np.random.default_rng(1))
    assert idx.dtype == np.int64 and len(idx) == 80
    assert np.all(np.diff(idx) > 0)                                  # sorted, no repeats
    np.testing.assert_array_equal(np.bincount(labels[idx]), [20] * 4)
    np.testing.assert_array_equal(idx, balanced_subset(labels, 20, np.random.default_rng(1)))
    assert not np.array_equal(idx, balanced_subset(labels, 20, np.random.default_rng(2)))
    assert len(balanced_subset(np.array([], dtype=int), 3, 0)) == 0


def test_balanced_subset_errors():
    with pytest.raises(ValueError, match=r"per_class=3 is more than class 1 has \(2 examples\)"):
        balanced_subset([0, 0, 0, 1, 1], 3)
    with pytest.raises(TypeError, match="labels must be a 1-D array of integers"):
        balanced_subset([0.0, 1.0], 1)
    with pytest.raises(ValueError, match="per_class must be >= 1"):
        balanced_subset([0, 1], 0)
    with pytest.raises(TypeError, match="rng must be None, an int seed"):
        balanced_subset([0, 1], 1, rng="seed")

"""Data sets: where they live, how they are checked, and :func:`load`.

``load(name, split)`` returns a :class:`Dataset`: ``images`` (N, C, H, W)
uint8 and ``labels`` (N,) int64.

====================== =========================  ====================================
name                   images                     where the files come from
====================== =========================  ====================================
``fashion-mnist``      60,000 / 10,000 × 1×32×32   four IDX files (``.gz`` or not)
``fashion-mnist-mini`` 6,000 / 1,000 × 1×32×32     packaged with ttnet (offline)
``cifar10``            50,000 / 10,000 × 3×32×32   ``cifar-10-python.tar.gz`` or its
                                                   ``cifar-10-batches-py/`` directory
====================== =========================  ====================================

Fashion-MNIST's 28×28 images are zero-padded by 2 pixels on every side when
loaded, so both data sets are 32×32 and the paper's CIFAR-10 networks apply
unchanged (with one input channel); the original image is
``images[:, :, 2:30, 2:30]``.

Files are searched, in order, in ``root``, ``$TTNET_DATA``, the cache
``~/.cache/ttnet`` (each directory itself, then its ``fashion-mnist`` or
``cifar10`` subdirectory) and, for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist``
(Debian's ``dataset-fashion-mnist`` package). The first directory holding
every file the split needs is used, and each file's checksum is verified
before it is parsed. With ``download=True`` missing files are fetched from the
official location (or ``$TTNET_DATA_URL``) into ``root/<subdir>`` if ``root``
is given, else into ``~/.cache/ttnet/<subdir>``.

A data set is described by a :class:`DataSource` (files and their checksums,
URL, class names); ``load`` accepts one instead of a name, which is how the
tests check the machinery on small fixture files.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .._checks import check_bool, check_choice, check_int, check_path, check_rng, describe
from .cifar import parse_cifar_batch
from .errors import DatasetError, DatasetNotFoundError
from .files import (FileSpec, base_url, cache_dir, check_digest, download_file, read_verified,
                    search_dirs, verify_file)
from .idx import parse_idx
from .transforms import zero_pad

__all__ = ["Dataset", "DataSource", "load", "balanced_subset", "DATASETS", "SPLITS", "SOURCES",
           "FASHION_MNIST", "CIFAR10", "FASHION_MNIST_CLASSES", "CIFAR10_CLASSES",
           "MINI_FILENAME", "MINI_SHA256"]

#: The names :func:`load` accepts.
DATASETS = ("fashion-mnist", "fashion-mnist-mini", "cifar10")
#: The splits of every data set.
SPLITS = ("train", "test")

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


class Dataset:
    """One split of an image-classification data set, held in memory.

    Parameters
    ----------
    images : ndarray, uint8, shape (N, C, H, W)
    labels : array_like of int, shape (N,)
        Class indices, stored as int64.
    name, split : str
        For display (``"fashion-mnist"``, ``"train"``).
    classes : sequence of str, optional
        Class names, ``classes[k]`` for label k; default ``"0"``, ``"1"``, ….
    horizontal_flip : bool
        Whether the paper's augmentation mirrors these images (True for
        CIFAR-10, False for Fashion-MNIST); pass it to
        :func:`~ttnet.data.augment` as ``flip=``.

    Attributes
    ----------
    images, labels, name, split, classes, horizontal_flip
        As given (``labels`` as int64, ``classes`` as a tuple).
    """

    def __init__(self, images: np.ndarray, labels: Any, *, name: str = "dataset", split: str = "train",
                 classes: Sequence[str] | None = None, horizontal_flip: bool = False) -> None:
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
            raise TypeError(f"images must be a uint8 array of shape (N, C, H, W), got {describe(images)}")
        if images.ndim != 4:
            raise ValueError(f"images must have shape (N, C, H, W), got shape {images.shape}")
        labels = np.asarray(labels)
        if labels.shape == (0,):  # an empty list is float64 to NumPy
            labels = labels.astype(np.int64)
        if labels.dtype.kind not in "iu" or labels.ndim != 1:
            raise TypeError(f"labels must be a 1-D array of integers, got {describe(labels)}")
        if len(labels) != len(images):
            raise ValueError(f"labels must have one entry per image: {len(images)} images, "
                             f"got {len(labels)} labels")
        if len(labels) and labels.min() < 0:
            raise ValueError(f"labels must be >= 0, got minimum {labels.min()}")
        for value, arg in ((name, "name"), (split, "split")):
            if not isinstance(value, str):
                raise TypeError(f"{arg} must be a string, got {describe(value)}")
        if classes is None:
            classes = tuple(str(k) for k in range(int(labels.max()) + 1 if len(labels) else 0))
        elif isinstance(classes, str) or not isinstance(classes, Sequence) \
                or not all(isinstance(c, str) for c in classes):
            raise TypeError(f"classes must be a sequence of strings, got {describe(classes)}")
        classes = tuple(classes)
        if len(labels) and labels.max() >= len(classes):
            raise ValueError(f"labels must be < len(classes) = {len(classes)}, got maximum {labels.max()}")
        self.images = images
        self.labels = labels.astype(np.int64)
        self.name = name
        self.split = split
        self.classes = classes
        self.horizontal_flip = check_bool(horizontal_flip, "horizontal_flip")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(classes)``."""
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, indices: Any) -> "Dataset":
        """A new Dataset of the examples ``indices`` (integer array or boolean mask), copied.

        Raises
        ------
        TypeError, ValueError
            Non-integer indices, a mask of the wrong length, or an index out of range.
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"indices as a boolean mask must have shape ({len(self)},), got {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise TypeError(f"indices must be a 1-D array of integers or a boolean mask, got {describe(indices)}")
        if len(idx) and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise ValueError(f"indices must lie in [-{len(self)}, {len(self)}), got values from "
                             f"{idx.min()} to {idx.max()}")
        return Dataset(self.images[idx], self.labels[idx], name=self.name, split=self.split,
                       classes=self.classes, horizontal_flip=self.horizontal_flip)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, split={self.split!r}, images={self.images.shape} "
                f"{self.images.dtype}, labels={self.labels.shape}, classes={self.num_classes})")


@dataclass(frozen=True, eq=False)
class DataSource:
    """Where a downloadable data set's files are and how to check and read them.

    Parameters
    ----------
    name : str
        Display name, e.g. ``"fashion-mnist"``.
    format : {"idx", "cifar-pickle"}
        ``"idx"``: each split is an (images, labels) pair of IDX files.
        ``"cifar-pickle"``: each split is a list of pickled CIFAR batches.
    url : str
        Base URL of the official files (``$TTNET_DATA_URL`` overrides it).
    files : tuple of FileSpec
        Every file, with its checksum.
    splits : mapping str -> tuple of str
        The file names each split needs (``"idx"``: images file, labels file).
    classes : tuple of str
    subdir : str
        Directory name under ``root``, ``$TTNET_DATA`` and the cache.
    system_dir : str, optional
        A last directory to search (where an OS package installs the files).
    archive : FileSpec, optional
        A ``.tar.gz`` holding the files under ``archive_dir/``; it is what
        ``download=True`` fetches, and it is read without unpacking.
    archive_dir : str, optional
        The files' directory inside the archive (and when unpacked on disk).
    pad_to : int, optional
        Zero-pad square images to this size when loading.
    horizontal_flip : bool
        Passed on to :class:`Dataset`.
    install_hint : str, optional
        A shell command that installs the files (shown when they are missing).
    download_size : str
        Human-readable download size, for the "not found" message.
    """

    name: str
    format: str
    url: str
    files: tuple[FileSpec, ...]
    splits: Mapping[str, tuple[str, ...]]
    classes: tuple[str, ...]
    subdir: str
    system_dir: str | None = None
    archive: FileSpec | None = None
    archive_dir: str | None = None
    pad_to: int | None = None
    horizontal_flip: bool = False
    install_hint: str | None = None
    download_size: str = field(default="")

    def __post_init__(self) -> None:
        for value, arg in ((self.name, "name"), (self.url, "url"), (self.subdir, "subdir")):
            if not isinstance(value, str) or not value:
                raise TypeError(f"{arg} must be a non-empty string, got {describe(value)}")
        check_choice(self.format, "format", ("idx", "cifar-pickle"))
        if not isinstance(self.files, tuple) or not all(isinstance(f, FileSpec) for f in self.files):
            raise TypeError(f"files must be a tuple of FileSpec, got {describe(self.files)}")
        if self.archive is not None and not isinstance(self.archive, FileSpec):
            raise TypeError(f"archive must be None or a FileSpec, got {describe(self.archive)}")
        if not isinstance(self.classes, tuple) or not all(isinstance(c, str) for c in self.classes):
            raise TypeError(f"classes must be a tuple of strings, got {describe(self.classes)}")
        if self.pad_to is not None:
            check_int(self.pad_to, "pad_to", minimum=1)
        check_bool(self.horizontal_flip, "horizontal_flip")
        names = {spec.name for spec in self.files}
        for split, needed in self.splits.items():
            unknown = [n for n in needed if n not in names]
            if unknown:
                raise ValueError(f"splits[{split!r}] names files not in files: {unknown}")
            if self.format == "idx" and len(needed) != 2:
                raise ValueError(f"an 'idx' split needs (images file, labels file), got {needed}")
        if self.archive is not None and not self.archive_dir:
            raise ValueError("archive_dir must be given with archive")

    def file(self, name: str) -> FileSpec:
        """The :class:`FileSpec` called ``name``."""
        for spec in self.files:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def needed(self, split: str) -> list[FileSpec]:
        """The file specs of ``split``."""
        return [self.file(n) for n in self.splits[split]]


# Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017). The checksums are SHA-256 of the *uncompressed*
# IDX files, computed from Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1 and identical
# for the official .gz files (whose published MD5s, of the compressed bytes, are 8d4fb7e6...,
# 25c81989..., bef4ecab..., bb300cfd...; Debian's recompressed copies have other MD5s).
FASHION_MNIST = DataSource(
    name="fashion-mnist",
    format="idx",
    url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    files=(
        FileSpec("train-images-idx3-ubyte",
                 "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", gzip=True),
        FileSpec("train-labels-idx1-ubyte",
                 "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", gzip=True),
        FileSpec("t10k-images-idx3-ubyte",
                 "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", gzip=True),
        FileSpec("t10k-labels-idx1-ubyte",
                 "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", gzip=True),
    ),
    splits={"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")},
    classes=FASHION_MNIST_CLASSES,
    subdir="fashion-mnist",
    system_dir="/usr/share/datasets/fashion-mnist",
    pad_to=32,
    horizontal_flip=False,
    install_hint="sudo apt-get install dataset-fashion-mnist",
    download_size="30 MB",
)

# CIFAR-10 (Krizhevsky, 2009). Only MD5s are published: the archive's on the CIFAR page; those of
# the batches are the ones every loader checks (e.g. torchvision). Not verifiable on this machine.
CIFAR10 = DataSource(
    name="cifar10",
    format="cifar-pickle",
    url="https://www.cs.toronto.edu/~kriz/",
    files=(
        FileSpec("data_batch_1", "c99cafc152244af753f735de768cd75f", "md5"),
        FileSpec("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec", "md5"),
        FileSpec("data_batch_3", "54ebc095f3ab1f0389bbae665268c751", "md5"),
        FileSpec("data_batch_4", "634d18415352ddfa80567beed471001a", "md5"),
        FileSpec("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb", "md5"),
        FileSpec("test_batch", "40351d587109b95175f43aff81a1287e", "md5"),
    ),
    splits={"train": ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"),
            "test": ("test_batch",)},
    classes=CIFAR10_CLASSES,
    subdir="cifar10",
    archive=FileSpec("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", "md5"),
    archive_dir="cifar-10-batches-py",
    horizontal_flip=True,
    download_size="163 MB",
)

#: The downloadable data sets by name.
SOURCES = {"fashion-mnist": FASHION_MNIST, "cifar10": CIFAR10}

#: The packaged mini set (made by scripts/make_fashion_mnist_mini.py) and the SHA-256 of the file.
MINI_FILENAME = "fashion_mnist_mini.npz"
MINI_SHA256 = "6570ea94272a05b99dce0ee7a1f80fe34444f6188c4b24594d636cdc6c269603"


def balanced_subset(labels: Any, per_class: int, rng: Any = None) -> np.ndarray:
    """Indices of a class-balanced random subset: ``per_class`` examples of every class.

    For each class k = 0, 1, … (in increasing order) the indices of its
    examples are drawn with ``rng.choice(..., per_class, replace=False)``; the
    result is sorted, so the subset keeps the original order of the examples.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
    per_class : int
    rng : np.random.Generator, int seed or None

    Returns
    -------
    ndarray, int64, shape (K·per_class,)
        Sorted indices into ``labels``, where K is the number of classes present.

    Raises
    ------
    ValueError
        If a class has fewer than ``per_class`` examples (the message names it).
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.ndim != 1:
        raise TypeError(f"labels must be a 1-D array of integers, got {describe(labels)}")
    per_class = check_int(per_class, "per_class", minimum=1)
    rng = check_rng(rng)
    chosen = []
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        if len(members) < per_class:
            raise ValueError(f"per_class={per_class} is more than class {k} has ({len(members)} examples)")
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64) if chosen else np.zeros(0, np.int64)


# --------------------------------------------------------------------------- finding the files

def _locate(source: DataSource, split: str, root: Path | None) -> tuple[str, Path] | None:
    """("dir", directory) or ("archive", path) of the first complete copy of ``split``, or None."""
    needed = source.needed(split)
    for directory, _ in search_dirs(root, source.subdir, source.system_dir):
        candidates = [directory] + ([directory / source.archive_dir] if source.archive_dir else [])
        for d in candidates:
            if all(spec.find_in(d) is not None for spec in needed):
                return "dir", d
        if source.archive is not None and (directory / source.archive.name).is_file():
            return "archive", directory / source.archive.name
    return None


def _download_dir(source: DataSource, root: Path | None) -> Path:
    return (root if root is not None else cache_dir()) / source.subdir


def _not_found_message(source: DataSource, split: str, root: Path | None) -> str:
    needed = source.needed(split)
    wanted = [spec.name + ("[.gz]" if spec.gzip else "") for spec in needed]
    if source.archive is not None:
        what = (f"{source.archive.name}, or the directory {source.archive_dir}/ holding "
                f"{', '.join(wanted)}")
    else:
        what = " and ".join(wanted)
    lines = [f"{source.name} (split {split!r}) not found: looked for {what} in"]
    for directory, label in search_dirs(root, source.subdir, source.system_dir):
        found = [p.name for spec in needed if (p := spec.find_in(directory)) is not None]
        note = f"  (has only {', '.join(found)})" if found else ""
        lines.append(f"  {directory}  [{label}]{note}")
    lines.append("To get the data, do one of:")
    if source.install_hint:
        lines.append(f"  * install it system-wide:  {source.install_hint}")
    size = f" ({source.download_size})" if source.download_size else ""
    lines.append(f"  * download it{size} from {base_url(source.url)}:  "
                 f"ttnet.data.load({source.name!r}, split={split!r}, download=True)  "
                 f"(or 'ttnet train ... --download') -> saved in {_download_dir(source, root)}")
    if source.archive is not None:
        copy = f"{source.archive.name} (or its unpacked {source.archive_dir}/ directory)"
    else:
        copy = ", ".join(spec.remote_name for spec in source.needed(split)) + " (gzipped or not)"
    pronoun = "it" if source.archive is not None else "them"
    lines.append(f"  * copy {copy} into one of the directories above, or set $TTNET_DATA to the "
                 f"directory that holds {pronoun}")
    if source.name == "fashion-mnist":
        lines.append("(A 7,000-image subset ships with ttnet and needs no download: "
                     "ttnet.data.load('fashion-mnist-mini').)")
    return "\n".join(lines)


def _download(source: DataSource, split: str, root: Path | None) -> tuple[str, Path]:
    target = _download_dir(source, root)
    url = base_url(source.url).rstrip("/") + "/"
    if source.archive is not None:
        path = download_file(url + source.archive.name, target / source.archive.name, source.archive)
        return "archive", path
    for spec in source.needed(split):
        if spec.find_in(target) is None:
            download_file(url + spec.remote_name, target / spec.remote_name, spec)
    return "dir", target


# --------------------------------------------------------------------------- reading the files

def _read_idx_split(source: DataSource, split: str, directory: Path) -> tuple[np.ndarray, np.ndarray]:
    image_spec, label_spec = source.needed(split)
    image_path, label_path = image_spec.find_in(directory), label_spec.find_in(directory)
    images = parse_idx(read_verified(image_path, image_spec), str(image_path))
    labels = parse_idx(read_verified(label_path, label_spec), str(label_path))
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DatasetError(f"{image_path}: expected uint8 images of shape (N, H, W), "
                           f"got {images.dtype} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DatasetError(f"{label_path}: expected uint8 labels of shape (N,), "
                           f"got {labels.dtype} of shape {labels.shape}")
    if len(labels) != len(images):
        raise DatasetError(f"{label_path}: {len(labels)} labels for the {len(images)} images "
                           f"of {image_path}")
    if len(labels) and labels.max() >= len(source.classes):
        raise DatasetError(f"{label_path}: labels must be < {len(source.classes)}, got {labels.max()}")
    return images[:, None], labels


def _read_cifar_split(source: DataSource, split: str, kind: str,
                      path: Path) -> tuple[np.ndarray, np.ndarray]:
    parts = []
    if kind == "dir":
        for spec in source.needed(split):
            file = spec.find_in(path)
            parts.append(parse_cifar_batch(read_verified(file, spec), str(file)))
    else:
        verify_file(path, source.archive)
        try:
            with tarfile.open(path, "r:gz") as archive:
                for spec in source.needed(split):
                    member = f"{source.archive_dir}/{spec.name}"
                    what = f"{path}:{member}"
                    try:
                        stream = archive.extractfile(member)
                    except KeyError:
                        raise DatasetError(f"{path}: the archive has no member {member}") from None
                    if stream is None:
                        raise DatasetError(f"{what} is not a regular file")
                    data = stream.read()
                    check_digest(data, spec, what)
                    parts.append(parse_cifar_batch(data, what))
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise DatasetError(f"{path}: corrupt or truncated archive ({exc})") from exc
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return images, labels


def _load_source(source: DataSource, split: str, root: Path | None, download: bool) -> Dataset:
    location = _locate(source, split, root)
    if location is None:
        if not download:
            raise DatasetNotFoundError(_not_found_message(source, split, root))
        location = _download(source, split, root)
    kind, path = location
    if source.format == "idx":
        images, labels = _read_idx_split(source, split, path)
    else:
        images, labels = _read_cifar_split(source, split, kind, path)
    if source.pad_to is not None:
        images = _pad_to(images, source.pad_to, str(path))
    return Dataset(images, labels, name=source.name, split=split, classes=source.classes,
                   horizontal_flip=source.horizontal_flip)


def _pad_to(images: np.ndarray, size: int, what: str) -> np.ndarray:
    """Centre square images in a ``size``×``size`` field of zeros."""
    h, w = images.shape[2:]
    if h != w or h > size or (size - h) % 2:
        raise DatasetError(f"{what}: cannot pad {h}×{w} images to {size}×{size}")
    return zero_pad(images, (size - h) // 2)


# --------------------------------------------------------------------------- the packaged mini set

def _load_mini(split: str, path: Any = None, sha256: str = MINI_SHA256) -> Dataset:
    """Load the packaged Fashion-MNIST subset (or the file ``path``), checking its SHA-256."""
    spec = FileSpec(MINI_FILENAME, sha256)
    if path is None:
        resource = resources.files(__package__).joinpath(MINI_FILENAME)
        what = str(resource)
        try:
            data = resource.read_bytes()
        except FileNotFoundError:
            raise DatasetNotFoundError(
                f"{what} is missing from this installation of ttnet; reinstall it (the package data "
                f"ttnet/data/*.npz must be included)") from None
    else:
        path = check_path(path, "path")
        what, data = str(path), path.read_bytes()
    check_digest(data, spec, what)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            images, labels = archive[f"{split}_images"], archive[f"{split}_labels"]
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{what}: not a valid mini data set ({exc})") from exc
    if images.dtype != np.uint8 or images.ndim != 3 or labels.shape != (len(images),):
        raise DatasetError(f"{what}: expected uint8 images (N, 28, 28) and N labels, "
                           f"got {images.dtype} {images.shape} and {labels.shape}")
    return Dataset(_pad_to(images[:, None], 32, what), labels, name="fashion-mnist-mini", split=split,
                   classes=FASHION_MNIST_CLASSES, horizontal_flip=False)


# --------------------------------------------------------------------------- the entry point

def load(name: str | DataSource, split: str = "train", root: Any = None, download: bool = False) -> Dataset:
    """Load one split of a data set.

    Parameters
    ----------
    name : {"fashion-mnist", "fashion-mnist-mini", "cifar10"} or DataSource
        The data set (see the table in :mod:`ttnet.data.datasets`).
    split : {"train", "test"}
    root : str or os.PathLike, optional
        A directory searched first (itself and its ``fashion-mnist`` /
        ``cifar10`` subdirectory); with ``download=True`` the files are saved
        in ``root/<subdir>`` instead of ``~/.cache/ttnet/<subdir>``.
    download : bool
        If the files are nowhere, fetch them from the official location (or
        ``$TTNET_DATA_URL``), verify their checksums and save them atomically.
        Ignored by ``fashion-mnist-mini`` (as is ``root``), which ships with
        ttnet.

    Returns
    -------
    Dataset
        ``images`` uint8 (N, C, 32, 32) — Fashion-MNIST zero-padded from 28×28
        by 2 pixels per side, C = 1; CIFAR-10 C = 3, RGB — and ``labels`` int64 (N,).

    Raises
    ------
    ValueError, TypeError
        Unknown ``name`` or ``split`` (the message lists the valid values),
        bad ``root`` or ``download``.
    DatasetNotFoundError
        The files are in no searched directory and ``download`` is False; the
        message lists the directories and how to get the files.
    DatasetError
        A file is corrupt, truncated, not in the expected format, or fails its
        checksum; the message names it.
    DownloadError
        ``download=True`` could not fetch a file.

    Examples
    --------
    >>> train = load("fashion-mnist-mini")                   # offline, 6,000 images
    >>> train.images.shape, train.images.dtype, train.labels.dtype
    ((6000, 1, 32, 32), dtype('uint8'), dtype('int64'))
    """
    if isinstance(name, DataSource):
        source: DataSource | None = name
        split = check_choice(split, "split", tuple(name.splits))
    else:
        name = check_choice(name, "name", DATASETS)
        source = SOURCES.get(name)
        split = check_choice(split, "split", SPLITS)
    root = check_path(root, "root", allow_none=True)
    download = check_bool(download, "download")
    if source is None:
        return _load_mini(split)
    return _load_source(source, split, root, download)

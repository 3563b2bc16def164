"""Data sets, batching, normalisation and augmentation for training the paper's networks.

>>> from ttnet import data
>>> train = data.load("fashion-mnist-mini", "train")      # packaged: works offline
>>> train
Dataset('fashion-mnist-mini', split='train', images=(6000, 1, 32, 32) uint8, labels=(6000,), classes=10)

* :func:`load` — ``fashion-mnist``, ``fashion-mnist-mini`` or ``cifar10``, split ``train`` /
  ``test`` → a :class:`Dataset` with ``images`` (N, C, 32, 32) uint8 and ``labels`` (N,) int64.
  Files are searched in ``root``, ``$TTNET_DATA``, ``~/.cache/ttnet`` and (Fashion-MNIST)
  ``/usr/share/datasets/fashion-mnist``; checksums are verified; ``download=True`` fetches missing
  files (from ``$TTNET_DATA_URL`` if set). See :mod:`ttnet.data.datasets`.
* :func:`batches`, :class:`Normalizer`, :func:`augment` — seeded mini-batches, per-channel
  standardisation with training statistics, and the paper's augmentation (pad 4 + random crop,
  flip for CIFAR-10, random contrast), each on a whole batch at once. See :mod:`ttnet.data.transforms`.
* Readers of the raw formats: :func:`read_idx` / :func:`write_idx` (MNIST's IDX files) and
  :func:`parse_cifar_batch` (CIFAR-10's pickled batches).
* Errors: :class:`DatasetNotFoundError` (no files; says how to get them), :class:`DatasetError`
  (a file is corrupt, truncated or fails its checksum; names it), :class:`DownloadError`.
"""

from .cifar import parse_cifar_batch
from .datasets import (CIFAR10, CIFAR10_CLASSES, DATASETS, FASHION_MNIST, FASHION_MNIST_CLASSES, SPLITS,
                       DataSource, Dataset, balanced_subset, load)
from .errors import DatasetError, DatasetNotFoundError, DownloadError
from .files import DATA_DIR_ENV, DATA_URL_ENV, FileSpec, download_file, file_digest
from .idx import read_idx, write_idx
from .transforms import BatchIterator, Normalizer, augment, batches, num_batches, zero_pad

__all__ = ["load", "Dataset", "DataSource", "FileSpec", "DATASETS", "SPLITS", "FASHION_MNIST", "CIFAR10",
           "FASHION_MNIST_CLASSES", "CIFAR10_CLASSES", "balanced_subset",
           "batches", "num_batches", "BatchIterator", "Normalizer", "augment", "zero_pad",
           "read_idx", "write_idx", "parse_cifar_batch", "file_digest", "download_file",
           "DATA_DIR_ENV", "DATA_URL_ENV", "DatasetError", "DatasetNotFoundError", "DownloadError"]

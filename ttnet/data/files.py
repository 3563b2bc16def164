"""Finding, checking and downloading the files of a data set.

A data set's files are described by :class:`FileSpec` records: a file name and
the checksum of the file's content. Everything that reads a data file goes
through :func:`read_verified` or :func:`verify_file`, so a corrupt, truncated
or substituted file is caught before it is parsed, with an error that names it.

Gzip and checksums
------------------
Fashion-MNIST is published as gzip-compressed IDX files, but the same data
also exists uncompressed (many people unpack them) and recompressed (Debian's
``dataset-fashion-mnist`` package stores gzip files with a different header,
so their MD5 differs from the official one). For such files
(``FileSpec(..., gzip=True)``) the checksum is that of the *decompressed*
content, which all three copies share. Other files (the CIFAR-10 archive and
its batches) are checked byte for byte.

Downloads
---------
:func:`download_file` writes into a temporary file in the target directory,
checks its length and checksum, and only then renames it to its final name
with :func:`os.replace` (atomic on POSIX and Windows). A failed, interrupted
or corrupt download therefore never leaves a file under the real name; at
worst a ``.<name>.<random>.part`` file remains after a hard kill, which
nothing ever reads.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .._checks import check_bool, check_in_range, check_path, describe
from .._files import fsync_directory
from .errors import DatasetError, DownloadError

__all__ = ["FileSpec", "file_digest", "read_bytes", "check_digest", "read_verified", "verify_file",
           "download_file", "base_url",
           "search_dirs", "cache_dir", "DATA_DIR_ENV", "DATA_URL_ENV", "CACHE_DIR"]

#: Environment variable: a directory searched for data after ``root``.
DATA_DIR_ENV = "TTNET_DATA"
#: Environment variable: a base URL (a mirror) used instead of each data set's official location.
DATA_URL_ENV = "TTNET_DATA_URL"
#: The download cache, searched after ``$TTNET_DATA`` (``~`` is expanded when used).
CACHE_DIR = "~/.cache/ttnet"

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # bytes read at a time when hashing or downloading


@dataclass(frozen=True)
class FileSpec:
    """One file of a data set: its name and the checksum of its content.

    Parameters
    ----------
    name : str
        File name on disk and (for plain files) on the server, e.g.
        ``"train-images-idx3-ubyte"``. A bare name, not a path.
    digest : str
        Expected hexadecimal digest of the content.
    algorithm : str
        A :mod:`hashlib` algorithm name; ``"sha256"`` (default) or ``"md5"``
        (the CIFAR-10 checksums are only published as MD5).
    gzip : bool
        If True, the file may be stored gzip-compressed as ``name + ".gz"``
        (and is served so by the official site); ``digest`` is then the
        checksum of the decompressed content, so ``name`` and ``name.gz`` pass
        the same check.

    Examples
    --------
    >>> FileSpec("t10k-labels-idx1-ubyte",
    ...          "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", gzip=True).candidates
    ('t10k-labels-idx1-ubyte.gz', 't10k-labels-idx1-ubyte')
    """

    name: str
    digest: str
    algorithm: str = "sha256"
    gzip: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name in (".", ".."):
            raise TypeError(f"name must be a non-empty file name, got {describe(self.name)}")
        if "/" in self.name or "\\" in self.name:
            raise ValueError(f"name must be a bare file name without directories, got {self.name!r}")
        if not isinstance(self.algorithm, str):
            raise TypeError(f"algorithm must be a hashlib algorithm name, got {describe(self.algorithm)}")
        try:
            size = hashlib.new(self.algorithm).digest_size
        except ValueError:
            raise ValueError(f"algorithm must be a hashlib algorithm name such as 'sha256' or 'md5', "
                             f"got {self.algorithm!r}") from None
        if not isinstance(self.digest, str) or not re.fullmatch(f"[0-9a-f]{{{2 * size}}}", self.digest):
            raise ValueError(f"digest must be {2 * size} lowercase hexadecimal digits (a {self.algorithm} "
                             f"digest), got {describe(self.digest)}")
        if not isinstance(self.gzip, (bool,)):
            raise TypeError(f"gzip must be True or False, got {describe(self.gzip)}")

    @property
    def candidates(self) -> tuple[str, ...]:
        """File names accepted on disk, in the order they are looked for."""
        return (self.name + ".gz", self.name) if self.gzip else (self.name,)

    @property
    def remote_name(self) -> str:
        """File name on the server (and of a downloaded copy)."""
        return self.name + ".gz" if self.gzip else self.name

    def find_in(self, directory: Path) -> Path | None:
        """The first of :attr:`candidates` that is a file in ``directory``, or None."""
        directory = check_path(directory, "directory")
        for candidate in self.candidates:
            path = directory / candidate
            if path.is_file():
                return path
        return None


def _check_spec(spec: Any) -> FileSpec:
    if not isinstance(spec, FileSpec):
        raise TypeError(f"spec must be a FileSpec, got {describe(spec)}")
    return spec


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def _hash_stream(stream: BinaryIO, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    while chunk := stream.read(_CHUNK):
        h.update(chunk)
    return h.hexdigest()


def file_digest(path: Any, algorithm: str = "sha256", *, gunzip: bool = False) -> str:
    """Hexadecimal digest of a file's content, read in chunks.

    Parameters
    ----------
    path : str or os.PathLike
    algorithm : str
        A :mod:`hashlib` algorithm name.
    gunzip : bool
        If True and the file starts with the gzip magic bytes, hash the
        decompressed content instead of the file's bytes.

    Raises
    ------
    DatasetError
        If ``gunzip`` is set and the gzip stream is corrupt or truncated.
    """
    path = check_path(path, "path")
    gunzip = check_bool(gunzip, "gunzip")
    try:
        hashlib.new(algorithm)
    except (TypeError, ValueError):
        raise ValueError(f"algorithm must be a hashlib algorithm name, got {describe(algorithm)}") from None
    return _file_digest(path, algorithm, gunzip, str(path))


def _file_digest(path: Path, algorithm: str, gunzip: bool, what: str) -> str:
    """:func:`file_digest` on checked arguments; a gzip error names the file as ``what``."""
    if gunzip and _is_gzip(path):
        try:
            with gzip.open(path, "rb") as f:
                return _hash_stream(f, algorithm)
        except (OSError, EOFError, zlib.error) as exc:
            raise _corrupt_gzip(what, exc) from exc
    with open(path, "rb") as f:
        return _hash_stream(f, algorithm)


def _corrupt_gzip(what: str, exc: BaseException) -> DatasetError:
    return DatasetError(f"{what}: corrupt or truncated gzip file ({exc})")


def read_bytes(path: Any) -> bytes:
    """Content of a file, decompressed if it is gzip-compressed (detected by its first two bytes).

    Raises
    ------
    DatasetError
        If the file is gzip-compressed but corrupt or truncated (the message names the file).
    """
    path = check_path(path, "path")
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise _corrupt_gzip(str(path), exc) from exc
    return data


def _mismatch(what: str, spec: FileSpec, actual: str) -> DatasetError:
    content = "decompressed content" if spec.gzip else "content"
    return DatasetError(
        f"{what}: checksum mismatch — {spec.algorithm} of the {content} is {actual}, expected "
        f"{spec.digest}. The file is corrupt, truncated or a different file; delete it and get it "
        f"again (e.g. with download=True).")


def check_digest(data: bytes, spec: FileSpec, what: str) -> None:
    """Raise :class:`DatasetError` naming ``what`` if ``data`` does not have ``spec``'s checksum."""
    spec = _check_spec(spec)
    actual = hashlib.new(spec.algorithm, data).hexdigest()
    if actual != spec.digest:
        raise _mismatch(what, spec, actual)


def read_verified(path: Any, spec: FileSpec) -> bytes:
    """Read a file (decompressing it if ``spec.gzip``) and check it against ``spec``.

    Returns
    -------
    bytes
        The (decompressed) content, known to have the recorded checksum.

    Raises
    ------
    DatasetError
        Corrupt gzip stream or checksum mismatch; the message names the file.
    """
    path = check_path(path, "path")
    spec = _check_spec(spec)
    data = read_bytes(path) if spec.gzip else path.read_bytes()
    check_digest(data, spec, str(path))
    return data


def verify_file(path: Any, spec: FileSpec) -> None:
    """Check a file against ``spec`` without holding it in memory (for large archives).

    Raises
    ------
    DatasetError
        Corrupt gzip stream or checksum mismatch; the message names the file.
    """
    path = check_path(path, "path")
    _verify(path, _check_spec(spec), str(path))


def _verify(path: Path, spec: FileSpec, what: str) -> None:
    """:func:`verify_file` on checked arguments; errors name the file as ``what``."""
    actual = _file_digest(path, spec.algorithm, spec.gzip, what)
    if actual != spec.digest:
        raise _mismatch(what, spec, actual)


def cache_dir() -> Path:
    """The download cache directory, ``~/.cache/ttnet`` (not created)."""
    return Path(CACHE_DIR).expanduser()


def search_dirs(root: Any = None, subdir: str | None = None,
                system_dir: Any = None) -> list[tuple[Path, str]]:
    """The directories searched for a data set's files, in order, each with a label.

    For each of ``root``, ``$TTNET_DATA`` and the cache ``~/.cache/ttnet``
    (skipping those not given or not set): the directory itself, then its
    ``subdir`` (e.g. ``fashion-mnist``); last, the system directory (e.g.
    ``/usr/share/datasets/fashion-mnist``, where Debian's package puts the
    files). Directories need not exist.

    Returns
    -------
    list of (Path, str)
        The directory and where it comes from (``"root"``, ``"$TTNET_DATA"``,
        ``"cache"``, ``"system"``), for error messages.
    """
    root = check_path(root, "root", allow_none=True)
    system_dir = check_path(system_dir, "system_dir", allow_none=True)
    if subdir is not None and (not isinstance(subdir, str) or not subdir):
        raise TypeError(f"subdir must be None or a non-empty directory name, got {describe(subdir)}")
    bases: list[tuple[Path, str]] = []
    if root is not None:
        bases.append((root, "root"))
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        bases.append((Path(env).expanduser(), f"${DATA_DIR_ENV}"))
    bases.append((cache_dir(), "cache"))
    out: list[tuple[Path, str]] = []
    for base, label in bases:
        out.append((base, label))
        if subdir:
            out.append((base / subdir, label))
    if system_dir is not None:
        out.append((system_dir, "system"))
    return out


def base_url(default: str) -> str:
    """``$TTNET_DATA_URL`` if set (a mirror or a test server), else ``default``."""
    return os.environ.get(DATA_URL_ENV) or default


def download_file(url: str, path: Any, spec: FileSpec, *, timeout: float = 60.0,
                  quiet: bool = False) -> Path:
    """Download ``url`` to ``path`` atomically, checking it against ``spec``.

    The bytes go to a temporary file in ``path``'s directory; when the
    transfer is complete (as many bytes as the server announced) and the
    checksum matches, the temporary file is renamed to ``path`` with
    :func:`os.replace`. On any failure the temporary file is removed and
    ``path`` is left as it was.

    Parameters
    ----------
    url : str
        An ``http://``, ``https://`` or ``file://`` URL.
    path : str or os.PathLike
        Final location; parent directories are created.
    spec : FileSpec
        The expected checksum (of the decompressed content if ``spec.gzip``).
    timeout : float
        Seconds to wait for the server on each network operation.
    quiet : bool
        If False (default), print one line per download to stderr.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    DownloadError
        The server could not be reached, answered with an HTTP error, or the
        connection ended before the announced length.
    DatasetError
        The downloaded bytes do not have the recorded checksum.
    """
    if not isinstance(url, str) or not url:
        raise TypeError(f"url must be a non-empty string, got {describe(url)}")
    path = check_path(path, "path")
    spec = _check_spec(spec)
    timeout = check_in_range(timeout, "timeout", 0.0, float("inf"), include_low=False)
    quiet = check_bool(quiet, "quiet")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"ttnet: downloading {url} -> {path}", file=sys.stderr, flush=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        received = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    announced = response.headers.get("Content-Length")
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        received += len(chunk)
            except urllib.error.HTTPError as exc:
                raise DownloadError(f"could not download {url}: HTTP {exc.code} {exc.reason}") from exc
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise DownloadError(f"could not download {url}: {reason}") from exc
            if announced is not None and announced.isdigit() and received != int(announced):
                raise DownloadError(f"could not download {url}: connection ended after {received} "
                                    f"of {announced} bytes")
            out.flush()
            os.fsync(out.fileno())
        _verify(tmp, spec, f"{url} (downloaded for {path}; not kept)")
        os.replace(tmp, path)
        fsync_directory(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    if not quiet:
        print(f"ttnet: saved {path} ({received / 1e6:.1f} MB, checksum OK)", file=sys.stderr, flush=True)
    return path

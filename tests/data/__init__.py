"""Helpers for the ttnet.data tests: fixture files in the real formats and a local HTTP server.

Nothing here uses ttnet's own writers, so the readers are checked against files
built independently (by hand with ``struct``, ``pickle``, ``gzip`` and ``tarfile``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import http.server
import io
import os
import pickle
import struct
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from ttnet.data import CIFAR10, FASHION_MNIST, FileSpec

#: Set (to anything non-empty) to make the tests that need the full Fashion-MNIST fail instead of
#: being skipped when the files are missing. CI sets it after `apt-get install dataset-fashion-mnist`.
REQUIRE_FULL_DATA_ENV = "TTNET_REQUIRE_FULL_DATA"
SYSTEM_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def full_fashion_mnist_present() -> bool:
    return all((SYSTEM_FASHION_DIR / (n + ".gz")).is_file() or (SYSTEM_FASHION_DIR / n).is_file()
               for n in FASHION_NAMES)


#: Marks a test that reads the full Fashion-MNIST from /usr/share/datasets/fashion-mnist.
requires_full_data = pytest.mark.skipif(
    not full_fashion_mnist_present() and not os.environ.get(REQUIRE_FULL_DATA_ENV),
    reason=f"full Fashion-MNIST not installed (apt-get install dataset-fashion-mnist); "
           f"set {REQUIRE_FULL_DATA_ENV}=1 to make this a failure")


# ----------------------------------------------------------------------------- IDX

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
             np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``, built by hand from the format description."""
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, IDX_CODES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@dataclasses.dataclass
class FashionFixture:
    """Tiny Fashion-MNIST-like IDX files, their content and a DataSource with their checksums."""
    contents: dict            # file name -> uncompressed IDX bytes
    arrays: dict              # split -> (images (n, 28, 28) uint8, labels (n,) uint8)
    source: object            # a DataSource like FASHION_MNIST, with the fixture checksums

    def write(self, directory: Path, *, compress: bool = False, names=None) -> Path:
        """Write (some of) the files into ``directory`` (created), gzipped or not."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in self.contents.items():
            if names is None or name in names:
                if compress:
                    (directory / (name + ".gz")).write_bytes(gzip.compress(data, mtime=0))
                else:
                    (directory / name).write_bytes(data)
        return directory


def make_fashion_fixture(rng: np.random.Generator, n_train: int = 12, n_test: int = 5,
                         url: str = "http://127.0.0.1:9/", system_dir=None) -> FashionFixture:
    arrays, contents = {}, {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        arrays[split] = (images, labels)
        contents[f"{prefix}-images-idx3-ubyte"] = idx_bytes(images)
        contents[f"{prefix}-labels-idx1-ubyte"] = idx_bytes(labels)
    files = tuple(FileSpec(name, sha256(data), gzip=True) for name, data in contents.items())
    source = dataclasses.replace(FASHION_MNIST, files=files, url=url, system_dir=system_dir)
    return FashionFixture(contents, arrays, source)


# ----------------------------------------------------------------------------- CIFAR-10

def cifar_batch_bytes(images: np.ndarray, labels, *, numpy1_names: bool = True) -> bytes:
    """A pickled batch laid out like the official ones: byte-string keys, (n, 3072) uint8 data.

    With ``numpy1_names`` the array is pickled under NumPy 1's module name
    (``numpy.core.multiarray``), as in the official files.
    """
    batch = {b"batch_label": b"fixture batch", b"labels": [int(v) for v in labels],
             b"data": images.reshape(len(images), -1), b"filenames": [b"x.png"] * len(images)}
    data = pickle.dumps(batch, protocol=2)
    if numpy1_names:
        data = data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    return data


@dataclasses.dataclass
class CifarFixture:
    batch_dir: Path           # .../cifar-10-batches-py
    archive: Path             # .../cifar-10-python.tar.gz
    arrays: dict              # split -> (images (n, 3, 32, 32), labels (n,))
    source: object


def make_cifar_fixture(directory: Path, rng: np.random.Generator, n_per_batch: int = 3,
                       url: str = "http://127.0.0.1:9/") -> CifarFixture:
    """Write a tiny ``cifar-10-batches-py/`` and ``cifar-10-python.tar.gz`` into ``directory``."""
    batch_dir = directory / "cifar-10-batches-py"
    batch_dir.mkdir(parents=True)
    specs, parts = [], {"train": [], "test": []}
    for name in CIFAR10.splits["train"] + CIFAR10.splits["test"]:
        images = rng.integers(0, 256, size=(n_per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n_per_batch)
        data = cifar_batch_bytes(images, labels)
        (batch_dir / name).write_bytes(data)
        specs.append(FileSpec(name, md5(data), "md5"))
        parts["test" if name == "test_batch" else "train"].append((images, labels))
    (batch_dir / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"airplane"]}, protocol=2))
    archive = directory / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(batch_dir, arcname="cifar-10-batches-py")
    source = dataclasses.replace(CIFAR10, files=tuple(specs), url=url,
                                 archive=FileSpec(archive.name, md5(archive.read_bytes()), "md5"))
    arrays = {split: (np.concatenate([p[0] for p in ps]), np.concatenate([p[1] for p in ps]))
              for split, ps in parts.items()}
    return CifarFixture(batch_dir, archive, arrays, source)


# ----------------------------------------------------------------------------- HTTP server

class _Handler(http.server.SimpleHTTPRequestHandler):
    truncate: dict = {}       # file name -> number of bytes actually sent (Content-Length stays full)
    requests: list = []

    def log_message(self, format, *args):  # keep the test output clean
        pass

    def do_GET(self):
        self.requests.append(self.path)
        name = self.path.lstrip("/")
        if name in self.truncate:
            data = (Path(self.directory) / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:self.truncate[name]])
            self.wfile.flush()
            self.close_connection = True  # hang up mid-transfer
            return
        super().do_GET()


@contextlib.contextmanager
def serve_directory(directory: Path, truncate: dict | None = None):
    """Serve ``directory`` on 127.0.0.1 (a free port) from a thread; yields (base URL, request log).

    ``truncate={"name": k}`` announces the full length of file ``name`` but
    sends only its first k bytes, then closes the connection.
    """
    requests: list = []
    handler = type("Handler", (_Handler,), {"truncate": dict(truncate or {}), "requests": requests})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **k: handler(*a, directory=str(directory), **k))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def leftover_parts(directory: Path) -> list:
    """Temporary download files left in ``directory`` (there must never be any)."""
    return sorted(p.name for p in Path(directory).rglob("*.part")) if Path(directory).exists() else []


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


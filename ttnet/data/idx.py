"""The IDX file format of MNIST and Fashion-MNIST.

An IDX file is a header followed by the raw array, big-endian, in row-major
(C) order::

    bytes 0-1   0x00 0x00                     magic: always zero
    byte  2     data type code                0x08 uint8, 0x09 int8, 0x0B int16,
                                              0x0C int32, 0x0D float32, 0x0E float64
    byte  3     d, the number of dimensions
    4d bytes    the d sizes, each a big-endian uint32
    the rest    the prod(sizes) entries

So ``train-images-idx3-ubyte`` starts with ``00 00 08 03`` (uint8, 3-D), then
60000, 28, 28; ``train-labels-idx1-ubyte`` with ``00 00 08 01`` and 60000.
Files are often gzip-compressed (``*.gz``); :func:`read_idx` accepts both.
Reference: Y. LeCun et al., "The MNIST database", the "file formats" section.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check_bool, check_path, describe
from .errors import DatasetError
from .files import read_bytes

__all__ = ["read_idx", "parse_idx", "write_idx", "IDX_DTYPES"]

#: IDX type code -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data: bytes, filename: str = "<bytes>") -> np.ndarray:
    """Decode the (uncompressed) bytes of an IDX file.

    Parameters
    ----------
    data : bytes
        The whole file content.
    filename : str
        Used in error messages only.

    Returns
    -------
    ndarray
        A new, writable array of the header's shape, in native byte order
        (e.g. uint8 of shape (60000, 28, 28) for ``train-images-idx3-ubyte``).

    Raises
    ------
    DatasetError
        Wrong magic bytes, unknown type code, or fewer / more data bytes than
        the header announces (a truncated or padded file, or a header whose
        sizes multiply to more bytes than any file holds); the message names
        ``filename``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {describe(data)}")
    if not isinstance(filename, str):
        raise TypeError(f"filename must be a string, got {describe(filename)}")
    data = bytes(data)
    if len(data) < 4:
        raise DatasetError(f"{filename}: not an IDX file: {len(data)} bytes, shorter than the 4-byte header")
    if data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{filename}: not an IDX file: the first two bytes must be 00 00, "
                           f"got {data[:2].hex(' ')} (a compressed or different file?)")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DatasetError(f"{filename}: not an IDX file: unknown data type code 0x{code:02X} "
                           f"(known: {known})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{filename}: truncated IDX header: {ndim} dimensions need {header} bytes, "
                           f"the file has {len(data)}")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    # Python ints: the product of up to 255 sizes < 2**32 must not wrap around as int64 would
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise DatasetError(f"{filename}: truncated IDX file: shape {shape} needs {expected} data bytes, "
                           f"the file has {actual}")
    if actual > expected:
        raise DatasetError(f"{filename}: corrupt IDX file: {actual - expected} unexpected bytes after "
                           f"the {expected} data bytes of shape {shape}")
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: Any) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not (detected from its first bytes).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ndarray
        The stored array, native byte order (see :func:`parse_idx`).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    DatasetError
        Corrupt gzip stream, wrong magic, unknown type, truncated or padded data.
    """
    path = check_path(path, "path")
    return parse_idx(read_bytes(path), str(path))


def write_idx(path: Any, array: Any, *, compress: bool | None = None) -> None:
    """Write an array as an IDX file (the inverse of :func:`read_idx`).

    Parameters
    ----------
    path : str or os.PathLike
    array : array_like
        uint8, int8, int16, int32, float32 or float64, 1 to 255 dimensions.
    compress : bool, optional
        Gzip the file; by default, if ``path`` ends in ``.gz``.
    """
    import gzip

    path = check_path(path, "path")
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise TypeError(f"array must have dtype uint8, int8, int16, int32, float32 or float64, "
                        f"got {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"array must have 1 to 255 dimensions, got {array.ndim}")
    compress = path.suffix == ".gz" if compress is None else check_bool(compress, "compress")
    header = bytes([0, 0, codes[native], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[codes[native]]).tobytes()
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)

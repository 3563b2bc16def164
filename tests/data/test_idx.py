"""IDX reader and writer: hand-built files, gzip, and every malformation."""

import gzip

import numpy as np
import pytest

from ttnet.data import DatasetError, read_idx, write_idx
from ttnet.data.idx import parse_idx

from . import IDX_CODES, idx_bytes

DTYPES = list(IDX_CODES)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_parse_hand_built_file_every_dtype(dtype, rng):
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    out = parse_idx(idx_bytes(array), "x")
    assert out.dtype == dtype and out.dtype.isnative
    assert out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, array)
    assert out.flags.writeable


def test_parse_reads_big_endian_sizes_and_values():
    # 00 00 0B 02 | 2, 1 | int16 258 = 0x0102, -2 = 0xFFFE
    data = bytes.fromhex("00000b02" "00000002" "00000001" "0102" "fffe")
    np.testing.assert_array_equal(parse_idx(data), np.array([[258], [-2]], dtype=np.int16))


def test_read_plain_and_gzipped_files_agree(tmp_path, rng):
    labels = rng.integers(0, 10, size=50).astype(np.uint8)
    (tmp_path / "labels").write_bytes(idx_bytes(labels))
    (tmp_path / "labels.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), labels)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "labels.gz")), labels)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_write_then_read_round_trip(tmp_path, rng, dtype, name):
    array = (rng.standard_normal((2, 3)) * 50).astype(dtype)
    write_idx(tmp_path / name, array)
    raw = (tmp_path / name).read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_write_matches_the_hand_built_encoding(tmp_path):
    array = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    write_idx(tmp_path / "a", array)
    assert (tmp_path / "a").read_bytes() == idx_bytes(array)
    write_idx(tmp_path / "b", array, compress=True)
    assert gzip.decompress((tmp_path / "b").read_bytes()) == idx_bytes(array)


def test_write_accepts_big_endian_input(tmp_path):
    array = np.arange(5, dtype=">i2")
    write_idx(tmp_path / "a", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), np.arange(5))


@pytest.mark.parametrize("data, message", [
    (b"\x00\x00\x08", "shorter than the 4-byte header"),
    (bytes.fromhex("01000801000000010a"), "first two bytes must be 00 00"),
    (bytes.fromhex("00000a0100000001aa"), "unknown data type code 0x0A"),
    (bytes.fromhex("000008030000000a"), "truncated IDX header"),
    (bytes.fromhex("0000080100000003" "0102"), "truncated IDX file"),
    (bytes.fromhex("0000080100000002" "010203"), "1 unexpected bytes"),
    # sizes whose product overflows int64 (2**31 · 2**31 · 4 float64 = 2**67 bytes): the exact
    # product is compared with the file, so the error is a truncation, not a failed reshape
    (bytes.fromhex("00000e03" "80000000" "80000000" "00000004"),
     r"truncated IDX file: shape \(2147483648, 2147483648, 4\) needs 147573952589676412928 "
     r"data bytes, the file has 0"),
    (bytes.fromhex("00000803" "ffffffff" "ffffffff" "ffffffff" "00"), "truncated IDX file"),
])
def test_malformed_files_raise_naming_the_file(data, message):
    with pytest.raises(DatasetError, match=message) as info:
        parse_idx(data, "some/file-idx1-ubyte")
    assert "some/file-idx1-ubyte" in str(info.value)


def test_dataset_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_idx(b"junk")


def test_truncated_real_layout_file(tmp_path, rng):
    images = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    data = idx_bytes(images)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data[:-100])
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: truncated IDX file: shape \(10, 28, 28\)"):
        read_idx(path)


def test_corrupt_and_truncated_gzip_name_the_file(tmp_path, rng):
    data = gzip.compress(idx_bytes(rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)))
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="cut.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "bad.gz").write_bytes(data[:10] + b"\xff" * 50 + data[60:])
    with pytest.raises(DatasetError, match="bad.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "bad.gz")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="data must be bytes"):
        parse_idx("00000801")
    with pytest.raises(TypeError, match="filename must be a string"):
        parse_idx(b"\x00\x00\x08\x00", 3)
    with pytest.raises(TypeError, match="path must be a path"):
        read_idx(None)
    with pytest.raises(ValueError, match="path must be a non-empty path"):
        read_idx("")
    with pytest.raises(TypeError, match="array must have dtype uint8"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="array must have dtype uint8"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.complex64))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "a", np.uint8(3))
    with pytest.raises(TypeError, match="compress must be True or False"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.uint8), compress=1)

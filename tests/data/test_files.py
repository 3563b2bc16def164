"""FileSpec, checksums, the search path and atomic downloads from a local HTTP server."""

import gzip
import hashlib
import os
from pathlib import Path

import pytest

from ttnet.data import DatasetError, DownloadError, FileSpec, download_file, file_digest
from ttnet.data.files import read_bytes, read_verified, search_dirs, verify_file

from . import closed_port_url, gzip_bytes, leftover_parts, serve_directory, sha256

pytestmark = pytest.mark.usefixtures("isolated")

CONTENT = b"\x00\x00\x08\x01\x00\x00\x00\x03abc"
SPEC = FileSpec("labels-idx1-ubyte", sha256(CONTENT), gzip=True)


# ----------------------------------------------------------------------------- FileSpec

def test_file_spec_names():
    assert SPEC.candidates == ("labels-idx1-ubyte.gz", "labels-idx1-ubyte")
    assert SPEC.remote_name == "labels-idx1-ubyte.gz"
    plain = FileSpec("test_batch", hashlib.md5(b"").hexdigest(), "md5")
    assert plain.candidates == ("test_batch",) and plain.remote_name == "test_batch"


def test_file_spec_find_in_prefers_gz(tmp_path):
    assert SPEC.find_in(tmp_path) is None
    (tmp_path / "labels-idx1-ubyte").write_bytes(CONTENT)
    assert SPEC.find_in(tmp_path) == tmp_path / "labels-idx1-ubyte"
    (tmp_path / "labels-idx1-ubyte.gz").write_bytes(gzip_bytes(CONTENT))
    assert SPEC.find_in(tmp_path) == tmp_path / "labels-idx1-ubyte.gz"
    assert SPEC.find_in(tmp_path / "missing-dir") is None


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(name="", digest="0" * 64), TypeError, "name must be a non-empty file name"),
    (dict(name=3, digest="0" * 64), TypeError, "name must be a non-empty file name"),
    (dict(name="a/b", digest="0" * 64), ValueError, "bare file name"),
    (dict(name="a", digest="0" * 64, algorithm="sha999"), ValueError, "hashlib algorithm name"),
    (dict(name="a", digest="0" * 64, algorithm=5), TypeError, "hashlib algorithm name"),
    (dict(name="a", digest="0" * 63), ValueError, "64 lowercase hexadecimal digits"),
    (dict(name="a", digest="A" * 64), ValueError, "64 lowercase hexadecimal digits"),
    (dict(name="a", digest="0" * 64, algorithm="md5"), ValueError, "32 lowercase hexadecimal digits"),
    (dict(name="a", digest=None), ValueError, "lowercase hexadecimal"),
    (dict(name="a", digest="0" * 64, gzip=1), TypeError, "gzip must be True or False"),
])
def test_file_spec_validation(kwargs, error, message):
    with pytest.raises(error, match=message):
        FileSpec(**kwargs)


# ----------------------------------------------------------------------------- checksums

def test_file_digest_plain_and_gunzipped(tmp_path):
    (tmp_path / "a.gz").write_bytes(gzip_bytes(CONTENT))
    assert file_digest(tmp_path / "a.gz", gunzip=True) == sha256(CONTENT)
    assert file_digest(tmp_path / "a.gz") == sha256(gzip_bytes(CONTENT))
    assert file_digest(tmp_path / "a.gz", "md5") == hashlib.md5(gzip_bytes(CONTENT)).hexdigest()
    with pytest.raises(ValueError, match="hashlib algorithm"):
        file_digest(tmp_path / "a.gz", "nope")
    (tmp_path / "cut.gz").write_bytes(gzip_bytes(CONTENT * 100)[:30])
    with pytest.raises(DatasetError, match="cut.gz: corrupt or truncated gzip"):
        file_digest(tmp_path / "cut.gz", gunzip=True)


def test_read_verified_accepts_both_forms_with_one_checksum(tmp_path):
    (tmp_path / "plain").write_bytes(CONTENT)
    (tmp_path / "packed.gz").write_bytes(gzip.compress(CONTENT, mtime=12345))  # another gzip header
    assert read_verified(tmp_path / "plain", SPEC) == CONTENT
    assert read_verified(tmp_path / "packed.gz", SPEC) == CONTENT
    verify_file(tmp_path / "plain", SPEC)
    verify_file(tmp_path / "packed.gz", SPEC)
    assert read_bytes(tmp_path / "packed.gz") == CONTENT


@pytest.mark.parametrize("check", [read_verified, verify_file])
def test_checksum_mismatch_names_the_file_and_both_digests(tmp_path, check):
    bad = CONTENT[:-1] + b"X"
    (tmp_path / "labels-idx1-ubyte.gz").write_bytes(gzip_bytes(bad))
    with pytest.raises(DatasetError) as info:
        check(tmp_path / "labels-idx1-ubyte.gz", SPEC)
    text = str(info.value)
    assert str(tmp_path / "labels-idx1-ubyte.gz") in text
    assert sha256(bad) in text and SPEC.digest in text and "checksum mismatch" in text


def test_non_gzip_spec_checks_the_raw_bytes(tmp_path):
    packed = gzip_bytes(CONTENT)
    (tmp_path / "a.tar.gz").write_bytes(packed)
    spec = FileSpec("a.tar.gz", hashlib.md5(packed).hexdigest(), "md5")
    assert read_verified(tmp_path / "a.tar.gz", spec) == packed
    verify_file(tmp_path / "a.tar.gz", spec)


def test_checksum_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="spec must be a FileSpec"):
        read_verified(tmp_path / "x", "abc")
    with pytest.raises(TypeError, match="spec must be a FileSpec"):
        verify_file(tmp_path / "x", None)
    with pytest.raises(TypeError, match="path must be a path"):
        file_digest(12)
    with pytest.raises(TypeError, match="gunzip must be True or False"):
        file_digest(tmp_path / "x", gunzip="yes")
    with pytest.raises(TypeError, match="directory must be a path"):
        SPEC.find_in(None)


# ----------------------------------------------------------------------------- search path

def test_search_order(tmp_path, monkeypatch, isolated):
    monkeypatch.setenv("TTNET_DATA", str(tmp_path / "env"))
    dirs = search_dirs(tmp_path / "root", "fashion-mnist", "/usr/share/datasets/fashion-mnist")
    cache = isolated / ".cache" / "ttnet"
    assert dirs == [
        (tmp_path / "root", "root"), (tmp_path / "root" / "fashion-mnist", "root"),
        (tmp_path / "env", "$TTNET_DATA"), (tmp_path / "env" / "fashion-mnist", "$TTNET_DATA"),
        (cache, "cache"), (cache / "fashion-mnist", "cache"),
        (Path("/usr/share/datasets/fashion-mnist"), "system"),
    ]


def test_search_without_root_env_or_system(isolated):
    cache = isolated / ".cache" / "ttnet"
    assert search_dirs() == [(cache, "cache")]
    assert search_dirs(root="~/data") == [(isolated / "data", "root"), (cache, "cache")]


def test_search_argument_errors():
    with pytest.raises(TypeError, match="root must be a path"):
        search_dirs(root=3)
    with pytest.raises(TypeError, match="system_dir must be a path"):
        search_dirs(system_dir=b"/usr")
    with pytest.raises(TypeError, match="subdir must be None or a non-empty directory name"):
        search_dirs(subdir="")


# ----------------------------------------------------------------------------- downloads

@pytest.fixture
def served(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "labels-idx1-ubyte.gz").write_bytes(gzip_bytes(CONTENT))
    (site / "wrong.gz").write_bytes(gzip_bytes(CONTENT + b"!"))
    (site / "notgzip.gz").write_bytes(b"\x1f\x8b this is not really gzip")
    (site / "big.bin").write_bytes(os.urandom(300_000))
    return site


def test_download_verifies_and_renames(tmp_path, served, capsys):
    target = tmp_path / "cache" / "sub" / "labels-idx1-ubyte.gz"
    with serve_directory(served) as (url, requests):
        out = download_file(url + "labels-idx1-ubyte.gz", target, SPEC)
    assert out == target and target.read_bytes() == gzip_bytes(CONTENT)
    assert requests == ["/labels-idx1-ubyte.gz"]
    assert leftover_parts(tmp_path / "cache") == []
    err = capsys.readouterr().err
    assert "downloading" in err and "checksum OK" in err


def test_download_quiet(tmp_path, served, capsys):
    with serve_directory(served) as (url, _):
        download_file(url + "labels-idx1-ubyte.gz", tmp_path / "x.gz", SPEC, quiet=True)
    assert capsys.readouterr().err == ""


def _assert_nothing_written(target: Path, old: bytes | None = None):
    if old is None:
        assert not target.exists()
    else:
        assert target.read_bytes() == old  # the previous file is untouched
    assert leftover_parts(target.parent) == []


@pytest.mark.parametrize("old", [None, b"previous content"])
def test_download_checksum_mismatch_keeps_nothing(tmp_path, served, old):
    target = tmp_path / "dl" / "labels-idx1-ubyte.gz"
    if old is not None:
        target.parent.mkdir()
        target.write_bytes(old)
    with serve_directory(served) as (url, _):
        with pytest.raises(DatasetError, match=r"wrong.gz \(downloaded for .*; not kept\): checksum mismatch"):
            download_file(url + "wrong.gz", target, SPEC, quiet=True)
    _assert_nothing_written(target, old)


def test_download_of_a_corrupt_gzip_keeps_nothing(tmp_path, served):
    target = tmp_path / "dl" / "labels-idx1-ubyte.gz"
    with serve_directory(served) as (url, _):
        with pytest.raises(DatasetError, match=r"notgzip.gz .*corrupt or truncated gzip"):
            download_file(url + "notgzip.gz", target, SPEC, quiet=True)
    _assert_nothing_written(target)


@pytest.mark.parametrize("old", [None, b"previous content"])
def test_interrupted_download_keeps_nothing(tmp_path, served, old):
    data = (served / "big.bin").read_bytes()
    spec = FileSpec("big.bin", sha256(data))
    target = tmp_path / "dl" / "big.bin"
    if old is not None:
        target.parent.mkdir()
        target.write_bytes(old)
    with serve_directory(served, truncate={"big.bin": 100_000}) as (url, _):
        with pytest.raises(DownloadError, match=r"could not download http://127\.0\.0\.1:\d+/big\.bin"):
            download_file(url + "big.bin", target, spec, quiet=True)
    _assert_nothing_written(target, old)
    with serve_directory(served) as (url, _):  # the same request against a server that finishes works
        download_file(url + "big.bin", target, spec, quiet=True)
    assert target.read_bytes() == data


def test_http_error_names_the_url(tmp_path, served):
    target = tmp_path / "dl" / "x.gz"
    with serve_directory(served) as (url, _):
        with pytest.raises(DownloadError, match=r"could not download http://127\.0\.0\.1:\d+/missing.gz: HTTP 404"):
            download_file(url + "missing.gz", target, SPEC, quiet=True)
    _assert_nothing_written(target)


def test_connection_refused(tmp_path):
    target = tmp_path / "dl" / "x.gz"
    with pytest.raises(DownloadError, match="could not download http://127.0.0.1"):
        download_file(closed_port_url() + "x.gz", target, SPEC, quiet=True, timeout=5)
    _assert_nothing_written(target)


def test_download_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="url must be a non-empty string"):
        download_file(None, tmp_path / "x", SPEC)
    with pytest.raises(TypeError, match="url must be a non-empty string"):
        download_file("", tmp_path / "x", SPEC)
    with pytest.raises(TypeError, match="path must be a path"):
        download_file("http://127.0.0.1:1/x", None, SPEC)
    with pytest.raises(TypeError, match="spec must be a FileSpec"):
        download_file("http://127.0.0.1:1/x", tmp_path / "x", {"name": "x"})
    with pytest.raises(ValueError, match=r"timeout must be in \(0.0, inf\]"):
        download_file("http://127.0.0.1:1/x", tmp_path / "x", SPEC, timeout=0)
    with pytest.raises(TypeError, match="quiet must be True or False"):
        download_file("http://127.0.0.1:1/x", tmp_path / "x", SPEC, quiet=None)
    assert not (tmp_path / "x").exists()

import hashlib

import pytest
from localserver import LocalServer

from mvbench.data.download import DownloadError, download, sha256_file


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    blob = bytes(range(256)) * 1000
    (root / "blob.bin").write_bytes(blob)
    server = LocalServer(root)
    with server as url:
        yield url, blob, server.handler


def test_download_verifies_and_renames(served, tmp_path):
    url, blob, _ = served
    digest = hashlib.sha256(blob).hexdigest()
    dest = download(f"{url}/blob.bin", tmp_path / "out" / "blob.bin", sha256=digest, progress=False)
    assert dest.read_bytes() == blob
    assert not (tmp_path / "out" / "blob.bin.part").exists()
    assert sha256_file(dest) == digest


def test_checksum_mismatch_removes_partial(served, tmp_path):
    url, _, _ = served
    dest = tmp_path / "blob.bin"
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        download(f"{url}/blob.bin", dest, sha256="0" * 64, progress=False)
    assert not dest.exists() and not dest.with_name("blob.bin.part").exists()


def test_resume_partial_file_with_range(served, tmp_path):
    url, blob, handler = served
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(blob[:100_000])
    download(f"{url}/blob.bin", dest, sha256=hashlib.sha256(blob).hexdigest(), progress=False)
    assert dest.read_bytes() == blob
    assert handler.requests_seen[-1] == ("/blob.bin", "bytes=100000-")


def test_complete_partial_file_is_accepted(served, tmp_path):
    url, blob, _ = served
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(blob)
    download(f"{url}/blob.bin", dest, sha256=hashlib.sha256(blob).hexdigest(), progress=False)
    assert dest.read_bytes() == blob


def test_missing_file_and_unreachable_host(served, tmp_path):
    url, _, _ = served
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{url}/nope.bin", tmp_path / "x", progress=False)
    with pytest.raises(DownloadError, match="cannot reach"):
        download("http://127.0.0.1:1/x", tmp_path / "y", progress=False, timeout=2)


def test_interrupted_download_then_resume(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    blob = bytes(range(256)) * 1000
    (root / "blob.bin").write_bytes(blob)
    dest = tmp_path / "blob.bin"
    with LocalServer(root, truncate_at=70_000) as url:
        with pytest.raises(DownloadError, match="run again to resume"):
            download(f"{url}/blob.bin", dest, progress=False)
    part = dest.with_name("blob.bin.part")
    assert not dest.exists() and part.stat().st_size == 70_000
    with LocalServer(root) as url:
        download(f"{url}/blob.bin", dest, sha256=hashlib.sha256(blob).hexdigest(), progress=False)
    assert dest.read_bytes() == blob and not part.exists()


def test_server_ignoring_range_restarts_from_scratch(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    blob = b"0123456789" * 5000
    (root / "blob.bin").write_bytes(blob)
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(b"garbage")
    with LocalServer(root, honour_range=False) as url:
        download(f"{url}/blob.bin", dest, sha256=hashlib.sha256(blob).hexdigest(), progress=False)
    assert dest.read_bytes() == blob

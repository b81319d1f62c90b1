"""A tiny HTTP file server on 127.0.0.1 with Range support, for download tests."""
from __future__ import annotations

import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves files from ``directory``; honours ``Range: bytes=N-`` with 206 responses."""

    requests_seen: list[tuple[str, str | None]] = []
    honour_range = True
    truncate_at: int | None = None  # send only this many body bytes, then drop the connection

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        type(self).requests_seen.append((self.path, self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        rng = self.headers.get("Range") if self.honour_range else None
        start = 0
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:] if self.truncate_at is None else data[start:start + self.truncate_at]
        self.wfile.write(body)
        if self.truncate_at is not None:
            self.close_connection = True


class LocalServer:
    """Context manager: ``with LocalServer(folder) as base_url: ...``."""

    def __init__(self, directory: Path, **behaviour) -> None:
        handler = type("Handler", (RangeHandler,), {"requests_seen": [], **behaviour})
        self.handler = handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                         lambda *a, **k: handler(*a, directory=str(directory), **k))

    def __enter__(self) -> str:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

"""Fixtures for the service: a small real index, the app in-process, the real server."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

TOKEN = "test-token-1234"


def edited_copy(path: Path, quality: int = 60) -> bytes:
    """A cropped, slightly turned, re-encoded copy of a picture, as JPEG bytes."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    im = im.crop((w // 10, h // 12, w - w // 20, h - h // 10)).rotate(4, resample=Image.Resampling.BILINEAR)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.fixture()
def index_dir(photo_dir: Path, tmp_path: Path, encoder) -> Path:
    """An index of ``photo_dir`` (two real photos, six generated pictures)."""
    from selfsim.index import Index, sync
    from selfsim.search import model_ref

    folder = tmp_path / "pics.idx"
    with Index.create(folder, model_ref(encoder)) as index:
        sync(index, encoder, [photo_dir])
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``selfsim serve`` started as a user starts it, in its own process."""

    def __init__(self, index: Path, *args: str, token: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "SELFSIM_TOKEN"}
        if token:
            env["SELFSIM_TOKEN"] = token
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "selfsim.cli.main", "serve", "--index", str(index), "--port", str(self.port),
             "-q", *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read().decode()}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"{self.url}/v1/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start within 120 s")

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture()
def start_server() -> Iterator:
    servers: list[Server] = []

    def start(index: Path, *args: str, token: str | None = None) -> Server:
        servers.append(Server(index, *args, token=token))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def multipart(fields: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type, from (field, filename, data)."""
    boundary = "selfsim-test-boundary-7d3f"
    parts = []
    for field, name, data in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(url: str, fields: list[tuple[str, str, bytes]], headers: dict[str, str] | None = None,
         timeout: float = 120) -> tuple[int, dict[str, str], bytes]:
    """POST a multipart form; (status, headers with lower-case names, body) whatever the status."""
    import urllib.error

    body, ctype = multipart(fields)
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

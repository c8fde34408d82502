"""A real CalDAV server for tests: Radicale on a loopback port, with its own storage and users.

Import the `radicale_server` fixture into a test module. It starts `python -m radicale` once per
session with a plain htpasswd file (user `rep`, password `secret`) and a temporary storage folder,
and hands out a `RadicaleServer` whose helpers create calendars and PUT events over plain HTTP,
independent of the `caldav` client under test.
"""

import base64
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USERNAME = "rep"
PASSWORD = "secret"


@dataclass
class RadicaleServer:
    url: str  # http://127.0.0.1:PORT/
    username: str
    password: str

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "") -> int:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(
            self.url.rstrip("/") + path, data=body or None, method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status

    def make_calendar(self, name: str = "") -> str:
        """Create a calendar in the user's home and return its path (`/rep/<name>/`)."""
        path = f"/{self.username}/{name or uuid.uuid4().hex}/"
        body = (
            b'<?xml version="1.0" encoding="utf-8"?>'
            b'<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            b"<D:set><D:prop><D:displayname>Work</D:displayname>"
            b'<C:supported-calendar-component-set><C:comp name="VEVENT"/>'
            b"</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"
        )
        self.request("MKCALENDAR", path, body, "application/xml")
        return path

    def put_event(self, calendar_path: str, name: str, ics: bytes) -> None:
        """Create or replace the object `<name>.ics` in the calendar."""
        self.request("PUT", f"{calendar_path}{name}.ics", ics, "text/calendar; charset=utf-8")

    def delete(self, path: str) -> None:
        self.request("DELETE", path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"radicale exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"radicale did not listen on port {port} within {timeout}s")


@pytest.fixture(scope="session")
def radicale_server(tmp_path_factory) -> Iterator[RadicaleServer]:
    pytest.importorskip("radicale", reason="radicale is not installed (pip install radicale)")
    root: Path = tmp_path_factory.mktemp("radicale")
    (root / "users").write_text(f"{USERNAME}:{PASSWORD}\n")
    port = _free_port()
    config = root / "config"
    config.write_text(
        f"""[server]
hosts = 127.0.0.1:{port}

[auth]
type = htpasswd
htpasswd_filename = {root / "users"}
htpasswd_encryption = plain
delay = 0

[storage]
filesystem_folder = {root / "collections"}

[logging]
level = warning
"""
    )
    log = (root / "radicale.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, process)
        yield RadicaleServer(f"http://127.0.0.1:{port}/", USERNAME, PASSWORD)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

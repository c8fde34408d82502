"""`salesdesk serve` really starts gunicorn and one Huey consumer, and stops them together."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SALESDESK = [sys.executable, "-m", "salesdesk.cli"]
CONFIGURATION = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "HTTPS",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set for the browser tests in this pytest process
}


def environment(var_dir: Path) -> dict[str, str]:
    """The test's own environment minus any Salesdesk configuration, pointed at `var_dir`."""
    env = {key: value for key, value in os.environ.items() if key not in CONFIGURATION}
    env.update(
        SALESDESK_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'salesdesk.sqlite3'}",
        DEBUG="0",
    )
    return env


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, str]:
    """A migrated SQLite database and collected static files in a throwaway var directory."""
    env = environment(tmp_path_factory.mktemp("var"))
    # Independent of each other, so both at once.
    preparing = [
        subprocess.Popen([*SALESDESK, *command, "-v", "0"], env=env)
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"])
    ]
    assert [process.wait(timeout=120) for process in preparing] == [0, 0]
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def process_tree(root: int) -> dict[int, list[int]]:
    """Children by parent pid, for `root` and everything below it, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (command name) state ppid …"; the name may hold spaces and parentheses.
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    tree, pending = {}, [root]
    while pending:
        pid = pending.pop()
        tree[pid] = children.get(pid, [])
        pending.extend(tree[pid])
    return tree


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_until_gone(pids, seconds: float = 5) -> list[int]:
    deadline = time.monotonic() + seconds
    while (running := [pid for pid in pids if is_running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running


class Server:
    """`salesdesk serve` on a free port, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [*SALESDESK, "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "1"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_ready(self, seconds: float = 15) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"serve exited early:\n{self.output()}"
            try:
                fetch(f"{self.url}/healthz")
            except OSError:
                time.sleep(0.1)
            else:
                return
        pytest.fail(f"serve did not answer within {seconds} s:\n{self.output()}")

    def children(self) -> dict[str, int]:
        named = {}
        for pid in process_tree(self.process.pid)[self.process.pid]:
            line = command_line(pid)
            named["gunicorn" if "gunicorn" in line else "huey" if "run_huey" in line else line] = (
                pid
            )
        return named

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def server(site, tmp_path):
    running = Server(site, tmp_path / "serve.log")
    yield running
    for pid in process_tree(running.process.pid):  # leave nothing behind when a test fails
        if pid != running.process.pid and is_running(pid):
            os.kill(pid, signal.SIGKILL)
    running.stop()


def test_serve_answers_http_and_sigterm_stops_both_children(server):
    server.wait_until_ready()
    children = server.children()
    assert sorted(children) == ["gunicorn", "huey"]
    everything = [pid for pid in process_tree(server.process.pid) if pid != server.process.pid]
    assert len(everything) >= 3  # gunicorn, its worker, the consumer

    status, body = fetch(f"{server.url}/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, page = fetch(f"{server.url}/login/")
    assert status == 200
    assert b"Sign in" in page
    # The manifest (hashed) name of the stylesheet, served by whitenoise.
    stylesheet = re.search(rb'href="(/static/vendor/bootstrap/css/bootstrap\.min\.\w+\.css)"', page)
    assert stylesheet is not None, page
    status, css = fetch(f"{server.url}{stylesheet[1].decode()}")
    assert status == 200
    assert css.startswith(b"@charset") or b"Bootstrap" in css[:200]

    server.process.send_signal(signal.SIGTERM)

    assert server.process.wait(timeout=15) == 0, server.output()
    assert wait_until_gone(everything) == []
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        fetch(f"{server.url}/healthz")


def test_serve_stops_the_web_server_and_fails_when_the_consumer_dies(server):
    server.wait_until_ready()
    children = server.children()
    everything = [pid for pid in process_tree(server.process.pid) if pid != server.process.pid]

    os.kill(children["huey"], signal.SIGKILL)

    assert server.process.wait(timeout=15) == 128 + signal.SIGKILL, server.output()
    assert "The huey consumer stopped (status 137); stopping the rest." in server.output()
    assert wait_until_gone(everything) == []


def test_serve_refuses_to_start_before_collectstatic(tmp_path):
    result = subprocess.run(
        [*SALESDESK, "serve"],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 1
    assert "Static files are not collected" in result.stderr
    assert "run `salesdesk collectstatic --noinput` first" in result.stderr

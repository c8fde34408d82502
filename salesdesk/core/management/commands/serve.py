"""`salesdesk serve`: the web server and the job consumer, started and stopped as one.

On one machine this is the whole deployment: gunicorn answers HTTP while one Huey consumer runs
the background jobs. Each child runs in its own process group, so Ctrl-C in a terminal reaches
only this process, which then stops each child the way that child stops gracefully (gunicorn on
SIGTERM, Huey on SIGINT). If either child dies, the other is stopped too and the exit status is
non-zero, so a supervisor such as systemd restarts the pair.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.management.base import BaseCommand, CommandError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# gunicorn waits up to 30 s for requests in flight; after this the children are killed.
KILL_AFTER_SECONDS = 40


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    graceful: signal.Signals  # finish the work in hand, then exit
    quick: signal.Signals  # exit now

    def send(self, signum: int) -> None:
        self.process.send_signal(signum)  # a no-op once the child has exited

    def kill(self) -> None:
        # The child leads its own process group: this also ends gunicorn's workers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def exit_status(returncode: int) -> int:
    """A shell-style status: a child killed by signal N reports 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


class Command(BaseCommand):
    help = "Serve Salesdesk with gunicorn and one Huey consumer; stopping one stops both."

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind", default="127.0.0.1:8000", help="Address gunicorn listens on (host:port)."
        )
        parser.add_argument(
            "--workers", type=int, default=2, help="gunicorn worker processes (2 suit 2 cores)."
        )
        parser.add_argument("--threads", type=int, default=4, help="Threads per gunicorn worker.")

    def handle(self, *args, bind: str, workers: int, threads: int, **options) -> None:
        self._require_collected_static()
        gunicorn = [
            *("gunicorn", "salesdesk.wsgi", "--bind", bind, "--access-logfile", "-"),
            *("--workers", str(workers), "--threads", str(threads)),
            # gunicorn's runtime control socket lives at one path per user; two servers on one
            # machine (a test run next to `make run`) would fight over it, and nothing uses it.
            "--no-control-socket",
        ]
        # (name, arguments after `python -m`, graceful signal, quick signal)
        commands = [
            ("gunicorn", gunicorn, signal.SIGTERM, signal.SIGINT),
            ("huey consumer", ["salesdesk.cli", "run_huey"], signal.SIGINT, signal.SIGTERM),
        ]

        children: list[Child] = []
        stop_requests: list[int] = []

        def request_stop(signum, frame) -> None:
            stop_requests.append(signum)
            # A second Ctrl-C means "now": skip the graceful shutdown.
            for child in children:
                child.send(child.graceful if len(stop_requests) == 1 else child.quick)

        previous_handlers = {signum: signal.signal(signum, request_stop) for signum in STOP_SIGNALS}
        try:
            for name, arguments, graceful, quick in commands:
                if stop_requests:
                    break
                process = subprocess.Popen(  # noqa: S603 (fixed arguments)
                    [sys.executable, "-m", *arguments], process_group=0
                )
                children.append(Child(name, process, graceful, quick))
            self.stdout.write(
                f"Serving http://{bind}/ with gunicorn ({workers} workers x {threads} threads) "
                "and one Huey consumer. Ctrl-C stops both."
            )
            status = self._supervise(children, stop_requests)
        except BaseException:
            for child in children:  # never leave a server running without its supervisor
                child.kill()
            raise
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
        if status:
            raise SystemExit(status)

    def _supervise(self, children: list[Child], stop_requests: list[int]) -> int:
        while not stop_requests and all(child.process.poll() is None for child in children):
            time.sleep(0.2)

        crashed = (
            None if stop_requests else next(c for c in children if c.process.poll() is not None)
        )
        if crashed is not None:
            self.stderr.write(
                f"The {crashed.name} stopped (status {exit_status(crashed.process.returncode)}); "
                "stopping the rest."
            )
            for child in children:
                child.send(child.graceful)

        deadline = time.monotonic() + KILL_AFTER_SECONDS
        for child in children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {child.name} did not stop in time; killing it.")
                child.kill()
                child.process.wait()

        if crashed is not None:
            return exit_status(crashed.process.returncode) or 1
        return next((s for c in children if (s := exit_status(c.process.returncode))), 0)

    def _require_collected_static(self) -> None:
        """Without the manifest every page would fail with a 500; say so before starting."""
        if not isinstance(staticfiles_storage, ManifestFilesMixin):
            return
        manifest = Path(staticfiles_storage.path(staticfiles_storage.manifest_name))
        if not manifest.exists():
            raise CommandError(
                f"Static files are not collected ({manifest} is missing): "
                "run `salesdesk collectstatic --noinput` first."
            )

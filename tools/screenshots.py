"""Take the screenshots in docs/screenshots/ from a fresh demo organization.

    .venv/bin/python tools/screenshots.py

Loads `salesdesk demo --users 25 --deals 5000 --anchor 2026-11-25` into a SQLite database in a
temporary var directory, serves it with `salesdesk serve` on a free port, signs in as the demo
rep in Debian's Chromium (/usr/bin/chromium, driven by Playwright) and saves one PNG of the
viewport per page, then does the same for the dashboards as the demo manager. The same seed and
anchor give the same records, so the pictures only change when the pages do; the dates in them
follow the machine's clock.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SALESDESK = str(Path(sys.executable).parent / "salesdesk")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO = ["demo", "--users", "25", "--deals", "5000", "--anchor", "2026-11-25"]
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
TALL = {"width": 1440, "height": 1400}  # the deal page: its timeline starts below the fold
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
MAX_BYTES = 400_000

# Records worth showing: the rep's open deal with the longest timeline, and the contact with
# the most activities, picked through the same visibility rules as the pages. The rep reads
# English (UK) dates: the pages are in English, and a German locale would mix in German words
# from Django's own translations ("vor 2 Stunden").
PREPARE = """
import json
from django.db.models import Count
from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.crm.models import Contact
from salesdesk.pipeline.models import Deal
rep = User.objects.get(email=EMAIL)
User.objects.filter(pk=rep.pk).update(locale="en-gb")
def busiest(queryset, related):
    return (visibility.scope(rep, queryset).annotate(weight=Count(related))
            .order_by("-weight", "id").values_list("id", flat=True).first())
print(json.dumps({
    "deal": busiest(Deal.objects.filter(status="open"), "activities"),
    "contact": busiest(Contact.objects.all(), "activities"),
    "rep": rep.pk,
}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(env: dict, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [SALESDESK, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode:
        sys.exit(f"salesdesk {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def demo_logins(var_dir: Path) -> tuple[dict[str, str], str]:
    """The role -> e-mail lines and the shared password from demo-login.txt."""
    text = (var_dir / "demo-login.txt").read_text()
    emails = dict(re.findall(r"^\s+(\w+)\s+(\S+@\S+)$", text, re.MULTILINE))
    password = re.search(r"^\s+password\s+(\S+)$", text, re.MULTILINE).group(1)
    return emails, password


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    for _ in range(150):
        if server.poll() is not None:
            sys.exit(f"salesdesk serve stopped with status {server.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/healthz", timeout=2),  # noqa: S310 - local http
        ):
            return
        time.sleep(0.2)
    sys.exit(f"salesdesk serve did not answer on {url}")


@contextlib.contextmanager
def demo_server():
    """Yield (base URL, var dir) of a served demo organization; remove everything afterwards."""
    var_dir = Path(tempfile.mkdtemp(prefix="salesdesk-screenshots-"))
    env = {**os.environ, "SALESDESK_VAR_DIR": str(var_dir), "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)  # SQLite in var_dir
    env.pop("DEBUG", None)
    server = None
    try:
        print(f"Loading the demo into {var_dir}…")
        run(env, "migrate", "--noinput", "--verbosity", "0")
        run(env, "collectstatic", "--noinput", "--verbosity", "0")
        run(env, *DEMO)
        url = f"http://127.0.0.1:{free_port()}"
        server = subprocess.Popen(  # noqa: S603
            [SALESDESK, "serve", "--bind", url.removeprefix("http://")],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until_up(url, server)
        yield url, var_dir, env
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)  # serve stops gunicorn and Huey, then exits
            try:
                server.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(var_dir, ignore_errors=True)


def signed_in_page(browser, url: str, email: str, password: str, **context_options):
    context = browser.new_context(locale="en-GB", service_workers="block", **context_options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{url}/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")
    return page


def shoot(page, url: str, path: str, name: str, viewport: dict | None = None) -> None:
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(url + path)
    page.wait_for_load_state("networkidle")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    target = OUT / name
    page.screenshot(path=str(target), animations="disabled", caret="hide")
    size = target.stat().st_size
    print(f"  {target.relative_to(ROOT)}  {path}  {size // 1000} KB")
    if size > MAX_BYTES:
        sys.exit(f"{name} is {size // 1000} KB, more than {MAX_BYTES // 1000} KB")


def main() -> None:
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    with demo_server() as (url, var_dir, env), sync_playwright() as playwright:
        emails, password = demo_logins(var_dir)
        picked = json.loads(
            run(env, "shell", "-c", f"EMAIL = {emails['rep']!r}\n{PREPARE}")
            .strip()
            .splitlines()[-1]
        )
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        print(f"Signed in as {emails['rep']}:")
        desktop = signed_in_page(browser, url, emails["rep"], password, **DESKTOP)
        shoot(desktop, url, "/board/", "board.png")
        shoot(desktop, url, "/", "my-day.png")
        shoot(desktop, url, "/companies/", "companies.png")
        shoot(desktop, url, f"/contacts/{picked['contact']}/", "contact.png")
        shoot(desktop, url, f"/deals/{picked['deal']}/", "deal.png", TALL)
        phone = signed_in_page(browser, url, emails["rep"], password, **PHONE)
        shoot(phone, url, "/board/", "phone-board.png")
        print(f"Signed in as {emails['manager']}:")
        manager = signed_in_page(browser, url, emails["manager"], password, **DESKTOP)
        shoot(manager, url, "/dashboards/revenue/", "revenue-dashboard.png", TALL)
        shoot(manager, url, "/dashboards/team/", "team-dashboard.png", TALL)
        shoot(manager, url, "/goals/", "goals.png", TALL)
        shoot(manager, url, "/forecast/", "forecast.png", TALL)
        shoot(manager, url, f"/reviews/{picked['rep']}/", "review.png", TALL)
        manager_phone = signed_in_page(browser, url, emails["manager"], password, **PHONE)
        shoot(manager_phone, url, "/dashboards/team/", "phone-team-dashboard.png")
        browser.close()


if __name__ == "__main__":
    main()

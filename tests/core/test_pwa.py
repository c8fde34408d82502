"""The installable app: web manifest, service worker and offline page, all public."""

import json
import struct

import pytest
from django.contrib.staticfiles import finders

from salesdesk.core import views

pytestmark = pytest.mark.django_db

STATIC_URL = "/static/"


def static_file(url: str):
    assert url.startswith(STATIC_URL), url
    found = finders.find(url.removeprefix(STATIC_URL))
    assert found, f"{url} is not a static file"
    return found


def worker_config(response) -> dict:
    first_line = response.content.decode().split("\n", 1)[0]
    return json.loads(first_line.removeprefix("self.SALESDESK = ").removesuffix(";"))


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as file:
        head = file.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_the_manifest_describes_an_installable_app(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/manifest.webmanifest")

    body = response.json()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    assert (body["name"], body["short_name"], body["start_url"], body["scope"]) == (
        "Salesdesk",
        "Salesdesk",
        "/",
        "/",
    )
    assert body["display"] == "standalone"
    assert (body["theme_color"], body["background_color"]) == ("#212529", "#f8f9fa")
    icons = {(icon["sizes"], icon["purpose"]): icon for icon in body["icons"]}
    assert sorted(icons) == [
        ("192x192", "any"),
        ("192x192", "maskable"),
        ("512x512", "any"),
        ("512x512", "maskable"),
    ]
    for (sizes, _), icon in icons.items():
        assert icon["type"] == "image/png"
        width, height = png_size(static_file(icon["src"]))
        assert f"{width}x{height}" == sizes


def test_the_service_worker_is_served_from_the_root_with_what_to_precache(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/sw.js")

    rest = response.content.decode().split("\n", 1)[1]
    config = worker_config(response)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert "no-cache" in response["Cache-Control"]
    assert config["offline"] == "/offline/"
    assert config["precache"][0] == "/offline/"
    assert STATIC_URL + "salesdesk/app.js" in config["precache"]
    for url in config["precache"][1:]:
        static_file(url)
    assert len(config["version"]) == 16
    assert rest.startswith("/* Salesdesk's service worker")
    assert 'url.pathname.startsWith("/api/")' in rest  # the API is never cached
    assert 'request.method !== "GET"' in rest  # nor POSTs


def test_the_service_worker_version_follows_its_content(client, monkeypatch):
    before = worker_config(client.get("/sw.js"))
    monkeypatch.setattr(views, "PRECACHED_STATIC", [*views.PRECACHED_STATIC, "salesdesk/sw.js"])
    after = worker_config(client.get("/sw.js"))

    assert before["version"] != after["version"]


def test_the_offline_page_needs_no_sign_in(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/offline/")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<h1 class="h4" id="offline-heading">You are offline</h1>' in page
    assert "Nothing is saved while you are offline" in page
    assert 'href="/manifest.webmanifest"' in page


def test_every_page_links_the_manifest_and_registers_the_worker(client, cast):
    client.force_login(cast.alice)

    page = client.get("/").content.decode()

    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<script src="/static/salesdesk/app.js"></script>' in page
    with open(static_file("/static/salesdesk/app.js")) as file:
        assert 'navigator.serviceWorker.register("/sw.js", { scope: "/" })' in file.read()


@pytest.mark.parametrize("path", ["/manifest.webmanifest", "/sw.js", "/offline/"])
def test_the_app_files_take_only_get(client, path):
    assert client.post(path).status_code == 405

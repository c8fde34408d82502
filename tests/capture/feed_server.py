"""A local ICS feed server for tests: `http.server` on 127.0.0.1 and a free port, in a thread.

Import the `ics_feeds` fixture into a test module. Tests put what each path answers
(`feeds.serve("/cal.ics", data)`), change it between syncs, and read `feeds.requests`. A path
served with a username answers 401 to any other credentials, as a feed behind basic auth does.
"""

import base64
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


@dataclass
class Route:
    status: int
    body: bytes
    content_type: str
    credentials: str  # "user:password", or "" for none


@dataclass
class FeedServer:
    url: str  # http://127.0.0.1:PORT
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def serve(
        self,
        path: str,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "text/calendar; charset=utf-8",
        credentials: str = "",
    ) -> str:
        self.routes[path] = Route(status, body, content_type, credentials)
        return self.url + path


def _handler(server: FeedServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            server.requests.append(self.path)
            route = server.routes.get(self.path, Route(404, b"not found", "text/plain", ""))
            if route.credentials:
                expected = "Basic " + base64.b64encode(route.credentials.encode()).decode()
                if self.headers.get("Authorization") != expected:
                    route = Route(401, b"login required", "text/plain", "")
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def ics_feeds() -> Iterator[FeedServer]:
    feeds = FeedServer(url="")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(feeds))
    httpd.daemon_threads = True
    feeds.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield feeds
    finally:
        httpd.shutdown()
        httpd.server_close()

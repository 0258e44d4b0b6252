"""The web map tests' browser (Debian's chromium driven by Playwright, headless, offline) and
server. Playwright is imported only when a browser is launched: a test module calls
require_chromium() first, and is skipped without Playwright or chromium."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.server import AMANAT, ROOT, env, free_port

ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def require_chromium() -> None:
    """Skip the calling test module (call it at module level) unless Playwright and Debian's
    chromium are installed."""
    pytest.importorskip("playwright")
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (scripts/test-tools.sh installs it)",
                    allow_module_level=True)


@contextlib.contextmanager
def launch():
    """Headless Debian chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                              args=FLAGS)
        yield launched
        launched.close()


class MapServer:
    """`amanat serve` on a free port, its output in a file (a full pipe would stall it)."""

    def __init__(self, tmp: Path, database_url: str, *args: str):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(tmp / "server.log", "w")
        self.proc = subprocess.Popen([*AMANAT, "serve", *args], cwd=ROOT,
                                     env=env(tmp, database_url, port), stdout=self.log,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {(tmp / 'server.log').read_text()[-2000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.3)
        raise AssertionError("server did not start")

    def stop(self) -> None:
        """Stop the server and the processes it started (its job worker outlives a SIGTERM)."""
        children = _children(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        self.log.close()


def _children(pid: int) -> list[int]:
    """Ids of the processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


class Watch:
    """What a page did: console errors, requests that tried to leave, tile responses."""

    def __init__(self, page, origin: str):
        self.errors, self.external, self.tiles = [], [], []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("response", lambda r: self.tiles.append(r.status) if "/tiles/" in r.url else None)

        def route(request_route):
            if request_route.request.url.startswith(origin):
                return request_route.continue_()
            self.external.append(request_route.request.url)
            return request_route.abort()

        page.route("**/*", route)

    def assert_clean(self):
        assert self.external == [], f"requests left the machine: {self.external[:5]}"
        assert self.errors == [], f"console errors: {self.errors[:5]}"

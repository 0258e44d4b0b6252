"""The `amanat` command and the server process, started as a user would start them."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
AMANAT = [sys.executable, "-m", "geoserver.cli"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(tmp_path, database_url: str, port: int | None = None) -> dict:
    """The environment of an `amanat` command: no AMANAT_ settings of ours, a private state
    directory under `tmp_path`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AMANAT_")}
    environment.update(DATABASE_URL=database_url, AMANAT_STATE_DIR=str(tmp_path / "state"))
    if port:
        environment["PORT"] = str(port)
    return environment


class Server:
    """`amanat serve` in a subprocess on a free port."""

    def __init__(self, tmp_path, database_url: str, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"server-{self.port}.log"  # a file: a pipe nobody reads fills up
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([*AMANAT, "serve", *args], cwd=ROOT,
                                         env=env(tmp_path, database_url, self.port),
                                         stdout=out, stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.3)
        raise AssertionError("server did not start")

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        return self.log.read_text()

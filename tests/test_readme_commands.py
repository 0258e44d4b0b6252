"""The README's shell commands, run verbatim after `make run` in a fresh clone (issue 13, part 7).

A new user clones the repository, runs `make run`, and in a second terminal types the commands
the README shows. This test does the same: `git clone` of this checkout (committed files only,
no `var/`), `make run` in it as written, then every command of the README's `sh` blocks through
`bash -c`, exactly as the README spells it, in the clone, with no DATABASE_URL and no AMANAT_*
variable in the environment. A command that exits non-zero fails the test; so does an amanat
command that did not say it used the database `make run` serves, and a README command this test
neither runs nor lists in EXCLUDED (with the reason).

Two departures from a newcomer's machine, both outside the commands themselves:
- `make run` gets DATABASE_URL (a scratch database of its own, dropped afterwards) and PORT (a
  free port): without them it would serve the shared `amanat` database on :8000, which the
  developer's own `make run` may be using. The commands after it get neither.
- The clone's `.venv` is a virtual environment of its own, made here in ~0.1 s without pip: its
  `site-packages` holds one `.pth` naming the clone (so its code, its `var/`, its README are the
  ones used) and then this checkout's installed packages; `.venv/bin/amanat` is the same
  console script. Installing the pinned packages again would take minutes and test pip, not
  the README; a symlink to this checkout's `.venv` would run this checkout's code instead
  (its editable install points here). The install stamp is written so `make run`'s
  `scripts/install.sh` sees an installed venv; `webmap/node_modules` is a symlink to this
  checkout's (npm files, unchanged by a clone).

Files a user brings are made before the commands run (INPUTS): an orthophoto GeoTIFF over the
city, a directory with one equirectangular JPEG with EXIF GPS, a GeoPackage with one parcel.
"""
import datetime as dt
import hashlib
import os
import re
import shlex
import signal
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest

from geoserver.cli_common import without_password
from tests.support.databases import configured_url, scratch_database
from tests.support.server import ROOT, free_port

README = ROOT / "README.md"
QUICK_START = ["make run", "make test"]
EXCLUDED = {
    "make run": "it is the server the other commands run against: started here as written, "
                "before them (DATABASE_URL and PORT given, see the module docstring)",
    "make test": "the whole suite, of which this test is a part",
}
INPUTS = ("ortho2025.tif", "photos-360/", "parcels.gpkg")
COMMAND_TIMEOUT_S = 120
START_TIMEOUT_S = 300
CAPTURED_AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=3)))


def _blocks(text: str) -> list[list[str]]:
    """The commands of each ```sh block (backslash-continued lines joined, blanks dropped)."""
    blocks = []
    for body in re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", body)
        blocks.append([line.strip() for line in joined.splitlines() if line.strip()])
    return blocks


def _words(command: str) -> str:
    """The command without its comment, words single-spaced (to compare, never to run)."""
    return " ".join(shlex.split(command, comments=True))


def _user_environment() -> dict:
    """A terminal's environment: no database URL and no Amanat setting of ours."""
    drop = ("DATABASE_URL", "TEST_DATABASE_URL", "PYTHONPATH", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items()
            if k not in drop and not k.startswith("AMANAT_")}


def _clone(tmp: Path) -> Path:
    """A fresh clone of this checkout with a venv of its own (see the module docstring)."""
    clone = tmp / "amanat"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    target = clone / ".venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(target)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = target / "lib" / version / "site-packages"
    (site / "amanat-clone.pth").write_text(f"{clone}\n{sysconfig.get_paths()['purelib']}\n")
    script = (ROOT / ".venv" / "bin" / "amanat").read_text().splitlines()[1:]
    amanat = target / "bin" / "amanat"
    amanat.write_text("\n".join([f"#!{target / 'bin' / 'python'}", *script]) + "\n")
    amanat.chmod(0o755)
    pinned = (clone / "pyproject.toml").read_bytes() + (clone / "constraints.txt").read_bytes()
    (target / ".amanat-installed").write_text(hashlib.sha256(pinned).hexdigest()[:16] + "\n")
    (clone / "webmap" / "node_modules").symlink_to(ROOT / "webmap" / "node_modules")
    return clone


class MakeRun:
    """`make run` in the clone, in its own process group (make, bash, serve, the worker)."""

    def __init__(self, clone: Path, url: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = clone.parent / "make-run.log"
        environment = {**_user_environment(), "DATABASE_URL": url, "PORT": str(self.port)}
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(["make", "run"], cwd=clone, env=environment,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_healthy(self) -> None:
        """Until /healthz answers 200 (the sample city is loaded before the server listens)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"make run exited:\n{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise AssertionError(f"make run did not serve:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        """SIGTERM to the group `make run` leads, SIGKILL after 20 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _make_inputs(clone: Path, url: str) -> None:
    """The files a user brings: an orthophoto, a panorama directory, a parcels GeoPackage."""
    with psycopg.connect(url) as conn:
        lon, lat = conn.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c "
                                "FROM districts ORDER BY id LIMIT 1) d").fetchone()
    _orthophoto(clone / "ortho2025.tif", lon, lat)
    _panorama(clone / "photos-360", lon, lat)
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(clone / "parcels.gpkg"), f"PG:{url}", "-sql",
                    ("SELECT 'README-1' AS parcel_no, plan_no, block_no, district_id, area_m2, "
                     "frontage_m, land_use, zoning_code, geom FROM parcels ORDER BY id LIMIT 1")],
                   check=True, capture_output=True, timeout=60)


def _orthophoto(path: Path, lon: float, lat: float) -> None:
    """A 512 x 512 RGB GeoTIFF (EPSG:4326) of about 500 m around a point."""
    import rasterio
    from rasterio.transform import from_bounds

    rgb = np.random.default_rng(3).integers(0, 255, (3, 512, 512), dtype=np.uint8)
    transform = from_bounds(lon - 0.0025, lat - 0.0025, lon + 0.0025, lat + 0.0025, 512, 512)
    with rasterio.open(path, "w", driver="GTiff", width=512, height=512, count=3,
                       dtype="uint8", crs="EPSG:4326", transform=transform) as out:
        out.write(rgb)


def _panorama(directory: Path, lon: float, lat: float) -> None:
    """One 2048 x 1024 equirectangular JPEG with EXIF GPS, heading and time."""
    from data.panoramas import write_image
    from panoramas.metadata import Capture

    directory.mkdir()
    sky = np.linspace(90, 230, 512, dtype=np.uint8)[:, None, None]
    rgb = np.concatenate([np.broadcast_to(sky, (512, 2048, 3)),
                          np.full((512, 2048, 3), 110, np.uint8)]).copy()
    when = CAPTURED_AT
    write_image(directory / "street-0001.jpg", rgb,
                Capture(lon, lat, 45.0, when, "README 360cam", 2048, 1024))


def _readme_commands(readme: Path) -> list[str]:
    """Every command of the README's sh blocks, the quick start first."""
    blocks = _blocks(readme.read_text())
    assert blocks and [_words(c) for c in blocks[0]] == QUICK_START
    return [command for block in blocks for command in block]


def test_readme_quick_start_is_exactly_make_run_and_make_test():
    assert [_words(c) for c in _blocks(README.read_text())[0]] == QUICK_START


def _leaves(group, prefix=()):
    """(command path, command) of every runnable `amanat` command."""
    import click

    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaves(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def _resolve(words: list[str]):
    """The command path and command the words name, or an assertion error."""
    import click

    from geoserver.cli import main

    command, path = main, []
    for word in words:
        if not (isinstance(command, click.Group) and word in command.commands):
            break
        command, path = command.commands[word], [*path, word]
    assert not isinstance(command, click.Group), f"no such amanat command: {' '.join(words)}"
    return tuple(path), command


def _check_span(span: str):
    """The command a README span names exists and has every --option the span shows."""
    path, command = _resolve(span.split())
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    unknown = set(re.findall(r"--[a-z][a-z-]*", span)) - options
    assert not unknown, f"`{span}`: amanat {' '.join(path)} has no {sorted(unknown)}"
    return path


def test_readme_inline_and_synopsis_commands_name_real_commands_and_options():
    from geoserver.cli import main

    text = README.read_text()
    inline = [" ".join(m.split()[1:]) for m in
              re.findall(r"`(\.venv/bin/amanat [^`]+)`", text)]
    section = text[text.index("## Command line"):]
    section = section[:section.index("\n## ", 1)]
    cells = [row.split(" | ")[0].removeprefix("| ") for row in section.splitlines()
             if row.startswith("| `")]
    synopsis = [span.replace("\\|", "|") for cell in cells
                for span in re.findall(r"`([^`]+)`", cell)]
    assert len(inline) >= 8 and len(synopsis) >= 15
    documented = {_check_span(span) for span in inline + synopsis}
    missing = {path for path, _ in _leaves(main)} - documented
    assert not missing, f"amanat commands the README's synopsis lacks: {sorted(missing)}"


@pytest.mark.slow
def test_every_readme_command_runs_verbatim_after_make_run(tmp_path):
    with scratch_database(configured_url()) as url:
        clone = _clone(tmp_path)
        commands = _readme_commands(clone / "README.md")   # the README a user cloned
        assert set(EXCLUDED) <= {_words(c) for c in commands}, "an exclusion the README lost"
        server = MakeRun(clone, url)
        try:
            server.wait_healthy()
            assert (clone / "var" / "database.url").read_text().strip() == url
            _make_inputs(clone, url)
            ran = [_run(clone, command, url) for command in commands
                   if _words(command) not in EXCLUDED]
            _check_effects(url, server)
        finally:
            server.stop()
    assert len(ran) >= 12


def _run(clone: Path, command: str, url: str) -> str:
    """Run one README command as typed; fail with its output unless it succeeds."""
    done = subprocess.run(["bash", "-c", command], check=False, cwd=clone, env=_user_environment(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S)
    assert done.returncode == 0, (f"README command failed ({done.returncode}): {command}\n"
                                  f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-2000:]}")
    if command.startswith(".venv/bin/amanat "):
        assert f"amanat: database {without_password(url)} " in done.stderr, (command, done.stderr)
        assert "amanat:amanat@" not in done.stderr + done.stdout   # never the password
    return command


def _check_effects(url: str, server: MakeRun) -> None:
    """What the commands did is in the database `make run` serves, and the server sees it."""
    with psycopg.connect(url) as conn:
        user = conn.execute("SELECT role, office, disabled_at IS NOT NULL FROM auth_users "
                            "WHERE name = 'rania'").fetchone()
        assert user == ("office", "ENG-1", True)
        assert conn.execute("SELECT role FROM api_keys WHERE name = 'gis-agency'").fetchone() \
            == ("analyst",)
        assert conn.execute("SELECT kind FROM rasters WHERE id = 'ortho-2025'").fetchone() \
            == ("orthophoto",)
        assert conn.execute("SELECT count(*) FROM parcels WHERE parcel_no = 'README-1'"
                            ).fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM panoramas WHERE captured_at = %s",
                            [CAPTURED_AT]).fetchone() == (1,)
    tilejson = f"{server.url}/raster/ortho-2025/WebMercatorQuad/tilejson.json"
    for _ in range(20):   # a worker re-reads the raster registry every 5 s
        served = httpx.get(tilejson, timeout=30)
        if served.status_code == 200:
            break
        time.sleep(0.5)
    assert served.status_code == 200, served.text

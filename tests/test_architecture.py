"""The house rules of the code, checked on its imports (docs/architecture.md).

Packages are layered: a module may import the project's packages below its own and its own
package, never one above (an upward import is how circles start); the project's import graph
has no cycle at all, counting function-level imports too; HTTP frameworks are imported only by
the edge (geoserver/, the web map, and a package's routes.py); and create_app sets no global
state: two applications with different settings serve two databases side by side.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"kernel": 0, "layers": 1, "indicators": 1.5, "processing": 2, "panoramas": 2,
          "citizens": 2, "data": 3,
          "webmap": 3, "field": 4, "geoserver": 5}
HTTP = ("starlette", "fastapi", "titiler")
HTTP_ALLOWED = ("geoserver/", "webmap/", "kernel/errors.py")   # the error document


def _module(path: Path) -> str:
    """The dotted module name of a file of the project."""
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path, modules=frozenset()) -> set[str]:
    """Every absolute module name a file imports, at any depth of the file (`from package
    import module` names the module, not the package, when `modules` knows it)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named = {f"{node.module}.{alias.name}" for alias in node.names}
            found.update(named)
            if not named <= set(modules):
                found.add(node.module)
    return found


def _graph() -> dict[str, set[str]]:
    """Project module → the project modules it imports."""
    files = {_module(p): p for package in LAYERS for p in (ROOT / package).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        graph[name] = {target for target in _imports(path, files) if target in files}
    return graph


GRAPH = _graph()


def test_the_graph_is_read():
    assert {"kernel.errors", "layers.database", "geoserver.app"} <= set(GRAPH)
    assert "layers.database" in GRAPH["layers.queries"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_a_package_above_its_own(module):
    level = LAYERS[module.split(".")[0]]
    upward = sorted(target for target in GRAPH[module]
                    if LAYERS[target.split(".")[0]] > level)
    assert not upward, f"{module} imports {upward}"


def test_the_kernel_imports_nothing_of_the_project():
    for module in (m for m in GRAPH if m.startswith("kernel")):
        assert {t for t in GRAPH[module] if not t.startswith("kernel")} == set(), module


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(GRAPH[node]):
            if state.get(target) == 1:
                circle = stack[stack.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(circle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_http_frameworks_only_at_the_edge(module):
    path = module.replace(".", "/") + ".py"
    if path.startswith(HTTP_ALLOWED) or path.endswith("/routes.py"):
        return
    imported = (ROOT / path) if (ROOT / path).exists() else ROOT / path.replace(".py",
                                                                               "/__init__.py")
    http = sorted(name for name in _imports(imported) if name.split(".")[0] in HTTP)
    assert not http, f"{module} imports {http}"


def test_two_applications_in_one_process_serve_two_databases(settings, tmp_path):
    from starlette.testclient import TestClient

    from geoserver import create_app
    from geoserver.settings import ServerSettings
    from layers import migrate
    from layers.settings import DatabaseSettings
    from tests.support.databases import configured_url, scratch_database

    with scratch_database(configured_url()) as url:
        migrate.upgrade(url)   # the schema, no city: every layer is empty
        other = settings.model_copy(update={
            "database": DatabaseSettings(DATABASE_URL=url),
            "server": ServerSettings(state_dir=tmp_path / "other", port=8001)})
        with TestClient(create_app(settings)) as first, \
                TestClient(create_app(other)) as second:
            a = first.get("/ogc/collections/districts/items?f=json").json()
            b = second.get("/ogc/collections/districts/items?f=json").json()
            again = first.get("/ogc/collections/districts/items?f=json").json()
            link = b["links"][0]["href"]
            assert first.app.state.services.db is not second.app.state.services.db
    assert a["numberMatched"] > 0 and again["numberMatched"] == a["numberMatched"]
    assert b["numberMatched"] == 0 and b["features"] == []
    assert link.startswith("http://127.0.0.1:8001/ogc/")     # each its own settings


def _test_module_imports(path: Path) -> list[str]:
    """The tests.test_* modules a test file imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                 else [alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [])
        found += [name for name in names if name.startswith("tests.test_")]
    return found


def test_no_test_module_imports_another():
    # shared helpers and fixtures live in tests/support/ (fixtures as conftest plugins), so a
    # test file runs alone and in any order
    found = {path.name: _test_module_imports(path) for path in (ROOT / "tests").glob("test_*.py")}
    assert not {name: imports for name, imports in found.items() if imports}

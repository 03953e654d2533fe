"""Layering, checked on the source with ``ast`` over every module in ``src/pulsetwin``.

1. Imports point down the layers (:data:`LAYERS`, lowest first; a package may import its own layer and the
   ones below) and no import closes a cycle between packages. Every import counts, also one inside a function
   or under ``TYPE_CHECKING``: a lazy import still ties the packages together.
2. No module reaches into another module's private (underscore-prefixed) names. A leading underscore marks a
   name as the business of its own module; other modules use public, documented API (e.g. the origin oracle
   replays the twin through :mod:`pulsetwin.twin.replay`); dunder names such as ``__version__`` are public.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "pulsetwin"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"exceptions"}),
    # leaves every layer may use: the executor interface, pure metrics of arrays, the canonical schema
    frozenset({"executor", "metrics", "schema"}),
    frozenset({"store"}),  # DuckDB, the log, reading frames (store/frames.py)
    frozenset({"sources", "twin"}),  # data sources: connectors and the synthetic city (the generator only)
    frozenset({"features", "grid"}),
    frozenset({"hotspots"}),  # hotspot-map models on grid cells (models.point_process wraps them)
    frozenset({"models"}),
    frozenset({"evaluation"}),  # backtests, skill, the oracles, forecast runs
    frozenset({"audit"}),  # reads evaluation results (labels, frequency checks) and stored runs
    frozenset({"studies", "trials", "reports"}),  # closed loops and scenarios on the twin; trials; reports
    frozenset({"api"}),
    frozenset({"web", "cli", "testing"}),  # testing: the public test helpers (check_model, fixture stores)
    frozenset({"__main__"}),
)
"""The packages (and top-level modules) of ``pulsetwin`` by layer, lowest first."""


def _private(name: str) -> bool:
    """A single-underscore name (``_x``), not a dunder (``__x__``)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path) -> str:
    """Dotted module name of a file under ``PACKAGE`` (a package's ``__init__`` is the package)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module an ``ImportFrom`` reads from (resolves relative imports)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a module or package of pulsetwin."""
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def private_uses(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Every use in ``source`` (module ``module``) of a private name of another pulsetwin module.

    Flags ``from pulsetwin.x import _y``, imports of private modules (``pulsetwin.x._m``) and attribute access
    ``m._y`` on a name bound to a pulsetwin module.
    """
    tree = ast.parse(source)
    found: list[str] = []
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            origin = _absolute(node, module, is_package)
            if origin.split(".")[0] != "pulsetwin":
                continue
            if any(_private(part) for part in origin.split(".")):
                found.append(f"line {node.lineno}: from {origin} import ... (private module)")
            for alias in node.names:
                if _private(alias.name) and origin != module:
                    found.append(f"line {node.lineno}: from {origin} import {alias.name}")
                elif _is_module(f"{origin}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] != "pulsetwin":
                    continue
                if any(_private(part) for part in parts):
                    found.append(f"line {node.lineno}: import {alias.name} (private module)")
                modules.add(alias.asname or parts[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base: ast.expr = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_uses_a_private_name_of_another_module() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50  # the scan really walks the package
    offences = [
        f"{path.relative_to(PACKAGE.parent)} {use}"
        for path in files
        for use in private_uses(
            path.read_text(encoding="utf-8"), _module_name(path), is_package=path.name == "__init__.py"
        )
    ]
    assert offences == [], "private names used across modules (make them public API):\n" + "\n".join(offences)


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        (
            "from pulsetwin.twin.generate import _STEPS, generate_twin",
            ["from pulsetwin.twin.generate import _STEPS"],
        ),
        ("from .generate import _check_arguments", ["from pulsetwin.twin.generate import _check_arguments"]),
        ("from pulsetwin.twin import generate\ngenerate._offence_frame", ["generate._offence_frame"]),
        ("import pulsetwin.twin.generate as g\ng._STEPS", ["g._STEPS"]),
        ("import pulsetwin.twin._hidden", ["import pulsetwin.twin._hidden (private module)"]),
        ("from pulsetwin import __version__\nfrom pulsetwin.twin.replay import replay_twin", []),
        ("from numpy.random import _pcg64\nimport numpy as np\nnp._NoValue", []),
        ("self._fitted\nx = object()\nx._y", []),
    ],
)
def test_the_check_flags_private_uses_only(source: str, flagged: list[str]) -> None:
    found = private_uses(source, "pulsetwin.twin.other")
    assert [use.split(": ", 1)[1] for use in found] == flagged


def _package(module: str) -> str:
    """The top-level package (or module) of ``pulsetwin`` a dotted module belongs to (``""``: the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported_modules(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """Every pulsetwin module ``source`` imports, with its line: ``from a.b import c`` gives ``a.b.c`` when
    ``c`` is a module, else ``a.b``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            origin = _absolute(node, module, is_package)
            if origin.split(".")[0] != "pulsetwin":
                continue
            for alias in node.names:
                sub = f"{origin}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub) else origin))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "pulsetwin")
    return found


def package_imports(sources: dict[str, tuple[str, bool]]) -> dict[tuple[str, str], list[str]]:
    """Imports between packages: ``(importer, imported) -> ["module line N: imported.module", ...]``.

    ``sources`` maps each dotted module name to its source text and whether it is a package ``__init__``.
    """
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, (source, is_package) in sources.items():
        for line, target in imported_modules(source, module, is_package=is_package):
            here, there = _package(module), _package(target)
            use = f"{module} line {line}: {target}"
            if here and there and here != there and use not in edges[(here, there)]:
                edges[(here, there)].append(use)
    return dict(edges)


def upward_imports(edges: dict[tuple[str, str], list[str]]) -> list[str]:
    """Imports of a package from a higher layer, and imports from or of a package without a layer."""
    layer = {name: level for level, names in enumerate(LAYERS) for name in names}
    found = []
    for (here, there), uses in sorted(edges.items()):
        if here not in layer or there not in layer:
            missing = sorted({here, there} - set(layer))
            found.append(f"{here} -> {there}: {', '.join(missing)} has no layer in LAYERS ({uses[0]})")
        elif layer[there] > layer[here]:
            found.append(f"{here} (layer {layer[here]}) -> {there} (layer {layer[there]}): {'; '.join(uses)}")
    return found


def package_cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan 1972): each holds an import cycle."""
    graph: dict[str, set[str]] = defaultdict(set)
    for here, there in edges:
        graph[here].add(there)
        graph.setdefault(there, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _tree_sources() -> dict[str, tuple[str, bool]]:
    return {
        _module_name(path): (path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_imports_point_down_the_layers_and_close_no_cycle() -> None:
    edges = package_imports(_tree_sources())
    assert ("cli", "store") in edges  # the scan really sees imports between packages
    upward = upward_imports(edges)
    assert upward == [], "imports up the layers (move the code or the layer):\n" + "\n".join(upward)
    cycles = package_cycles(edges)
    assert cycles == [], f"import cycles between packages: {cycles}"


def test_every_package_has_a_layer() -> None:
    present = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()}
    packages = {
        name
        for name in present
        if (PACKAGE / name / "__init__.py").is_file() or (PACKAGE / f"{name}.py").is_file()
    } - {"__init__"}
    assert packages - {name for names in LAYERS for name in names} == set()


def test_the_layer_check_flags_an_upward_import_and_a_cycle() -> None:
    sources = {
        "pulsetwin.twin.loop": ("from pulsetwin.audit.feedback import gini, lock_in", False),
        "pulsetwin.audit.feedback": (
            "def lazy():\n    from pulsetwin.evaluation.backtest import backtest",
            False,
        ),
        "pulsetwin.evaluation.backtest": ("from ..twin import replay", False),
        "pulsetwin.twin.replay": ("import numpy", False),
        "pulsetwin.cli.main": ("import pulsetwin.store.database", False),
        "pulsetwin.store.database": ("", False),
    }
    edges = package_imports(sources)
    assert set(edges) == {
        ("twin", "audit"),
        ("audit", "evaluation"),
        ("evaluation", "twin"),
        ("cli", "store"),
    }
    assert edges[("evaluation", "twin")] == ["pulsetwin.evaluation.backtest line 1: pulsetwin.twin.replay"]
    assert edges[("twin", "audit")] == ["pulsetwin.twin.loop line 1: pulsetwin.audit.feedback"]  # once
    assert [use.split(":")[0] for use in upward_imports(edges)] == ["twin (layer 3) -> audit (layer 8)"]
    assert package_cycles(edges) == [["audit", "evaluation", "twin"]]
    assert "nowhere has no layer" in upward_imports({("cli", "nowhere"): ["pulsetwin.cli.x line 1: ..."]})[0]


STORE_INTERNALS = frozenset({"_con", "connection"})
"""Attributes through which code could run SQL on a Store's own connection behind its typed accessors."""


def store_connection_uses(source: str) -> list[str]:
    """Every attribute access ``x._con`` or ``x.connection`` in ``source`` (any base: the scan cannot know
    which names hold a Store, so outside the store package these attribute names are simply not used)."""
    return [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in STORE_INTERNALS
    ]


def test_only_the_store_package_touches_a_stores_connection() -> None:
    store_package = PACKAGE / "store"
    files = [p for p in sorted(PACKAGE.rglob("*.py")) if store_package not in p.parents]
    assert len(files) > 50 and any(p.parts[-3:] == ("api", "services", "users.py") for p in files)
    offences = [
        f"{path.relative_to(PACKAGE.parent)} {use}"
        for path in files
        for use in store_connection_uses(path.read_text(encoding="utf-8"))
    ]
    assert offences == [], (
        "SQL on a Store's connection outside pulsetwin.store (add an accessor):\n" + "\n".join(offences)
    )


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("store._con.execute('DELETE FROM users')", ["store._con"]),
        ("backend.lease.current().connection.cursor()", ["backend.lease.current().connection"]),
        ("store.read_cursor().execute('SELECT 1')\ncon = duckdb.connect()\ncon.execute('SELECT 1')", []),
    ],
)
def test_the_connection_check_flags_connection_uses_only(source: str, flagged: list[str]) -> None:
    assert [use.split(": ", 1)[1] for use in store_connection_uses(source)] == flagged

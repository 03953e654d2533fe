"""Layering: no module of pulsetwin reaches into another module's private (underscore-prefixed) names.

A leading underscore marks a name as the business of its own module; other modules use public, documented
API (e.g. the origin oracle replays the twin through :mod:`pulsetwin.twin.replay`). Checked on the source
with ``ast`` over every module in ``src/pulsetwin``; dunder names such as ``__version__`` are public.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "pulsetwin"


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

"""The import contract: README's layout table, read from the code.

Every module of the project is parsed (not imported) and each of its imports of another
layer is checked against ALLOWED, the table written once as data. A wrong arrow fails the
test with every offender named (`module → imported module`), so a layer can only reach
down, never up or sideways into what the table forbids.

The root is an argument, so the same walk can be pointed at an older checkout.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each layer and the layers it may import (besides itself and third-party packages).
# `worker` is worker.py, the worker's composition root.
ALLOWED: dict[str, frozenset[str]] = {
    "domain": frozenset(),
    "foundation": frozenset({"domain"}),
    # Activities are reached through workflows/activity_stubs.py, never imported; they get
    # their settings from the worker (EmailOptions, WebhookOptions), never foundation.
    "workflows": frozenset({"domain"}),
    "activities": frozenset({"domain", "store"}),
    "store": frozenset({"domain"}),
    "api": frozenset({"domain", "foundation", "workflows", "activities", "store"}),
    # The pages read data through the API's services, never the store's tables.
    "web": frozenset({"api", "domain", "foundation"}),
    "worker": frozenset({"domain", "foundation", "workflows", "activities", "store"}),
    "overgang": frozenset(
        {"domain", "foundation", "workflows", "activities", "store", "api", "web", "worker"}
    ),
}

# What the workflow sandbox must never load: I/O libraries and the settings.
HEAVY = ("sqlalchemy", "aiosmtplib", "httpx", "asyncpg", "foundation.settings")


def _modules(root: Path) -> Iterator[tuple[str, Path]]:
    for layer in ALLOWED:
        single = root / f"{layer}.py"
        files = [single] if single.is_file() else sorted((root / layer).rglob("*.py"))
        for path in files:
            yield ".".join(path.relative_to(root).with_suffix("").parts), path


def _imported(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield _absolute(package, node)


def _absolute(package: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _wrong(layer: str, imported: str) -> bool:
    target = imported.split(".")[0]
    return target in ALLOWED and target != layer and target not in ALLOWED[layer]


def wrong_arrows(root: Path = ROOT) -> list[str]:
    """Every import that runs against the table, as `module → imported module`."""
    arrows = set()
    for module, path in _modules(root):
        layer = module.split(".")[0]
        for imported in _imported(module, path):
            if _wrong(layer, imported):
                arrows.add(f"{module} → {imported}")
    return sorted(arrows)


def test_every_import_follows_the_layout_table() -> None:
    arrows = wrong_arrows()
    assert not arrows, f"{len(arrows)} imports run against README's layout table:\n" + "\n".join(
        arrows
    )


def test_the_walk_sees_every_layer() -> None:
    """A walk that read nothing would pass: every layer must have modules to check."""
    layers = {module.split(".")[0] for module, _ in _modules(ROOT)}
    assert layers == set(ALLOWED)


def test_the_workflow_sandbox_imports_nothing_heavy() -> None:
    """Importing every workflows module in a fresh interpreter loads no I/O library and no
    settings."""
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import workflows\n"
        "for module in pkgutil.iter_modules(workflows.__path__, 'workflows.'):\n"
        "    importlib.import_module(module.name)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []

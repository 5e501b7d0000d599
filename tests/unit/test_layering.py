"""Which package may import which: the layering the refactoring established stays.

Read from the source (every ``import``, at any depth, including function-local ones), so a
cycle cannot come back through a lazy import either.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"
DOMAINS = ("terminology", "mappings", "directory", "search", "geo", "web")
#: package or module → the gateway packages it must never import.
FORBIDDEN = {
    "terminology": ("mappings", "directory", "search", "geo", "web"),
    "geo": ("search", "terminology", "directory", "mappings", "web"),
    "text.py": DOMAINS,
    "files.py": DOMAINS,
    "coded.py": DOMAINS,
    "snapshot.py": DOMAINS,
}


def imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize(("part", "forbidden"), sorted(FORBIDDEN.items()))
def test_layering(part: str, forbidden: tuple[str, ...]) -> None:
    target = GATEWAY / part
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert files, f"{target} does not exist"
    offending = sorted(
        f"{path.relative_to(GATEWAY)} imports {module}"
        for path in files
        for module in imported(path)
        if any(module == f"gateway.{p}" or module.startswith(f"gateway.{p}.") for p in forbidden)
    )
    assert offending == []

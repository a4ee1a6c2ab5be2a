"""Conventions the code base keeps, enforced: the import direction of DESIGN.md, settings documented."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "catalog", "sync", "fieldkit", "gis")
# What each package may import of ours (DESIGN.md "Imports run one way").
ALLOWED = {
    "server": {"server", "catalog", "sync", "gis"},
    "fieldkit": {"fieldkit", "catalog", "sync", "gis"},
    "catalog": {"catalog", "gis"},
    "sync": {"sync"},
    "gis": {"gis"},
}
NO_FLASK = ("catalog", "sync", "gis")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports__run_one_way(package):
    wrong = {}
    for path in modules(package):
        ours = imports_of(path) & set(PACKAGES)
        bad = ours - ALLOWED[package]
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert wrong == {}


@pytest.mark.parametrize("package", NO_FLASK)
def test_domain_packages__never_import_flask(package):
    flaskish = {"flask", "flask_smorest", "werkzeug"}
    wrong = {str(p.relative_to(ROOT)): sorted(imports_of(p) & flaskish)
             for p in modules(package) if imports_of(p) & flaskish}
    assert wrong == {}


def test_environment__read_only_in_server_config():
    readers = []
    for package in PACKAGES:
        for path in modules(package):
            text = path.read_text(encoding="utf-8")
            if ("os.environ" in text or "os.getenv" in text) and path != ROOT / "server" / "config.py":
                readers.append(str(path.relative_to(ROOT)))
    # The field kit is its own program and reads its own settings (FIELDKIT_HOME) in one module.
    assert [r for r in readers if not r.startswith("fieldkit/")] == []


def test_settings__each_documented_in_readme():
    from server.config import ENV_SETTINGS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [name for name in ENV_SETTINGS if f"`{name}`" not in readme] == []

"""The field kit package the platform offers for download (``GET /api/fieldkit/package``), so kits update where
only the platform is reachable (``fieldkit update``).

The package is a wheel of the ``yuanxian`` distribution (it holds ``fieldkit`` with the ``sync``, ``catalog`` and
``gis`` packages it needs), kept in ``<instance>/fieldkit/``: ``yuanxian fieldkit build`` makes it from the source
tree at release time (``pip wheel --no-deps --no-build-isolation``: no network), or a release pipeline copies the
wheel it built there. The newest version there is offered; its sha256 is computed once per file (name, size,
modification time) and given in ``GET /api/fieldkit/version`` so the kit can verify what it downloaded.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from catalog.errors import CatalogError, NotFound

DISTRIBUTION = "yuanxian"
# PEP 427 wheel names: {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
WHEEL = re.compile(rf"^{DISTRIBUTION}-(?P<version>[0-9][0-9A-Za-z.+!_]*)-[^-/\\]+-[^-/\\]+-[^-/\\]+\.whl$")


# What a source tree may hold that is not the package: environments, data, build output, caches.
NOT_SOURCE = (".git", ".venv", "venv", "instance", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
              ".hypothesis", "node_modules", "tests", "bench")


class BuildFailed(CatalogError):
    code = "fieldkit_build_failed"
    zh = "外业工具安装包生成失败"
    en = "Building the field kit package failed"


@dataclass(frozen=True)
class Package:
    version: str
    filename: str
    sha256: str
    size: int
    path: Path

    def as_dict(self) -> dict[str, object]:
        return {"version": self.version, "filename": self.filename, "sha256": self.sha256, "size": self.size}


_digests: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def folder(instance_path: str | Path) -> Path:
    return Path(instance_path) / "fieldkit"


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Release numbers compare as numbers (0.10.0 after 0.9.1); other parts as text."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.+!_-]", version))


def current(instance_path: str | Path) -> Package:
    """The newest wheel offered; :class:`NotFound` when none was published."""
    wheels = [(m.group("version"), p) for p in folder(instance_path).glob("*.whl") if (m := WHEEL.match(p.name))]
    if not wheels:
        raise NotFound(en="No field kit package is published on this server (yuanxian fieldkit build)",
                       zh="服务器尚未提供外业工具安装包（请管理员运行 yuanxian fieldkit build）")
    version, path = max(wheels, key=lambda w: (_version_key(w[0]), w[1].stat().st_mtime_ns))
    stat = path.stat()
    key = (path.name, stat.st_size, stat.st_mtime_ns)
    with _lock:
        digest = _digests.get(key)
    if digest is None:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = h.hexdigest()
        with _lock:
            _digests[key] = digest
    return Package(version, path.name, digest, stat.st_size, path)


def build(instance_path: str | Path, source: Path) -> Package:
    """Build the wheel of the source tree ``source`` into the package folder, with the build tools installed
    here (no network), and return it as offered."""
    if not (source / "pyproject.toml").is_file():
        raise BuildFailed(zh=f"{source} 不是项目源代码目录（缺少 pyproject.toml）",
                          en=f"{source} is not the project's source tree (no pyproject.toml)")
    target = folder(instance_path)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="yx-wheel-") as tmp:
        # A clean copy: setuptools' build/ folder in the tree would carry files since deleted into the wheel.
        tree, wheels = Path(tmp) / "src", Path(tmp) / "wheels"
        shutil.copytree(source, tree, ignore=shutil.ignore_patterns(*NOT_SOURCE))
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--no-index", "--disable-pip-version-check", "--quiet", "--wheel-dir", str(wheels),
                               str(tree)], capture_output=True, text=True, check=False)
        built = [p for p in wheels.glob("*.whl") if WHEEL.match(p.name)]
        if done.returncode != 0 or len(built) != 1:
            detail = (done.stderr or done.stdout).strip()[-2000:]
            raise BuildFailed(zh=f"外业工具安装包生成失败：{detail}", en=f"pip wheel failed: {detail}")
        partial = target / (built[0].name + ".partial")  # the offered file appears whole or not at all
        shutil.copyfile(built[0], partial)
        os.replace(partial, target / built[0].name)
    return current(instance_path)

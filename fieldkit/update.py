"""``fieldkit update``: the kit's new version from its own server, where only the platform is reachable.

Asks ``GET /api/fieldkit/version`` (version, file name, sha256, size), downloads ``GET /api/fieldkit/package``
through the kit's transport (retries, the captive-portal check), refuses a package whose size or sha256 differs,
and installs it with pip into the Python running the kit (``--no-deps --no-index``: nothing else is fetched;
the kit's dependencies are already installed). ``target`` installs into a folder instead (a portable kit).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.transport import Transport

DISTRIBUTION = "yuanxian"
SAFE_WHEEL = re.compile(r"^yuanxian-[0-9][0-9A-Za-z.+!_]*-[^-/\\]+-[^-/\\]+-[^-/\\]+\.whl$")


class UpdateFailed(Exception):
    """The update did not happen; ``zh`` and ``en`` say why. Nothing was installed."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class Offer:
    version: str
    filename: str
    sha256: str
    size: int


def installed_version() -> str | None:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def offer(transport: Transport) -> Offer:
    """What the server offers (``ServerRefused`` 404 when it offers nothing)."""
    doc: Any = transport.request("GET", "/api/fieldkit/version").json()
    try:
        found = Offer(str(doc["version"]), str(doc["filename"]), str(doc["sha256"]).lower(), int(doc["size"]))
    except (KeyError, TypeError, ValueError):
        raise UpdateFailed("服务器的版本信息不完整", "the server's version answer is incomplete") from None
    if not SAFE_WHEEL.match(found.filename) or not re.fullmatch(r"[0-9a-f]{64}", found.sha256):
        raise UpdateFailed("服务器给出的安装包名称或校验值无效", "the package name or sha256 given is invalid")
    return found


def download(transport: Transport, want: Offer, folder: Path) -> Path:
    """The package, verified against ``want``, saved in ``folder`` under its own name."""
    body = transport.request("GET", "/api/fieldkit/package").body
    digest = hashlib.sha256(body).hexdigest()
    if len(body) != want.size or digest != want.sha256:
        raise UpdateFailed(f"下载的安装包校验失败（sha256 {digest[:12]}…，应为 {want.sha256[:12]}…），未安装",
                           f"the downloaded package fails its check (sha256 {digest[:12]}…, expected "
                           f"{want.sha256[:12]}…): not installed")
    path = folder / want.filename
    path.write_bytes(body)
    return path


def install(wheel: Path, target: Path | None = None) -> None:
    """pip into this kit's own Python (or ``target``), from the file alone."""
    args = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check",
            "--no-input", "--force-reinstall", "--quiet"]
    if target is not None:
        args += ["--target", str(target), "--upgrade"]
    done = subprocess.run([*args, str(wheel)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-1500:]
        raise UpdateFailed(f"安装失败：{detail}", f"pip install failed: {detail}")


def update(transport: Transport, target: Path | None = None, force: bool = False) -> tuple[str | None, Offer, bool]:
    """Install the server's version when it differs from this one (or ``force``): (old version, offer, done)."""
    old, found = installed_version(), offer(transport)
    if found.version == old and not force:
        return old, found, False
    with tempfile.TemporaryDirectory(prefix="fieldkit-update-") as tmp:
        install(download(transport, found, Path(tmp)), target)
    return old, found, True

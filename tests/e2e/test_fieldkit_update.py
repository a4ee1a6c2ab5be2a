"""The field kit package over real HTTP: ``yuanxian fieldkit build`` offers a wheel of the project, and
``fieldkit update`` downloads it from the platform alone, verifies its sha256 and installs it with pip; a
corrupted download is refused and nothing is installed."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner

from fieldkit.cli import main as fieldkit
from fieldkit.update import installed_version
from server.cli import main as yuanxian
from server.fieldkit_package import folder
from sync.transport import Backoff, HttpTransport

NEW = "99.1.0"


def _wheel(where: Path, version: str) -> Path:
    """A small wheel of the ``yuanxian`` distribution at ``version``: what a later release would offer."""
    name = f"yuanxian-{version}"
    path = where / f"{name}-py3-none-any.whl"
    files = {"fieldkit/__init__.py": f'RELEASE = "{version}"\n',
             f"{name}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: yuanxian\nVersion: {version}\n",
             f"{name}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                        "Tag: py3-none-any\n"}
    record = [f"{n},sha256={_b64(hashlib.sha256(t.encode()).digest())},{len(t.encode())}" for n, t in files.items()]
    files[f"{name}.dist-info/RECORD"] = "\n".join([*record, f"{name}.dist-info/RECORD,,"]) + "\n"
    where.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for n, t in files.items():
            z.writestr(n, t)
    return path


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _kit(tmp_path: Path, url: str) -> Callable[..., Any]:
    runner, home = CliRunner(), tmp_path / "kit"
    opened: list[HttpTransport] = []

    def transport(base: str, token: str | None) -> HttpTransport:
        opened.append(HttpTransport(base, token=token, backoff=Backoff(attempts=1)))
        return opened[-1]

    def run(*args: str) -> Any:
        try:
            return runner.invoke(fieldkit, ["--home", str(home), *args], obj={"transport": transport})
        finally:
            while opened:
                opened.pop().close()

    assert run("init", "--server", url).exit_code == 0
    return run


def _imported(target: Path) -> str:
    """The version and module a fresh Python finds with ``target`` on its path (``-S``: without this checkout's
    editable install, whose import hook would answer first; run elsewhere than this checkout, which ``-c`` puts
    first on the path)."""
    code = ("import importlib.metadata as m, fieldkit; "
            "print(m.version('yuanxian'), getattr(fieldkit, 'RELEASE', '-'), fieldkit.__file__)")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, cwd=target.parent)
    return done.stdout.strip()


def test_update__server_offers_a_newer_wheel__the_kit_checks_downloads_verifies_and_installs_it(
        app: Any, tmp_path: Path, serve: Callable[[Any], int]) -> None:
    wheel = _wheel(folder(app.instance_path), NEW)
    url = f"http://127.0.0.1:{serve(app)}"
    with requests.Session() as http:
        meta = http.get(f"{url}/api/fieldkit/version").json()
        assert meta["version"] == NEW and meta["filename"] == wheel.name and meta["size"] == wheel.stat().st_size
        assert meta["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert http.get(f"{url}/api/fieldkit/package").content == wheel.read_bytes()

    kit = _kit(tmp_path, url)
    check = kit("update", "--check")
    assert check.exit_code == 0, check.output
    assert f"installed: {installed_version()}" in check.output and f"offered: {NEW}" in check.output
    target = tmp_path / "site"
    assert not target.exists(), "--check installs nothing"
    done = kit("update", "--target", str(target))
    assert done.exit_code == 0, done.output
    assert f"{installed_version()} → {NEW}" in done.output
    version, release, module = _imported(target).split(" ")
    assert (version, release) == (NEW, NEW) and module.startswith(str(target))


def test_update__download_corrupted_on_the_way__refused_and_nothing_installed(
        app: Any, tmp_path: Path, serve: Callable[[Any], int]) -> None:
    _wheel(folder(app.instance_path), NEW)

    def corrupting(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = app(environ, start_response)
        try:
            body = b"".join(answer)
        finally:
            answer.close()  # the file behind send_file
        if environ["PATH_INFO"] == "/api/fieldkit/package":
            body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]  # one byte flipped, same length
        return [body]

    kit = _kit(tmp_path, f"http://127.0.0.1:{serve(corrupting)}")
    target = tmp_path / "site"
    result = kit("update", "--target", str(target))
    assert result.exit_code == 1
    assert "校验失败" in result.output and "not installed" in result.output
    assert not target.exists()


def test_update__nothing_published__a_clear_404_and_the_same_version__up_to_date(
        app: Any, tmp_path: Path, serve: Callable[[Any], int]) -> None:
    url = f"http://127.0.0.1:{serve(app)}"
    kit = _kit(tmp_path, url)
    none = kit("update", "--check")
    assert none.exit_code == 1 and "yuanxian fieldkit build" in none.output and "404" in none.output
    _wheel(folder(app.instance_path), str(installed_version()))
    same = kit("update")
    assert same.exit_code == 0 and "up to date" in same.output


def test_fieldkit_build__a_wheel_of_this_source_tree__offered_with_its_sha256(app: Any) -> None:
    result = app.test_cli_runner().invoke(yuanxian, ["fieldkit", "build"])
    assert result.exit_code == 0, result.output
    [wheel] = folder(app.instance_path).glob("*.whl")
    assert wheel.name == f"yuanxian-{installed_version()}-py3-none-any.whl"
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() in result.output
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for module in ("fieldkit/cli.py", "fieldkit/update.py", "sync/wire.py", "catalog/field.py", "gis/__init__.py"):
        assert module in names
    assert not any(n.startswith(("tests/", "instance/")) for n in names)
    shown = app.test_cli_runner().invoke(yuanxian, ["fieldkit", "show"])
    assert shown.exit_code == 0 and wheel.name in shown.output

"""The layer installs exactly what the tests ran: layers/shared/requirements.txt is
uv.lock's export (no dev dependencies), pinned, and the build refuses a stale one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "layers" / "shared" / "requirements.txt"
EXPORT = ["export", "--frozen", "--no-dev", "--no-hashes", "--quiet"]
PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]+\])?==[^=<>~!,;\s]+$")


def _requirements(text: str) -> list[str]:
    """The requirement lines (comments and the `# via` annotations dropped)."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _uv() -> str:
    local = ROOT / ".tools" / "bin" / "uv"  # what the Makefile installs
    found = str(local) if local.exists() else shutil.which("uv")
    assert found, "uv is needed to export the lock (make setup installs it in .tools/)"
    return found


def test_layer_requirements_are_the_lock_export() -> None:
    exported = subprocess.run([_uv(), *EXPORT], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    assert _requirements(REQUIREMENTS.read_text()) == _requirements(exported.stdout), (
        "layers/shared/requirements.txt is not uv.lock's export: run `make requirements`"
    )


def test_every_layer_requirement_is_pinned() -> None:
    lines = _requirements(REQUIREMENTS.read_text())
    assert lines
    loose = [line for line in lines if not PINNED.match(line)]
    assert not loose, f"not pinned with ==: {loose}"


def test_the_sdk_is_bundled_as_one_locked_set() -> None:
    """boto3 and botocore come from the lock together (docs/decisions.md, "The layer bundles
    the SDK"): the runtime's boto3 next to the layer's botocore would be a pair no test ran."""
    names = {line.split("==")[0].lower() for line in _requirements(REQUIREMENTS.read_text())}
    assert {"boto3", "botocore", "s3transfer"} <= names

"""What `make build` leaves in .aws-sam/build is what the tests ran, ready for a read-only
/opt and /var/task: the source of this tree, the locked dependency versions, and bytecode
for every module that Python 3.12 uses without recompiling.

`make test` builds first and points BACKORDERS_BUILD at the result; a plain `pytest`
without a build skips these (run `make build`, then set BACKORDERS_BUILD=.aws-sam/build).
"""

from __future__ import annotations

import filecmp
import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "layers" / "shared" / "requirements.txt"
HASH_BASED, CHECK_SOURCE = 0b01, 0b10  # PEP 552 flags of a .pyc header


@pytest.fixture(scope="module")
def build() -> Path:
    where = os.environ.get("BACKORDERS_BUILD")
    if not where:
        pytest.skip("no build to check: `make test` builds and sets BACKORDERS_BUILD")
    path = (ROOT / where).resolve()
    assert (path / "template.yaml").is_file(), f"BACKORDERS_BUILD={where} holds no sam build"
    return path


def _code_dirs(build: Path) -> dict[str, Path]:
    """Logical id -> built code folder, read from the built template."""
    resources = yaml.safe_load((build / "template.yaml").read_text())["Resources"]  # sam writes long form
    found = {}
    for logical_id, resource in resources.items():
        props = resource.get("Properties") or {}
        uri = props.get("CodeUri") or props.get("ContentUri")
        if isinstance(uri, str):
            found[logical_id] = build / uri
    return found


def test_every_module_ships_bytecode_that_python312_uses_as_is(build: Path) -> None:
    sources = sorted(build.rglob("*.py"))
    assert len(sources) > 100  # the layer's dependencies are in it
    wrong = []
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.exists():
            wrong.append(f"{source.relative_to(build)}: no {cached.name}")
            continue
        header = cached.read_bytes()[:16]
        flags = int.from_bytes(header[4:8], "little")
        if header[:4] != importlib.util.MAGIC_NUMBER:
            wrong.append(f"{source.relative_to(build)}: compiled by another Python version")
        elif flags != HASH_BASED:  # hash-based, source not checked
            wrong.append(f"{source.relative_to(build)}: flags {flags:#b}, not unchecked-hash")
        elif header[8:16] != importlib.util.source_hash(source.read_bytes()):
            wrong.append(f"{source.relative_to(build)}: bytecode of another source")
    assert not wrong, wrong[:20]


def test_the_build_ships_this_trees_code(build: Path) -> None:
    dirs = _code_dirs(build)
    pairs = [(ROOT / "layers" / "shared" / "backorders", dirs["SharedLayer"] / "python" / "backorders")]
    for name in ("api", "allotter", "planner"):
        pairs.append((ROOT / "functions" / name, dirs[f"{name.capitalize()}Function"]))
    for source, built in pairs:
        files = sorted(p.relative_to(source) for p in source.rglob("*.py"))
        assert files, source
        _, mismatch, errors = filecmp.cmpfiles(source, built, [str(f) for f in files], shallow=False)
        assert not mismatch and not errors, f"{built} differs from {source}: {mismatch + errors}"


def test_the_layer_holds_swagger_uis_assets_that_docs_serves(build: Path) -> None:
    """/docs links Swagger UI's script and style sheet from powertools' own copy (decision 67)."""
    swagger_ui = _code_dirs(build)["SharedLayer"] / "python" / "aws_lambda_powertools" / "event_handler" / "openapi"
    for name in ("swagger-ui-bundle.min.js", "swagger-ui.min.css"):
        assert (swagger_ui / "swagger_ui" / name).stat().st_size > 100_000, name


def test_the_layer_holds_the_locked_versions_for_arm64(build: Path) -> None:
    layer = _code_dirs(build)["SharedLayer"] / "python"
    pinned = {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in (
            line.strip().split("==") for line in REQUIREMENTS.read_text().splitlines() if "==" in line
        )
    }
    installed = {}
    for info in layer.glob("*.dist-info"):
        name, version = info.name[: -len(".dist-info")].rsplit("-", 1)
        installed[re.sub(r"[-_.]+", "-", name).lower()] = version
    assert installed == pinned
    libraries = [p.name for p in layer.rglob("*.so")]
    assert libraries, "pydantic_core ships a compiled library"
    assert all("aarch64" in name for name in libraries), libraries  # Architectures: [arm64]


def test_make_deploy_deploys_this_build_with_the_projects_sam_config(build: Path) -> None:
    """The deploy command `make deploy` runs, up to its first question (no credentials, no
    answers): it must find infra/samconfig.toml, which sam looks up next to the template."""
    clean = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    planned = subprocess.run(["make", "-s", "-n", "deploy"], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert planned.returncode == 0, planned.stderr
    command = planned.stdout.strip().splitlines()[-1]
    assert "sam deploy" in command and f"--template-file {build.relative_to(ROOT)}/template.yaml" in command
    env = {k: v for k, v in clean.items() if not k.startswith("AWS_")}  # no credentials: it stops at the prompt
    env.update(AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    shell = ["bash", "-c", command]
    asked = subprocess.run(
        shell, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert f"Looking for config file [{ROOT / 'infra' / 'samconfig.toml'}] :  Found" in asked.stdout, asked.stdout
    assert "Stack Name [backorders]" in asked.stdout, asked.stdout

"""Row 5: cold-start proxy: the import time of each function's handler module **as built**,
next to a bare ``import boto3`` from the same build, each in a fresh interpreter.

What is imported is the output of ``make build-host``: the same template, lock and
post-processing (bytecode compiled with 3.12, unchecked-hash) as ``make build``, for this
machine's architecture, because the arm64 build's pydantic_core library does not load on
x86_64. Before measuring, the twin is compared with the arm64 build (``make build``): the
same distributions and byte-identical Python sources, or the row refuses to run.

Each probe is ``python -S -E -B`` with ``sys.path`` = the function's built code folder,
then its layers' ``python/`` folders (what Lambda puts first on ``sys.path``: /var/task,
/opt/python), and nothing else: no site-packages, so a module missing from the build
fails instead of coming from the development environment; ``-B`` writes no bytecode, as
on Lambda's read-only file system. The same probes with ``-X pycache_prefix`` pointing at
an empty folder ignore the build's bytecode: what a cold start paid before the build
compiled it. Runs are interleaved; the median of 5 is reported.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.benchmarks.report import Row
from tests.benchmarks.shop import ROOT

RUNS = 5
BUILD = ROOT / ".aws-sam" / "build"  # make build: arm64, what is deployed
TWIN = ROOT / ".aws-sam" / "host" / "build"  # make build-host: this machine's architecture
PROBE = (
    "import sys, time\nsys.path[:0] = sys.argv[2:]\nstarted = time.perf_counter()\n"
    "__import__(sys.argv[1])\nprint(time.perf_counter() - started)\n"
)


def _built_template(build: Path) -> dict[str, Any]:
    path = build / "template.yaml"
    if not path.exists():
        raise RuntimeError(f"no build in {build.relative_to(ROOT)}: run `make build build-host` (make bench does)")
    data: dict[str, Any] = yaml.safe_load(path.read_text())  # sam writes the built template in long form
    return data


def targets(build: Path = TWIN) -> dict[str, tuple[str, list[str]]]:
    """name -> (module, sys.path entries) for boto3 and every function of the built template."""
    data = _built_template(build)
    resources = data["Resources"]
    global_layers = (data.get("Globals") or {}).get("Function", {}).get("Layers", [])

    def layer_path(ref: Any) -> str:
        return str(build / resources[ref["Ref"]]["Properties"]["ContentUri"] / "python")

    out: dict[str, tuple[str, list[str]]] = {}
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        layers = [*global_layers, *props.get("Layers", [])]
        out[name] = (props["Handler"].rsplit(".", 1)[0], [str(build / props["CodeUri"]), *map(layer_path, layers)])
    first_layer = next(paths[1:] for _, paths in out.values() if len(paths) > 1)
    return {"import boto3": ("boto3", first_layer), **out}


def twin_differences(build: Path = BUILD, twin: Path = TWIN) -> list[str]:
    """How the host-architecture twin differs from the arm64 build, beyond compiled libraries."""
    _built_template(build)
    _built_template(twin)

    def sources(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.py")}

    def distributions(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*.dist-info")}

    ours, theirs = sources(build), sources(twin)
    differences = [f"only in one build: {name}" for name in sorted(ours.keys() ^ theirs.keys())]
    differences += [f"differs: {name}" for name in sorted(ours.keys() & theirs.keys()) if ours[name] != theirs[name]]
    differences += [f"distribution in one build only: {d}" for d in sorted(distributions(build) ^ distributions(twin))]
    return differences


def _once(module: str, paths: list[str], *, ignore_bytecode: str | None) -> float:
    command = [sys.executable, "-S", "-E", "-B"]
    if ignore_bytecode:
        command += ["-X", f"pycache_prefix={ignore_bytecode}"]
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [*command, "-c", PROBE, module, *paths], env=env, capture_output=True, text=True, timeout=120, cwd="/"
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(runs: int = RUNS) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(as built, ignoring the build's bytecode): name -> seconds of each run."""
    wanted = targets()
    built: dict[str, list[float]] = {name: [] for name in wanted}
    uncompiled: dict[str, list[float]] = {name: [] for name in wanted}
    with tempfile.TemporaryDirectory() as empty:
        for module, paths in wanted.values():  # warm-up: the OS file cache, not Python's
            _once(module, paths, ignore_bytecode=None)
        for _ in range(runs):
            for name, (module, paths) in wanted.items():
                built[name].append(_once(module, paths, ignore_bytecode=None))
                uncompiled[name].append(_once(module, paths, ignore_bytecode=empty))
    return built, uncompiled


def _summary(times: dict[str, list[float]]) -> tuple[str, float]:
    base = statistics.median(times["import boto3"])
    parts, worst = [], 0.0
    for name, values in times.items():
        if name == "import boto3":
            continue
        median = statistics.median(values)
        worst = max(worst, median / base)
        parts.append(f"{name} {median:.2f} s (x{median / base:.1f})")
    return f"{'; '.join(parts)}; boto3 {base:.2f} s", worst


def run(*, quick: bool = False) -> list[Row]:
    differences = twin_differences()
    if differences:
        raise RuntimeError("the host twin is not the arm64 build's twin: " + "; ".join(differences[:10]))
    built, uncompiled = measure(3 if quick else RUNS)
    as_built, worst = _summary(built)
    without, _ = _summary(uncompiled)
    runs = len(built["import boto3"])
    return [
        Row(
            5,
            "Cold-start proxy: handler module import time as built vs a bare `import boto3`",
            as_built,
            "measured side by side (ratio to boto3)",
            f"worst x{worst:.1f}",
            f"`make build-host` output (the arm64 build's twin for this machine: same lock, same "
            f"sources, same precompiling); median of {runs} fresh `python -S -E -B` interpreters each, "
            "sys.path = the function's built folder + the layer's python/ only. Without the build's bytecode "
            f"(as before it was precompiled): {without}. All runs as built (s): "
            + "; ".join(f"{name}: {', '.join(f'{v:.2f}' for v in values)}" for name, values in built.items())
            + ". Lambda's own init adds the runtime start; this is the part the code controls.",
        )
    ]

"""Row 5: cold-start proxy: the import time of each function's handler module, next to a
bare ``import boto3``, each in a fresh interpreter.

For every ``AWS::Serverless::Function`` in template.yaml: a fresh subprocess with the
function's CodeUri and ``layers/shared`` on PYTHONPATH (what Lambda puts on sys.path)
and only a minimal environment (no TABLE_NAME: importing must not need it) times the
import of the handler module; ``import boto3`` is timed the same way. Runs are
interleaved, bytecode is cached in a temporary directory (one unmeasured warm-up run
each), and the median of 5 is reported, in seconds and as a ratio to boto3.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

from tests.benchmarks.report import Row
from tests.benchmarks.shop import ROOT, template

RUNS = 5
PROBE = (
    "import sys, time\nstarted = time.perf_counter()\n__import__(sys.argv[1])\nprint(time.perf_counter() - started)\n"
)


def targets() -> dict[str, tuple[str, str]]:
    """name -> (module, PYTHONPATH) for boto3 and every function of the template."""
    out = {"import boto3": ("boto3", "")}
    for name, resource in template()["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        module = props["Handler"].rsplit(".", 1)[0]
        path = os.pathsep.join([str(ROOT / props["CodeUri"]), str(ROOT / "layers" / "shared")])
        out[name] = (module, path)
    return out


def _once(module: str, path: str, cache: str) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": path,
        "PYTHONPYCACHEPREFIX": cache,
        "AWS_DEFAULT_REGION": "us-east-1",
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(runs: int = RUNS) -> dict[str, list[float]]:
    wanted = targets()
    times: dict[str, list[float]] = {name: [] for name in wanted}
    with tempfile.TemporaryDirectory() as cache:
        for module, path in wanted.values():
            _once(module, path, cache)  # warm-up: compile and cache the bytecode
        for _ in range(runs):
            for name, (module, path) in wanted.items():
                times[name].append(_once(module, path, cache))
    return times


def run(*, quick: bool = False) -> list[Row]:
    times = measure(3 if quick else RUNS)
    base = statistics.median(times["import boto3"])
    parts = []
    worst = 0.0
    for name, values in times.items():
        if name == "import boto3":
            continue
        median = statistics.median(values)
        worst = max(worst, median / base)
        parts.append(f"{name} {median:.2f} s (x{median / base:.1f})")
    return [
        Row(
            5,
            "Cold-start proxy: handler module import time vs a bare `import boto3`",
            f"{'; '.join(parts)}; boto3 {base:.2f} s",
            "measured side by side (ratio to boto3)",
            f"worst x{worst:.1f}",
            f"median of {len(times['import boto3'])} fresh interpreters each (interleaved; bytecode cached after one "
            f"unmeasured warm-up), PYTHONPATH = the function's CodeUri + layers/shared, no TABLE_NAME or other "
            f"configuration in the environment. All runs (s): "
            + "; ".join(f"{name}: {', '.join(f'{v:.2f}' for v in values)}" for name, values in times.items())
            + ". Lambda's own init adds the runtime start; this is the part the code controls.",
        )
    ]

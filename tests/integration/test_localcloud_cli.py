"""``python -m localcloud`` (what ``make run`` starts): comes up, serves, stops cleanly on
Ctrl-C; refuses to start, naming the module, when a handler is missing. The functions
are stub modules written for the test, in a copy of template.yaml."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from localcloud import Template
from localcloud.template import load_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

STUB = """
import json, os

def {function}(event, context):
    return {{"statusCode": 200, "headers": {{"Content-Type": "application/json"}},
            "body": json.dumps({{"stub": "{logical_id}", "path": event.get("rawPath"),
                                 "table": os.environ["TABLE_NAME"]}})}}
"""


def _stub_template(tmp_path: Path, missing: str | None = None) -> Path:
    """A copy of template.yaml whose functions are stub modules (``missing``: left out)."""
    template = Template.load(TEMPLATE)
    data = load_yaml(TEMPLATE.read_text())
    for logical_id, spec in template.functions.items():
        code = tmp_path / "code" / logical_id
        code.mkdir(parents=True)
        if logical_id != missing:
            (code / f"{spec.module_name}.py").write_text(
                STUB.format(function=spec.function_name, logical_id=logical_id)
            )
        data["Resources"][logical_id]["Properties"]["CodeUri"] = str(code)
    layer = data["Resources"]["SharedLayer"]["Properties"]
    layer["ContentUri"] = str(ROOT / layer["ContentUri"])
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _start(template: Path, tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "infra"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "localcloud", "--template", str(template), "--state-dir", str(tmp_path / "state")]
    command += ["--api-port", "0", "--moto-port", "0"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _lines(stream: Any) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def test_the_cli_serves_the_template_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    process = _start(_stub_template(tmp_path), tmp_path)
    try:
        out = _lines(process.stdout)
        api_url = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = out.get(timeout=deadline - time.monotonic())
            if "HTTP API" in line:
                api_url = line.split()[-1]
            if "Ctrl-C" in line:
                break
        assert api_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{api_url}/orders/1") as response:
            body = json.loads(response.read())
        assert body == {"stub": "ApiFunction", "path": "/orders/1", "table": "backorders-local-Table"}
        with urllib.request.urlopen(f"{api_url}/_local/health") as response:
            assert json.loads(response.read())["status"] == "ok"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        errors = process.stderr.read()
        assert "Traceback" not in errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_cli_names_a_missing_handler_module(tmp_path: Path) -> None:
    process = _start(_stub_template(tmp_path, missing="AllotterFunction"), tmp_path)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "allotter_handler" in errors
    assert "AllotterFunction" in errors
    assert "Traceback" not in errors

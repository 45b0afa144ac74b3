"""`make apikey`: the key-issuing tool, as the README prints it.

Against a running local cloud (`python -m localcloud`, what `make run` starts, with the
real template and functions): the key it prints is accepted by the API at once, although
the API function had already read the key ring (it reads it again on an unknown key, at
most every 5 s). In the AWS form (`STACK=`), the tool reads the stack's
`ApiKeysSecretArn` output with the shell's credentials: the Makefile must not hand it the
dummy credentials of the local targets.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import apikeys
from backorders.adapters.api_keys import list_keys

ROOT = Path(__file__).resolve().parents[2]
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class RunningCloud:
    api_url: str
    state_dir: Path
    stack: dict[str, Any]


def _shell_env(**extra: str) -> dict[str, str]:
    """A developer's shell: no AWS credentials or endpoint at all, nothing that could reach AWS."""
    env = {k: v for k, v in os.environ.items() if k not in AWS_VARIABLES and not k.startswith("AWS_ENDPOINT_URL")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        MAKEFLAGS="",
        MAKELEVEL="",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    state_dir = tmp_path_factory.mktemp("localcloud")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "infra"), str(ROOT / "layers" / "shared")])}
    command = [sys.executable, "-m", "localcloud", "--state-dir", str(state_dir)]
    command += ["--api-port", "0", "--moto-port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    try:
        api_url, printed_secret = "", ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if "HTTP API" in line:
                api_url = line.split()[-1]
            if "API keys" in line:
                printed_secret = line.split("(secret ", 1)[1].split(";", 1)[0]
            if "Ctrl-C" in line:
                break
        assert api_url, "the local cloud did not start"
        stack = json.loads((state_dir / "stack.json").read_text())
        assert printed_secret == stack["outputs"]["ApiKeysSecretArn"]  # the ARN is printed, and written
        yield RunningCloud(api_url, state_dir, stack)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not (state_dir / "stack.json").exists(), "a stopped local cloud leaves no stack file behind"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _status(api_url: str, key: str) -> int:
    request = urllib.request.Request(f"{api_url}/v1/skus/NOTHING", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _make_apikey(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "apikey", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_a_key_from_make_apikey_is_accepted_by_the_running_local_cloud_at_once(local_cloud: RunningCloud) -> None:
    assert _status(local_cloud.api_url, "bo_not-a-key") == 401  # the API function has read the key ring now
    done = _make_apikey("SHOP=tool-shop", f"STATE_DIR={local_cloud.state_dir}", env=_shell_env())
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("bo_") and "\n" not in key
    assert "tool-shop" in done.stderr and key not in done.stderr  # shown once, on stdout only
    statuses = []
    deadline = time.monotonic() + 8  # the key ring is read again at most every 5 s
    while time.monotonic() < deadline:
        statuses.append(_status(local_cloud.api_url, key))
        if statuses[-1] != 401:
            break
        time.sleep(0.25)
    assert statuses[-1] == 404, statuses  # authenticated: the SKU simply does not exist
    listed = subprocess.run(
        [sys.executable, "-m", "apikeys", "list", "--local", str(local_cloud.state_dir)],
        cwd=ROOT,
        env={**_shell_env(), "PYTHONPATH": os.pathsep.join([str(ROOT / "infra"), str(ROOT / "layers" / "shared")])},
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert "\ttool-shop" in listed.stdout and key not in listed.stdout


def test_the_aws_form_gets_the_shells_credentials_not_the_dummy_ones(local_cloud: RunningCloud) -> None:
    """Pointed at the local moto with a shell that has no credentials: the tool must find
    none (the local targets' dummy credentials would have been accepted by moto)."""
    env = _shell_env(AWS_ENDPOINT_URL=local_cloud.stack["endpoint_url"], AWS_DEFAULT_REGION="us-east-1")
    done = _make_apikey("SHOP=tool-shop", "STACK=backorders", env=env)
    assert done.returncode != 0
    assert "Unable to locate credentials" in done.stderr, done.stderr


def test_the_aws_form_reads_the_stacks_secret_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for variable in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = secrets.create_secret(Name="tool-test-keys")["ARN"]  # no value, as the stack creates it
        template = {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {"ApiKeysSecretArn": {"Value": arn}},
        }
        cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
        cloudformation.create_stack(StackName="shop-stack", TemplateBody=json.dumps(template))
        assert apikeys.main(["add", "--shop", "eu-shop", "--stack", "shop-stack", "--region", "eu-west-1"]) == 0
        assert [k.shop for k in list_keys(secrets, arn)] == ["eu-shop"]
        assert apikeys.main(["add", "--shop", "eu-shop", "--stack", "other", "--region", "eu-west-1"]) == 2

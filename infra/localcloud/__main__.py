"""``python -m localcloud``: run the stack locally until Ctrl-C (what ``make run`` calls)."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cloud import LocalCloud, LocalCloudError
from .template import DEFAULT_STACK_NAME, TemplateError


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localcloud",
        description="Run template.yaml locally: moto, the HTTP API, stream delivery, schedules and SES capture.",
    )
    parser.add_argument("--template", default="template.yaml", help="SAM template (default: %(default)s)")
    parser.add_argument("--state-dir", default=".localcloud", help="captured mail etc. (default: %(default)s)")
    parser.add_argument("--api-host", default="127.0.0.1")
    parser.add_argument("--api-port", type=int, default=3000, help="HTTP API port (default: %(default)s)")
    parser.add_argument("--moto-host", default="127.0.0.1")
    parser.add_argument("--moto-port", type=int, default=5000, help="moto server port (default: %(default)s)")
    parser.add_argument("--stack-name", default=DEFAULT_STACK_NAME)
    parser.add_argument("--parameter", action="append", type=_parameter, default=[], metavar="NAME=VALUE",
                        help="template parameter override (repeatable)")  # fmt: skip
    parser.add_argument("--sender-email", help="shortcut for --parameter SenderEmail=...")
    parser.add_argument(
        "--schedule-speed", type=float, default=1.0, help="run schedules N times faster (default: %(default)s)"
    )
    parser.add_argument("--batching-window", type=float, help="seconds; replaces every MaximumBatchingWindowInSeconds")
    parser.add_argument("--seed", metavar="MODULE", help="a module whose seed(cloud) runs once the cloud is up")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def _seed(cloud: LocalCloud, module: str) -> None:
    try:
        importlib.import_module(module).seed(cloud)
    except Exception:
        logging.getLogger("localcloud").exception("%s.seed failed; the local cloud keeps running", module)


STACK_FILE = "stack.json"


def stack_outputs(cloud: LocalCloud) -> dict[str, Any]:
    """The template's Outputs as the local stack has them. Resources the local cloud does not
    create (API Gateway, SNS, KMS) resolve to placeholder names; ApiUrl is the local API."""
    template = cloud.template
    outputs: dict[str, Any] = {}
    for name, output in (template.data.get("Outputs") or {}).items():
        condition = output.get("Condition")
        if condition is None or template.conditions.get(condition, False):
            outputs[name] = template.resolve(output.get("Value"), cloud.provisioned.resources)
    outputs["ApiUrl"] = cloud.api_url
    return outputs


def write_stack_file(cloud: LocalCloud) -> Path:
    """What tools need to reach the running local stack (`make apikey` reads it): moto's
    endpoint, the region and the stack's outputs. Removed when the local cloud stops."""
    path = cloud.state_dir / STACK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    stack = {
        "stack_name": cloud.template.stack_name,
        "region": cloud.region,
        "endpoint_url": cloud.moto_url,
        "outputs": stack_outputs(cloud),
    }
    path.write_text(json.dumps(stack, indent=2) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not args.verbose:
        for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    parameters = dict(args.parameter)
    if args.sender_email:
        parameters["SenderEmail"] = args.sender_email
    if args.api_port:  # the links in emails lead to this local API
        parameters.setdefault("PublicUrl", f"http://{args.api_host}:{args.api_port}")

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: stop.set())

    try:
        options = ("state_dir", "api_host", "api_port", "moto_host", "moto_port", "stack_name", "batching_window")
        cloud = LocalCloud(
            args.template,
            parameter_overrides=parameters,
            schedule_speed=args.schedule_speed,
            strict_handlers=True,
            **{name: getattr(args, name) for name in options},
        )
        cloud.start()
    except (LocalCloudError, TemplateError, ImportError, KeyError, ValueError) as exc:
        print(f"localcloud: cannot start: {exc}", file=sys.stderr)
        return 1
    stack_file = write_stack_file(cloud)
    try:
        if args.seed and not stop.is_set():
            _seed(cloud, args.seed)
        print(f"localcloud: HTTP API     {cloud.api_url}")
        print(f"localcloud: API docs     {cloud.api_url}/docs  (OpenAPI document: {cloud.api_url}/openapi.json)")
        print(f"localcloud: moto         {cloud.moto_url}  (AWS_ENDPOINT_URL for boto3 / the AWS CLI)")
        print(f"localcloud: table        {cloud.table_name('Table') if 'Table' in cloud.provisioned.tables else '-'}")
        print(f"localcloud: mail         {cloud.state_dir / 'mail'}  ({cloud.api_url}/_local/emails)")
        secret = cloud.secret_arn("ApiKeysSecret")
        print(f"localcloud: API keys     make apikey SHOP=<shop>  (secret {secret}; endpoint etc. in {stack_file})")
        print("localcloud: running; Ctrl-C stops it", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        print("localcloud: stopping", flush=True)
        stack_file.unlink(missing_ok=True)
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

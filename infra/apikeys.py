"""Issue and list API keys of a deployed stack or of the running local cloud.

    make apikey SHOP=my-shop STACK=backorders      # AWS: the stack's ApiKeysSecretArn output
    make apikey SHOP=my-shop                        # the local cloud of `make run`
    python -m apikeys add --shop my-shop --stack backorders
    python -m apikeys add --shop my-shop --local .localcloud
    python -m apikeys list --stack backorders       # key ids and shops, never a key

On AWS it uses the credentials and region of your shell (``--region`` to choose) and needs
``cloudformation:DescribeStacks`` plus read and write on the secret. Against the local
cloud it reads what ``python -m localcloud`` writes while it runs (``<state dir>/stack.json``:
moto's endpoint, the region and the stack's outputs) and talks to moto with dummy
credentials only. The key is printed once, on stdout; the secret keeps its SHA-256 digest.
The key format and the secret's layout live with the key ring
(``backorders.adapters.api_keys``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backorders.adapters.api_keys import add_key, list_keys

SECRET_OUTPUT = "ApiKeysSecretArn"  # noqa: S105 - an output name
STACK_FILE = "stack.json"  # written by python -m localcloud into its state dir


class ToolError(RuntimeError):
    """Something the user can fix; printed without a traceback."""


def _aws(stack: str, region: str | None) -> tuple[Any, str]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=region)
    try:
        found = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except (BotoCoreError, ClientError) as exc:
        raise ToolError(f"cannot read stack {stack!r} in {session.region_name or 'no region'}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}
    if SECRET_OUTPUT not in outputs:
        raise ToolError(f"stack {stack!r} has no {SECRET_OUTPUT} output: is it a Backorders stack?")
    return session.client("secretsmanager"), outputs[SECRET_OUTPUT]


def _local(state_dir: Path) -> tuple[Any, str]:
    import boto3

    path = state_dir / STACK_FILE
    try:
        stack = json.loads(path.read_text())
    except FileNotFoundError:
        raise ToolError(f"no {path}: start the local cloud first (`make run` in another terminal)") from None
    # moto takes any credentials: dummy ones, so no real credentials ever go to the local endpoint
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        region_name=stack["region"],
    )
    client = session.client("secretsmanager", endpoint_url=stack["endpoint_url"])
    return client, stack["outputs"][SECRET_OUTPUT]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m apikeys", description="API keys of a Backorders stack.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("add", "issue a key for a shop (printed once)"), ("list", "key ids and shops")):
        command = sub.add_parser(name, help=text)
        if name == "add":
            command.add_argument("--shop", required=True)
        where = command.add_mutually_exclusive_group(required=True)
        where.add_argument("--stack", help="a deployed stack's name (AWS, your shell's credentials)")
        where.add_argument("--local", type=Path, metavar="STATE_DIR", help="the running local cloud's state dir")
        command.add_argument("--region", help="AWS region of --stack (default: your shell's)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    args = parse_args(argv)
    try:
        client, secret_arn = _aws(args.stack, args.region) if args.stack else _local(args.local)
        if args.command == "add":
            key = add_key(client, secret_arn, args.shop)
            print(key)
            print(f"apikeys: key for shop {args.shop!r} (shown once; its digest is in {secret_arn})", file=sys.stderr)
        else:
            for api_key in list_keys(client, secret_arn):
                print(f"{api_key.id}\t{api_key.shop}")
    except (ToolError, ValueError) as exc:
        print(f"apikeys: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        hint = " (is the local cloud still running?)" if args.local else ""
        print(f"apikeys: {exc}{hint}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Manage API keys of the native JSON API (the ``ApiKeysSecret`` of template.yaml).

    python -m localcloud.apikeys add --shop demo --secret-arn <ARN>    # prints the new key once
    python -m localcloud.apikeys list --secret-arn <ARN>

Works against AWS (your credentials) and against the local cloud (set
AWS_ENDPOINT_URL). Only a SHA-256 digest of each key is stored.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
from typing import Any

from backorders.adapters.api_keys import digest

SHOP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def add_key(client: Any, secret_arn: str, shop: str) -> str:
    """Create a key for ``shop``, store its digest, and return the key (shown once)."""
    if not SHOP_ID.match(shop):
        raise ValueError("shop ids are 1-32 characters of a-z, 0-9, '-' and '_'")
    data = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"] or "{}")
    key = f"bo_{secrets.token_urlsafe(24)}"
    keys = data.setdefault("keys", [])
    keys.append({"id": f"k{len(keys) + 1}", "shop": shop, "sha256": digest(key)})
    client.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(data))
    return key


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(prog="python -m localcloud.apikeys")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create a key for a shop")
    add.add_argument("--shop", required=True)
    add.add_argument("--secret-arn", required=True)
    lst = sub.add_parser("list", help="list key ids and shops (never the keys)")
    lst.add_argument("--secret-arn", required=True)
    args = parser.parse_args()
    client = boto3.client("secretsmanager")
    if args.command == "add":
        print(add_key(client, args.secret_arn, args.shop))
    else:
        data = json.loads(client.get_secret_value(SecretId=args.secret_arn)["SecretString"])
        for k in data.get("keys", []):
            print(f"{k['id']}\t{k['shop']}")


if __name__ == "__main__":
    main()

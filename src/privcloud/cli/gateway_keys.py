"""``privcloud gateway-key``: the gateway's OHTTP keys and their logged statements
(key consistency and rotation, docs/adr/0009-key-consistency.md).

privcloud gateway-key new --key-file F [--lifetime S] [--not-before T] [--log URL --operator-key K]
privcloud gateway-key publish --key-file F --log URL --operator-key K
privcloud gateway-key list --key-file F
privcloud gateway-key retire --key-file F KEY_ID

Running gateways (``privcloud gateway --key-file F``) re-read the file within
``GATEWAY_KEY_RELOAD_S``: a new key is offered first and the old one still accepted, so keys
rotate without a restart. Devices use a key only once its statement is logged: publish it (and
let the witnesses cosign a checkpoint) before the old key expires.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time

from privcloud import limits
from privcloud.errors import ConfigError
from privcloud.services.gateway_key import (
    DEFAULT_SERVICE,
    GatewayKeyRecord,
    add_key,
    read_ring,
    remove_key,
)
from privcloud.services.keylog import KeyLog
from privcloud.storage.tlog_store import load_key


def _describe(record: GatewayKeyRecord) -> dict[str, object]:
    statement = record.statement
    return {
        "key_id": record.key.key_id,
        "service": record.service,
        "not_before": record.not_before,
        "not_after": record.not_after,
        "statement": base64.b64encode(statement.encode()).decode("ascii"),
        "leaf_hash": base64.b64encode(statement.leaf_hash).decode("ascii"),
    }


async def _publish(args: argparse.Namespace, records: list[GatewayKeyRecord]) -> None:
    if not args.log or not args.operator_key:
        raise ConfigError("publishing needs --log URL and --operator-key FILE")
    key_log = KeyLog(args.log, load_key(args.operator_key), min_cosignatures=args.cosignatures)
    await key_log.publish([r.statement for r in records], timeout=args.timeout)


def _new(args: argparse.Namespace) -> None:
    record = add_key(
        args.key_file,
        now=time.time(),
        not_before=args.not_before,
        service=args.service,
        lifetime_s=args.lifetime,
    )
    if args.log:
        asyncio.run(_publish(args, [record]))
    print(json.dumps(_describe(record)))


def _publish_all(args: argparse.Namespace) -> None:
    now = time.time()
    records = [r for r in read_ring(args.key_file).records if now < r.not_after]
    asyncio.run(_publish(args, records))
    print(json.dumps({"published": [r.key.key_id for r in records]}))


def _list(args: argparse.Namespace) -> None:
    for record in read_ring(args.key_file).records:
        print(json.dumps(_describe(record)))


def _retire(args: argparse.Namespace) -> None:
    remove_key(args.key_file, args.key_id)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway-key`` (new, publish, list, retire)."""
    group = sub.add_parser("gateway-key", help="the gateway's OHTTP keys and their statements")
    actions = group.add_subparsers(dest="gateway_key_command", required=True)

    def publishing(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--log", help="the transparency log's base URL")
        parser.add_argument("--operator-key", help="the operator's append key file")
        parser.add_argument(
            "--cosignatures", type=int, default=0, help="witness cosignatures to wait for"
        )
        parser.add_argument("--timeout", type=float, default=60.0)

    new = actions.add_parser("new", help="add a key (and log its statement with --log)")
    new.add_argument("--key-file", required=True)
    new.add_argument("--service", default=DEFAULT_SERVICE, help="the gateway's origin name")
    new.add_argument("--lifetime", type=int, default=limits.OHTTP_KEY_LIFETIME_S)
    new.add_argument("--not-before", type=int, default=None, help="unix seconds (default now)")
    publishing(new)
    new.set_defaults(handler=_new)

    publish = actions.add_parser("publish", help="log the statements of the keys in the file")
    publish.add_argument("--key-file", required=True)
    publishing(publish)
    publish.set_defaults(handler=_publish_all)

    listing = actions.add_parser("list", help="the keys and their statements (no secrets)")
    listing.add_argument("--key-file", required=True)
    listing.set_defaults(handler=_list)

    retire = actions.add_parser("retire", help="take a key out before its validity ends")
    retire.add_argument("--key-file", required=True)
    retire.add_argument("key_id", type=int)
    retire.set_defaults(handler=_retire)

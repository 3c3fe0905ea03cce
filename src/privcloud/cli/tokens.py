"""Anonymous-token commands of the ``privcloud`` command line (docs/tokens.md).

privcloud issuer serve --data-dir DIR        run the token issuer
privcloud issuer new-code --data-dir DIR     print a one-time device enrolment code (operator)
privcloud issuer revoke --data-dir DIR -- ID remove an enrolled device (an id may begin with "-")
privcloud wallet enrol|fetch|show ...        a device wallet in a file (0600)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from privcloud.cli.database_url import database_url
from privcloud.cli.runtime import run_service, until_stopped
from privcloud.deviceattest import AndroidPolicy
from privcloud.errors import ConfigError
from privcloud.hardening import forbid_core_dumps
from privcloud.localcloud.cloud import LOOPBACK
from privcloud.privacypass import b64url_decode, b64url_encode
from privcloud.privacypass.issuance import issuer_name_for
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.services.issuer import Issuer
from privcloud.services.issuer_core import IssuerConfig, new_enrolment_code
from privcloud.services.keylog import KeyLog
from privcloud.services.site import start_site
from privcloud.storage.database import open_database
from privcloud.storage.issuer_store import IssuerStore
from privcloud.storage.tlog_store import load_key


def _config(args: argparse.Namespace) -> IssuerConfig:
    return IssuerConfig(
        quota=args.quota,
        period_s=args.period,
        public_url=args.public_url,
        insecure_operator_codes=args.insecure_operator_codes,
        android_policy=AndroidPolicy(allowed_apps=frozenset(map(_android_app, args.android_app))),
    )


def _android_app(text: str) -> tuple[str, bytes]:
    """``PACKAGE:SHA256HEX`` (an app allowed to enrol: its signing certificate's digest)."""
    package, _, digest = text.partition(":")
    try:
        value = bytes.fromhex(digest)
    except ValueError as exc:
        raise ConfigError("--android-app wants PACKAGE:SHA256HEX") from exc
    if not package or len(value) != 32:
        raise ConfigError("--android-app wants PACKAGE:SHA256HEX")
    return package, value


def _run_issuer(args: argparse.Namespace) -> None:
    forbid_core_dumps()  # its memory holds the issuer's private keys
    run_service(_serve(args))


async def _serve(args: argparse.Namespace) -> None:
    issuer = Issuer(args.data_dir, _config(args), store=_store(args))
    if args.attestation_status:  # the operator's copy of Google's attestation status list
        issuer.attestation_status_path = Path(args.attestation_status)
        if not issuer.reload_attestation_status():  # read again whenever it changes
            raise ConfigError("--attestation-status: the status list does not load")
    if args.log:
        # Key consistency (docs/adr/0009): devices use only keys whose statements are logged.
        if not args.operator_key:
            raise ConfigError("--log needs --operator-key FILE (the log's append key)")
        name = args.issuer_name or issuer_name_for(
            args.public_url or f"http://{args.host}:{args.port}"
        )
        issuer.key_log = KeyLog(args.log, load_key(args.operator_key), min_cosignatures=0)
        issuer.issuer_name = name
    # --reuse-port: several issuer processes on one port over one shared store (one issuer
    # name, one key set; privcloud.localcloud.cluster).
    runner, bound = await start_site(issuer.app(), args.host, args.port, reuse_port=args.reuse_port)
    print(f"privcloud issuer listening on http://{args.host}:{bound}", flush=True)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()
        issuer.core.store.close()


def _store(args: argparse.Namespace) -> IssuerStore:
    default = Path(args.data_dir) / "issuer.sqlite3"
    return open_database(args.database, default).issuer()


def _new_code(args: argparse.Namespace) -> None:
    store = _store(args)
    try:
        print(new_enrolment_code(store, now=time.time(), ttl_s=args.ttl))
    finally:
        store.close()


def _revoke(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        gone = store.remove_device(b64url_decode(args.device_id))
    finally:
        store.close()
    print("revoked" if gone else "no such device")
    return 0 if gone else 1


def _wallet(args: argparse.Namespace) -> Wallet:
    insecure = bool(getattr(args, "insecure_unlogged_keys", False))
    if insecure:
        print(
            "WARNING: INSECURE: issuer keys are not proven in the transparency log; the issuer "
            "could give this device a key of its own",
            file=sys.stderr,
        )
    return Wallet(
        args.issuer,
        path=args.file,
        enrolment_code=getattr(args, "code", None),
        config=WalletConfig(insecure_unlogged_keys=insecure),
    )


async def _wallet_enrol(args: argparse.Namespace) -> None:
    wallet = _wallet(args)
    try:
        await wallet.enrol()
    finally:
        await wallet.close()
    print(json.dumps({"device-id": b64url_encode(wallet.device_id), "enrolled": True}))


async def _wallet_fetch(args: argparse.Namespace) -> None:
    wallet = _wallet(args)
    if not wallet.enrolled:
        raise ConfigError("enrol the wallet first (privcloud wallet enrol)")
    try:
        got = await wallet.fetch(args.count)
    finally:
        await wallet.close()
    print(json.dumps({"fetched": got, "held": len(wallet)}))


def _wallet_show(args: argparse.Namespace) -> None:
    wallet = _wallet(args)
    print(
        json.dumps(
            {
                "issuer": wallet.issuer_url,
                "device-id": b64url_encode(wallet.device_id),
                "enrolled": wallet.enrolled,
                "tokens": len(wallet),
            }
        )
    )


_DATABASE_HELP = (
    "the issuer's store, shared by issuer processes: sqlite:///path/file or postgresql://... "
    "(env:NAME: the URL in environment variable NAME) "
    "(default: issuer.sqlite3 in --data-dir)"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the token commands: issuer (serve, new-code, revoke) and wallet (enrol, fetch,
    show)."""
    issuer = sub.add_parser("issuer", help="the anonymous-token issuer")
    actions = issuer.add_subparsers(dest="issuer_command", required=True)

    serve = actions.add_parser("serve", help="run the token issuer")
    serve.add_argument("--data-dir", required=True, help="directory of the issuer's SQLite file")
    serve.add_argument("--database", metavar="URL", type=database_url, help=_DATABASE_HELP)
    serve.add_argument("--host", default=LOOPBACK)
    serve.add_argument("--port", type=int, default=8472)
    serve.add_argument("--quota", type=int, default=1000, help="tokens per device per period")
    serve.add_argument("--period", type=int, default=24 * 3600, help="quota period, seconds")
    serve.add_argument("--public-url", help="base URL clients reach the issuer at")
    serve.add_argument(
        "--log", help="transparency log to publish the keys' statements to (needed by devices)"
    )
    serve.add_argument("--operator-key", help="the log operator's append key file")
    serve.add_argument(
        "--issuer-name", help="the name challenges carry (default: the public URL's authority)"
    )
    serve.add_argument(
        "--attestation-status",
        metavar="FILE",
        help="Android attestation status list (revocation; needed for attested enrolment)",
    )
    serve.add_argument(
        "--android-app",
        action="append",
        default=[],
        metavar="PACKAGE:SHA256HEX",
        help="an Android app allowed to enrol (package and signing certificate SHA-256)",
    )
    serve.add_argument(
        "--insecure-operator-codes",
        action="store_true",
        help="INSECURE, development only: enrol devices with one-time codes, not attestation",
    )
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(handler=_run_issuer)

    code = actions.add_parser("new-code", help="print a one-time device enrolment code")
    code.add_argument("--data-dir", required=True)
    code.add_argument("--database", metavar="URL", type=database_url, help=_DATABASE_HELP)
    code.add_argument("--ttl", type=int, default=7 * 24 * 3600, help="seconds the code is valid")
    code.set_defaults(handler=_new_code)

    revoke = actions.add_parser("revoke", help="remove an enrolled device")
    revoke.add_argument("--data-dir", required=True)
    revoke.add_argument("--database", metavar="URL", type=database_url, help=_DATABASE_HELP)
    revoke.add_argument(
        "device_id",
        help='the device id (base64url); put "--" before it, as an id may begin with "-"',
    )
    revoke.set_defaults(handler=_revoke)

    wallet = sub.add_parser("wallet", help="a device token wallet kept in a file")
    wallet_actions = wallet.add_subparsers(dest="wallet_command", required=True)
    for name, text in (
        ("enrol", "register this wallet's device key"),
        ("fetch", "fetch a batch of tokens"),
        ("show", "what the wallet holds (counts only)"),
    ):
        action = wallet_actions.add_parser(name, help=text)
        action.add_argument("--issuer", required=True, help="the issuer's base URL")
        action.add_argument("--file", required=True, help="the wallet file (created 0600)")
        if name == "enrol":
            action.add_argument("--code", required=True, help="one-time enrolment code")
            action.set_defaults(handler=lambda args: asyncio.run(_wallet_enrol(args)))
        elif name == "fetch":
            action.add_argument("--count", type=int, default=None)
            action.add_argument(
                "--insecure-unlogged-keys",
                action="store_true",
                help="INSECURE: use the issuer's keys without a transparency-log proof (a wallet "
                "used by privcloud call/up proves them through the client's log)",
            )
            action.set_defaults(handler=lambda args: asyncio.run(_wallet_fetch(args)))
        else:
            action.set_defaults(handler=_wallet_show)

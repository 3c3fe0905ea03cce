"""``privcloud log`` and ``privcloud witness``: run a transparency log or a witness; make a
log's keys; append one entry as the operator. ``log audit`` is :mod:`privcloud.cli.tlog_audit`.

privcloud log [--data-dir DIR] [--witness URL=VKEY]...     run a transparency log
privcloud log --read-only --database URL --log-vkey VKEY   run a reader beside it
privcloud log init [--data-dir DIR]                       make its keys, print its vkey
privcloud log audit --log URL --log-vkey VKEY [...]       audit a log (researcher tool)
privcloud log append --log URL --operator-key FILE ENTRY  append one entry as the operator
privcloud log export-tiles [--data-dir DIR] --out DIR     write the C2SP tiles for static hosting
privcloud witness --log-vkey VKEY [--data-dir DIR]        run a witness
    [--key-type ed25519|ml-dsa-44]                        its key's type when it is made
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from privcloud.cli import tlog_audit
from privcloud.cli.database_url import database_url
from privcloud.cli.runtime import until_stopped
from privcloud.errors import ConfigError, PrivcloudError
from privcloud.fileio import file_error
from privcloud.hardening import forbid_core_dumps
from privcloud.localcloud.cloud import LOOPBACK
from privcloud.localcloud.transparency import (
    LOCAL_WITNESS_NAME,
    WITNESS_DB_FILE,
    WITNESS_KEY_FILE,
)
from privcloud.logclient import LogClient
from privcloud.services.site import start_site
from privcloud.services.tlog import DEFAULT_ORIGIN, LOG_DB_FILE, WitnessEndpoint, open_log
from privcloud.services.tlog_reader import DEFAULT_REFRESH_S, open_reader
from privcloud.services.tlog_tiles import export_tiles
from privcloud.services.witness import Witness
from privcloud.storage.database import open_database
from privcloud.storage.tlog_store import load_key
from privcloud.storage.witness_key import WITNESS_KEY_TYPES, load_or_create_witness_key
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.note import Ed25519NoteVerifier


async def _serve(app: web.Application, host: str, port: int, banner: Sequence[str]) -> None:
    runner, bound = await start_site(app, host, port)
    for line in [f"listening on http://{host}:{bound}", *banner]:
        print(line, flush=True)
    try:
        await until_stopped()
    finally:
        await runner.cleanup()


# --- privcloud log -----------------------------------------------------------------------------


def _operator_pubkey(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ConfigError("an operator public key is base64 of 32 bytes") from exc
    if len(raw) != 32:
        raise ConfigError("an operator public key is base64 of 32 bytes")
    return raw


def _run_log(args: argparse.Namespace) -> None:
    forbid_core_dumps()  # its memory holds the log's signing key
    asyncio.run(_log(args))


def _run_witness(args: argparse.Namespace) -> None:
    forbid_core_dumps()  # its memory holds the witness's signing key
    asyncio.run(_witness(args))


async def _log(args: argparse.Namespace) -> None:
    if args.read_only:
        await _log_reader(args)
        return
    witnesses = [WitnessEndpoint.parse(w) for w in args.witness or []]
    keys = [_operator_pubkey(k) for k in args.operator_pubkey or []]
    tlog = open_log(
        args.data_dir,
        origin=args.origin,
        witnesses=witnesses,
        operator_public_keys=keys,
        database=args.database,
    )
    banner = [
        f"log origin    {tlog.origin}",
        f"log vkey      {tlog.vkey}",
        f"tree size     {tlog.checkpoint.size}",
        f"witnesses     {len(witnesses)}",
    ]
    if tlog.operator_key is not None:
        pub = base64.b64encode(tlog.operator_key.public_bytes()).decode()
        banner.append(f"operator key  {pub} (private key: {Path(args.data_dir) / 'operator.key'})")
    await _serve(tlog.app(), args.host, args.port, banner)


async def _log_reader(args: argparse.Namespace) -> None:
    """``privcloud log --read-only``: serve the reads of a PostgreSQL log beside its sequencer."""
    if args.database is None:
        raise ConfigError("a log reader needs the log's PostgreSQL store: --database URL")
    if args.witness or args.operator_pubkey:
        raise ConfigError("a log reader asks no witness and takes no appends: drop those flags")
    reader = open_reader(
        args.database,
        log_vkey=args.log_vkey,
        data_dir=args.data_dir,
        origin=None if args.log_vkey else args.origin,
        refresh_s=args.refresh_s,
    )
    banner = [f"log origin    {reader.origin}", "read-only     yes (appends go to the sequencer)"]
    await _serve(reader.app(), args.host, args.port, banner)


def _init(args: argparse.Namespace) -> None:
    """Create the log's keys and database (as the first start would) and print what to pin."""
    tlog = open_log(args.data_dir, origin=args.origin, database=args.database)
    try:
        print(f"log vkey      {tlog.vkey}")
        if tlog.operator_key is not None:
            print(f"operator key  {base64.b64encode(tlog.operator_key.public_bytes()).decode()}")
    finally:
        tlog.store.close()


async def _append(args: argparse.Namespace) -> None:
    key = load_key(args.operator_key, role="the operator key")
    try:
        entry = Path(args.entry).read_bytes()
    except OSError as exc:
        raise file_error("read", f"the entry file {args.entry}", exc) from exc
    async with LogClient(args.log) as client:
        result = await client.append(entry, key)
    print(
        f"index {result.index} leaf_hash {base64.b64encode(result.leaf_hash).decode()}"
        + ("" if result.created else " (already in the log)")
    )


def _export_tiles(args: argparse.Namespace) -> None:
    """Write the tiles of the checkpoint the log last published into ``--out`` (the log may be
    running: its database is read, not written)."""
    database = open_database(args.database, Path(args.data_dir) / LOG_DB_FILE)
    store = database.log(args.origin, readonly=True)  # no sequencer lock: the log may run
    try:
        note = store.load_checkpoint()
        if note is None:
            raise ConfigError("the log has not published a checkpoint yet")
        written = export_tiles(store, note, args.out)
    finally:
        store.close()
    print(f"wrote {written} files under {args.out} (full tiles already there were kept)")


# --- privcloud witness ---------------------------------------------------------------------------


async def _witness(args: argparse.Namespace) -> None:
    try:
        log_keys = [Ed25519NoteVerifier.from_vkey(v) for v in args.log_vkey]
    except PrivcloudError as exc:
        raise ConfigError("invalid log vkey") from exc
    data = Path(args.data_dir)
    try:
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise file_error("create", f"the witness data directory {data}", exc) from exc
    key, _ = load_or_create_witness_key(data / WITNESS_KEY_FILE, args.key_type)
    try:
        witness_key = WitnessKey(args.name, key)
    except PrivcloudError as exc:
        raise ConfigError("invalid witness name") from exc
    store = open_database(args.database, data / WITNESS_DB_FILE).witness()
    witness = Witness(witness_key, log_keys, store)
    banner = [f"witness vkey  {witness.vkey}", *(f"watching      {k.name}" for k in log_keys)]
    await _serve(witness.app(), args.host, args.port, banner)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the trust commands: log (serve, audit, append) and witness."""
    log_p = sub.add_parser("log", help="run a transparency log; or audit / append to one")
    log_p.add_argument("--host", default=LOOPBACK)
    log_p.add_argument("--port", type=int, default=8490)
    log_p.add_argument("--data-dir", default="privcloud-data/log", help="database and key files")
    log_p.add_argument("--origin", default=DEFAULT_ORIGIN, help="the log's origin (key name)")
    log_p.add_argument(
        "--database",
        metavar="URL",
        type=database_url,
        help="the log's store: sqlite:///path/file or postgresql://... (default: log.db in "
        "--data-dir); on PostgreSQL one sequencer at a time, and any number of --read-only "
        "readers",
    )
    log_p.add_argument(
        "--witness", action="append", metavar="URL=VKEY", help="a witness to ask (repeat)"
    )
    log_p.add_argument(
        "--operator-pubkey",
        action="append",
        metavar="B64",
        help="an operator's Ed25519 public key (repeat; default: operator.key in the data dir)",
    )
    log_p.add_argument(
        "--read-only",
        action="store_true",
        help="serve reads only, beside the sequencer, from its PostgreSQL --database",
    )
    log_p.add_argument("--log-vkey", help="with --read-only: the log's vkey (default: log.key)")
    log_p.add_argument(
        "--refresh-s",
        type=float,
        default=DEFAULT_REFRESH_S,
        help="with --read-only: seconds between reads of the stored tree and checkpoint",
    )
    log_p.set_defaults(handler=_run_log)
    log_sub = log_p.add_subparsers(dest="log_command")

    tlog_audit.add_parser(log_sub)

    init = log_sub.add_parser("init", help="create the log's keys and print its vkey")
    # Also accepted after "init"; SUPPRESS keeps a value given before it.
    init.add_argument("--data-dir", default=argparse.SUPPRESS)
    init.add_argument("--origin", default=argparse.SUPPRESS)
    init.add_argument("--database", type=database_url, default=argparse.SUPPRESS)
    init.set_defaults(handler=_init)

    append = log_sub.add_parser("append", help="append one entry (a file) as the operator")
    append.add_argument("--log", required=True, help="the log's base URL")
    append.add_argument("--operator-key", required=True, help="the operator's key file")
    append.add_argument("entry", help="file holding the entry")
    append.set_defaults(handler=lambda a: asyncio.run(_append(a)))

    export = log_sub.add_parser(
        "export-tiles", help="write the C2SP tlog-tiles of the last checkpoint to a directory"
    )
    export.add_argument("--data-dir", default=argparse.SUPPRESS)
    export.add_argument("--origin", default=argparse.SUPPRESS)
    export.add_argument("--database", type=database_url, default=argparse.SUPPRESS)
    export.add_argument("--out", required=True, help="directory to serve as the tiles prefix")
    export.set_defaults(handler=_export_tiles)

    witness = sub.add_parser("witness", help="run a transparency-log witness")
    witness.add_argument("--host", default=LOOPBACK)
    witness.add_argument("--port", type=int, default=8491)
    witness.add_argument("--data-dir", default="privcloud-data/witness")
    witness.add_argument("--name", default=LOCAL_WITNESS_NAME, help="the witness's key name")
    witness.add_argument(
        "--key-type",
        choices=WITNESS_KEY_TYPES,
        help="the type of a new witness key: ed25519 (cosignature 0x04, the default) or "
        "ml-dsa-44 (0x06, post-quantum); an existing key keeps its type",
    )
    witness.add_argument(
        "--database",
        metavar="URL",
        type=database_url,
        help="the witness's store: sqlite:///path/file or postgresql://... (default: its file "
        "in --data-dir)",
    )
    witness.add_argument(
        "--log-vkey", action="append", required=True, help="a log to witness (repeat)"
    )
    witness.set_defaults(handler=_run_witness)

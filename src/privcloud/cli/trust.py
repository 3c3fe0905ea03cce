"""Trust commands of the ``privcloud`` command line: the transparency log, its witness, audits.

    privcloud log [--data-dir DIR] [--witness URL=VKEY]...     run a transparency log
    privcloud log audit --log URL --log-vkey VKEY [...]       audit a log (researcher tool)
    privcloud log append --log URL --operator-key FILE ENTRY  append one entry as the operator
    privcloud witness --log-vkey VKEY [--data-dir DIR]        run a witness
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from privcloud.errors import ConfigError, PrivcloudError, VerificationError
from privcloud.sdk.logclient import LogClient
from privcloud.sdk.trust_store import FileTrustStore, pinned_state
from privcloud.services.http import start_site
from privcloud.services.tlog import DEFAULT_ORIGIN, WitnessEndpoint, open_log
from privcloud.services.witness import Witness
from privcloud.storage.tlog_store import load_key, load_or_create_key
from privcloud.storage.witness_store import WitnessStore
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import WitnessKey, verify_cosignatures
from privcloud.transparency.merkle import (
    MerkleTree,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from privcloud.transparency.note import Ed25519NoteVerifier, parse_note

LOOPBACK = "127.0.0.1"
DEFAULT_WITNESS_NAME = "privcloud.local/witness"
#: Inclusion proofs the audit asks the log for and checks (first, last, spread in between).
DEFAULT_AUDIT_PROOFS = 16


async def _serve(app: web.Application, host: str, port: int, banner: Sequence[str]) -> None:
    runner, bound = await start_site(app, host, port)
    for line in [f"listening on http://{host}:{bound}", *banner]:
        print(line, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
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


async def _log(args: argparse.Namespace) -> None:
    witnesses = [WitnessEndpoint.parse(w) for w in args.witness or []]
    keys = [_operator_pubkey(k) for k in args.operator_pubkey or []]
    tlog = open_log(
        args.data_dir, origin=args.origin, witnesses=witnesses, operator_public_keys=keys
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


async def _append(args: argparse.Namespace) -> None:
    key = load_key(args.operator_key)
    entry = Path(args.entry).read_bytes()
    async with LogClient(args.log) as client:
        result = await client.append(entry, key)
    print(f"index {result.index} leaf_hash {base64.b64encode(result.leaf_hash).decode()}"
          + ("" if result.created else " (already in the log)"))


# --- privcloud log audit -----------------------------------------------------------------------


async def _first_bad_leaf(
    client: LogClient, ours: Sequence[bytes], size: int, root: bytes
) -> int:
    """Index of the first leaf whose served entry does not hash to the log's tree.

    Walks RFC 9162's tree from the root: the log's inclusion proofs name the hash of each
    sibling subtree, which is compared with the hash of the entries it served; O(log n) proofs.
    """
    lo, hi, depth = 0, size, 0
    while hi - lo > 1:
        mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))
        right_proof = await client.inclusion_proof(lo, size)  # holds MTH(D[mid:hi])
        left_proof = await client.inclusion_proof(mid, size)  # holds MTH(D[lo:mid])
        theirs_left = left_proof[len(left_proof) - 1 - depth]
        theirs_right = right_proof[len(right_proof) - 1 - depth]
        if root_from_leaf_hashes(ours[lo:mid]) != theirs_left:
            hi = mid
        elif root_from_leaf_hashes(ours[mid:hi]) != theirs_right:
            lo = mid
        else:  # pragma: no cover - both halves match yet the root did not
            break
        depth += 1
    return lo


def _spread(size: int, count: int) -> list[int]:
    if size == 0:
        return []
    if size <= count:
        return list(range(size))
    return sorted({(size - 1) * i // (count - 1) for i in range(count)})


async def _audit(args: argparse.Namespace) -> None:
    try:
        log_key = Ed25519NoteVerifier.from_vkey(args.log_vkey)
    except PrivcloudError as exc:
        raise ConfigError("invalid log vkey") from exc
    witness_vkeys = args.witness_vkey or []
    state: TrustedLogState | None = None
    store: FileTrustStore | None = None
    if witness_vkeys:
        state = pinned_state(args.log_vkey, witness_vkeys, args.quorum)
        if args.state:
            store = FileTrustStore(args.state)
            state = store.load(state)
    elif args.state:
        raise ConfigError("a persisted audit state needs the witnesses' vkeys (--witness-vkey)")
    now = time.time()
    async with LogClient(args.log) as client:
        # 1. The checkpoint: log signature, cosignatures, consistency with the persisted one.
        note = await client.checkpoint()
        if state is not None:
            before = state.checkpoint.size
            size_claim = Checkpoint.decode(parse_note(note).text.decode()).size
            proof = (
                await client.consistency_proof(before, size_claim)
                if 0 < before < size_claim
                else []
            )
            state = state.update(note, proof, now)
            checkpoint = state.checkpoint
            print(f"checkpoint    consistent with the trusted one (size {before})")
        else:
            checkpoint = open_checkpoint(note, [log_key], origin=log_key.name)
        print(f"log           {checkpoint.origin}")
        print(f"size          {checkpoint.size}")
        print(f"root          {base64.b64encode(checkpoint.root_hash).decode()}")
        if state is not None:
            for c in sorted(verify_cosignatures(note, state.witnesses), key=lambda c: c.name):
                print(f"cosigned by   {c.name} at {c.timestamp}")
        # 2. Every entry, re-hashed, must give the checkpoint's root.
        entries = await client.iter_entries(0, checkpoint.size)
        ours = [leaf_hash(e) for e in entries]
        tree = MerkleTree(ours)
        if tree.root() != checkpoint.root_hash:
            bad = await _first_bad_leaf(client, ours, checkpoint.size, checkpoint.root_hash)
            print(f"MISMATCH      entry {bad} does not hash to the log's tree")
            raise VerificationError("log entries do not match the checkpoint root")
        print(f"entries       {len(entries)} re-hashed; the root matches")
        # 3. Inclusion proofs served by the log verify for our leaf hashes.
        for i in _spread(checkpoint.size, args.proofs):
            proof = await client.inclusion_proof(i, checkpoint.size)
            verify_inclusion(ours[i], i, checkpoint.size, proof, checkpoint.root_hash)
        print(f"proofs        {len(_spread(checkpoint.size, args.proofs))} inclusion proofs verify")
        # 4. The log's newest checkpoint extends the audited one.
        latest_note = await client.checkpoint()
        latest = open_checkpoint(latest_note, [log_key], origin=log_key.name)
        proof = await client.consistency_proof(checkpoint.size, latest.size) if (
            0 < checkpoint.size < latest.size
        ) else []
        verify_consistency(
            checkpoint.size, latest.size, checkpoint.root_hash, latest.root_hash, proof
        )
        print(f"latest        size {latest.size}, consistent with the audited checkpoint")
    # 5. Remember the audited checkpoint for the next audit.
    if store is not None and state is not None:
        store.save(state)
        print(f"state         saved in {args.state}")
    print("audit OK")


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
        raise ConfigError("witness data directory cannot be created") from exc
    key, _ = load_or_create_key(data / "witness.key")
    try:
        witness_key = WitnessKey(args.name, key)
    except PrivcloudError as exc:
        raise ConfigError("invalid witness name") from exc
    witness = Witness(witness_key, log_keys, WitnessStore(data / "witness.db"))
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
        "--witness", action="append", metavar="URL=VKEY", help="a witness to ask (repeat)"
    )
    log_p.add_argument(
        "--operator-pubkey",
        action="append",
        metavar="B64",
        help="an operator's Ed25519 public key (repeat; default: operator.key in the data dir)",
    )
    log_p.set_defaults(handler=lambda a: asyncio.run(_log(a)))
    log_sub = log_p.add_subparsers(dest="log_command")

    audit = log_sub.add_parser("audit", help="verify a log: signatures, consistency, every entry")
    audit.add_argument("--log", required=True, help="the log's base URL")
    audit.add_argument("--log-vkey", required=True, help="the log's note verifier key")
    audit.add_argument(
        "--witness-vkey", action="append", help="a witness's cosignature vkey (repeat)"
    )
    audit.add_argument("--quorum", type=int, help="witnesses that must cosign (default: all)")
    audit.add_argument("--state", help="directory keeping the last audited checkpoint")
    audit.add_argument("--proofs", type=int, default=DEFAULT_AUDIT_PROOFS)
    audit.set_defaults(handler=lambda a: asyncio.run(_audit(a)))

    append = log_sub.add_parser("append", help="append one entry (a file) as the operator")
    append.add_argument("--log", required=True, help="the log's base URL")
    append.add_argument("--operator-key", required=True, help="the operator's key file")
    append.add_argument("entry", help="file holding the entry")
    append.set_defaults(handler=lambda a: asyncio.run(_append(a)))

    witness = sub.add_parser("witness", help="run a transparency-log witness")
    witness.add_argument("--host", default=LOOPBACK)
    witness.add_argument("--port", type=int, default=8491)
    witness.add_argument("--data-dir", default="privcloud-data/witness")
    witness.add_argument("--name", default=DEFAULT_WITNESS_NAME, help="the witness's key name")
    witness.add_argument(
        "--log-vkey", action="append", required=True, help="a log to witness (repeat)"
    )
    witness.set_defaults(handler=lambda a: asyncio.run(_witness(a)))

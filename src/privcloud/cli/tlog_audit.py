"""``privcloud log audit``: a researcher's check of a whole transparency log.

The steps (docs/transparency.md §6) are numbered in :func:`_audit`; the decisions that need no
network are :mod:`privcloud.transparency.audit`'s, the key-statement rule is
:func:`privcloud.trust.keys.most_valid_at_once`. Everything is read from the log's C2SP
tlog-tiles API (``/checkpoint``, hash tiles, entry bundles): ``--log`` may be the log, a CDN in
front of it or a static copy (``privcloud log export-tiles``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import time
from collections.abc import Sequence

from privcloud import limits
from privcloud.cli.trust_args import from_local, local_args
from privcloud.errors import ConfigError, PrivcloudError, VerificationError
from privcloud.logclient import LogClient
from privcloud.sdk.trust_store import FileTrustStore, pinned_state
from privcloud.transparency.audit import FirstBadLeaf, check_entries, proof_sample
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import verify_cosignatures
from privcloud.transparency.merkle import leaf_hash, verify_consistency, verify_inclusion
from privcloud.transparency.note import Ed25519NoteVerifier
from privcloud.trust.directory_statement import DirectoryStatement, downgrades, on_grid
from privcloud.trust.directory_statement import most_valid_at_once as directories_at_once
from privcloud.trust.keys import (
    MOST_VALID_AT_ONCE,
    KeyKind,
    KeyStatement,
    most_valid_at_once,
    on_issuer_schedule,
)

#: Inclusion proofs the audit asks the log for and checks (first, last, spread in between).
DEFAULT_AUDIT_PROOFS = 16
#: Entries read per round: 16 entry bundles, fetched in parallel.
_ENTRIES_PER_ROUND = 16 * 256


async def _first_bad_leaf(client: LogClient, ours: Sequence[bytes], size: int) -> int:
    """Index of the first leaf whose served entry does not hash to the log's tree."""
    search = FirstBadLeaf(ours, size)
    while (wanted := search.wanted()) is not None:
        search.feed(*[await client.inclusion_proof(i, size) for i in wanted])
    return search.index


def _key_statements(entries: list[bytes], start: int) -> list[tuple[int, KeyStatement]]:
    """The key statements among ``entries`` (the first at log index ``start``), with their
    indexes."""
    out = []
    for index, entry in enumerate(entries, start):
        with contextlib.suppress(PrivcloudError):  # a release manifest, not a key statement
            out.append((index, KeyStatement.decode(entry)))
    return out


def _directory_statements(entries: list[bytes], start: int) -> list[tuple[int, DirectoryStatement]]:
    """The directory statements among ``entries``, with their indexes."""
    out = []
    for index, entry in enumerate(entries, start):
        with contextlib.suppress(PrivcloudError):  # another kind of entry
            out.append((index, DirectoryStatement.decode(entry)))
    return out


def _check_directory_statements(
    indexed: list[tuple[int, DirectoryStatement]],
    keys: list[tuple[int, KeyStatement]],
    most: int,
) -> None:
    """Refuse a log in which some gateway had more than ``most`` directory statements valid at
    one instant, more than changes of its nodes explain (ADR 0033), or one off the validity
    grid: a sign of directories made for some devices only; or one naming no post-quantum key
    while the gateway had one to name: a downgrade (:func:`downgrades`)."""
    statements = [s for _, s in indexed]
    if not all(on_grid(s) for s in statements):
        print("directories   a statement off the validity grid")
        raise VerificationError("a gateway logged a directory statement off the validity grid")
    for service, count in sorted(directories_at_once(statements).items()):
        print(f"directories   of {service}: at most {count} valid at once")
        if count > most:
            raise VerificationError(
                "a gateway had more node directories valid at once than node changes explain"
            )
    downgraded = downgrades(indexed, keys)
    print(f"directories   {len(downgraded)} naming no post-quantum key while one was valid")
    if downgraded:
        raise VerificationError(
            "a gateway's directory statement named no post-quantum key while one was valid"
        )


def _replaced(
    indexed: list[tuple[int, KeyStatement]], accepted_rekeys: frozenset[int]
) -> set[bytes]:
    """Leaf hashes of the issuer keys the auditor excused: per issuer, for each step in
    ``accepted_rekeys``, the first logged of that step's keys when it has more than one (the
    key an issuer replaced, lost or compromised, within the step). One per step: a third key
    still counts."""
    steps: dict[tuple[str, int], list[tuple[int, KeyStatement]]] = {}
    for index, s in indexed:
        if s.kind is KeyKind.ISSUER and s.not_before in accepted_rekeys:
            steps.setdefault((s.service, s.not_before), []).append((index, s))
    return {min(keys)[1].leaf_hash for keys in steps.values() if len(keys) > 1}


def _earlier_release(indexed: list[tuple[int, KeyStatement]]) -> set[bytes]:
    """Leaf hashes of the issuer keys logged before their issuer's first key on the schedule:
    an issuer of an earlier release, which made keys of its own lengths until its upgrade (ADR
    0009, decision 8); all of an issuer's keys while it logged none on the schedule. Devices
    never fetch under a key off the schedule; the audit holds these to the rules of their
    release, apart from the keys made after. Raises :class:`VerificationError` for such a key
    beginning after the end of its issuer's first key on the schedule: an earlier release made
    its keys a day or two ahead at most, so that is a key logged ahead of the upgrade to keep
    windows of the issuer's choosing for devices of that release (a review)."""
    first: dict[str, KeyStatement] = {}
    at: dict[str, int] = {}
    for index, s in indexed:
        scheduled = s.kind is KeyKind.ISSUER and on_issuer_schedule(s.not_before, s.not_after)
        if scheduled and s.service not in first:
            first[s.service], at[s.service] = s, index
    earlier = set()
    for index, s in indexed:
        if s.kind is not KeyKind.ISSUER or index >= at.get(s.service, index + 1):
            continue
        upgrade = first.get(s.service)
        if upgrade is not None and s.not_before >= upgrade.not_after:
            print("keys          an issuer key logged ahead of its first key on the schedule")
            raise VerificationError(
                "an issuer logged, before its first key on the schedule, a key beginning after "
                "that key's end"
            )
        earlier.add(s.leaf_hash)
    for service in sorted({s.service for _, s in indexed if s.kind is KeyKind.ISSUER} - set(first)):
        print(f"keys          issuer {service}: no key on the schedule (an earlier release)")
    return earlier


def _check_key_statements(
    indexed: list[tuple[int, KeyStatement]], accepted_rekeys: frozenset[int] = frozenset()
) -> None:
    """Refuse a log in which some service had more keys valid at one instant than the device
    accepts (ADR 0009): a sign of keys handed to some devices only; or that holds one key
    statement twice (an honest append is idempotent: a second leaf of one statement lets the
    log answer either index to a device's lookup); or an issuer key off the one schedule, or
    two for one step of it (ADR 0009, decision 8: keys for windows of the issuer's choosing);
    or a hybrid gateway key shorter than ``MIN_HYBRID_KEY_VALIDITY_S`` (:func:`downgrades`).
    An issuer's keys logged before its first key on the schedule (:func:`_earlier_release`)
    are held to no schedule and counted apart from the keys after them; hybrid gateway keys
    beginning before ``HYBRID_KEY_RULE_SINCE``, to no shortest validity (a log keeps
    them for ever); the key an issuer replaced within a step of ``accepted_rekeys``
    (:func:`_replaced`) counts in no rule but the first."""
    leaves = [s.leaf_hash for _, s in indexed]
    if len(set(leaves)) != len(leaves):
        print("keys          a key statement logged twice")
        raise VerificationError("the log holds a key statement twice")
    replaced = _replaced(indexed, accepted_rekeys)
    earlier = _earlier_release(indexed)
    apart = replaced | earlier
    counted = [s for _, s in indexed if s.leaf_hash not in apart]
    since = [s for s in counted if s.not_before >= limits.HYBRID_KEY_RULE_SINCE]
    hybrid = [s for s in since if s.kind is KeyKind.OHTTP and s.key_config.post_quantum]
    if any(s.not_after - s.not_before < limits.MIN_HYBRID_KEY_VALIDITY_S for s in hybrid):
        print("keys          a post-quantum gateway key valid for less than a day")
        raise VerificationError("a gateway logged a post-quantum key valid for less than a day")
    issuer = [s for s in counted if s.kind is KeyKind.ISSUER]
    if not all(on_issuer_schedule(s.not_before, s.not_after) for s in issuer):
        print("keys          an issuer key off the issuer key schedule")
        raise VerificationError("an issuer logged a token key off the issuer key schedule")
    steps = [(s.service, s.not_before) for s in issuer]
    if len(set(steps)) != len(steps):
        print("keys          two issuer keys for one step of the schedule")
        raise VerificationError("an issuer logged two token keys for one step of its schedule")
    if earlier:
        print(f"keys          {len(earlier)} issuer keys of an earlier release, counted apart")
    before = [s for _, s in indexed if s.leaf_hash in earlier and s.leaf_hash not in replaced]
    most = most_valid_at_once(counted)
    for group, count in most_valid_at_once(before).items():
        most[group] = max(count, most.get(group, 0))
    for (kind, service), count in sorted(most.items(), key=lambda i: (i[0][0].value, i[0][1])):
        print(f"keys          {kind.value} of {service}: at most {count} valid at once")
        if count > MOST_VALID_AT_ONCE[kind]:
            raise VerificationError("a service had more keys valid at once than rotation needs")


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
    async with LogClient(args.log, read="tiles") as client:
        # 1. The checkpoint: log signature (checked before any tile is fetched for its size),
        #    cosignatures, consistency with the persisted one.
        note = await client.checkpoint()
        claimed: Checkpoint = open_checkpoint(note, [log_key], origin=log_key.name)
        if state is not None:
            before = state.checkpoint.size
            proof = (
                await client.consistency_proof(before, claimed.size)
                if 0 < before < claimed.size
                else []
            )
            state = state.update(note, proof, now)
            checkpoint = state.checkpoint
            if before:
                print(f"checkpoint    consistent with the trusted one (size {before})")
            else:
                print("checkpoint    first audit with this state: nothing to compare with")
        else:
            checkpoint = claimed
        print(f"log           {checkpoint.origin}")
        print(f"size          {checkpoint.size}")
        print(f"root          {base64.b64encode(checkpoint.root_hash).decode()}")
        if state is not None:
            for c in sorted(verify_cosignatures(note, state.witnesses), key=lambda c: c.name):
                print(f"cosigned by   {c.name} at {c.timestamp}")
        # 2. Every entry, re-hashed, must give the checkpoint's root.
        ours: list[bytes] = []
        statements: list[tuple[int, KeyStatement]] = []
        directories: list[tuple[int, DirectoryStatement]] = []
        for start in range(0, checkpoint.size, _ENTRIES_PER_ROUND):
            end = min(checkpoint.size, start + _ENTRIES_PER_ROUND)
            page = await client.bundle_entries(start, end, checkpoint.size)
            ours += [leaf_hash(e) for e in page]
            statements += _key_statements(page, start)
            directories += _directory_statements(page, start)
        try:
            check_entries(ours, checkpoint)
        except VerificationError:
            bad = await _first_bad_leaf(client, ours, checkpoint.size)
            print(f"MISMATCH      entry {bad} does not hash to the log's tree")
            raise
        print(f"entries       {len(ours)} re-hashed; the root matches")
        # 2b. Key consistency: no service ever had more keys valid at once than rotation needs.
        _check_key_statements(statements, frozenset(args.accept_rekey or ()))
        # 2c. Directory consistency: no gateway logged a directory per device.
        #     Nor named no post-quantum key while one was valid (a downgrade).
        _check_directory_statements(directories, statements, args.most_directories)
        # 3. Inclusion proofs served by the log verify for our leaf hashes.
        sample = proof_sample(checkpoint.size, args.proofs)
        for i in sample:
            proof = await client.inclusion_proof(i, checkpoint.size)
            verify_inclusion(ours[i], i, checkpoint.size, proof, checkpoint.root_hash)
        print(f"proofs        {len(sample)} inclusion proofs verify")
        # 4. The log's newest checkpoint extends the audited one.
        latest_note = await client.checkpoint()
        latest = open_checkpoint(latest_note, [log_key], origin=log_key.name)
        proof = (
            await client.consistency_proof(checkpoint.size, latest.size)
            if (0 < checkpoint.size < latest.size)
            else []
        )
        verify_consistency(
            checkpoint.size, latest.size, checkpoint.root_hash, latest.root_hash, proof
        )
        print(f"latest        size {latest.size}, consistent with the audited checkpoint")
        print(f"read          {client.tile_requests} tiles and entry bundles (C2SP tlog-tiles)")
    # 5. Remember the audited checkpoint for the next audit.
    if store is not None and state is not None:
        store.save(state)
        print(f"state         saved in {args.state}")
    print("audit OK")


def add_parser(log_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``log audit`` under the ``log`` command."""
    audit = log_sub.add_parser("audit", help="verify a log: signatures, consistency, every entry")
    audit.add_argument("--log", help="the log's base URL")
    audit.add_argument("--log-vkey", help="the log's note verifier key")
    audit.add_argument(
        "--witness-vkey", action="append", help="a witness's cosignature vkey (repeat)"
    )
    audit.add_argument("--quorum", type=int, help="witnesses that must cosign (default: all)")
    audit.add_argument("--state", help="directory keeping the last audited checkpoint")
    audit.add_argument("--proofs", type=int, default=DEFAULT_AUDIT_PROOFS)
    audit.add_argument(
        "--accept-rekey",
        type=int,
        action="append",
        metavar="STEP",
        help="a step of the issuer key schedule (its start, Unix seconds) in which an issuer "
        "replaced its key, for a reason the auditor accepts (a lost or compromised key): the "
        "first logged of the step's keys then counts in no rule; repeat",
    )
    audit.add_argument(
        "--most-directories",
        type=int,
        default=limits.MAX_DIRECTORIES_VALID_AT_ONCE,
        help="node directory statements of one gateway valid at once that the audit accepts "
        "(a fleet that starts many nodes within half an hour needs more; ADR 0033)",
    )
    local_args(audit)
    audit.set_defaults(handler=lambda a: asyncio.run(_audit(from_local(a))))

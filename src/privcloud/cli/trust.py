"""Trust commands of the ``privcloud`` command line: the transparency log, its witness, audits.

privcloud log [--data-dir DIR] [--witness URL=VKEY]...     run a transparency log
privcloud log init [--data-dir DIR]                       make its keys, print its vkey
privcloud log audit --log URL --log-vkey VKEY [...]       audit a log (researcher tool)
privcloud log append --log URL --operator-key FILE ENTRY  append one entry as the operator
privcloud witness --log-vkey VKEY [--data-dir DIR]        run a witness
privcloud release build|publish|verify                    release manifests (docs/trust.md)
privcloud node verify URL --log URL --log-vkey VKEY ...   run admission on one node, verbosely
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from aiohttp import web

from privcloud import limits
from privcloud.attest import TrustRoots, verify_evidence
from privcloud.cli.runtime import until_stopped
from privcloud.cli.session import read_run_file
from privcloud.errors import (
    ConfigError,
    PrivcloudError,
    UsageError,
    VerificationError,
)
from privcloud.localcloud import cloudconfig
from privcloud.logclient import LogClient
from privcloud.netio import read_bounded
from privcloud.release import build_manifest, code_files, compare, require_same
from privcloud.release.build import model_file
from privcloud.sdk.client import fetch_log_proofs
from privcloud.sdk.trust_store import (
    FileTrustStore,
    default_state_dir,
    pinned_state,
    refresh_trusted_checkpoint,
)
from privcloud.services.http import start_site
from privcloud.services.node import node_release_config
from privcloud.services.tlog import DEFAULT_ORIGIN, WitnessEndpoint, open_log
from privcloud.services.witness import Witness
from privcloud.storage.tlog_store import load_key, load_or_create_key
from privcloud.storage.witness_store import WitnessStore
from privcloud.transparency.audit import FirstBadLeaf, check_entries, proof_sample
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import WitnessKey, verify_cosignatures
from privcloud.transparency.merkle import leaf_hash, verify_consistency, verify_inclusion
from privcloud.transparency.note import Ed25519NoteVerifier, parse_note
from privcloud.trust.admission import (
    AdmissionStep,
    ClientPolicy,
    admit,
    check_release_measurement,
)
from privcloud.trust.directory import NodeDescriptor, decode_descriptor
from privcloud.trust.keys import MOST_VALID_AT_ONCE, KeyStatement, most_valid_at_once
from privcloud.trust.release_manifest import ReleaseManifest, measurement_hex
from privcloud.wire import jsonio
from privcloud.workloads.ai import ai_registry, release_model_files
from privcloud.workloads.models import shared_models

LOOPBACK = "127.0.0.1"
DEFAULT_WITNESS_NAME = "privcloud.local/witness"
#: Inclusion proofs the audit asks the log for and checks (first, last, spread in between).
DEFAULT_AUDIT_PROOFS = 16


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


def _init(args: argparse.Namespace) -> None:
    """Create the log's keys and database (as the first start would) and print what to pin."""
    tlog = open_log(args.data_dir, origin=args.origin)
    try:
        print(f"log vkey      {tlog.vkey}")
        if tlog.operator_key is not None:
            print(f"operator key  {base64.b64encode(tlog.operator_key.public_bytes()).decode()}")
    finally:
        tlog.store.close()


async def _append(args: argparse.Namespace) -> None:
    key = load_key(args.operator_key)
    entry = Path(args.entry).read_bytes()
    async with LogClient(args.log) as client:
        result = await client.append(entry, key)
    print(
        f"index {result.index} leaf_hash {base64.b64encode(result.leaf_hash).decode()}"
        + ("" if result.created else " (already in the log)")
    )


# --- privcloud log audit -----------------------------------------------------------------------


async def _first_bad_leaf(client: LogClient, ours: Sequence[bytes], size: int) -> int:
    """Index of the first leaf whose served entry does not hash to the log's tree."""
    search = FirstBadLeaf(ours, size)
    while (wanted := search.wanted()) is not None:
        search.feed(*[await client.inclusion_proof(i, size) for i in wanted])
    return search.index


def _key_statements(entries: list[bytes]) -> list[KeyStatement]:
    out = []
    for entry in entries:
        with contextlib.suppress(PrivcloudError):  # a release manifest, not a key statement
            out.append(KeyStatement.decode(entry))
    return out


def _check_key_statements(statements: list[KeyStatement]) -> None:
    """Refuse a log in which some service had more keys valid at one instant than the device
    accepts (ADR 0009): a sign of keys handed to some devices only."""
    for (kind, service), count in sorted(
        most_valid_at_once(statements).items(), key=lambda i: (i[0][0].value, i[0][1])
    ):
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
            if before:
                print(f"checkpoint    consistent with the trusted one (size {before})")
            else:
                print("checkpoint    first audit with this state: nothing to compare with")
        else:
            checkpoint = open_checkpoint(note, [log_key], origin=log_key.name)
        print(f"log           {checkpoint.origin}")
        print(f"size          {checkpoint.size}")
        print(f"root          {base64.b64encode(checkpoint.root_hash).decode()}")
        if state is not None:
            for c in sorted(verify_cosignatures(note, state.witnesses), key=lambda c: c.name):
                print(f"cosigned by   {c.name} at {c.timestamp}")
        # 2. Every entry, re-hashed, must give the checkpoint's root.
        ours: list[bytes] = []
        statements: list[KeyStatement] = []
        async for page in client.entry_pages(0, checkpoint.size):
            ours += [leaf_hash(e) for e in page]
            statements += _key_statements(page)
        try:
            check_entries(ours, checkpoint)
        except VerificationError:
            bad = await _first_bad_leaf(client, ours, checkpoint.size)
            print(f"MISMATCH      entry {bad} does not hash to the log's tree")
            raise
        print(f"entries       {len(ours)} re-hashed; the root matches")
        # 2b. Key consistency: no service ever had more keys valid at once than rotation needs.
        _check_key_statements(statements)
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
    audit.add_argument("--log", help="the log's base URL")
    audit.add_argument("--log-vkey", help="the log's note verifier key")
    audit.add_argument(
        "--witness-vkey", action="append", help="a witness's cosignature vkey (repeat)"
    )
    audit.add_argument("--quorum", type=int, help="witnesses that must cosign (default: all)")
    audit.add_argument("--state", help="directory keeping the last audited checkpoint")
    audit.add_argument("--proofs", type=int, default=DEFAULT_AUDIT_PROOFS)
    _local_args(audit)
    audit.set_defaults(handler=lambda a: asyncio.run(_audit(_from_local(a))))

    init = log_sub.add_parser("init", help="create the log's keys and print its vkey")
    # Also accepted after "init"; SUPPRESS keeps a value given before it.
    init.add_argument("--data-dir", default=argparse.SUPPRESS)
    init.add_argument("--origin", default=argparse.SUPPRESS)
    init.set_defaults(handler=_init)

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

    register_release(sub)


# --- privcloud release build|publish|verify, privcloud node verify (docs/trust.md) ------------


def _release_from_args(args: argparse.Namespace) -> ReleaseManifest:
    """The manifest of this install: node config from --config (default: the node's default
    config), model files from --model PATH[=NAME], hardware measurements from --measurement."""
    if args.config:
        try:
            config = jsonio.loads(
                Path(args.config).read_bytes(), max_bytes=limits.MAX_RELEASE_CONFIG_BYTES
            )
        except (OSError, PrivcloudError) as exc:
            raise ConfigError("--config must name a JSON file") from exc
        if not isinstance(config, dict):
            raise ConfigError("--config must hold a JSON object")
    elif args.ai:
        config = node_release_config(ai_registry(shared_models()))
    else:
        config = node_release_config()
    models = []
    if args.ai:
        models.extend(release_model_files(shared_models()))
    for spec in args.model or []:
        path, _, name = spec.partition("=")
        try:
            models.append(model_file(Path(path), name or path))
        except OSError as exc:
            raise ConfigError("a --model file cannot be read") from exc
    measurements: dict[str, bytes | None] = {}
    for spec in args.measurement or []:
        tee, _, value = spec.partition("=")
        try:
            measurements[tee] = bytes.fromhex(value)
        except ValueError as exc:
            raise ConfigError("--measurement is TEE=HEX") from exc
    try:
        return build_manifest(config=config, models=models, hardware_measurements=measurements)
    except UsageError as exc:
        raise ConfigError("the release cannot be described: " + str(exc)) from exc


def _release_build(args: argparse.Namespace) -> None:
    if args.files:
        print("".join(f.line() for f in code_files()), end="")
        return
    manifest = _release_from_args(args)
    if args.out:
        Path(args.out).write_bytes(manifest.encode())
    else:
        print(manifest.encode().decode())
    for tee, value in sorted(manifest.measurements.items()):
        print(f"measurement[{tee}] {measurement_hex(value)}", file=sys.stderr)
    print(f"leaf hash {manifest.leaf_hash().hex()}", file=sys.stderr)


async def _release_publish(args: argparse.Namespace) -> None:
    if args.manifest:
        manifest = ReleaseManifest.decode(Path(args.manifest).read_bytes())
    else:
        manifest = _release_from_args(args)
    async with LogClient(args.log) as client:
        result = await client.append(manifest.encode(), load_key(args.operator_key))
    print(f"index {result.index} leaf_hash {result.leaf_hash.hex()}")
    print(f"measurement[simulated] {manifest.simulated_measurement.hex()}")


async def _fetch_descriptor(url: str) -> NodeDescriptor:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url.rstrip("/") + "/v1/attestation") as resp,
    ):
        body = await read_bounded(resp.content, limits.MAX_DIRECTORY_BYTES)
        if resp.status != 200:
            raise jsonio.decode_error_body(body, resp.status, peer="node")
    return decode_descriptor(body)


def _trust_roots(args: argparse.Namespace) -> TrustRoots:
    try:
        dev = tuple(bytes.fromhex(k) for k in args.insecure_simulated_root or [])
    except ValueError as exc:
        raise ConfigError("--insecure-simulated-root is hex") from exc
    return TrustRoots.pinned(insecure_simulated_keys=dev)


def _proven_checkpoint(args: argparse.Namespace, note: bytes, now: float) -> Checkpoint:
    """The checkpoint ``note`` names, once signed by the pinned log key (``--log-vkey``) and,
    when witnesses are given (``--witness-vkey``, ``--quorum``), cosigned by enough of them."""
    if not args.log_vkey:
        raise ConfigError(
            "release verify needs --log-vkey: a release counts only when proven in the log's "
            "signed tree"
        )
    if args.witness_vkey:
        state = pinned_state(args.log_vkey, args.witness_vkey, args.quorum)
        return state.update(note, [], now).checkpoint
    try:
        key = Ed25519NoteVerifier.from_vkey(args.log_vkey)
    except PrivcloudError as exc:
        raise ConfigError("invalid log vkey") from exc
    return open_checkpoint(note, [key], origin=key.name)


async def _release_verify(args: argparse.Namespace) -> None:
    """Compare the release built here with a logged one. Steps: 1. fetch the release (a node's
    bundle, or a log entry); 2. prove it in the log's signed tree — the checkpoint verifies
    under the pinned log key (and the witnesses' keys, when given) and the manifest's leaf is
    included at its index — *before* anything is compared; 3. compare field by field; 4. with
    a node and a dev root, check the node's attested measurement too."""
    local = _release_from_args(args)
    now = time.time()
    if args.node:
        node = await _fetch_descriptor(args.node)
        if node.bundle is None:
            raise VerificationError("the node publishes no bundle")
        bundle = node.bundle
        cp = _proven_checkpoint(args, bundle.checkpoint, now)
        verify_inclusion(
            bundle.manifest.leaf_hash(), bundle.log_index, cp.size, bundle.inclusion, cp.root_hash
        )
        logged = bundle.manifest
        source = f"node {node.node_id}, log entry {bundle.log_index}"
    elif args.log and args.index is not None:
        async with LogClient(args.log) as client:
            (entry,) = await client.entries(args.index, args.index + 1)
            cp = _proven_checkpoint(args, await client.checkpoint(), now)
            proof = await client.inclusion_proof(args.index, cp.size)
            verify_inclusion(leaf_hash(entry), args.index, cp.size, proof, cp.root_hash)
            logged, source = ReleaseManifest.decode(entry), f"log entry {args.index}"
    else:
        raise ConfigError("release verify needs --node URL, or --log URL with --index N")
    source += f", proven in {cp.origin} size {cp.size}"
    print(f"comparing the release built here with {source}")
    comparisons = compare(local, logged)
    for c in comparisons:
        print(c.line())
    if args.node and args.insecure_simulated_root:
        assert node.bundle is not None
        policy = ClientPolicy.insecure_local_dev().attestation
        result = verify_evidence(
            node.bundle.evidence, now=now, policy=policy, roots=_trust_roots(args)
        )
        attested = local.measurement_for(result.tee_type)
        same = attested is not None
        try:
            if attested is not None:
                check_release_measurement(attested, result)
        except VerificationError:
            same = False
        print(
            f"  {'match' if same else 'DIFFER':>19}  attested measurement[{result.tee_type}]: "
            f"{result.measurement.hex()}"
        )
        if not same:
            raise VerificationError("the node's attested measurement differs from this build")
    require_same(comparisons)
    print("release verify OK: the logged release is the one built here")


async def _node_verify(args: argparse.Namespace) -> None:
    node = await _fetch_descriptor(args.url)
    print(f"node {node.node_id} at {args.url}: region {node.region}, provider {node.provider}")
    state = pinned_state(args.log_vkey, args.witness_vkey or [], args.quorum)
    # Persisted by default, so that a restart cannot roll the trusted checkpoint back.
    store = FileTrustStore(args.state or default_state_dir())
    state = store.load(state)
    now = time.time()
    async with LogClient(args.log) as client:
        before = state.checkpoint.size
        state = await refresh_trusted_checkpoint(client, state, now=now, store=store)
        cp = state.checkpoint
        print(f"log checkpoint {cp.origin} size {cp.size} root {cp.root_hash.hex()}")
        print(
            f"  trusted: signed by the log, cosigned by {state.required_witnesses} witness(es), "
            f"consistent with the trusted size {before}"
        )
        proofs = (await fetch_log_proofs(client, state, [node])).get(node.node_id)
    if args.insecure_allow_simulated:
        policy = ClientPolicy.insecure_local_dev(
            allowed_regions=frozenset(args.region) if args.region else None,
            allowed_providers=frozenset(args.provider) if args.provider else None,
        )
    else:
        policy = ClientPolicy(
            allowed_regions=frozenset(args.region) if args.region else None,
            allowed_providers=frozenset(args.provider) if args.provider else None,
        )
    passed: list[int] = []

    def show(step: AdmissionStep) -> None:
        passed.append(step.step)
        print(f"  ok  {step}")

    try:
        admitted = admit(
            node,
            policy=policy,
            roots=_trust_roots(args),
            log_state=state,
            now=now,
            proofs=proofs,
            on_step=show,
        )
    except PrivcloudError as exc:
        print(f"  REFUSED at step {passed[-1] + 1 if passed else 0}: {exc}")
        raise
    insecure = " (INSECURE simulated TEE: no hardware protection)" if admitted.insecure else ""
    print(f"node {node.node_id} ADMITTED{insecure}")


def _release_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="node configuration JSON file (default: the node's default)")
    p.add_argument("--model", action="append", metavar="PATH[=NAME]", help="a model file (repeat)")
    p.add_argument(
        "--ai",
        action="store_true",
        help="the release of an AI node: its features and every installed model file",
    )
    p.add_argument(
        "--measurement",
        action="append",
        metavar="TEE=HEX",
        help="a launch measurement from a "
        "VM image build, e.g. sev-snp=... (repeat; default: absent)",
    )


def _local_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--local",
        action="store_true",
        help="take the log URL and the keys to pin from the local cloud `privcloud up` runs",
    )
    p.add_argument("--cloud-config", help="that cloud's privcloud.toml (with --local)")


def _from_local(args: argparse.Namespace, require_log: bool = True) -> argparse.Namespace:
    """Fill --log, --log-vkey, --witness-vkey and the simulated root from the running local
    cloud's run file (``--local``); then check that a log and its key are known."""
    if args.local:
        doc = read_run_file(cloudconfig.load(args.cloud_config))
        if doc is None:
            raise ConfigError("no local cloud runs: start one with `privcloud up --detach`")
        args.log = args.log or doc.get("log")
        args.log_vkey = args.log_vkey or doc.get("log_vkey")
        args.witness_vkey = args.witness_vkey or list(doc.get("witness_vkeys") or [])
        if hasattr(args, "insecure_simulated_root") and not args.insecure_simulated_root:
            args.insecure_simulated_root = [doc.get("insecure_simulated_root")]
        nodes = doc.get("nodes") or {}
        if isinstance(getattr(args, "url", None), str) and args.url in nodes:
            args.url = nodes[args.url]
    if (require_log or args.log) and not (args.log and args.log_vkey):
        raise ConfigError("give --log URL and --log-vkey VKEY, or --local for the local cloud")
    return args


def _log_trust_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--log", required=required, help="the transparency log's base URL")
    p.add_argument("--log-vkey", required=required, help="the log's note verifier key")
    p.add_argument("--witness-vkey", action="append", help="a witness's vkey (repeat)")
    p.add_argument(
        "--insecure-simulated-root",
        action="append",
        metavar="HEX",
        help="INSECURE: a simulated-TEE dev root public key to trust (development only)",
    )


def register_release(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``release build|publish|verify`` and ``node verify`` (needs the ``node`` command)."""
    release = sub.add_parser("release", help="release manifests: build, publish, verify")
    rsub = release.add_subparsers(dest="release_command", required=True)
    build = rsub.add_parser("build", help="compute this install's release manifest")
    _release_args(build)
    build.add_argument("--out", help="write the canonical manifest here (default: stdout)")
    build.add_argument("--files", action="store_true", help="print the code tree's sha256sum list")
    build.set_defaults(handler=_release_build)
    publish = rsub.add_parser("publish", help="append the release manifest to the log")
    _release_args(publish)
    publish.add_argument("--log", required=True, help="the log's base URL")
    publish.add_argument("--operator-key", required=True, help="the operator's key file")
    publish.add_argument("--manifest", help="publish this manifest file instead of building one")
    publish.set_defaults(handler=lambda a: asyncio.run(_release_publish(a)))
    verify = rsub.add_parser("verify", help="recompute the release here; compare with the log")
    _release_args(verify)
    _log_trust_args(verify, required=False)
    _local_args(verify)
    verify.add_argument("--index", type=int, help="the log entry to compare with (with --log)")
    verify.add_argument("--quorum", type=int, help="witnesses that must cosign (default: all)")
    verify.add_argument("--node", help="compare with the release a running node attests to")
    verify.set_defaults(handler=lambda a: asyncio.run(_release_verify(_from_local(a, False))))

    node = sub.choices.get("node")
    if node is None:  # pragma: no cover - the cloud command group registers "node" first
        return
    nsub = node.add_subparsers(dest="node_command")
    nverify = nsub.add_parser("verify", help="fetch a node's bundle and run admission verbosely")
    nverify.add_argument("url", help="the node's base URL (with --local: or its id, e.g. node-1)")
    _log_trust_args(nverify, required=False)
    _local_args(nverify)
    nverify.add_argument("--quorum", type=int, help="witnesses that must cosign (default: all)")
    nverify.add_argument(
        "--state",
        help="directory keeping the trusted checkpoint across runs "
        "(default: $XDG_STATE_HOME/privcloud, else ~/.local/state/privcloud)",
    )
    nverify.add_argument("--region", action="append", help="an allowed region (repeat)")
    nverify.add_argument("--provider", action="append", help="an allowed provider (repeat)")
    nverify.add_argument(
        "--insecure-allow-simulated",
        action="store_true",
        help="INSECURE: admit simulated-TEE nodes (development only)",
    )
    nverify.set_defaults(handler=lambda a: asyncio.run(_node_verify(_from_local(a))))

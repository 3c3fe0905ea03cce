"""``privcloud release build|publish|verify``: release manifests (docs/trust.md).

``build`` computes this install's manifest (:mod:`privcloud.release`), ``publish`` appends it to
the log as the operator, ``verify`` proves a logged release in the log's signed tree and then
compares it with the one built here, field by field.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from privcloud import limits
from privcloud.attest import verify_evidence
from privcloud.cli.trust_args import (
    fetch_descriptor,
    from_local,
    local_args,
    log_trust_args,
    trust_roots,
)
from privcloud.errors import ConfigError, PrivcloudError, UsageError, VerificationError
from privcloud.logclient import LogClient
from privcloud.release import build_manifest, code_files, compare, require_same
from privcloud.release.build import model_file
from privcloud.sdk.trust_store import pinned_state
from privcloud.services.node import node_release_config
from privcloud.storage.tlog_store import load_key
from privcloud.transparency.checkpoint import Checkpoint, open_checkpoint
from privcloud.transparency.merkle import leaf_hash, verify_inclusion
from privcloud.transparency.note import Ed25519NoteVerifier
from privcloud.trust.admission import ClientPolicy, check_release_measurement
from privcloud.trust.release_manifest import ReleaseManifest, measurement_hex
from privcloud.wire import jsonio
from privcloud.workloads.ai import ai_registry, release_model_files
from privcloud.workloads.models import shared_models


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
        node = await fetch_descriptor(args.node)
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
            node.bundle.evidence, now=now, policy=policy, roots=trust_roots(args)
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``release build|publish|verify``."""
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
    log_trust_args(verify, required=False)
    local_args(verify)
    verify.add_argument("--index", type=int, help="the log entry to compare with (with --log)")
    verify.add_argument("--quorum", type=int, help="witnesses that must cosign (default: all)")
    verify.add_argument("--node", help="compare with the release a running node attests to")
    verify.set_defaults(handler=lambda a: asyncio.run(_release_verify(from_local(a, False))))

"""``privcloud node verify``: fetch one node's bundle and run client admission on it, printing
each step (:func:`privcloud.trust.admission.admit`)."""

from __future__ import annotations

import argparse
import asyncio
import time

from privcloud.cli.trust_args import (
    fetch_descriptor,
    from_local,
    local_args,
    log_trust_args,
    trust_roots,
)
from privcloud.errors import PrivcloudError
from privcloud.logclient import LogClient
from privcloud.sdk.logproofs import fetch_log_proofs
from privcloud.sdk.trust_store import (
    FileTrustStore,
    default_state_dir,
    pinned_state,
    refresh_trusted_checkpoint,
)
from privcloud.trust.admission import AdmissionStep, ClientPolicy, admit, proofs_key


async def _node_verify(args: argparse.Namespace) -> None:
    node = await fetch_descriptor(args.url)
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
        proofs = (await fetch_log_proofs(client, state, [node])).get(proofs_key(node))
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
            roots=trust_roots(args),
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``node verify`` under the ``node`` command (registered by :mod:`privcloud.cli.cloud`)."""
    node = sub.choices.get("node")
    if node is None:  # pragma: no cover - the cloud command group registers "node" first
        return
    nsub = node.add_subparsers(dest="node_command")
    nverify = nsub.add_parser("verify", help="fetch a node's bundle and run admission verbosely")
    nverify.add_argument("url", help="the node's base URL (with --local: or its id, e.g. node-1)")
    log_trust_args(nverify, required=False)
    local_args(nverify)
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
    nverify.set_defaults(handler=lambda a: asyncio.run(_node_verify(from_local(a))))

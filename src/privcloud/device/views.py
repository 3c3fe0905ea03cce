"""The console's Nodes and Log views: what the device verified, as JSON for the page.

* :func:`nodes_view` shows the client's last admission (``Client.trail``): each admitted node
  with its attestation, release and the numbered trail of checks that passed
  (:func:`privcloud.trust.admission.admit`), and each refused node with its reason.
* :func:`log_view` reads the transparency log the way the device does (through the relay) and
  shows the trusted checkpoint (the signed note, C2SP tlog-checkpoint), the log's latest one
  with the result of checking it against the trusted one (consistency, RFC 9162 §2.1.4), and,
  once that passed, the latest entries decoded as release manifests and the inclusion proof of
  the nodes' release entry at the latest checkpoint with the result of verifying it (RFC 9162
  §2.1.3.2), the proofs read by tiles, as admissions read them. Checks raise (STYLE.md §4); here
  each refusal is caught and shown as ``{"verified": false, "error": code}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from privcloud.errors import PrivcloudError
from privcloud.logclient import LogClient, consistency_reads
from privcloud.sdk.client_types import Trail
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.client_state import TrustedLogState, verify_inclusion_against
from privcloud.transparency.merkle import leaf_hash
from privcloud.transparency.note import parse_note
from privcloud.trust.admission import AdmittedNode
from privcloud.trust.directory_statement import DirectoryStatement
from privcloud.trust.keys import KeyStatement
from privcloud.trust.release_manifest import ReleaseManifest

#: How many of the log's latest entries the Log tab lists.
LOG_ENTRIES_SHOWN = 20


def _name(value: object) -> str:
    return str(getattr(value, "name", value))


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root_hash": checkpoint.root_hash.hex(),
    }


def release_json(manifest: ReleaseManifest) -> dict[str, Any]:
    """The summary of a release manifest the console shows (the log entry's main fields)."""
    return {
        "package": manifest.package_name,
        "version": manifest.package_version,
        "code_digest": manifest.code_digest.hex(),
        "code_files": manifest.code_files,
        "models": len(manifest.models),
        "model_files": [m.to_json() for m in manifest.models],
        "dependencies": list(manifest.dependencies),
        "measurements": {
            tee: None if m is None else m.hex() for tee, m in sorted(manifest.measurements.items())
        },
        "leaf_hash": manifest.leaf_hash().hex(),
    }


def _admitted_json(node: AdmittedNode) -> dict[str, Any]:
    d, a = node.descriptor, node.attestation
    return {
        "node_id": d.node_id,
        "region": d.region,
        "provider": d.provider,
        "tee": d.tee,
        "features": list(d.features),
        "key_id": d.key_id.hex(),
        "suite": {
            "kem": _name(d.suite.kem),
            "kdf": _name(d.suite.kdf),
            "aead": _name(d.suite.aead),
        },
        "insecure": node.insecure,
        "attestation": {
            "tee_type": a.tee_type,
            "product": a.product,
            "measurement": a.measurement.hex(),
            "debug": a.debug,
            "tcb": dict(a.tcb),
            "signer_chain": list(a.signer_chain),
            "issued_at": a.issued_at,
            "tcb_status": a.tcb_status,
            "advisory_ids": list(a.advisory_ids),
            "checks": [{"name": c.name, "detail": c.detail} for c in a.checks],
        },
        "release": {**release_json(node.manifest), "log_index": node.log_index},
        "checkpoint": checkpoint_json(node.checkpoint),
        "trail": [str(step) for step in node.trail],
        "gpus": [
            {
                "gpu_id": g.gpu_id.hex(),
                "product": g.product,
                "mode": g.mode,
                "driver_version": g.driver_version,
                "vbios_version": g.vbios_version,
                "signer_chain": list(g.signer_chain),
                "rims": [{"kind": k, "version": v, "sha384": h.hex()} for k, v, h in g.rims],
                "checks": [{"name": c.name, "detail": c.detail} for c in g.checks],
            }
            for g in node.gpus
        ],
    }


def nodes_view(trail: Trail) -> dict[str, Any]:
    """The admitted and refused nodes of the client's last admission."""
    return {
        "admitted": [_admitted_json(n) for n in trail.admitted],
        "refused": [{"node_id": node_id, "reason": why} for node_id, why in trail.refused],
        "key_config_id": trail.key_config_id,
        "key_statement_logged": trail.key_statement is not None,
        "key_config_post_quantum": trail.key_statement is not None
        and trail.key_statement.key_config.post_quantum,
        "keys_refused": list(trail.keys_refused),
        "checkpoint": None if trail.checkpoint is None else checkpoint_json(trail.checkpoint),
    }


def _note_json(note: bytes) -> dict[str, Any]:
    parsed = parse_note(note)
    return {
        "text": note.decode("utf-8", errors="replace"),
        "signatures": [{"name": s.name, "key_id": s.key_id.hex()} for s in parsed.signatures],
    }


async def _latest(
    log: LogClient, state: TrustedLogState, now: float
) -> tuple[dict[str, Any], TrustedLogState | None]:
    """The log's latest checkpoint, checked against the trusted one (without adopting it), and
    the state at it when it passed."""
    note = await log.checkpoint()
    claimed = Checkpoint.decode(parse_note(note).text.decode("utf-8"))
    out: dict[str, Any] = {**checkpoint_json(claimed), "note": _note_json(note)}
    trusted = state.checkpoint.size
    proof = await consistency_reads(log, trusted, claimed.size)  # (as an admission reads it)
    out["consistency"] = {"from": trusted, "to": claimed.size, "hashes": [h.hex() for h in proof]}
    try:
        latest = state.update(note, proof, now)
    except PrivcloudError as exc:
        out.update(verified=False, error=exc.code)
        return out, None
    out.update(verified=True, error=None)
    return out, latest


def _entry_json(index: int, entry: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = {"index": index, "bytes": len(entry), "leaf_hash": leaf_hash(entry).hex()}
    try:
        doc["release"] = release_json(ReleaseManifest.decode(entry))
    except PrivcloudError:
        doc["release"] = None
    try:
        statement = KeyStatement.decode(entry)  # a logged OHTTP or issuer key (ADR 0009)
    except PrivcloudError:
        doc["key_statement"] = None
    else:
        doc["key_statement"] = {
            "kind": statement.kind.value,
            "service": statement.service,
            "not_before": statement.not_before,
            "not_after": statement.not_after,
        }
    try:
        directory = DirectoryStatement.decode(entry)  # a gateway's node directory (ADR 0033)
    except PrivcloudError:
        doc["directory_statement"] = None
    else:
        doc["directory_statement"] = {
            "service": directory.service,
            "nodes": len(directory.key_ids),
            "not_before": directory.not_before,
            "not_after": directory.not_after,
        }
    return doc


async def _proof(
    log: LogClient, state: TrustedLogState, index: int, manifest: ReleaseManifest
) -> dict[str, Any]:
    checkpoint = state.checkpoint
    hashes = await log.inclusion_proof(index, checkpoint.size)
    out: dict[str, Any] = {
        "index": index,
        "leaf_hash": manifest.leaf_hash().hex(),
        "tree_size": checkpoint.size,
        "root_hash": checkpoint.root_hash.hex(),
        "hashes": [h.hex() for h in hashes],
    }
    try:
        verify_inclusion_against(state, manifest.encode(), index, hashes)
    except PrivcloudError as exc:
        out.update(verified=False, error=exc.code)
    else:
        out.update(verified=True, error=None)
    return out


async def log_view(
    log: LogClient,
    state: TrustedLogState,
    releases: Mapping[int, ReleaseManifest],
    *,
    now: float,
) -> dict[str, Any]:
    """Checkpoints, the latest entries and the release proofs (see the module docstring).

    ``releases``: log index → release manifest of the admitted nodes. Network failures raise
    :class:`~privcloud.errors.UnavailableError`; a proof that does not verify is reported.
    Entries and proofs are read at the latest checkpoint, once it is proven to extend the
    trusted one, as the device's admissions read them: a read at the trusted size would name
    the size the device's last admission left (in a partial tile's width, or a proof
    endpoint's parameter). A latest checkpoint that fails is shown with nothing read at it.
    """
    trusted = state.checkpoint
    latest, at = await _latest(log, state, now)
    size = 0 if at is None else at.checkpoint.size
    start = max(0, size - LOG_ENTRIES_SHOWN)
    # (the entries endpoint, with the latest size: the relay passes no entry bundles)
    entries = await log.iter_entries(start, size) if size else []
    return {
        "log_url": log.base_url,
        "trusted": {
            **checkpoint_json(trusted),
            "note": None if state.checkpoint_note is None else _note_json(state.checkpoint_note),
            "witnesses": [w.name for w in state.witnesses],
            "required_witnesses": state.required_witnesses,
        },
        "latest": latest,
        "entries": [_entry_json(start + i, e) for i, e in enumerate(entries)][::-1],
        "proofs": [
            await _proof(log, at, index, manifest)
            for index, manifest in sorted(releases.items())
            if at is not None and index < size
        ],
    }

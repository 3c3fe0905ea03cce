"""The device's post-quantum policy and the formats that carry hybrid keys (docs/adr/0014),
sans-IO: which OHTTP key configuration and which node keys a device uses, NodeClaims v2, the
directory's ``pq`` entry, the gateway key ring with two KEMs."""

from __future__ import annotations

import base64
import dataclasses
import json
from types import SimpleNamespace
from typing import Any

import pytest

from privcloud import errors
from privcloud.attest import NodeClaims
from privcloud.attest.base import NODE_CLAIMS_LABEL, NODE_CLAIMS_LABEL_V2, report_data_for
from privcloud.crypto.hpke import (
    MLKEM768X25519_SHA256_CHACHA20,
    X25519_SHA256_AES128GCM,
    KemId,
    generate_keypair,
)
from privcloud.envelope import key_id_for, open_request, parse_header, seal_request
from privcloud.envelope.seal import Recipient
from privcloud.ohttp import GatewayKey, decapsulate_request, encapsulate_request
from privcloud.sdk.keyproofs import (
    KeyProofs,
    ProofReport,
    post_quantum_choice,
    protection_of,
    sealing_descriptors,
)
from privcloud.services.gateway_key import KeyRing
from privcloud.trust.directory import NodeDescriptor, NodeKey
from privcloud.trust.keys import KeyKind, KeyStatement, check_key_count

NOW = 1_764_652_800
SERVICE = "privcloud.gateway"


def _statement(kem: KemId, key_id: int, not_before: int = NOW) -> KeyStatement:
    key = GatewayKey.generate(key_id=key_id, kem=kem)
    return KeyStatement.for_ohttp(SERVICE, key.config, not_before, not_before + 86400)


def _proofs() -> KeyProofs:
    return KeyProofs("http://log.invalid", session=lambda: None, state=lambda: None)  # type: ignore[arg-type,return-value]


HYBRID = _statement(KemId.MLKEM768_X25519, 1)
CLASSICAL = _statement(KemId.DHKEM_X25519_HKDF_SHA256, 2)


# --- the OHTTP key configuration ------------------------------------------------------------


def test_device_prefers_the_hybrid_key_config_whatever_the_order() -> None:
    proofs = _proofs()
    assert proofs.choose_ohttp(ProofReport([CLASSICAL, HYBRID]), now=NOW) == HYBRID
    assert proofs.choose_ohttp(ProofReport([HYBRID, CLASSICAL]), now=NOW) == HYBRID


def test_classical_only_is_accepted_by_default_and_refused_when_required() -> None:
    assert _proofs().choose_ohttp(ProofReport([CLASSICAL]), now=NOW) == CLASSICAL
    with pytest.raises(errors.DowngradeError):
        _proofs().choose_ohttp(ProofReport([CLASSICAL]), now=NOW, require_post_quantum=True)


def test_downgrade_strip_hybrid_keyconfig_after_proof_is_refused_until_it_expires() -> None:
    proofs = _proofs()
    proofs.choose_ohttp(ProofReport([HYBRID, CLASSICAL]), now=NOW)
    with pytest.raises(errors.DowngradeError):
        proofs.choose_ohttp(ProofReport([CLASSICAL]), now=NOW + 60)
    # Once the withheld statement's validity is over, a classical-only gateway is accepted.
    later = HYBRID.not_after + 1
    fresh = _statement(KemId.DHKEM_X25519_HKDF_SHA256, 3, not_before=later - 10)
    assert proofs.choose_ohttp(ProofReport([fresh]), now=later) == fresh


def test_key_count_is_per_kem_so_rotation_of_both_fits() -> None:
    both = [HYBRID, _statement(KemId.MLKEM768_X25519, 4), CLASSICAL, _statement(KemId(0x20), 5)]
    check_key_count(both, NOW, 2)
    with pytest.raises(errors.KeyConsistencyError):
        check_key_count([*both, _statement(KemId.MLKEM768_X25519, 6)], NOW, 2)
    assert HYBRID.kind is KeyKind.OHTTP


# --- node keys and the envelope --------------------------------------------------------------


def _node(name: str, pq: bool) -> NodeDescriptor:
    key = generate_keypair(KemId.DHKEM_X25519_HKDF_SHA256)
    pq_key = None
    if pq:
        h = generate_keypair(KemId.MLKEM768_X25519)
        pq_key = NodeKey(
            key_id_for(h.kem, h.public_bytes), MLKEM768X25519_SHA256_CHACHA20, h.public_bytes
        )
    return NodeDescriptor(
        name,
        key_id_for(key.kem, key.public_bytes),
        X25519_SHA256_AES128GCM,
        key.public_bytes,
        "eu",
        "p",
        "simulated",
        pq_key=pq_key,
    )


def _admitted(*nodes: NodeDescriptor) -> list[Any]:
    return [SimpleNamespace(descriptor=n) for n in nodes]


def test_node_choice_prefers_hybrid_nodes_and_refuses_classical_when_required() -> None:
    a, b, c = _node("a", True), _node("b", False), _node("c", True)
    chosen = post_quantum_choice(_admitted(a, b, c))
    assert [x.descriptor.node_id for x in chosen] == ["a", "c"]
    assert [x.descriptor.node_id for x in post_quantum_choice(_admitted(b))] == ["b"]
    with pytest.raises(errors.DowngradeError):
        post_quantum_choice(_admitted(b), require_post_quantum=True)


def test_envelope_is_sealed_to_hybrid_keys_only_when_every_recipient_has_one() -> None:
    a, b, c = _node("a", True), _node("b", False), _node("c", True)
    hybrid = sealing_descriptors(_admitted(a, c))
    assert all(d.suite.kem == KemId.MLKEM768_X25519 for d in hybrid)
    mixed = sealing_descriptors(_admitted(a, b))
    assert all(d.suite.kem == KemId.DHKEM_X25519_HKDF_SHA256 for d in mixed)
    assert protection_of(HYBRID, _admitted(a, c), ["a", "c"]) == {
        "ohttp": "hybrid",
        "envelope": "hybrid",
    }
    assert protection_of(CLASSICAL, _admitted(a, b), ["a", "b"]) == {
        "ohttp": "classical",
        "envelope": "classical",
    }


def test_hybrid_envelope_and_ohttp_round_trip() -> None:
    keys = [generate_keypair(KemId.MLKEM768_X25519) for _ in range(3)]
    recipients = [Recipient.from_public_key(k.public_bytes, MLKEM768X25519_SHA256_CHACHA20)
                  for k in keys]  # fmt: skip
    envelope, session = seal_request(recipients, b"hello post-quantum")
    assert parse_header(envelope).suite == MLKEM768X25519_SHA256_CHACHA20
    plaintext, node_session = open_request(envelope, recipients[2].key_id, keys[2])
    assert plaintext == b"hello post-quantum"
    assert session.open_response(node_session.seal_response(b"answer")) == [b"answer"]
    gateway = GatewayKey.generate(key_id=7, kem=KemId.MLKEM768_X25519)
    body, client = encapsulate_request(gateway.config, b"inner")
    inner, ctx = decapsulate_request({7: gateway}, body)
    assert inner == b"inner"
    assert client.decapsulate_response(ctx.encapsulate_response(b"reply")) == b"reply"


# --- NodeClaims v2 and the directory entry ---------------------------------------------------


def _claims(pq: bytes = b"") -> NodeClaims:
    return NodeClaims(
        public_key=b"\x01" * 32,
        issued_at=NOW,
        region="eu",
        provider="p",
        suite=(0x20, 1, 1),
        pq_public_key=pq,
        pq_suite=(0x647A, 1, 3) if pq else None,
    )


def test_claims_without_a_hybrid_key_keep_the_v1_encoding_and_label() -> None:
    v1 = _claims()
    assert v1.report_data() == report_data_for(v1.encode(), NODE_CLAIMS_LABEL)
    v2 = _claims(b"\x02" * 1216)
    assert v2.encode().startswith(v1.encode())
    assert v2.encode()[len(v1.encode()) :] == (1216).to_bytes(2, "big") + b"\x02" * 1216 + (
        bytes.fromhex("647a00010003")
    )
    assert v2.report_data() == report_data_for(v2.encode(), NODE_CLAIMS_LABEL_V2)
    assert v2.report_data() != v1.report_data()


def test_claims_need_both_the_hybrid_key_and_its_suite() -> None:
    with pytest.raises(errors.UsageError):
        dataclasses.replace(_claims(), pq_suite=(0x647A, 1, 3))
    with pytest.raises(errors.UsageError):
        dataclasses.replace(_claims(b"\x02" * 1216), pq_suite=None)


def test_directory_pq_entry_round_trips_and_a_key_id_not_committing_is_refused() -> None:
    node = _node("a", True)
    again = NodeDescriptor.from_json(json.loads(json.dumps(node.to_json())))
    assert again == node and again.key_ids == (node.key_id, node.pq_key.key_id)  # type: ignore[union-attr]
    doc = node.to_json()
    doc["pq"]["key_id"] = base64.b64encode(b"\x00" * 32).decode()
    with pytest.raises(errors.DecodeError):
        NodeDescriptor.from_json(doc)
    doc = node.to_json()
    doc["pq"]["kem"] = 0x20  # a classical key in the post-quantum slot
    with pytest.raises(errors.PrivcloudError):
        NodeDescriptor.from_json(doc)
    old_reader = node.to_json()
    del old_reader["pq"]
    assert NodeDescriptor.from_json(old_reader).pq_key is None


# --- the gateway's key ring ------------------------------------------------------------------


def test_gateway_ring_offers_one_key_per_kem_hybrid_first() -> None:
    ring = KeyRing().with_missing_keys(SERVICE, 86400, NOW)
    offered = ring.offered(NOW)
    assert [r.key.config.kem for r in offered] == [KemId.MLKEM768_X25519, KemId(0x20)]
    assert ring.with_missing_keys(SERVICE, 86400, NOW) is ring
    again = KeyRing.decode(ring.encode())
    assert [r.key.config for r in again.offered(NOW)] == [r.key.config for r in offered]


def test_every_byte_of_a_hybrid_envelope_and_ohttp_request_is_authenticated() -> None:
    keys = [generate_keypair(KemId.MLKEM768_X25519) for _ in range(2)]
    recipients = [
        Recipient.from_public_key(k.public_bytes, MLKEM768X25519_SHA256_CHACHA20) for k in keys
    ]
    envelope, _ = seal_request(recipients, b"x" * 40)
    for pos in range(len(envelope)):
        bad = bytearray(envelope)
        bad[pos] ^= 0x01
        with pytest.raises(errors.PrivcloudError):
            open_request(bytes(bad), recipients[1].key_id, keys[1])
    gateway = GatewayKey.generate(key_id=3, kem=KemId.MLKEM768_X25519)
    body, _ = encapsulate_request(gateway.config, b"inner request")
    for pos in range(len(body)):
        bad = bytearray(body)
        bad[pos] ^= 0x01
        with pytest.raises(errors.PrivcloudError):
            decapsulate_request({3: gateway}, bytes(bad))

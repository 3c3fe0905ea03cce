"""The trust store's record of proven hybrid OHTTP key statements (sdk/trust_store.py): its
format (versioned, a file beside the checkpoint's), bounds, and KeyProofs reading it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from privcloud import errors, limits
from privcloud.crypto.hpke import KemId
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.ohttp import GatewayKey
from privcloud.sdk.keyproofs import KeyProofs, ProofReport
from privcloud.sdk.trust_store import (
    FileTrustStore,
    MemoryTrustStore,
    decode_hybrid_record,
    encode_hybrid_record,
    pinned_state,
)
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.note import Ed25519NoteSigner
from privcloud.trust.keys import KeyStatement

NOW = 1_764_652_800
SERVICE = "privcloud.gateway"
LOG = pinned_state(
    Ed25519NoteSigner("example.test/log", Ed25519PrivateKey.from_seed(b"\x07" * 32))
    .verifier()
    .vkey(),
    [WitnessKey("witness.test/w", Ed25519PrivateKey.from_seed(b"\x08" * 32)).verifier().vkey()],
)


def _statement(kem: KemId, key_id: int, not_after: int = NOW + 86400) -> KeyStatement:
    key = GatewayKey.generate(key_id=key_id, kem=kem)
    return KeyStatement.for_ohttp(SERVICE, key.config, NOW, not_after)


HYBRID = _statement(KemId.MLKEM768_X25519, 1)
CLASSICAL = _statement(KemId.DHKEM_X25519_HKDF_SHA256, 2)


def test_record_round_trips_and_a_store_without_one_is_empty(tmp_path: Path) -> None:
    store = FileTrustStore(tmp_path)
    assert store.load_hybrid_statements(LOG) == []  # a store written before the record existed
    store.save_hybrid_statements(LOG, [HYBRID], NOW)
    store.save_hybrid_statements(LOG, [HYBRID], NOW)  # no duplicate
    assert FileTrustStore(tmp_path).load_hybrid_statements(LOG) == [HYBRID]
    path = store.hybrid_path_for(LOG)
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_bytes())["version"] == 1
    # The checkpoint's own file is untouched (its format has not changed).
    assert not store.path_for(LOG).exists()


def test_expired_statements_are_dropped_and_the_record_is_bounded() -> None:
    store = MemoryTrustStore()
    soon = _statement(KemId.MLKEM768_X25519, 3, not_after=NOW + 10)
    store.save_hybrid_statements(LOG, [HYBRID, soon], NOW)
    store.save_hybrid_statements(LOG, [], NOW + 20)
    assert store.load_hybrid_statements(LOG) == [HYBRID]
    many = [_statement(KemId.MLKEM768_X25519, i, NOW + 100 + i) for i in range(20)]
    store.save_hybrid_statements(LOG, many, NOW)
    assert len(store.load_hybrid_statements(LOG)) == limits.MAX_KEY_STATEMENTS


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b'{"version": 2, "hybrid_ohttp": []}',
        b'{"version": 1, "hybrid_ohttp": ["not base64!"]}',
        b'{"version": 1, "hybrid_ohttp": [1]}',
        encode_hybrid_record([CLASSICAL]),
        b"x" * (limits.MAX_KEY_STATEMENTS_DOC_BYTES + 1),
    ],
)
def test_damaged_record_is_refused_not_read_as_nothing_proven(data: bytes) -> None:
    with pytest.raises((errors.DecodeError, errors.TooLargeError)):
        decode_hybrid_record(data)


def _proofs(state_dir: Path) -> KeyProofs:
    """A device's key proofs over a trust store in ``state_dir`` (a restart: a new one)."""
    return KeyProofs(
        "http://log.invalid",
        session=lambda: None,  # type: ignore[arg-type,return-value]
        state=lambda: LOG,
        store=FileTrustStore(state_dir),
    )


def test_downgrade_strip_hybrid_keyconfig_after_restart_is_refused_sans_io(
    tmp_path: Path,
) -> None:
    first = _proofs(tmp_path)
    assert first.choose_ohttp(ProofReport([CLASSICAL, HYBRID]), now=NOW) == HYBRID
    restarted = _proofs(tmp_path)
    with pytest.raises(errors.DowngradeError):
        restarted.choose_ohttp(ProofReport([CLASSICAL]), now=NOW + 60)
    # Once the remembered statement has expired, classical is accepted again.
    later = _proofs(tmp_path)
    assert later.choose_ohttp(ProofReport([CLASSICAL]), now=NOW + 86400) == CLASSICAL

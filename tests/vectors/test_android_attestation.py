"""Real Android hardware key attestation chains (EC and RSA keys, TEE and StrongBox).

Where they come from: ``../shared/vectors/device-attestation/android/`` (PROVENANCE.md, "Added
2026-12-02"): google/android-key-attestation ``src/test/resources/der/`` @f9846cd0, and its
``status.json`` sample status list. They were made on development devices with the challenge
``abc``, an unlocked bootloader and unverified boot (the records say so), patch level 2019-07:
they verify at a fixed time inside their validity, for the challenge they carry, under a policy
that accepts unlocked devices; production's policy refuses them for exactly that.

The TEE chains end in Google's RSA hardware attestation root (its 2016 certificate, pinned);
the StrongBox chains end in a sample root (serialNumber=e35d38c6897d47e8, not Google's): the
RSA one verifies only when a test pins that root, and production refuses it as another root.
The EC StrongBox leaf encodes ecdsa-with-SHA256 with NULL parameters (RFC 5758 §3.2 forbids
them) and is refused as malformed.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from privcloud.crypto.x509 import load_certificate
from privcloud.deviceattest import (
    AndroidPolicy,
    Reason,
    google_roots,
    parse_status_list,
    verify_android_attestation,
)
from privcloud.deviceattest.keydescription import (
    KEY_DESCRIPTION_OID,
    SecurityLevel,
    VerifiedBootState,
    parse_application_id,
    parse_key_description,
)
from privcloud.deviceattest.status import serial_key
from privcloud.errors import DeviceAttestationError

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "device-attestation"
ANDROID = VECTORS / "android"
AT = float(calendar.timegm((2019, 10, 1, 0, 0, 0)))
DEV_POLICY = AndroidPolicy(insecure_allow_unlocked=True, max_patch_age_months=None)


def _chain(name: str) -> list[bytes]:
    return [(ANDROID / name / f"cert{i}.der").read_bytes() for i in range(4)]


def _sample_root_policy() -> AndroidPolicy:
    root = load_certificate(_chain("algorithm_RSA_SecurityLevel_StrongBox")[3])
    return AndroidPolicy(roots=(root,), insecure_allow_unlocked=True, max_patch_age_months=None)


def test_pinned_google_roots_are_the_published_ones() -> None:
    fingerprints = sorted(r.fingerprint_sha256.hex() for r in google_roots())
    assert fingerprints == sorted(
        [
            "c1984a3ef45c1e2a918551de10603c86f7051b2249c4891cae3230eabd0c97d5",
            "cedb1cb6dc896ae5ec797348bce9286753c2b38ee71ce0fbe34a9a1248800dfc",
            "6d9db4ce6c5c0b293166d08986e05774a8776ceb525d9e4329520de12ba4bcc0",
        ]
    )
    rsa_spki = {hashlib.sha256(r.public_key_info()).hexdigest() for r in google_roots()}
    # Constants.GOOGLE_ROOT_CA_PUB_KEY of google/android-key-attestation, and the P-384 key.
    assert "feb2ea7551ee316ed4bb443c8293b884dbfdea40b603ee3e4f4a897e4580fbae" in rsa_spki
    assert len(rsa_spki) == 2


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("algorithm_EC_SecurityLevel_TEE", SecurityLevel.TRUSTED_ENVIRONMENT),
        ("algorithm_RSA_SecurityLevel_TEE", SecurityLevel.TRUSTED_ENVIRONMENT),
    ],
)
def test_real_tee_chain_verifies_to_the_google_root(name: str, level: SecurityLevel) -> None:
    result = verify_android_attestation(
        _chain(name), challenge=b"abc", at=AT, policy=DEV_POLICY, status=None
    )
    assert result.security_level == level
    assert result.attestation_version == 3
    assert result.os_patch_level == 201907
    assert result.verified_boot_state == VerifiedBootState.UNVERIFIED
    assert result.device_locked is False
    assert result.root_fingerprint.hex().startswith("c1984a3e")
    assert len(result.device_id) == 16


def test_real_rsa_strongbox_chain_verifies_to_its_sample_root() -> None:
    result = verify_android_attestation(
        _chain("algorithm_RSA_SecurityLevel_StrongBox"),
        challenge=b"abc",
        at=AT,
        policy=_sample_root_policy(),
        status=None,
    )
    assert result.security_level == SecurityLevel.STRONG_BOX


def test_real_strongbox_chain_to_another_root_is_refused_by_production_roots() -> None:
    with pytest.raises(DeviceAttestationError, match=f"^{Reason.UNTRUSTED_ROOT}:"):
        verify_android_attestation(
            _chain("algorithm_RSA_SecurityLevel_StrongBox"),
            challenge=b"abc",
            at=AT,
            policy=DEV_POLICY,
            status=None,
        )


def test_real_ec_strongbox_leaf_with_null_ecdsa_parameters_is_refused_as_malformed() -> None:
    with pytest.raises(DeviceAttestationError, match=f"^{Reason.MALFORMED}:"):
        verify_android_attestation(
            _chain("algorithm_EC_SecurityLevel_StrongBox"),
            challenge=b"abc",
            at=AT,
            policy=_sample_root_policy(),
            status=None,
        )


def test_real_unlocked_development_device_is_refused_by_production_policy() -> None:
    with pytest.raises(DeviceAttestationError, match=f"^{Reason.ROOT_OF_TRUST}:"):
        verify_android_attestation(
            _chain("algorithm_EC_SecurityLevel_TEE"),
            challenge=b"abc",
            at=AT,
            policy=AndroidPolicy(max_patch_age_months=None),
            status=None,
        )


def test_real_chain_with_another_challenge_is_refused() -> None:
    with pytest.raises(DeviceAttestationError, match=f"^{Reason.CHALLENGE}:"):
        verify_android_attestation(
            _chain("algorithm_EC_SecurityLevel_TEE"),
            challenge=b"abd",
            at=AT,
            policy=DEV_POLICY,
            status=None,
        )


def test_real_chain_after_2016_root_expired_anchors_on_the_2022_certificate() -> None:
    """The chain carries the 2016 root certificate (expired 2026-05-24); its key is pinned, so
    the 2022 certificate of the same key anchors it; the 2028 intermediates still expire."""
    at = float(calendar.timegm((2027, 1, 1, 0, 0, 0)))
    result = verify_android_attestation(
        _chain("algorithm_RSA_SecurityLevel_TEE"),
        challenge=b"abc",
        at=at,
        policy=DEV_POLICY,
        status=None,
    )
    assert result.root_fingerprint.hex().startswith("cedb1cb6")


def test_real_chain_after_its_intermediates_expired_is_refused() -> None:
    at = float(calendar.timegm((2028, 6, 1, 0, 0, 0)))
    with pytest.raises(DeviceAttestationError, match=f"^{Reason.EXPIRED}:"):
        verify_android_attestation(
            _chain("algorithm_EC_SecurityLevel_TEE"),
            challenge=b"abc",
            at=at,
            policy=DEV_POLICY,
            status=None,
        )


def test_real_key_description_fields() -> None:
    leaf = load_certificate(_chain("algorithm_RSA_SecurityLevel_StrongBox")[0])
    value = leaf.extension(KEY_DESCRIPTION_OID)
    assert value is not None
    record = parse_key_description(value)
    assert record.attestation_challenge == b"abc"
    assert record.keymint_version == 4
    assert record.keymint_security_level == SecurityLevel.STRONG_BOX
    hw = record.hardware_enforced
    assert hw.purposes == {2, 3}
    assert hw.integer(706) == 201907 and hw.integer(718) == 20190705
    assert hw.root_of_trust is not None and hw.root_of_trust.device_locked is False


def test_real_application_id_names_the_apps_and_their_signing_digest() -> None:
    leaf = load_certificate(_chain("algorithm_EC_SecurityLevel_TEE")[0])
    value = leaf.extension(KEY_DESCRIPTION_OID)
    assert value is not None
    raw = parse_key_description(value).software_enforced.application_id
    assert raw is not None
    app = parse_application_id(raw)
    assert {"android", "com.android.keychain", "com.android.settings"} <= app.packages
    digest = bytes.fromhex("301aa3cb081134501c45f1422abc66c24224fd5ded5fdc8f17e697176fd866aa")
    assert app.signature_digests == {digest}
    allowed = AndroidPolicy(
        insecure_allow_unlocked=True,
        max_patch_age_months=None,
        allowed_apps=frozenset({("com.android.keychain", digest)}),
    )
    chain = _chain("algorithm_EC_SecurityLevel_TEE")
    verify_android_attestation(chain, challenge=b"abc", at=AT, policy=allowed, status=None)
    other = replace(allowed, allowed_apps=frozenset({("com.example.privcloud", digest)}))
    with pytest.raises(DeviceAttestationError, match=f"^{Reason.APPLICATION}:"):
        verify_android_attestation(chain, challenge=b"abc", at=AT, policy=other, status=None)


def test_sample_status_list_parses_and_refuses_a_listed_serial() -> None:
    status = parse_status_list((ANDROID / "revocation_status_sample.json").read_bytes())
    assert len(status.entries) == 5
    listed = status.status_of(int("cc66e9a93713b6e643b26c15879786f7", 16))
    assert listed is not None and listed.status == "SUSPENDED"
    chain = _chain("algorithm_EC_SecurityLevel_TEE")
    intermediate = load_certificate(chain[1])
    document = (
        b'{"entries": {"'
        + serial_key(intermediate.serial_number).encode()
        + b'": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}'
    )
    with pytest.raises(DeviceAttestationError, match=f"^{Reason.REVOKED}:"):
        verify_android_attestation(
            chain, challenge=b"abc", at=AT, policy=DEV_POLICY, status=parse_status_list(document)
        )
    verify_android_attestation(chain, challenge=b"abc", at=AT, policy=DEV_POLICY, status=status)

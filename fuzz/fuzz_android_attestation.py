"""Fuzz target: Android hardware key attestation (privcloud.deviceattest) and the attested
enrolment body (privacypass/issuance.py).

Operations: ``key_description`` (the KeyDescription extension value); ``status_list`` (the
operator's attestation status list); ``chain``: the whole verifier at 2019-10-01 (inside the
real sample chains' validity) for the challenge ``abc``, trusting Google's pinned roots, with a
development policy that lets the real (unlocked) sample chains through; its input is a
sequence of ``u16 length || certificate DER``; ``enrolment``: an enrolment request body (either
form); ``application_id`` (attestationApplicationId). Invariant (fuzz/harness.py): our errors
only.
"""

from __future__ import annotations

import calendar
import json
from pathlib import Path
from typing import Final

from fuzz import harness
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from privcloud.deviceattest import AndroidPolicy, parse_status_list, verify_android_attestation
from privcloud.deviceattest.keydescription import (
    KEY_DESCRIPTION_OID,
    parse_application_id,
    parse_key_description,
)
from privcloud.errors import DecodeError
from privcloud.privacypass.issuance import (
    decode_enrolment_request,
    encode_attested_enrolment,
    encode_enrolment,
)

AT: Final = float(calendar.timegm((2019, 10, 1, 0, 0, 0)))
_POLICY: Final = AndroidPolicy(insecure_allow_unlocked=True, max_patch_age_months=None)
#: A KeyDescription of the AOSP schema (version 3, TEE, challenge "abc", locked, verified,
#: origin generated, purpose sign, patch level 2019-07), as tests/support/android_synthetic.py
#: writes it.
KEY_DESCRIPTION: Final = bytes.fromhex(
    "3081aa0201030a01010201030a010104036162630400300cbf853d080206018bcfe56800308186a105310302"
    "0102a203020103a30402020100aa03020101bf8377020500bf853e03020100bf85404c304a04200000000000"
    "0000000000000000000000000000000000000000000000000000000101ff0a01000420000102030405060708"
    "090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fbf85410502030249f0bf85420502030314b3"
)


#: An attestationApplicationId: one package ("com.example", version 1), one digest.
APPLICATION_ID: Final = bytes.fromhex(
    "3033" "3112" "3010" "040b" + b"com.example".hex() + "020101" "311d" "041b" + "ab" * 27
)  # fmt: skip


def frame(chain: list[bytes]) -> bytes:
    """The ``chain`` operation's input: each certificate as ``u16 length || DER``."""
    return b"".join(len(c).to_bytes(2, "big") + c for c in chain)


def _unframe(data: bytes) -> list[bytes]:
    chain, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise DecodeError("truncated chain frame")
        size = int.from_bytes(data[pos : pos + 2], "big")
        chain.append(data[pos + 2 : pos + 2 + size])
        pos += 2 + size
    return chain


def _chain(data: bytes) -> None:
    verify_android_attestation(_unframe(data), challenge=b"abc", at=AT, policy=_POLICY, status=None)


OPS: harness.Ops = (
    ("key_description", parse_key_description),
    ("status_list", parse_status_list),
    ("chain", _chain),
    ("enrolment", decode_enrolment_request),
    ("application_id", parse_application_id),
)


def own_seeds() -> list[bytes]:
    """A hand-written KeyDescription, a status list, a synthetic chain (a self-signed test
    root above a leaf carrying the KeyDescription) and both enrolment forms."""
    root_key, leaf_key = EcPrivateKey.generate(Curve.P384), EcPrivateKey.generate(Curve.P256)
    root = build_certificate(
        CertificateRequest("fuzz root", AT - 1e7, AT + 1e8, 2, ca=True),
        root_key,
        issuer=None,
        issuer_key=root_key,
    )
    leaf = build_certificate(
        CertificateRequest(
            "Android Keystore Key",
            AT - 1e6,
            AT + 1e7,
            extensions={KEY_DESCRIPTION_OID: KEY_DESCRIPTION},
        ),
        leaf_key,
        issuer=root,
        issuer_key=root_key,
    )
    status = json.dumps({"entries": {"2a5": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}})
    device = Ed25519PrivateKey.from_seed(bytes(32))
    attested = encode_attested_enrolment(
        device, bytes(32), [leaf.der, root.der], lambda m: bytes(70)
    )
    return [
        harness.seed(OPS, "key_description", KEY_DESCRIPTION),
        harness.seed(OPS, "status_list", status.encode()),
        harness.seed(OPS, "chain", frame([leaf.der, root.der])),
        harness.seed(OPS, "enrolment", attested),
        harness.seed(OPS, "enrolment", encode_enrolment(device, "a-code")),
        harness.seed(OPS, "application_id", APPLICATION_ID),
    ]


def shared_seeds(vectors: Path) -> list[bytes]:
    """The four real chains, their leaves' KeyDescriptions and the sample status list."""
    folder = vectors / "device-attestation" / "android"
    seeds = [
        harness.seed(OPS, "status_list", (folder / "revocation_status_sample.json").read_bytes())
    ]
    for sample in sorted(p for p in folder.iterdir() if p.is_dir()):
        chain = [(sample / f"cert{i}.der").read_bytes() for i in range(4)]
        seeds.append(harness.seed(OPS, "chain", frame(chain)))
        leaf = chain[0]
        at = leaf.find(bytes.fromhex("060a2b06010401d679020111"))  # the OID, then OCTET STRING
        if at >= 0:
            seeds.append(harness.seed(OPS, "key_description", _octets_after(leaf, at + 12)))
    return seeds


def _octets_after(der: bytes, pos: int) -> bytes:
    """The content of the OCTET STRING at ``pos`` (the extension value), for seeding only."""
    length = der[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    return der[start : start + length]


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()

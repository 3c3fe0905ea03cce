"""INSECURE software-simulated TEE, for development and tests only.

No hardware protects a node that attests this way: anyone holding the dev root key can make any
report. It exists so that the whole cloud runs on a laptop. It is loud on purpose (STYLE.md §8):
every class carries "Insecure" in its name, every use logs a warning to ``privcloud.attest``, and
the verifier refuses it unless the policy sets ``allow_insecure_simulated`` (the default policy
does not) — that check runs before the evidence is even parsed.

Report format, version 1 (all integers big-endian), 280 bytes::

    offset size  field
         0   28  magic        b"PRIVCLOUD-SIMULATED-INSECURE"
        28    2  version      1
        30    2  flags        bit 0: debug; other bits must be zero
        32    8  timestamp    Unix seconds when the report was made
        40   48  measurement  what the simulated node claims to run
        88   64  report_data  chosen by the node (see base.report_data_for)
       152   32  key_id       SHA-256 of the dev root's SEC1 uncompressed public key
       184   96  signature    ECDSA P-384 / SHA-384 over bytes 0..184, raw r || s

The dev root is an ECDSA P-384 key made locally; its public key is configured as trusted in the
verifier (it never travels in the evidence).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import Final

from privcloud.attest.base import (
    REPORT_DATA_SIZE,
    TEE_SIMULATED,
    AttestationResult,
    Evidence,
    Policy,
    check_policy,
    logger,
)
from privcloud.crypto.x509 import Curve, EcPrivateKey, EcPublicKey
from privcloud.errors import DecodeError, PolicyError, UsageError, VerificationError

MAGIC: Final = b"PRIVCLOUD-SIMULATED-INSECURE"
VERSION: Final = 1
MEASUREMENT_SIZE: Final = 48
_HEADER = struct.Struct(">28sHHQ48s64s32s")
SIGNED_SIZE: Final = _HEADER.size  # 184
SIGNATURE_SIZE: Final = 96
REPORT_SIZE: Final = SIGNED_SIZE + SIGNATURE_SIZE  # 280
_FLAG_DEBUG = 0x0001


def key_id(public_key: bytes) -> bytes:
    """SHA-256 of a SEC1 public key: names the dev root that signed a report."""
    return hashlib.sha256(public_key).digest()


class InsecureSimulatedTee:
    """INSECURE: a software TEE that signs reports with a local dev root key.

    Development only. Every report it makes logs a warning.
    """

    __slots__ = ("_key", "debug", "measurement")

    def __init__(self, key: EcPrivateKey, measurement: bytes, *, debug: bool = False) -> None:
        if key.curve is not Curve.P384:
            raise UsageError("the simulated dev root is an ECDSA P-384 key")
        if len(measurement) != MEASUREMENT_SIZE:
            raise UsageError("simulated measurement must be 48 bytes")
        self._key = key
        self.measurement = measurement
        self.debug = debug

    @classmethod
    def generate(cls, measurement: bytes, *, debug: bool = False) -> InsecureSimulatedTee:
        """A simulated TEE with a fresh dev root key."""
        return cls(EcPrivateKey.generate(Curve.P384), measurement, debug=debug)

    @property
    def public_key(self) -> bytes:
        """The dev root's SEC1 public key: configure it in the verifier's trusted keys."""
        return self._key.public_key().to_bytes()

    def evidence(self, report_data: bytes, *, now: float) -> Evidence:
        """Make a signed report over ``report_data`` at time ``now``."""
        logger.warning("INSECURE: producing simulated TEE evidence (no hardware protection)")
        if len(report_data) != REPORT_DATA_SIZE:
            raise UsageError("report data must be 64 bytes")
        if now < 0:
            raise UsageError("time must not be negative")
        body = _HEADER.pack(
            MAGIC,
            VERSION,
            _FLAG_DEBUG if self.debug else 0,
            int(now),
            self.measurement,
            report_data,
            key_id(self.public_key),
        )
        return Evidence(tee_type=TEE_SIMULATED, raw=body + self._key.sign(body))


class InsecureSimulatedVerifier:
    """INSECURE: verifies :class:`InsecureSimulatedTee` reports. Refused by default policy."""

    tee_type = TEE_SIMULATED

    def __init__(self, trusted_keys: Sequence[bytes]) -> None:
        self._keys = {key_id(k): EcPublicKey.from_bytes(Curve.P384, k) for k in trusted_keys}

    def verify(self, evidence: Evidence, *, now: float, policy: Policy) -> AttestationResult:
        """0. refuse unless the policy opts in; 1. parse; 2. check the dev root signature;
        3. check policy."""
        logger.warning("INSECURE: verifying simulated TEE evidence (no hardware protection)")
        # 0. Opt-in first: a default policy never even parses simulated evidence.
        if not policy.allow_insecure_simulated:
            raise PolicyError("insecure simulated evidence refused by policy")
        if evidence.tee_type != TEE_SIMULATED:
            raise UsageError("evidence is not simulated evidence")
        # 1. Parse.
        raw = evidence.raw
        if len(raw) != REPORT_SIZE:
            raise DecodeError("simulated report has the wrong size")
        magic, version, flags, timestamp, measurement, report_data, kid = _HEADER.unpack_from(raw)
        if magic != MAGIC:
            raise DecodeError("not a simulated report")
        if version != VERSION:
            raise DecodeError("unsupported simulated report version")
        if flags & ~_FLAG_DEBUG:
            raise DecodeError("unknown simulated report flags")
        # 2. Signature by a configured dev root.
        key = self._keys.get(kid)
        if key is None:
            raise VerificationError("simulated report signed by an unknown dev root")
        key.verify(raw[SIGNED_SIZE:], raw[:SIGNED_SIZE])
        # 3. Policy.
        result = AttestationResult(
            tee_type=TEE_SIMULATED,
            measurement=measurement,
            report_data=report_data,
            debug=bool(flags & _FLAG_DEBUG),
            tcb={},
            platform_id=b"",
            signer_chain=("insecure simulated dev root " + kid.hex()[:16],),
            product="simulated",
            issued_at=float(timestamp),
            insecure=True,
        )
        check_policy(result, policy, now=now)
        return result

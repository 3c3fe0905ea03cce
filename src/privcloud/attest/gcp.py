"""Google Confidential Space attestation tokens (tee_type ``gcp-confidential-space``), verified
offline (docs/trust-model.md#confidential-space).

A Confidential Space VM asks Google's attestation service for a *PKI* token: a JWS (RFC 7515,
compact form) signed RS256 by a key whose certificate chain travels in the header's ``x5c``
(leaf first) and ends at Google's Confidential Space root. The node publishes
``Evidence.raw = report_data (64 bytes) ‖ token`` with the token's ``eat_nonce`` holding
``hex(SHA-256(report_data))`` (Google accepts nonces of 10 to 74 bytes; the 64-byte
NodeClaims report data itself does not fit).

Steps of :meth:`ConfidentialSpaceVerifier.verify`, raising at the first failure:

1. **Parse**: three base64url parts; the header is a JSON object whose ``alg`` is exactly
   ``RS256`` (``none``, HMAC and every other algorithm are refused: no algorithm confusion),
   ``typ`` ``JWT`` when present, no ``crit``, and an ``x5c`` of 1 to 4 certificates; the claims
   are a JSON object.
2. **Chain**: ``x5c`` chains up to a *pinned* root at ``now``
   (:func:`~privcloud.crypto.pkcs1.verify_pkcs1_chain`).
3. **Signature**: RSASSA-PKCS1-v1_5 SHA-256 by the leaf over ``header.payload``.
4. **Token claims**: ``iss`` is Google's; ``aud`` is the configured audience; ``nbf``/``iat``
   not in the future and ``exp`` not past (with the policy's clock skew).
5. **Platform claims**: ``swname`` CONFIDENTIAL_SPACE, ``hwmodel`` allowed, ``secboot`` true,
   ``oemid`` Google's (11129), ``dbgstat`` ``disabled-since-boot`` (anything else is a debug
   result), the Confidential Space image's ``support_attributes`` include the required ones,
   ``submods.container.image_digest`` well-formed and in the allowed set when set.
6. **Binding**: one ``eat_nonce`` is ``hex(SHA-256(report_data))``.
7. **Common policy** on the result; the measurement is SHA-384 over a label and the container
   image digest (what a release manifest records for this TEE type).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from privcloud import limits
from privcloud.attest.base import (
    REPORT_DATA_SIZE,
    TEE_GCP_CONFIDENTIAL_SPACE,
    AttestationResult,
    Check,
    Evidence,
    PinnedVerifier,
    Policy,
    check_policy,
)
from privcloud.crypto.pkcs1 import Hash, RsaPublicKey, verify_pkcs1_chain
from privcloud.crypto.x509 import Certificate, Crl, load_certificate
from privcloud.errors import ConfigError, DecodeError, PolicyError, TooLargeError, VerificationError
from privcloud.wire import jsonio

#: The issuer of Confidential Space tokens (its OpenID discovery document says so).
ISSUER: Final = "https://confidentialcomputing.googleapis.com"
#: Where Google publishes the PKI token root (``root_ca_uri``); not reachable offline.
PKI_ROOT_ENDPOINT: Final = ISSUER + "/.well-known/attestation-pki-root"
#: Google's IANA private enterprise number, the ``oemid`` of its tokens.
GOOGLE_OEMID: Final = 11129
#: Domain label of the measurement (step 7).
MEASUREMENT_LABEL: Final = b"privcloud confidential-space image v1"
DEBUG_OFF: Final = "disabled-since-boot"
_B64URL = re.compile(r"[A-Za-z0-9_-]*\Z")
_IMAGE_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


def production_roots() -> tuple[Certificate, ...]:
    """Google's Confidential Space root is not shipped with privcloud (it was not available
    offline when this verifier was written), so there is no silent default: raises
    :class:`ConfigError` saying what the operator must configure."""
    raise ConfigError(
        "Google's Confidential Space root certificate is not shipped: fetch root_ca_uri from "
        f"{PKI_ROOT_ENDPOINT}, check it, and pass it as ConfidentialSpaceTrust(roots=...)"
    )


def _default_hwmodels() -> frozenset[str]:
    return frozenset({"GCP_AMD_SEV", "GCP_AMD_SEV_SNP", "GCP_INTEL_TDX"})


@dataclass(frozen=True)
class ConfidentialSpaceTrust:
    """What the operator configures for Confidential Space tokens (docs/trust.md)."""

    #: Google's Confidential Space root(s) (see :func:`production_roots`).
    roots: tuple[Certificate, ...]
    #: The audience the node asked the token for (a privcloud-specific URI).
    audience: str
    allowed_hwmodels: frozenset[str] = field(default_factory=_default_hwmodels)
    #: When set, ``submods.container.image_digest`` must be one of these (``sha256:<hex>``).
    allowed_image_digests: frozenset[str] | None = None
    #: Support attributes the Confidential Space image must have (debug images have none).
    required_support_attributes: frozenset[str] = frozenset({"STABLE"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "roots", tuple(self.roots))
        if not self.roots or not self.audience:
            raise ConfigError("Confidential Space trust needs a root and an audience")


def nonce_for(report_data: bytes) -> str:
    """The ``eat_nonce`` that binds ``report_data``: lowercase hex of its SHA-256."""
    return hashlib.sha256(report_data).hexdigest()


def _b64url(part: str) -> bytes:
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise DecodeError("token part is not base64url")
    value = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    if base64.urlsafe_b64encode(value).rstrip(b"=") != part.encode():
        raise DecodeError("token part is not canonical base64url")  # no malleable spare bits
    return value


def json_object(raw: bytes) -> dict[str, Any]:
    """A token part's JSON object (bounded, no duplicate names); :class:`DecodeError`."""
    value = jsonio.loads(
        raw,
        max_bytes=limits.MAX_JWT_BYTES,
        max_depth=limits.MAX_JWT_JSON_DEPTH,
        allow_duplicate_keys=False,
    )
    if not isinstance(value, dict):
        raise DecodeError("token part is not a JSON object")
    return value


@dataclass(frozen=True)
class Token:
    """A parsed token: its header, claims, x5c certificates, signature and signed bytes."""

    header: dict[str, Any]
    claims: dict[str, Any]
    chain: tuple[Certificate, ...]
    signature: bytes
    signed: bytes


def parse_token(token: bytes) -> Token:
    """Step 1 (module docstring)."""
    if len(token) > limits.MAX_JWT_BYTES:
        raise TooLargeError("token too large")
    try:
        text = token.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError("token is not ASCII") from exc
    parts = text.split(".")
    if len(parts) != 3:
        raise DecodeError("token is not a compact JWS")
    header = json_object(_b64url(parts[0]))
    if header.get("alg") != "RS256":
        raise VerificationError("token algorithm not allowed (only RS256)")
    if "crit" in header or header.get("typ", "JWT") != "JWT":
        raise VerificationError("token header not allowed")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not 0 < len(x5c) <= limits.MAX_JWT_X5C_CERTIFICATES:
        raise VerificationError("token has no usable x5c chain")
    chain = []
    for item in x5c:
        if not isinstance(item, str):
            raise DecodeError("x5c entry is not a string")
        try:
            der = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError("x5c entry is not base64") from exc
        chain.append(load_certificate(der))
    claims = json_object(_b64url(parts[1]))
    signature = _b64url(parts[2])
    signed = (parts[0] + "." + parts[1]).encode("ascii")
    return Token(header, claims, tuple(chain), signature, signed)


def _int(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise VerificationError("token time claim missing or not an integer in range")
    return value


def _str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise VerificationError(f"token claim {what} missing or not a string")
    return value


def _dict(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise VerificationError("token claim missing or not an object")
    return value


class ConfidentialSpaceVerifier(PinnedVerifier[Certificate]):
    """Verifies Confidential Space tokens (module docstring)."""

    tee_type = TEE_GCP_CONFIDENTIAL_SPACE

    def __init__(self, trust: ConfidentialSpaceTrust | None, *, crls: Sequence[Crl] = ()) -> None:
        super().__init__(trust.roots if trust is not None else (), crls=crls)
        self._trust = trust

    def _verify(self, evidence: Evidence, *, now: float, policy: Policy) -> AttestationResult:
        trust = self._trust
        if trust is None:
            raise VerificationError(
                "no Confidential Space root configured: set TrustRoots.confidential_space"
            )
        report_data, token = evidence.raw[:REPORT_DATA_SIZE], evidence.raw[REPORT_DATA_SIZE:]
        if len(report_data) != REPORT_DATA_SIZE:
            raise DecodeError("Confidential Space evidence too short")
        # 1. Parse.
        tok = parse_token(token)
        # 2. Chain up to a pinned root.
        path = verify_pkcs1_chain(tok.chain, self._roots, at=now, crls=self._crls)
        # 3. Signature.
        RsaPublicKey.from_certificate(tok.chain[0]).verify_pkcs1v15(
            tok.signature, tok.signed, Hash.SHA256
        )
        checks = [Check("token-signature", f"RS256, x5c chain to {path[-1].subject}")]
        # 4.-6. Token claims, platform claims, binding.
        claims = tok.claims
        debug, digest, hwmodel = check_token_claims(
            claims, report_data, trust, now=now, skew=policy.max_clock_skew_s
        )
        checks.append(Check("platform-claims", f"{hwmodel}, image {digest[:23]}"))
        checks.append(Check("nonce-binds-node", "eat_nonce = hex(SHA-256(report data))"))
        # 7. Result and common policy.
        result = AttestationResult(
            tee_type=TEE_GCP_CONFIDENTIAL_SPACE,
            measurement=hashlib.sha384(MEASUREMENT_LABEL + b"\x00" + digest.encode()).digest(),
            report_data=report_data,
            debug=debug,
            tcb=_swversion(claims),
            platform_id=b"",
            signer_chain=tuple(c.subject for c in path),
            product=hwmodel,
            issued_at=float(_int(claims, "iat")),
            checks=tuple(checks),
        )
        check_policy(result, policy, now=now)
        return result


def check_token_claims(
    claims: dict[str, Any],
    report_data: bytes,
    trust: ConfidentialSpaceTrust,
    *,
    now: float,
    skew: float,
) -> tuple[bool, str, str]:
    """Steps 4 to 6 on a verified token's claims; returns (debug, image digest, hwmodel).
    Raises :class:`VerificationError` or :class:`PolicyError`."""
    _check_times(claims, now, skew)
    if claims.get("iss") != ISSUER:
        raise VerificationError("token issuer is not Google's attestation service")
    aud = claims.get("aud")
    if aud != trust.audience and not (isinstance(aud, list) and trust.audience in aud):
        raise VerificationError("token audience is not ours")
    debug, digest, hwmodel = _check_platform(claims, trust)
    nonces = claims.get("eat_nonce")
    nonce_list = [nonces] if isinstance(nonces, str) else nonces
    if not isinstance(nonce_list, list) or len(nonce_list) > limits.MAX_JWT_NONCES:
        raise VerificationError("token nonce does not bind the node's report data")
    wanted = nonce_for(report_data).encode()
    if not any(
        isinstance(n, str) and hmac.compare_digest(n.encode("utf-8", "surrogatepass"), wanted)
        for n in nonce_list
    ):
        raise VerificationError("token nonce does not bind the node's report data")
    return debug, digest, hwmodel


def _check_times(claims: dict[str, Any], now: float, skew: float) -> None:
    exp, nbf, iat = _int(claims, "exp"), _int(claims, "nbf"), _int(claims, "iat")
    if now > exp + skew:
        raise VerificationError("token expired")
    if nbf > now + skew or iat > now + skew:
        raise VerificationError("token not yet valid")


def _check_platform(claims: dict[str, Any], trust: ConfidentialSpaceTrust) -> tuple[bool, str, str]:
    """Step 5; returns (debug, image digest, hwmodel)."""
    if claims.get("swname") != "CONFIDENTIAL_SPACE":
        raise PolicyError("token is not from Confidential Space")
    hwmodel = _str(claims.get("hwmodel"), "hwmodel")
    if hwmodel not in trust.allowed_hwmodels:
        raise PolicyError("hardware model not allowed by policy")
    if claims.get("secboot") is not True:
        raise PolicyError("secure boot is not on")
    oemid = claims.get("oemid")
    if isinstance(oemid, bool) or oemid != GOOGLE_OEMID:
        raise VerificationError("token OEM is not Google")
    debug = claims.get("dbgstat") != DEBUG_OFF
    submods = _dict(claims.get("submods"))
    space = _dict(submods.get("confidential_space", {}))
    attrs = space.get("support_attributes") or []
    if not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs):
        raise VerificationError("support attributes are not a list of strings")
    if not trust.required_support_attributes <= set(attrs):
        raise PolicyError("Confidential Space image lacks the required support attributes")
    digest = _str(_dict(submods.get("container")).get("image_digest"), "image_digest")
    if not _IMAGE_DIGEST.match(digest):
        raise VerificationError("container image digest is malformed")
    if trust.allowed_image_digests is not None and digest not in trust.allowed_image_digests:
        raise PolicyError("container image digest not allowed by policy")
    return debug, digest, hwmodel


def _swversion(claims: dict[str, Any]) -> dict[str, int]:
    """``{"swversion": N}`` when the token names one numeric image version (for min_tcb)."""
    versions = claims.get("swversion")
    if (
        isinstance(versions, list)
        and len(versions) == 1
        and isinstance(versions[0], str)
        and versions[0].isascii()
        and versions[0].isdigit()
        and len(versions[0]) <= 12
    ):
        return {"swversion": int(versions[0])}
    return {}

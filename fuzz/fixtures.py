"""Fixed keys, sessions and test PKIs shared by the fuzz targets and ``make_corpus.py``.

Everything a seed is encrypted or signed to must be the same in every process, so that a seed
written by ``make_corpus.py`` still opens in the fuzzer: keys come from fixed seeds (HPKE
``DeriveKeyPair``, Ed25519 seeds, P-256/P-384 scalars, RSA primes found from a fixed start),
randomness from :class:`SeededRandom`. Certificates and ECDSA signatures differ between runs
(their signatures are randomized), but not the keys and names that verify them.

None of these keys protects anything: they exist only for fuzzing.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import cache
from typing import Final

import gmpy2  # type: ignore[import-untyped]  # GMP's next_prime (no type stubs)

from privcloud.attest import sevsnp, tdx
from privcloud.attest.base import TEE_SEV_SNP, TEE_TDX, Policy
from privcloud.crypto import blindrsa
from privcloud.crypto.hpke import (
    X25519_SHA256_AES128GCM,
    KemId,
    PrivateKey,
    Suite,
    derive_keypair,
)
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.crypto.x509 import Certificate, Curve, EcPrivateKey, RsaPrivateKey
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from privcloud.envelope import ClientSession, Recipient, key_id_for, seal_request
from privcloud.ohttp import (
    DEFAULT_SUITES,
    ChunkedClientContext,
    ClientContext,
    GatewayKey,
    SymmetricSuite,
    encapsulate_chunked_request,
    encapsulate_request,
)
from privcloud.privacypass import IssuerKey, TokenChallenge
from privcloud.privacypass.tokens import ClientState, client_begin
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.note import Ed25519NoteSigner

#: 2023-06-20T00:00:00Z: the fixed "now" of the attestation targets, inside the validity of the
#: real SEV-SNP VCEK and TDX PCK chain of ../shared/vectors and of the test PKIs below.
T0: Final = 1687219200.0
_YEAR: Final = 365 * 86400.0


class SeededRandom:
    """``rand(n)``: the next ``n`` bytes of SHAKE-256(label); a deterministic ``Random``."""

    def __init__(self, label: str) -> None:
        self._seed = b"privcloud fuzz " + label.encode()
        self._pos = 0

    def __call__(self, n: int) -> bytes:
        out = hashlib.shake_256(self._seed).digest(self._pos + n)[self._pos :]
        self._pos += n
        return out


def _ikm(label: str) -> bytes:
    return hashlib.sha256(b"privcloud fuzz key " + label.encode()).digest()


def hpke_key(kem: KemId, label: str) -> PrivateKey:
    """A fixed HPKE key pair (RFC 9180 ``DeriveKeyPair``)."""
    return derive_keypair(kem, _ikm(label))


# --- OHTTP (RFC 9458) and chunked OHTTP -----------------------------------------------------------

#: Suites of the second gateway key, a P-256 one, so the P-256 and SHA-384 paths get inputs.
_P256_SUITES: Final = (
    SymmetricSuite(KdfId.HKDF_SHA256, AeadId.AES_128_GCM),
    SymmetricSuite(KdfId.HKDF_SHA384, AeadId.AES_256_GCM),
)
#: The request a fixed client context was made for.
OHTTP_REQUEST: Final = b"\x00\x03GET\x05https\x0bexample.com\x01/"


@cache
def gateway_keys() -> dict[int, GatewayKey]:
    """The gateway's keys: id 1 (X25519), id 2 (P-256)."""
    return {
        1: GatewayKey(1, hpke_key(KemId.DHKEM_X25519_HKDF_SHA256, "ohttp 1"), DEFAULT_SUITES),
        2: GatewayKey(2, hpke_key(KemId.DHKEM_P256_HKDF_SHA256, "ohttp 2"), _P256_SUITES),
    }


def ohttp_exchange(key_id: int = 1) -> tuple[bytes, ClientContext]:
    """The fixed encapsulated request to key ``key_id`` and the client context that opens the
    response to it."""
    config = gateway_keys()[key_id].config
    ephemeral = hpke_key(config.kem, f"ohttp client {key_id}")
    return encapsulate_request(config, OHTTP_REQUEST, ephemeral=ephemeral)


def chunked_exchange(key_id: int = 1) -> tuple[bytes, ChunkedClientContext]:
    """The fixed chunked request header (``hdr || enc``) and a fresh client context for it."""
    config = gateway_keys()[key_id].config
    ephemeral = hpke_key(config.kem, f"chunked client {key_id}")
    return encapsulate_chunked_request(config, ephemeral=ephemeral)


# --- sealed envelope ------------------------------------------------------------------------------

#: The node key the envelope target opens requests with, and a second one of another KEM.
ENVELOPE_P256: Final = Suite(KemId.DHKEM_P256_HKDF_SHA256, KdfId.HKDF_SHA256, AeadId.AES_128_GCM)
ENVELOPE_REQUEST: Final = b"\x01\x00\x04echo\x02{}hello"


@cache
def node_keys() -> dict[str, tuple[bytes, PrivateKey, Suite]]:
    """``name -> (key id, private key, suite)`` of the fixed node keys."""
    out = {}
    for name, suite in (("x25519", X25519_SHA256_AES128GCM), ("p256", ENVELOPE_P256)):
        key = hpke_key(suite.kem, f"node {name}")
        out[name] = (key_id_for(suite.kem, key.public_bytes), key, suite)
    return out


def recipient(name: str) -> Recipient:
    key_id, key, suite = node_keys()[name]
    return Recipient(key_id, key.public_bytes, suite)


def envelope_exchange() -> tuple[bytes, ClientSession]:
    """The fixed request envelope (to the X25519 node key and one other key of its suite) and
    the client session that opens the response stream to it."""
    other = Recipient.from_public_key(
        hpke_key(KemId.DHKEM_X25519_HKDF_SHA256, "node other").public_bytes
    )
    return seal_request(
        [recipient("x25519"), other], ENVELOPE_REQUEST, rand=SeededRandom("envelope request")
    )


# --- transparency log -----------------------------------------------------------------------------

LOG_ORIGIN: Final = "log.fuzz.privcloud.test"


def _ed25519(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_seed(_ikm(label))


@cache
def log_signer() -> Ed25519NoteSigner:
    return Ed25519NoteSigner(LOG_ORIGIN, _ed25519("log"))


@cache
def witnesses() -> tuple[WitnessKey, WitnessKey]:
    return (
        WitnessKey("w1.fuzz.privcloud.test", _ed25519("w1")),
        WitnessKey("w2.fuzz.privcloud.test", _ed25519("w2")),
    )


def device_key() -> Ed25519PrivateKey:
    """A device's Ed25519 key (enrolment, signed issuance requests)."""
    return _ed25519("device")


# --- test PKIs for the attestation verifiers ------------------------------------------------------


def der_tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + value


def der_int(value: int) -> bytes:
    return der_tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def der_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out += bytes(reversed(chunk))
    return der_tlv(0x06, bytes(out))


def der_seq(*items: bytes) -> bytes:
    return der_tlv(0x30, b"".join(items))


def _ec_key(curve: Curve, label: str) -> EcPrivateKey:
    scalar = hashlib.shake_256(_ikm(label)).digest(curve.size)
    return EcPrivateKey.from_bytes(curve, bytes([scalar[0] & 0x7F]) + scalar[1:])


def _prime(label: str, bits: int) -> int:
    start = int.from_bytes(hashlib.shake_256(_ikm(label)).digest(bits // 8), "big")
    return int(gmpy2.next_prime(start | (3 << (bits - 2)) | 1))


def _rsa_private(label: str, bits: int = 2048) -> blindrsa.PrivateKey:
    """A fixed RSA key: primes found from a fixed start, loaded from PKCS#1 DER."""
    e = 65537
    p, q = _prime(label + " p", bits // 2), _prime(label + " q", bits // 2)
    d = pow(e, -1, (p - 1) * (q - 1))
    fields = (0, p * q, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))
    return blindrsa.private_key_from_der(der_seq(*(der_int(v) for v in fields)))


def _rsa_key(label: str) -> RsaPrivateKey:
    return RsaPrivateKey(_rsa_private(label))


def _amd_name(cn: str) -> tuple[tuple[str, str], ...]:
    """AMD's distinguished names, attribute for attribute (so name lookups match)."""
    return (
        ("OU", "Engineering"),
        ("C", "US"),
        ("L", "Santa Clara"),
        ("ST", "CA"),
        ("O", "Advanced Micro Devices"),
        ("CN", cn),
    )


@dataclass(frozen=True)
class AmdPki:
    chain: sevsnp.AmdRootChain
    ask_key: RsaPrivateKey
    vcek_key: EcPrivateKey


#: The chip id of the test VCEK and the TCB (bootloader, tee, snp, microcode) it certifies.
SNP_CHIP_ID: Final = bytes(range(64))
SNP_TCB: Final = (2, 0, 5, 68)


@cache
def amd_pki() -> AmdPki:
    """A test ARK and ASK with AMD's Milan names, and a VCEK key."""
    ark_key, ask_key = _rsa_key("amd ark"), _rsa_key("amd ask")
    start, end = T0 - _YEAR, T0 + 20 * _YEAR
    ark = build_certificate(
        CertificateRequest("ARK-Milan", start, end, 65536, True, name=_amd_name("ARK-Milan")),
        ark_key,
        issuer=None,
        issuer_key=ark_key,
    )
    ask = build_certificate(
        CertificateRequest(
            "SEV-Milan", start, end, 65537, True, path_length=0, name=_amd_name("SEV-Milan")
        ),
        ask_key,
        issuer=ark,
        issuer_key=ark_key,
    )
    chain = sevsnp.AmdRootChain("Milan", ark=ark, ask=ask)
    return AmdPki(chain, ask_key, _ec_key(Curve.P384, "amd vcek"))


def vcek() -> Certificate:
    """A VCEK for :data:`SNP_CHIP_ID` at :data:`SNP_TCB`, issued by the test ASK."""
    amd = amd_pki()
    bl, tee, snp, ucode = SNP_TCB
    extensions = {
        sevsnp.OID_BL_SPL: der_int(bl),
        sevsnp.OID_TEE_SPL: der_int(tee),
        sevsnp.OID_SNP_SPL: der_int(snp),
        sevsnp.OID_UCODE_SPL: der_int(ucode),
        sevsnp.OID_HWID: SNP_CHIP_ID,
    }
    request = CertificateRequest(
        "SEV-VCEK", T0 - _YEAR, T0 + 7 * _YEAR, 1, extensions=extensions, name=_amd_name("SEV-VCEK")
    )
    return build_certificate(request, amd.vcek_key, issuer=amd.chain.ask, issuer_key=amd.ask_key)


def snp_report(*, debug: bool = False) -> bytes:
    """A version-2 SEV-SNP report (ABI layout) of :data:`SNP_CHIP_ID`, signed by the test VCEK."""
    report = bytearray(sevsnp.REPORT_SIZE)
    policy = 0x30000 | (sevsnp.POLICY_DEBUG_BIT if debug else 0)
    bl, tee, snp, ucode = SNP_TCB
    tcb_raw = bytes([bl, tee, 0, 0, 0, 0, snp, ucode])
    report[0x00:0x10] = struct.pack("<IIQ", 2, 0, policy)
    report[0x30:0x38] = struct.pack("<II", 0, 1)  # VMPL 0, ECDSA P-384
    for offset in (0x38, 0x180, 0x1E0, 0x1F0):  # current, reported, committed, launch TCB
        report[offset : offset + 8] = tcb_raw
    report[0x90:0xC0] = bytes(range(48))
    report[0x1A0:0x1E0] = SNP_CHIP_ID
    sig = amd_pki().vcek_key.sign(bytes(report[: sevsnp.SIGNED_SIZE]))
    r, s = sig[:48], sig[48:]
    report[sevsnp.SIGNED_SIZE : sevsnp.SIGNED_SIZE + 144] = (
        r[::-1] + bytes(24) + s[::-1] + bytes(24)
    )
    return bytes(report)


def _intel_name(cn: str) -> tuple[tuple[str, str], ...]:
    return (("C", "US"), ("ST", "CA"), ("L", "Santa Clara"), ("O", "Intel Corporation"), ("CN", cn))


def _sgx_extension() -> bytes:
    base = tdx.OID_SGX_EXTENSIONS
    tcb = [der_seq(der_oid(f"{base}.2.{i}"), der_int(3)) for i in range(1, 17)]
    tcb.append(der_seq(der_oid(f"{base}.2.17"), der_int(11)))
    tcb.append(der_seq(der_oid(f"{base}.2.18"), der_tlv(0x04, bytes([3] * 16))))
    return der_seq(
        der_seq(der_oid(f"{base}.1"), der_tlv(0x04, b"P" * 16)),
        der_seq(der_oid(f"{base}.2"), der_seq(*tcb)),
        der_seq(der_oid(f"{base}.3"), der_tlv(0x04, b"\x00\x00")),
        der_seq(der_oid(f"{base}.4"), der_tlv(0x04, bytes.fromhex("50806f000000"))),
        der_seq(der_oid(f"{base}.5"), der_tlv(0x0A, b"\x01")),
    )


@dataclass(frozen=True)
class IntelPki:
    root: Certificate
    ca: Certificate
    pck: Certificate
    pck_key: EcPrivateKey


@cache
def intel_pki() -> IntelPki:
    """A test SGX root, PCK platform CA and PCK certificate with Intel's names."""
    root_key, ca_key, pck_key = (_ec_key(Curve.P256, f"intel {n}") for n in ("root", "ca", "pck"))
    start, end = T0 - _YEAR, T0 + 5 * _YEAR

    def issue(
        cn: str,
        serial: int,
        key: EcPrivateKey,
        issuer: Certificate | None,
        issuer_key: EcPrivateKey,
        *,
        ca: bool,
        extensions: dict[str, bytes] | None = None,
    ) -> Certificate:
        request = CertificateRequest(
            cn, start, end, serial, ca, name=_intel_name(cn), extensions=extensions
        )
        return build_certificate(request, key, issuer=issuer, issuer_key=issuer_key)

    root = issue("Intel SGX Root CA", 1, root_key, None, root_key, ca=True)
    ca = issue("Intel SGX PCK Platform CA", 2, ca_key, root, root_key, ca=True)
    pck = issue(
        "Intel SGX PCK Certificate",
        3,
        pck_key,
        ca,
        ca_key,
        ca=False,
        extensions={tdx.OID_SGX_EXTENSIONS: _sgx_extension()},
    )
    return IntelPki(root, ca, pck, pck_key)


def pem(cert: Certificate) -> bytes:
    import base64  # noqa: PLC0415

    b64 = base64.b64encode(cert.der)
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


def tdx_quote(*, td_attributes: int = 0x10000000, version: int = 4) -> bytes:
    """A TDX quote v4, or v5 with a TD report 1.5 body, signed through the test PCK chain (leaf
    and CA; the root is pinned)."""
    intel = intel_pki()
    att_key = _ec_key(Curve.P256, "tdx attestation key")
    att_pub = att_key.public_key().to_bytes()[1:]
    header = struct.pack("<HHIHH16s20s", 4, 2, 0x81, 0, 0, tdx.INTEL_QE_VENDOR_ID, bytes(20))
    fields = {
        "tee_tcb_svn": bytes([3, 0, 4]) + bytes(13),
        "td_attributes": td_attributes.to_bytes(8, "little"),
        "mrtd": b"\x11" * 48,
        "rtmr0": b"\x22" * 48,
    }
    body = b"".join(fields.get(name, bytes(size)) for name, size in tdx._BODY_FIELDS)
    if version == 5:  # header version 5, body descriptor (type 3: TD report 1.5), 1.5 fields
        header = struct.pack("<H", 5) + header[2:]
        body = struct.pack("<HI", 3, len(body) + 64) + body + bytes([3, 0, 4]) + bytes(61)
    qe_auth_data = bytes(range(32))
    qe = bytearray(tdx.QE_REPORT_SIZE)
    qe[48] = 0x11  # ATTRIBUTES as Intel's QE Identity expects them (INIT, MODE64BIT)
    qe[128:160] = tdx.INTEL_TD_QE_MRSIGNER
    qe[256:260] = struct.pack("<HH", tdx.INTEL_TD_QE_PRODID, 4)
    qe[320:352] = hashlib.sha256(att_pub + qe_auth_data).digest()
    chain = pem(intel.pck) + pem(intel.ca)
    inner = (
        bytes(qe)
        + intel.pck_key.sign(bytes(qe))
        + struct.pack("<H", len(qe_auth_data))
        + qe_auth_data
        + struct.pack("<HI", tdx.CERT_TYPE_PCK_CHAIN, len(chain))
        + chain
    )
    sig_data = (
        att_key.sign(header + body)
        + att_pub
        + struct.pack("<HI", tdx.CERT_TYPE_QE_REPORT, len(inner))
        + inner
    )
    return header + body + struct.pack("<I", len(sig_data)) + sig_data


@cache
def intel_tcb_signing() -> tuple[EcPrivateKey, bytes]:
    """A test Intel SGX TCB Signing key and its PEM chain (certificate, test root)."""
    intel = intel_pki()
    key = _ec_key(Curve.P256, "intel tcb signing")
    cn = "Intel SGX TCB Signing"
    request = CertificateRequest(cn, T0 - _YEAR, T0 + 5 * _YEAR, 4, False, name=_intel_name(cn))
    root_key = _ec_key(Curve.P256, "intel root")
    cert = build_certificate(request, key, issuer=intel.root, issuer_key=root_key)
    return key, pem(cert) + pem(intel.root)


#: A policy that lets well-signed evidence through to the end (debug allowed, any VMPL), so the
#: verifiers' later steps see inputs too.
OPEN_POLICY: Final = Policy(
    allowed_tee_types=frozenset({TEE_SEV_SNP, TEE_TDX}),
    allow_debug=True,
    sev_snp_required_vmpl=None,
    allow_sev_snp_migration_agent=True,
)


# --- Privacy Pass ---------------------------------------------------------------------------------

#: The origin's challenge (RFC 9577 §2.1): token type 2, no redemption context.
ISSUER_NAME: Final = "issuer.fuzz.privcloud.test"


@cache
def issuer_private_key() -> blindrsa.PrivateKey:
    """The issuer's fixed 2048-bit token key."""
    return _rsa_private("issuer")


@cache
def issuer_key() -> IssuerKey:
    return IssuerKey.from_public_key(issuer_private_key().public_key())


def challenge() -> bytes:
    return TokenChallenge(2, ISSUER_NAME.encode(), b"", b"origin.fuzz.privcloud.test").encode()


def token_client() -> tuple[bytes, ClientState]:
    """A fixed TokenRequest for :func:`challenge` and the client state that finalizes it."""
    return client_begin(challenge(), issuer_key(), rand=SeededRandom("token client"))


# --- the client's trusted log state ---------------------------------------------------------------


def log_state() -> TrustedLogState:
    """A client that trusts nothing of the log yet and needs both witnesses."""
    return TrustedLogState(
        origin=LOG_ORIGIN,
        log_key=log_signer().verifier(),
        witnesses=tuple(w.verifier() for w in witnesses()),
        required_witnesses=2,
    )

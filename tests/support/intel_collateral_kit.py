"""Intel TCB collateral and TDX quote v5 for the tests: the real documents of ../shared/vectors,
the real TCB Signing public key recovered from their signatures, and synthetic documents and
quotes signed under the test root of :func:`attest_synthetic.synthetic_intel`.

Why recover the key: the real TCB Info and QE Identity responses are Intel's, signed by the
Intel SGX TCB Signing key, but ../shared/vectors does not hold the TCB Signing *certificate*
(PCS sends it in a response header). ECDSA lets anyone recover the two candidate public keys
of a signature; the one key common to three real documents is Intel's signing key. A test
certificate over that key (issued by the test root, with Intel's names) then lets the real,
unmodified documents verify through the whole collateral path: only the link TCB Signing
certificate → Intel SGX Root CA is synthetic.
"""

from __future__ import annotations

import hashlib
import json
import struct
from functools import cache
from typing import Any

from attest_synthetic import SyntheticIntel, intel_name, pem, synthetic_intel
from privcloud.attest import tdx
from privcloud.attest.intel_collateral import IntelCollateral
from privcloud.crypto.x509 import Certificate, Curve, EcPrivateKey, EcPublicKey
from privcloud.crypto.x509_issue import CertificateRequest, build_certificate
from vectors import shared_vector

#: 2026-02-03T01:00:00Z: inside the v5 quote's PCK validity and the v5 TCB Info's window.
T_V5 = 1770080400.0
_YEAR = 365 * 86400.0


def real(name: str) -> bytes:
    """A file of ../shared/vectors/attestation/tdx."""
    return shared_vector("attestation", "tdx", name).read_bytes()


def real_v5_quote() -> bytes:
    return real("quote_v5_sample.dat")


# --- ECDSA P-256 public key recovery (SEC 1 §4.1.6), pure integers, tests only --------------

_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_A = _P - 3
_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)
Point = tuple[int, int] | None


def _add(p: Point, q: Point) -> Point:
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % _P == 0:
        return None
    if p == q:
        lam = (3 * p[0] * p[0] + _A) * pow(2 * p[1], -1, _P) % _P
    else:
        lam = (q[1] - p[1]) * pow(q[0] - p[0], -1, _P) % _P
    x = (lam * lam - p[0] - q[0]) % _P
    return x, (lam * (p[0] - x) - p[1]) % _P


def _mul(k: int, p: Point) -> Point:
    out: Point = None
    while k:
        if k & 1:
            out = _add(out, p)
        p = _add(p, p)
        k >>= 1
    return out


def _candidates(signature: bytes, message: bytes) -> set[bytes]:
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    z = int.from_bytes(hashlib.sha256(message).digest(), "big")
    y2 = (pow(r, 3, _P) + _A * r + _B) % _P
    y = pow(y2, (_P + 1) // 4, _P)
    out = set()
    for ry in (y, _P - y):
        q = _mul(pow(r, -1, _N), _add(_mul(s, (r, ry)), _mul(_N - z % _N, _G)))
        if q is not None:
            out.add(b"\x04" + q[0].to_bytes(32, "big") + q[1].to_bytes(32, "big"))
    return out


def _signed_parts(body: bytes, member: str) -> tuple[bytes, bytes]:
    prefix = b'{"' + member.encode() + b'":'
    cut = body.rindex(b',"signature":"')
    return body[len(prefix) : cut], bytes.fromhex(json.loads(body)["signature"])


@cache
def real_tcb_signing_public_key() -> bytes:
    """Intel's TCB Signing key (SEC1), the one key that signed all three real documents."""
    common: set[bytes] | None = None
    for name, member in (
        ("sample_tcbInfo_response", "tcbInfo"),
        ("sample_tcbinfo_response_v5", "tcbInfo"),
        ("sample_qeIdentity_response", "enclaveIdentity"),
    ):
        signed, sig = _signed_parts(real(name), member)
        found = _candidates(sig, signed)
        common = found if common is None else common & found
    assert common is not None and len(common) == 1
    return common.pop()


class _PublicKeyOnly:
    """What :func:`build_certificate` reads of a subject key: ``_key.public_key()``."""

    def __init__(self, public: EcPublicKey) -> None:
        self._key = self
        self._public = public._key

    def public_key(self) -> Any:
        return self._public


def _tcb_signing_cert(intel: SyntheticIntel, subject: Any, serial: int) -> Certificate:
    return build_certificate(
        CertificateRequest(
            "Intel SGX TCB Signing",
            intel.root.not_before,
            intel.root.not_after,
            serial=serial,
            name=intel_name("Intel SGX TCB Signing"),
        ),
        subject,
        issuer=intel.root,
        issuer_key=intel.root_key,
    )


@cache
def real_key_chain() -> bytes:
    """PEM chain: a test certificate over Intel's real TCB Signing key, then the test root."""
    intel = synthetic_intel()
    public = EcPublicKey.from_bytes(Curve.P256, real_tcb_signing_public_key())
    return pem(_tcb_signing_cert(intel, _PublicKeyOnly(public), 40)) + pem(intel.root)


@cache
def signing_material() -> tuple[EcPrivateKey, Certificate, bytes]:
    """A test TCB Signing key, its certificate (serial 41) and the PEM chain to the test root."""
    intel = synthetic_intel()
    key = EcPrivateKey.generate(Curve.P256)
    cert = _tcb_signing_cert(intel, key, 41)
    return key, cert, pem(cert) + pem(intel.root)


def sign_document(member: str, content: dict[str, Any], key: EcPrivateKey | None = None) -> bytes:
    """A PCS-style body ``{"<member>":<compact JSON>,"signature":"<hex r||s>"}``."""
    signed = json.dumps(content, separators=(",", ":")).encode()
    sig = (key or signing_material()[0]).sign(signed)
    return b'{"' + member.encode() + b'":' + signed + b',"signature":"' + sig.hex().encode() + b'"}'


def real_content(name: str, member: str) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(real(name))[member]
    return content


def real_collateral_v3() -> IntelCollateral:
    """The real 2023 TCB Info (FMSPC 50806f000000) and QE Identity, Intel's own signatures."""
    chain = real_key_chain()
    return IntelCollateral.from_pcs(
        tcb_infos=[(real("sample_tcbInfo_response"), chain)],
        qe_identity=(real("sample_qeIdentity_response"), chain),
    )


def qe_identity_2026() -> dict[str, Any]:
    """The real QE Identity's content re-dated to cover :data:`T_V5` (none from 2026 exists)."""
    content = real_content("sample_qeIdentity_response", "enclaveIdentity")
    content.update(issueDate="2026-02-01T00:00:00Z", nextUpdate="2026-03-01T00:00:00Z")
    return content


def v5_collateral(
    *, tcb_info: bytes | None = None, qe_identity: dict[str, Any] | None = None
) -> IntelCollateral:
    """The real TCB Info v5 (Intel's signature) or ``tcb_info``, and a re-dated QE Identity
    signed by the test TCB Signing key."""
    body = tcb_info if tcb_info is not None else real("sample_tcbinfo_response_v5")
    chain = real_key_chain() if tcb_info is None else signing_material()[2]
    qe = sign_document("enclaveIdentity", qe_identity or qe_identity_2026())
    return IntelCollateral.from_pcs(
        tcb_infos=[(body, chain)], qe_identity=(qe, signing_material()[2])
    )


# --- synthetic TDX quote v5 -----------------------------------------------------------------


def build_tdx_quote_v5(
    intel: SyntheticIntel,
    *,
    body_type: int = 3,
    tee_tcb_svn: bytes = bytes([3, 0, 4]) + bytes(13),
    tee_tcb_svn2: bytes = bytes(16),
    report_data: bytes = bytes(64),
    qe_isvsvn: int = 4,
    qe_attributes: bytes = bytes([0x11]) + bytes(15),
    mrsignerseam: bytes = bytes(48),
) -> bytes:
    """A TDX quote v5 (TD report 1.0 or 1.5 body) signed through the synthetic PCK chain."""
    att_key = EcPrivateKey.generate(Curve.P256)
    att_pub = att_key.public_key().to_bytes()[1:]
    header = struct.pack("<HHIHH16s20s", 5, 2, 0x81, 0, 0, tdx.INTEL_QE_VENDOR_ID, bytes(20))
    fields = {
        "tee_tcb_svn": tee_tcb_svn,
        "mrsignerseam": mrsignerseam,
        "td_attributes": (0x10000000).to_bytes(8, "little"),
        "mrtd": b"\x11" * 48,
        "report_data": report_data,
    }
    body = b"".join(fields.get(name, bytes(size)) for name, size in tdx._BODY_FIELDS)
    if body_type == 3:
        body += tee_tcb_svn2 + bytes(48)
    descriptor = struct.pack("<HI", body_type, len(body))
    qe_auth = bytes(range(32))
    qe = bytearray(384)
    qe[48:64] = qe_attributes
    qe[128:160] = tdx.INTEL_TD_QE_MRSIGNER
    qe[256:260] = struct.pack("<HH", tdx.INTEL_TD_QE_PRODID, qe_isvsvn)
    qe[320:352] = hashlib.sha256(att_pub + qe_auth).digest()
    chain = pem(intel.pck) + pem(intel.ca) + pem(intel.root)
    inner = (
        bytes(qe)
        + intel.pck_key.sign(bytes(qe))
        + struct.pack("<H", len(qe_auth))
        + qe_auth
        + struct.pack("<HI", 5, len(chain))
        + chain
    )
    signed = header + descriptor + body
    sig_data = att_key.sign(signed) + att_pub + struct.pack("<HI", 6, len(inner)) + inner
    return signed + struct.pack("<I", len(sig_data)) + sig_data


def synthetic_tcb_info(
    *,
    levels: list[tuple[int, int, int, str]] | None = None,
    fmspc: str = "50806f000000",
    next_update: str = "2023-07-18T00:00:00Z",
) -> dict[str, Any]:
    """A TDX TCB Info v3 for the synthetic PCK (SGX components all ``sgx``): one level per
    ``(sgx, pcesvn, tdx_2, status)``, TDX components ``[3, 0, tdx_2, 0...]``."""
    rows = levels or [(3, 11, 4, "UpToDate"), (2, 5, 2, "OutOfDate")]
    tcb_levels = []
    for sgx, pcesvn, tdx_2, status in rows:
        level: dict[str, Any] = {
            "tcb": {
                "sgxtcbcomponents": [{"svn": sgx}] * 16,
                "pcesvn": pcesvn,
                "tdxtcbcomponents": [{"svn": 3}, {"svn": 0}, {"svn": tdx_2}] + [{"svn": 0}] * 13,
            },
            "tcbDate": "2023-02-15T00:00:00Z",
            "tcbStatus": status,
        }
        if status != "UpToDate":
            level["advisoryIDs"] = ["INTEL-SA-00837"]
        tcb_levels.append(level)
    zeros = "0" * 96
    return {
        "id": "TDX",
        "version": 3,
        "issueDate": "2023-06-01T00:00:00Z",
        "nextUpdate": next_update,
        "fmspc": fmspc,
        "pceId": "0000",
        "tcbType": 0,
        "tcbEvaluationDataNumber": 15,
        "tdxModule": {"mrsigner": zeros, "attributes": "0" * 16, "attributesMask": "F" * 16},
        "tcbLevels": tcb_levels,
    }


def synthetic_collateral(
    tcb_info: dict[str, Any] | None = None, qe_identity: dict[str, Any] | None = None
) -> IntelCollateral:
    """Collateral for the synthetic PCK, all signed by the test TCB Signing key (valid at T0)."""
    chain = signing_material()[2]
    info = sign_document("tcbInfo", tcb_info or synthetic_tcb_info())
    qe_content = qe_identity or real_content("sample_qeIdentity_response", "enclaveIdentity")
    qe = sign_document("enclaveIdentity", qe_content)
    return IntelCollateral.from_pcs(tcb_infos=[(info, chain)], qe_identity=(qe, chain))

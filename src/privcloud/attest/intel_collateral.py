"""Intel's signed TCB collateral for TDX: TCB Info (v3, with TDX module identities for TDX 1.5)
and the TD quoting enclave's QE Identity (v2), as Intel's Provisioning Certification Service
(PCS) serves them, verified offline.

References: Intel *PCS API v4* ("Get TDX TCB Info", "Get TDX QE Identity": response body
``{"tcbInfo": {...}, "signature": "<hex>"}`` / ``{"enclaveIdentity": {...}, "signature": ...}``,
issuer chain in the ``TCB-Info-Issuer-Chain`` / ``SGX-Enclave-Identity-Issuer-Chain`` header);
Intel's QuoteVerification library (``TCBInfoVerifier``, ``EnclaveIdentityV2``, JSON parsers).

What the operator supplies (offline, no call to Intel): each response *body exactly as served*
and its issuer chain (PEM, URL-decoded header value). :meth:`SignedDocument.verify` then checks,
at the verification time ``now``:

1. The issuer chain: the Intel SGX TCB Signing certificate, issued by the pinned Intel SGX Root
   CA (ECDSA-SHA256, validity windows, CRLs when given, e.g. Intel's root CRL).
2. The signature: ECDSA P-256 / SHA-256, raw ``r || s`` in hex, over the bytes of the signed
   member's value *as they appear in the body* (Intel signs those bytes, not a re-encoding).
3. The document is current: ``issueDate <= now <= nextUpdate``.

Parsing is strict: bounded size and nesting, no duplicate member names, exactly the two members,
every field typed and sized; anything else is a :class:`DecodeError` or :class:`TooLargeError`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from privcloud import limits
from privcloud.crypto.x509 import (
    Certificate,
    Crl,
    Curve,
    SignatureAlgorithm,
    load_certificates,
    verify_chain,
)
from privcloud.errors import DecodeError, TooLargeError, UsageError, VerificationError
from privcloud.wire import jsonio

TCB_SIGNING_CN: Final = "Intel SGX TCB Signing"
TCB_INFO_MEMBER: Final = "tcbInfo"
QE_IDENTITY_MEMBER: Final = "enclaveIdentity"
_ECDSA_SHA256 = frozenset({SignatureAlgorithm.ECDSA_SHA256})
_SIGNATURE_HEX_LEN = 128
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_HEX = re.compile(r"[0-9A-Fa-f]*")

#: Statuses a TCB Info TCB level may carry (QVL ``VALID_TCB_INFO_STATUSES``).
TCB_LEVEL_STATUSES: Final = frozenset(
    {
        "UpToDate",
        "SWHardeningNeeded",
        "ConfigurationNeeded",
        "ConfigurationAndSWHardeningNeeded",
        "OutOfDate",
        "OutOfDateConfigurationNeeded",
        "Revoked",
    }
)
#: Statuses of a TDX module identity or QE identity level.
IDENTITY_LEVEL_STATUSES: Final = frozenset({"UpToDate", "OutOfDate", "Revoked"})


# --- typed field access ------------------------------------------------------------------------


def _field(obj: Mapping[str, Any], name: str, kind: type) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DecodeError("Intel collateral field missing or of the wrong type")
    return value


def _obj(obj: Mapping[str, Any], name: str) -> dict[str, Any]:
    value: dict[str, Any] = _field(obj, name, dict)
    return value


def _list(obj: Mapping[str, Any], name: str, *, at_most: int) -> list[Any]:
    value: list[Any] = _field(obj, name, list)
    if len(value) > at_most:
        raise TooLargeError("Intel collateral list too long")
    return value


def _int(obj: Mapping[str, Any], name: str, *, bits: int = 32) -> int:
    value: int = _field(obj, name, int)
    if not 0 <= value < 1 << bits:
        raise DecodeError("Intel collateral number out of range")
    return value


def _hex(obj: Mapping[str, Any], name: str, size: int) -> bytes:
    text: str = _field(obj, name, str)
    if len(text) != 2 * size or not _HEX.fullmatch(text):
        raise DecodeError("Intel collateral hex field malformed")
    return bytes.fromhex(text)


def _time(obj: Mapping[str, Any], name: str) -> float:
    text: str = _field(obj, name, str)
    if not _DATE.fullmatch(text):
        raise DecodeError("Intel collateral date malformed")
    try:
        parsed = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError as exc:
        raise DecodeError("Intel collateral date malformed") from exc
    return parsed.replace(tzinfo=datetime.UTC).timestamp()


def _status(obj: Mapping[str, Any], allowed: frozenset[str]) -> str:
    value: str = _field(obj, "tcbStatus", str)
    if value not in allowed:
        raise DecodeError("unknown Intel TCB status")
    return value


def _advisories(obj: Mapping[str, Any]) -> tuple[str, ...]:
    if "advisoryIDs" not in obj:
        return ()
    ids = _list(obj, "advisoryIDs", at_most=limits.MAX_INTEL_ADVISORY_IDS)
    if not all(isinstance(i, str) and 0 < len(i) <= 64 and i.isascii() for i in ids):
        raise DecodeError("Intel advisory id malformed")
    return tuple(ids)


# --- the documents -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityLevel:
    """A TCB level of a QE or TDX module identity: the lowest ISVSVN that has ``status``."""

    isvsvn: int
    status: str
    advisory_ids: tuple[str, ...]


@dataclass(frozen=True)
class TcbLevel:
    """A TCB Info TCB level: SGX components, PCESVN and TDX components at least these."""

    sgx_components: tuple[int, ...]
    pcesvn: int
    tdx_components: tuple[int, ...]
    status: str
    advisory_ids: tuple[str, ...]


@dataclass(frozen=True)
class TdxModuleIdentity:
    """``tdxModule`` (``id`` empty) or one of ``tdxModuleIdentities`` ("TDX_01", ...)."""

    id: str
    mrsigner: bytes
    attributes: bytes
    attributes_mask: bytes
    levels: tuple[IdentityLevel, ...]


def _identity_levels(obj: Mapping[str, Any]) -> tuple[IdentityLevel, ...]:
    levels = []
    for entry in _list(obj, "tcbLevels", at_most=limits.MAX_INTEL_TCB_LEVELS):
        if not isinstance(entry, dict):
            raise DecodeError("Intel TCB level malformed")
        levels.append(
            IdentityLevel(
                isvsvn=_int(_obj(entry, "tcb"), "isvsvn", bits=16),
                status=_status(entry, IDENTITY_LEVEL_STATUSES),
                advisory_ids=_advisories(entry),
            )
        )
    # Highest ISVSVN first, as the QVL orders them.
    return tuple(sorted(levels, key=lambda level: level.isvsvn, reverse=True))


def _components(tcb: Mapping[str, Any], name: str) -> tuple[int, ...]:
    comps = _list(tcb, name, at_most=16)
    if len(comps) != 16 or not all(isinstance(c, dict) for c in comps):
        raise DecodeError("Intel TCB components malformed")
    return tuple(_int(c, "svn", bits=8) for c in comps)


def _module(obj: Mapping[str, Any], *, with_levels: bool) -> TdxModuleIdentity:
    return TdxModuleIdentity(
        id=_field(obj, "id", str) if with_levels else "",
        mrsigner=_hex(obj, "mrsigner", 48),
        attributes=_hex(obj, "attributes", 8),
        attributes_mask=_hex(obj, "attributesMask", 8),
        levels=_identity_levels(obj) if with_levels else (),
    )


@dataclass(frozen=True)
class TdxTcbInfo:
    """Intel's TDX TCB Info (version 3) for one platform model (FMSPC)."""

    issue_date: float
    next_update: float
    fmspc: bytes
    pce_id: bytes
    evaluation_number: int
    tdx_module: TdxModuleIdentity
    module_identities: tuple[TdxModuleIdentity, ...]
    #: Highest first, in the QVL's order (SGX components, PCESVN, TDX components).
    levels: tuple[TcbLevel, ...]

    @classmethod
    def from_json(cls, info: Mapping[str, Any]) -> TdxTcbInfo:
        """Decode the ``tcbInfo`` member; :class:`DecodeError` unless it is a TDX TCB Info v3."""
        if _field(info, "id", str) != "TDX" or _int(info, "version") != 3:
            raise DecodeError("not a TDX TCB Info version 3")
        if _int(info, "tcbType") != 0:
            raise DecodeError("unsupported TCB Info tcbType")
        identities: tuple[TdxModuleIdentity, ...] = ()
        if "tdxModuleIdentities" in info:
            raw_ids = _list(info, "tdxModuleIdentities", at_most=limits.MAX_INTEL_TCB_LEVELS)
            if not all(isinstance(m, dict) for m in raw_ids):
                raise DecodeError("TDX module identity malformed")
            identities = tuple(_module(m, with_levels=True) for m in raw_ids)
        levels = []
        for entry in _list(info, "tcbLevels", at_most=limits.MAX_INTEL_TCB_LEVELS):
            if not isinstance(entry, dict):
                raise DecodeError("Intel TCB level malformed")
            tcb = _obj(entry, "tcb")
            levels.append(
                TcbLevel(
                    sgx_components=_components(tcb, "sgxtcbcomponents"),
                    pcesvn=_int(tcb, "pcesvn", bits=16),
                    tdx_components=_components(tcb, "tdxtcbcomponents"),
                    status=_status(entry, TCB_LEVEL_STATUSES),
                    advisory_ids=_advisories(entry),
                )
            )
        levels.sort(key=lambda lv: (lv.sgx_components, lv.pcesvn, lv.tdx_components), reverse=True)
        return cls(
            issue_date=_time(info, "issueDate"),
            next_update=_time(info, "nextUpdate"),
            fmspc=_hex(info, "fmspc", 6),
            pce_id=_hex(info, "pceId", 2),
            evaluation_number=_int(info, "tcbEvaluationDataNumber"),
            tdx_module=_module(_obj(info, "tdxModule"), with_levels=False),
            module_identities=identities,
            levels=tuple(levels),
        )


@dataclass(frozen=True)
class QeIdentity:
    """Intel's identity of the TD quoting enclave (``TD_QE``, version 2)."""

    issue_date: float
    next_update: float
    evaluation_number: int
    miscselect: int
    miscselect_mask: int
    attributes: bytes
    attributes_mask: bytes
    mrsigner: bytes
    isv_prod_id: int
    #: Highest ISVSVN first.
    levels: tuple[IdentityLevel, ...]

    @classmethod
    def from_json(cls, ident: Mapping[str, Any]) -> QeIdentity:
        """Decode the ``enclaveIdentity`` member; :class:`DecodeError` unless it is TD_QE v2."""
        if _field(ident, "id", str) != "TD_QE" or _int(ident, "version") != 2:
            raise DecodeError("not a TD_QE identity version 2")
        return cls(
            issue_date=_time(ident, "issueDate"),
            next_update=_time(ident, "nextUpdate"),
            evaluation_number=_int(ident, "tcbEvaluationDataNumber"),
            miscselect=int.from_bytes(_hex(ident, "miscselect", 4), "big"),
            miscselect_mask=int.from_bytes(_hex(ident, "miscselectMask", 4), "big"),
            attributes=_hex(ident, "attributes", 16),
            attributes_mask=_hex(ident, "attributesMask", 16),
            mrsigner=_hex(ident, "mrsigner", 32),
            isv_prod_id=_int(ident, "isvprodid", bits=16),
            levels=_identity_levels(ident),
        )


@dataclass(frozen=True)
class SignedDocument:
    """A PCS response body with its issuer chain, parsed but not verified yet."""

    member: str
    content: dict[str, Any]
    signed_bytes: bytes
    signature: bytes
    issuer_chain: tuple[Certificate, ...]
    issue_date: float
    next_update: float

    @classmethod
    def parse(cls, body: bytes, issuer_chain_pem: bytes, member: str) -> SignedDocument:
        """Split ``body`` into the signed member's exact bytes and the signature (module doc)."""
        if len(body) > limits.MAX_INTEL_COLLATERAL_BYTES:
            raise TooLargeError("Intel collateral document too large")
        doc = jsonio.loads(
            body,
            max_bytes=limits.MAX_INTEL_COLLATERAL_BYTES,
            allow_floats=False,
            allow_duplicate_keys=False,
        )
        if not isinstance(doc, dict) or set(doc) != {member, "signature"}:
            raise DecodeError("Intel collateral document has unexpected members")
        content = _obj(doc, member)
        signature = _hex(doc, "signature", _SIGNATURE_HEX_LEN // 2)
        text = body.rstrip(b" \t\r\n")
        prefix = b'{"' + member.encode() + b'":'
        suffix_len = len(b',"signature":"') + _SIGNATURE_HEX_LEN + len(b'"}')
        suffix = text[-suffix_len:]
        if not text.startswith(prefix) or not (
            suffix.startswith(b',"signature":"') and suffix.endswith(b'"}')
        ):
            raise DecodeError("Intel collateral document is not in Intel's layout")
        signed = text[len(prefix) : -suffix_len]
        if jsonio.loads(signed, allow_floats=False, allow_duplicate_keys=False) != content:
            raise DecodeError("Intel collateral signed bytes do not match the document")
        chain = tuple(load_certificates(issuer_chain_pem))
        return cls(
            member=member,
            content=content,
            signed_bytes=signed,
            signature=signature,
            issuer_chain=chain,
            issue_date=_time(content, "issueDate"),
            next_update=_time(content, "nextUpdate"),
        )

    def verify(self, roots: Sequence[Certificate], *, now: float, crls: Sequence[Crl]) -> None:
        """Steps 1 to 3 of the module docstring; raises :class:`VerificationError`."""
        path = verify_chain(
            self.issuer_chain, roots, at=now, allowed_algorithms=_ECDSA_SHA256, crls=crls
        )
        if len(path) != 2 or path[0].subject_common_name != TCB_SIGNING_CN:
            raise VerificationError("collateral not signed by the Intel SGX TCB Signing key")
        path[0].ec_public_key(Curve.P256).verify(self.signature, self.signed_bytes)
        if not self.issue_date <= now <= self.next_update:
            raise VerificationError("Intel collateral is not current at the verification time")


@dataclass(frozen=True)
class IntelCollateral:
    """What the operator supplies for TDX TCB status: TCB Info per FMSPC and the QE Identity.

    Build it with :meth:`from_pcs`; nothing in it is trusted until :class:`TdxVerifier` verifies
    the documents it uses at the verification time.
    """

    tcb_infos: tuple[tuple[SignedDocument, TdxTcbInfo], ...]
    qe_identity: tuple[SignedDocument, QeIdentity]

    @classmethod
    def from_pcs(
        cls,
        *,
        tcb_infos: Sequence[tuple[bytes, bytes]],
        qe_identity: tuple[bytes, bytes],
    ) -> IntelCollateral:
        """Parse PCS responses: ``(body, issuer chain PEM)`` pairs. Raises :class:`DecodeError`,
        :class:`TooLargeError`, and :class:`UsageError` for two TCB Infos of one FMSPC."""
        if len(tcb_infos) > limits.MAX_INTEL_TCB_INFOS:
            raise TooLargeError("too many TCB Info documents")
        infos = []
        for body, chain in tcb_infos:
            doc = SignedDocument.parse(body, chain, TCB_INFO_MEMBER)
            infos.append((doc, TdxTcbInfo.from_json(doc.content)))
        if len({info.fmspc for _, info in infos}) != len(infos):
            raise UsageError("two TCB Info documents for one FMSPC")
        qe_doc = SignedDocument.parse(qe_identity[0], qe_identity[1], QE_IDENTITY_MEMBER)
        return cls(tuple(infos), (qe_doc, QeIdentity.from_json(qe_doc.content)))

    def tcb_info_for(self, fmspc: bytes) -> tuple[SignedDocument, TdxTcbInfo]:
        """The TCB Info of ``fmspc``; :class:`VerificationError` when none was supplied."""
        for doc, info in self.tcb_infos:
            if info.fmspc == fmspc:
                return doc, info
        raise VerificationError("no Intel TCB Info for this platform (FMSPC)")

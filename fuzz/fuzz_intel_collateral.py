"""Fuzz target: Intel TCB collateral (attest/intel_collateral.py, attest/tdx_tcb.py).

Operations, all at the fixed time :data:`fuzz.fixtures.T0`:

* ``signed_tcb_info`` / ``signed_qe_identity``: a PCS response body, parsed (exact signed bytes,
  strict fields) and verified through the test TCB Signing chain of :mod:`fuzz.fixtures`;
* ``tcb_status`` / ``qe_status``: an *unsigned* ``tcbInfo`` / ``enclaveIdentity`` JSON object,
  decoded and evaluated against the fixed platform of :data:`PLATFORM` / the fixed QE report,
  so that the status rules see inputs a signature would otherwise stop.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fuzz import fixtures, harness
from privcloud import limits
from privcloud.attest.intel_collateral import (
    QE_IDENTITY_MEMBER,
    TCB_INFO_MEMBER,
    QeIdentity,
    SignedDocument,
    TdxTcbInfo,
)
from privcloud.attest.tdx import INTEL_TD_QE_MRSIGNER, INTEL_TD_QE_PRODID
from privcloud.attest.tdx_tcb import TdxTcbInput, qe_status, tdx_status
from privcloud.errors import DecodeError
from privcloud.wire import jsonio

#: The platform of the fuzz PCK and TDX quotes (fixtures.intel_pki, fixtures.tdx_quote).
PLATFORM: Final = TdxTcbInput(
    fmspc=bytes.fromhex("50806f000000"),
    pce_id=b"\x00\x00",
    sgx_components=(3,) * 16,
    pcesvn=11,
    tee_tcb_svn=bytes([3, 0, 4]) + bytes(13),
    mrsignerseam=bytes(48),
    seam_attributes=bytes(8),
    tee_tcb_svn2=bytes([3, 0, 4]) + bytes(13),
)


def _level(svn: int, pcesvn: int, tdx: int, status: str) -> dict[str, Any]:
    return {
        "tcb": {
            "sgxtcbcomponents": [{"svn": svn}] * 16,
            "pcesvn": pcesvn,
            "tdxtcbcomponents": [{"svn": 3}, {"svn": 0}, {"svn": tdx}] + [{"svn": 0}] * 13,
        },
        "tcbDate": "2023-02-15T00:00:00Z",
        "tcbStatus": status,
        "advisoryIDs": [] if status == "UpToDate" else ["INTEL-SA-00837"],
    }


#: A TCB Info for :data:`PLATFORM`, valid around T0, with a TDX 1.5 module identity.
TCB_INFO: Final[dict[str, Any]] = {
    "id": "TDX",
    "version": 3,
    "issueDate": "2023-06-01T00:00:00Z",
    "nextUpdate": "2023-07-18T00:00:00Z",
    "fmspc": "50806f000000",
    "pceId": "0000",
    "tcbType": 0,
    "tcbEvaluationDataNumber": 15,
    "tdxModule": {"mrsigner": "0" * 96, "attributes": "0" * 16, "attributesMask": "F" * 16},
    "tdxModuleIdentities": [
        {
            "id": "TDX_01",
            "mrsigner": "0" * 96,
            "attributes": "0" * 16,
            "attributesMask": "F" * 16,
            "tcbLevels": [
                {"tcb": {"isvsvn": 3}, "tcbDate": "2023-02-15T00:00:00Z", "tcbStatus": "UpToDate"}
            ],
        }
    ],
    "tcbLevels": [_level(3, 11, 4, "UpToDate"), _level(2, 5, 2, "OutOfDate")],
}
#: Intel's TD QE identity (values of the real 2023 document), valid around T0.
QE_IDENTITY: Final[dict[str, Any]] = {
    "id": "TD_QE",
    "version": 2,
    "issueDate": "2023-06-08T07:24:59Z",
    "nextUpdate": "2023-07-08T07:24:59Z",
    "tcbEvaluationDataNumber": 15,
    "miscselect": "00000000",
    "miscselectMask": "FFFFFFFF",
    "attributes": "11000000000000000000000000000000",
    "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
    "mrsigner": INTEL_TD_QE_MRSIGNER.hex().upper(),
    "isvprodid": INTEL_TD_QE_PRODID,
    "tcbLevels": [
        {"tcb": {"isvsvn": 4}, "tcbDate": "2023-02-15T00:00:00Z", "tcbStatus": "UpToDate"}
    ],
}


def signed(member: str, content: dict[str, Any]) -> bytes:
    """A PCS-style response body signed by the fuzz TCB Signing key."""
    body = json.dumps(content, separators=(",", ":")).encode()
    sig = fixtures.intel_tcb_signing()[0].sign(body).hex().encode()
    return b'{"' + member.encode() + b'":' + body + b',"signature":"' + sig + b'"}'


def _signed_tcb_info(data: bytes) -> None:
    doc = SignedDocument.parse(data, fixtures.intel_tcb_signing()[1], TCB_INFO_MEMBER)
    TdxTcbInfo.from_json(doc.content)
    doc.verify((fixtures.intel_pki().root,), now=fixtures.T0, crls=())


def _signed_qe_identity(data: bytes) -> None:
    doc = SignedDocument.parse(data, fixtures.intel_tcb_signing()[1], QE_IDENTITY_MEMBER)
    QeIdentity.from_json(doc.content)
    doc.verify((fixtures.intel_pki().root,), now=fixtures.T0, crls=())


def _json_object(data: bytes) -> dict[str, Any]:
    value = jsonio.loads(
        data,
        max_bytes=limits.MAX_INTEL_COLLATERAL_BYTES,
        allow_floats=False,
        allow_duplicate_keys=False,
    )
    if not isinstance(value, dict):
        raise DecodeError("not a JSON object")
    return value


def _qe_level(identity: QeIdentity) -> Any:
    return qe_status(
        identity,
        mrsigner=INTEL_TD_QE_MRSIGNER,
        prod_id=INTEL_TD_QE_PRODID,
        miscselect=0,
        attributes=bytes([0x11]) + bytes(15),
        isvsvn=4,
    )


def _tcb_status(data: bytes) -> None:
    info = TdxTcbInfo.from_json(_json_object(data))
    tdx_status(info, PLATFORM, _qe_level(QeIdentity.from_json(QE_IDENTITY)))


def _qe_status(data: bytes) -> None:
    _qe_level(QeIdentity.from_json(_json_object(data)))


OPS: harness.Ops = (
    ("signed_tcb_info", _signed_tcb_info),
    ("signed_qe_identity", _signed_qe_identity),
    ("tcb_status", _tcb_status),
    ("qe_status", _qe_status),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()

"""A minimal DER reader (ITU-T X.690) for the vendor extensions of attestation certificates.

Enough for AMD VCEK TCB extensions (INTEGER, IA5String) and Intel PCK SGX extensions (nested
``SEQUENCE OF SEQUENCE { OID, value }``). Definite lengths up to 4 bytes, low tag numbers only;
every overrun is a :class:`~privcloud.errors.DecodeError`. Pure functions over bytes.
"""

from __future__ import annotations

from privcloud.errors import DecodeError


def der_header(data: bytes, pos: int) -> tuple[int, int, int]:
    """Read one TLV header at ``pos``: returns ``(tag, value_start, value_end)``."""
    if pos + 2 > len(data):
        raise DecodeError("truncated DER")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DecodeError("DER high tag numbers are not supported")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise DecodeError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise DecodeError("truncated DER")
    return tag, pos, end


def _der_single(data: bytes, tag: int) -> bytes:
    got, start, end = der_header(data, 0)
    if got != tag or end != len(data):
        raise DecodeError("unexpected DER value")
    return data[start:end]


def der_integer(data: bytes) -> int:
    """Decode a DER INTEGER (or ENUMERATED) TLV."""
    if data[:1] == b"\x0a":
        data = b"\x02" + data[1:]
    value = _der_single(data, 0x02)
    if not value:
        raise DecodeError("empty DER INTEGER")
    return int.from_bytes(value, "big", signed=True)


def der_octet_string(data: bytes) -> bytes:
    """Decode a DER OCTET STRING TLV."""
    return _der_single(data, 0x04)


def der_ia5_string(data: bytes) -> str:
    """Decode a DER IA5String TLV (ASCII)."""
    try:
        return _der_single(data, 0x16).decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError("IA5String is not ASCII") from exc


def _der_oid(value: bytes) -> str:
    if not value:
        raise DecodeError("empty OID")
    arcs: list[int] = []
    acc = 0
    for byte in value:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(acc)
            acc = 0
    if value[-1] & 0x80:
        raise DecodeError("truncated OID")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))


def _der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    out = []
    pos = start
    while pos < end:
        tag, vstart, vend = der_header(data[:end], pos)
        out.append((tag, pos, vstart, vend))
        pos = vend
    return out


def der_oid_map(data: bytes, *, max_depth: int = 4) -> dict[str, bytes]:
    """Flatten ``SEQUENCE OF SEQUENCE { OID, value }`` into ``{dotted OID: value TLV}``.

    A value that is itself such a sequence is flattened too (Intel's SGX extensions nest the TCB
    components under ``...13.1.2``); its own entry then holds the raw TLV of the sequence.
    """
    tag, start, end = der_header(data, 0)
    if tag != 0x30 or end != len(data):
        raise DecodeError("expected a DER SEQUENCE")
    out: dict[str, bytes] = {}
    for ctag, _, cstart, cend in _der_children(data, start, end):
        if ctag != 0x30:
            raise DecodeError("expected SEQUENCE { OID, value }")
        parts = _der_children(data, cstart, cend)
        if len(parts) != 2 or parts[0][0] != 0x06:
            raise DecodeError("expected SEQUENCE { OID, value }")
        oid = _der_oid(data[parts[0][2] : parts[0][3]])
        vtag, vpos, _, vend = parts[1]
        value = data[vpos:vend]
        if oid in out:
            raise DecodeError("duplicate OID")
        out[oid] = value
        if vtag == 0x30 and max_depth > 0 and _looks_like_oid_map(value):
            for sub, subvalue in der_oid_map(value, max_depth=max_depth - 1).items():
                if sub in out:
                    raise DecodeError("duplicate OID")
                out[sub] = subvalue
    return out


def _looks_like_oid_map(value: bytes) -> bool:
    _, start, end = der_header(value, 0)
    if start == end:
        return False
    tag, _, cstart, _ = _der_children(value, start, end)[0]
    return tag == 0x30 and value[cstart : cstart + 1] == b"\x06"


def der_element(data: bytes, pos: int, end: int) -> tuple[int, bool, int, int, int]:
    """Read one TLV at ``pos`` within ``data[:end]``, strict DER (X.690 §8.1.2-8.1.3, §10.1).

    Unlike :func:`der_header` this reads high tag numbers (Android's ``[704]``) and refuses
    non-minimal tag numbers and lengths. Returns ``(tag class 0..3, constructed, tag number,
    value_start, value_end)``; raises :class:`DecodeError` for any overrun or non-DER form.
    """
    if pos >= end:
        raise DecodeError("truncated DER")
    first = data[pos]
    tag_class, constructed, number = first >> 6, bool(first & 0x20), first & 0x1F
    pos += 1
    if number == 0x1F:
        number = 0
        for count in range(4):
            if pos >= end:
                raise DecodeError("truncated DER tag")
            byte = data[pos]
            pos += 1
            if count == 0 and byte == 0x80:
                raise DecodeError("non-minimal DER tag number")
            number = (number << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        else:
            raise DecodeError("DER tag number too large")
        if number < 0x1F:
            raise DecodeError("non-minimal DER tag number")
    if pos >= end:
        raise DecodeError("truncated DER")
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise DecodeError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        if data[pos] == 0 or length < 0x80:
            raise DecodeError("non-minimal DER length")
        pos += count
    if pos + length > end:
        raise DecodeError("truncated DER")
    return tag_class, constructed, number, pos, pos + length

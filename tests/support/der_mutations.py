"""DER surgery for the admission-poisoning tests: parse a certificate into a TLV tree, change one
thing (the version, a duplicated extension, a length), and encode it back with every enclosing
length fixed — so the result is still well-formed DER and reaches ``cryptography``'s semantic
parsing instead of failing at the first length check. Also: rebuild a TDX quote around another
PCK chain (the quote's three length fields follow), and the raw mutation operators of the fuzz
test (byte flips, truncations, insertions, DER-length tweaks).

Definite lengths and low tag numbers only (what X.509 DER uses). Test code: no error handling
beyond ``AssertionError`` for input that is not such DER.
"""

from __future__ import annotations

import base64
import random
import re
import struct
from dataclasses import dataclass

#: Tags whose contents are parsed as further TLVs (SEQUENCE, SET, context [0]..[3] constructed).
_CONSTRUCTED_BIT = 0x20


@dataclass
class Tlv:
    """One DER TLV: a primitive ``value`` or, when constructed, ``children``."""

    tag: int
    value: bytes = b""
    children: list[Tlv] | None = None
    #: Offsets of the header in the source, for raw length tweaks.
    offset: int = 0
    header_len: int = 0

    def copy(self) -> Tlv:
        kids = None if self.children is None else [c.copy() for c in self.children]
        return Tlv(self.tag, self.value, kids, self.offset, self.header_len)


def _header(data: bytes, pos: int) -> tuple[int, int, int]:
    """``(tag, value_start, value_end)`` of the TLV at ``pos``."""
    assert pos + 2 <= len(data), "truncated DER"
    tag, first = data[pos], data[pos + 1]
    assert tag & 0x1F != 0x1F, "high tag numbers unsupported"
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        assert 0 < count <= 4, "bad DER length"
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    assert pos + length <= len(data), "truncated DER"
    return tag, pos, pos + length


def parse(data: bytes, pos: int = 0) -> Tlv:
    """The TLV at ``pos`` (the whole of ``data`` when ``pos`` is 0 and it is one TLV)."""
    tag, start, end = _header(data, pos)
    node = Tlv(tag, data[start:end], None, pos, start - pos)
    if tag & _CONSTRUCTED_BIT:
        kids, p = [], start
        while p < end:
            kid = parse(data[:end], p)
            kids.append(kid)
            p = kid.offset + kid.header_len + len(kid.value)
        node.children = kids
    return node


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode(node: Tlv) -> bytes:
    """DER of ``node``, every length recomputed from its (possibly changed) contents."""
    body = node.value if node.children is None else b"".join(encode(c) for c in node.children)
    return bytes([node.tag]) + der_length(len(body)) + body


def walk(node: Tlv) -> list[Tlv]:
    """Every node, depth first, ``node`` included."""
    out = [node]
    for kid in node.children or ():
        out.extend(walk(kid))
    return out


# --- certificate surgery ------------------------------------------------------------------


def _tbs(cert: Tlv) -> Tlv:
    assert cert.children is not None and cert.children[0].children is not None
    return cert.children[0]


def with_version(der: bytes, version_byte: int) -> bytes:
    """The certificate with its X.509 version INTEGER set to ``version_byte`` (v3 is 2)."""
    cert = parse(der)
    explicit = _tbs(cert).children[0]  # type: ignore[index]
    assert explicit.tag == 0xA0 and explicit.children is not None, "no explicit version"
    explicit.children[0].value = bytes([version_byte])
    return encode(cert)


def _extensions(cert: Tlv) -> list[Tlv]:
    wrappers = [c for c in _tbs(cert).children or () if c.tag == 0xA3]
    assert wrappers and wrappers[0].children, "certificate has no extensions"
    exts = wrappers[0].children[0].children
    assert exts, "empty extensions"
    return exts


def with_duplicated_extension(der: bytes, index: int = 0) -> bytes:
    """The certificate with its ``index``-th extension repeated right after itself."""
    cert = parse(der)
    exts = _extensions(cert)
    exts.insert(index + 1, exts[index].copy())
    return encode(cert)


def with_extension_value(der: bytes, index: int, value: bytes) -> bytes:
    """The certificate with the ``extnValue`` OCTET STRING of its ``index``-th extension
    replaced by ``value`` (e.g. a basicConstraints that does not parse)."""
    cert = parse(der)
    ext = _extensions(cert)[index]
    assert ext.children is not None and ext.children[-1].tag == 0x04
    ext.children[-1].value = value
    return encode(cert)


def extension_index(der: bytes, oid_der: bytes) -> int:
    """Index of the extension whose OID TLV is ``oid_der``."""
    for i, ext in enumerate(_extensions(parse(der))):
        assert ext.children is not None
        if encode(ext.children[0]) == oid_der:
            return i
    raise AssertionError("extension not found")


# --- PEM and TDX quotes -------------------------------------------------------------------

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def pem_to_ders(pem: bytes) -> list[bytes]:
    return [base64.b64decode(b"".join(m.split())) for m in _PEM.findall(pem)]


def der_to_pem(der: bytes) -> bytes:
    b64 = base64.b64encode(der)
    lines = b"\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----\n"


_QUOTE_FIXED = 48 + 584  # header and TD report body


@dataclass(frozen=True)
class QuoteParts:
    """A TDX quote v4 cut at its certification data, to put another PCK chain in."""

    signed: bytes  # header || body
    signature_and_key: bytes  # ECDSA signature || attestation key
    qe_part: bytes  # QE report || its signature || auth data (u16 len || data)
    chain: bytes  # PCK chain, PEM


def split_quote(quote: bytes) -> QuoteParts:
    (sig_len,) = struct.unpack_from("<I", quote, _QUOTE_FIXED)
    sig = quote[_QUOTE_FIXED + 4 : _QUOTE_FIXED + 4 + sig_len]
    cert_type, outer_len = struct.unpack_from("<HI", sig, 128)
    assert cert_type == 6
    outer = sig[134 : 134 + outer_len]
    (auth_len,) = struct.unpack_from("<H", outer, 384 + 64)
    qe_end = 384 + 64 + 2 + auth_len
    chain_type, chain_len = struct.unpack_from("<HI", outer, qe_end)
    assert chain_type == 5
    chain = outer[qe_end + 6 : qe_end + 6 + chain_len]
    return QuoteParts(quote[:_QUOTE_FIXED], sig[:128], outer[:qe_end], chain)


def quote_with_chain(parts: QuoteParts, chain: bytes) -> bytes:
    """The quote of ``parts`` carrying ``chain`` as its PCK chain, every length fixed."""
    outer = parts.qe_part + struct.pack("<HI", 5, len(chain)) + chain
    sig = parts.signature_and_key + struct.pack("<HI", 6, len(outer)) + outer
    return parts.signed + struct.pack("<I", len(sig)) + sig


# --- raw mutation operators (fuzzing) -----------------------------------------------------


def header_offsets(der: bytes) -> list[tuple[int, int]]:
    """``(offset, header_len)`` of every TLV of a DER document, for length tweaks."""
    return [(n.offset_abs, n.header_len) for n in _walk_abs(der)]


@dataclass
class _AbsTlv:
    offset_abs: int
    header_len: int


def _walk_abs(data: bytes, pos: int = 0, end: int | None = None) -> list[_AbsTlv]:
    end = len(data) if end is None else end
    out: list[_AbsTlv] = []
    while pos < end:
        tag, start, stop = _header(data[:end], pos)
        out.append(_AbsTlv(pos, start - pos))
        if tag & _CONSTRUCTED_BIT:
            out.extend(_walk_abs(data, start, stop))
        pos = stop
    return out


def flip(rng: random.Random, data: bytes) -> bytes:
    """1 to 4 bytes XORed with a random non-zero mask."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def insert(rng: random.Random, data: bytes) -> bytes:
    pos = rng.randrange(len(data) + 1)
    return data[:pos] + rng.randbytes(rng.randint(1, 8)) + data[pos:]


def delete(rng: random.Random, data: bytes) -> bytes:
    pos = rng.randrange(len(data))
    return data[:pos] + data[pos + rng.randint(1, 8) :]


def tweak_length(rng: random.Random, data: bytes, headers: list[tuple[int, int]]) -> bytes:
    """Change one TLV's tag or length: off by a little, non-minimal, indefinite, huge, zero."""
    offset, header_len = rng.choice(headers)
    tag, rest = data[offset], data[offset + header_len :]
    length = len(_header_value(data, offset))
    choice = rng.randrange(7)
    if choice == 0:
        new = bytes([tag]) + der_length(max(0, length + rng.choice((-2, -1, 1, 2))))
    elif choice == 1:  # non-minimal long form
        new = bytes([tag, 0x84]) + length.to_bytes(4, "big")
    elif choice == 2:  # BER indefinite length
        new = bytes([tag, 0x80])
    elif choice == 3:  # huge
        new = bytes([tag, 0x84, 0xFF, 0xFF, 0xFF, 0xFF])
    elif choice == 4:
        new = bytes([tag, 0x00])
    elif choice == 5:  # another tag, same length
        new = bytes([rng.randrange(256)]) + data[offset + 1 : offset + header_len]
    else:  # constructed bit flipped
        new = bytes([tag ^ _CONSTRUCTED_BIT]) + data[offset + 1 : offset + header_len]
    return data[:offset] + new + rest


def _header_value(data: bytes, offset: int) -> bytes:
    _, start, stop = _header(data, offset)
    return data[start:stop]


def structural(rng: random.Random, tree: Tlv) -> bytes:
    """Well-formed DER with one node changed: duplicated, dropped, swapped with a sibling,
    its value randomised or its tag changed; every enclosing length fixed."""
    root = tree.copy()
    parents = [n for n in walk(root) if n.children]
    parent = rng.choice(parents)
    kids = parent.children
    assert kids is not None
    i = rng.randrange(len(kids))
    choice = rng.randrange(6)
    if choice == 0:
        kids.insert(i, kids[i].copy())
    elif choice == 1:
        del kids[i]
    elif choice == 2 and len(kids) > 1:
        j = rng.randrange(len(kids))
        kids[i], kids[j] = kids[j], kids[i]
    elif choice == 3 and kids[i].children is None:
        size = rng.choice((0, 1, 2, len(kids[i].value), len(kids[i].value) + 1, 20))
        kids[i].value = rng.randbytes(size)
    elif choice == 4:
        kids[i] = Tlv(
            rng.choice(
                (
                    0x01,
                    0x02,
                    0x03,
                    0x04,
                    0x05,
                    0x06,
                    0x0C,
                    0x13,
                    0x17,
                    0x18,
                    0x1E,
                    0x30,
                    0x31,
                    0xA0,
                    0xA3,
                )
            ),
            kids[i].value,
            kids[i].children,
        )
    else:
        kids[i] = Tlv(kids[i].tag, rng.choice((b"", b"\x00", b"\xff" * 9, b"\x80")), None)
    return encode(root)

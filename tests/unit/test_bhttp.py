"""Binary HTTP (RFC 9292): the §5 examples byte for byte, golden bytes both ways, round trips,
the streaming response codec, and the malformations the decoders must refuse.

Provenance of the examples: ``../shared/vectors/bhttp/rfc9292_examples.json``, transcribed from
the RFC 9292 source (httpwg/http-extensions, ``archive/draft-ietf-httpbis-binary-message.md``,
"Examples"); see the file's ``_notes`` and ../shared/vectors/PROVENANCE.md. The expected field
values are read from the examples' ``message/http`` text where that text is plain HTTP/1.1.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privcloud import limits
from privcloud.errors import DecodeError, PeerError, TooLargeError, UsageError
from privcloud.wire import varint
from privcloud.wire.bhttp import (
    Content,
    End,
    Field,
    Head,
    Informational,
    InformationalResponse,
    Request,
    Response,
    ResponseEvent,
    ResponseStreamDecoder,
    decode_request,
    decode_response,
    encode_content_chunk,
    encode_request,
    encode_request_indeterminate,
    encode_response,
    encode_response_head,
    encode_response_indeterminate,
    encode_response_tail,
)
from vectors import shared_vector

# --- the RFC 9292 §5 examples ------------------------------------------------------------------


@pytest.fixture(scope="module")
def rfc() -> dict[str, Any]:
    with shared_vector("bhttp", "rfc9292_examples.json").open() as f:
        data: dict[str, Any] = json.load(f)
    return data


def _http11_head(block: str) -> tuple[str, tuple[Field, ...]]:
    """Start line and fields (names lower-cased) of one message/http head."""
    start, *lines = block.split("\r\n")
    fields = []
    for line in lines:
        name, _, value = line.partition(":")
        fields.append((name.lower().encode(), value.strip().encode()))
    return start, tuple(fields)


def _rfc_request(rfc: dict[str, Any]) -> Request:
    head, _, body = rfc["request_http11"].partition("\r\n\r\n")
    start, headers = _http11_head(head)
    method, path, _ = start.split(" ")
    assert body == ""
    # RFC 9292 §5.1: the Host field is not copied into :authority, which is empty.
    return Request(method.encode(), b"https", b"", path.encode(), headers)


def _rfc_response(rfc: dict[str, Any]) -> Response:
    text: str = rfc["response_http11"]
    informational = []
    while True:
        head, _, text = text.partition("\r\n\r\n")
        start, fields = _http11_head(head)
        status = int(start.split(" ")[1])
        if status >= 200:
            break
        informational.append(InformationalResponse(status, fields))
    length = int(dict(fields)[b"content-length"])
    return Response(status, fields, text[:length].encode(), (), tuple(informational))


def test_rfc_request_known_length_decodes_every_field(rfc: dict[str, Any]) -> None:
    req = decode_request(bytes.fromhex(rfc["request_known_length"]))
    assert req.method == b"GET"
    assert req.scheme == b"https"
    assert req.authority == b""
    assert req.path == b"/hello.txt"
    assert req.headers == (
        (b"user-agent", b"curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"),
        (b"host", b"www.example.com"),
        (b"accept-language", b"en, mi"),
    )
    assert req.content == b""
    assert req.trailers == ()
    assert req == _rfc_request(rfc)
    assert req.header(b"Host") == b"www.example.com"
    assert req.header(b"cookie") is None


def test_rfc_request_known_length_encodes_byte_exactly(rfc: dict[str, Any]) -> None:
    assert encode_request(_rfc_request(rfc)).hex() == rfc["request_known_length"]


def test_rfc_request_known_length_may_drop_empty_content_and_trailers(
    rfc: dict[str, Any],
) -> None:
    # RFC 9292 §5.1: "the last two bytes ... can each be removed".
    data = bytes.fromhex(rfc["request_known_length"])
    for cut in (1, 2):
        assert decode_request(data[:-cut]) == _rfc_request(rfc)
    with pytest.raises(DecodeError):  # the header section itself cannot be cut
        decode_request(data[:-3])


def test_rfc_request_indeterminate_length_both_ways(rfc: dict[str, Any]) -> None:
    data = bytes.fromhex(rfc["request_indeterminate_length"])
    assert decode_request(data) == _rfc_request(rfc)
    assert encode_request_indeterminate(_rfc_request(rfc), padding=10) == data


def test_rfc_request_indeterminate_length_truncates_up_to_12_bytes(rfc: dict[str, Any]) -> None:
    data = bytes.fromhex(rfc["request_indeterminate_length"])
    for cut in range(13):
        assert decode_request(data[: len(data) - cut]) == _rfc_request(rfc)
    with pytest.raises(DecodeError):  # cutting the header section's terminator
        decode_request(data[:-13])


def test_rfc_response_with_informational_responses_both_ways(rfc: dict[str, Any]) -> None:
    data = bytes.fromhex(rfc["response_indeterminate_length"])
    resp = decode_response(data)
    assert [(i.status, i.headers) for i in resp.informational] == [
        (102, ((b"running", b'"sleep 15"'),)),
        (
            103,
            (
                (b"link", b"</style.css>; rel=preload; as=style"),
                (b"link", b"</script.js>; rel=preload; as=script"),
            ),
        ),
    ]
    assert resp.status == 200
    assert resp.header(b"Content-Type") == b"text/plain"
    assert resp.header(b"vary") == b"Accept-Encoding"
    assert len(resp.headers) == 8
    assert resp.content == b"Hello World! My content includes a trailing CRLF.\r\n"
    assert resp.trailers == ()
    assert resp == _rfc_response(rfc)
    assert encode_response_indeterminate(resp) == data
    # The known-length form carries the same message.
    assert decode_response(encode_response(resp)) == resp


def test_rfc_response_streams_as_events(rfc: dict[str, Any]) -> None:
    resp = _rfc_response(rfc)
    decoder = ResponseStreamDecoder()
    events = decoder.feed(bytes.fromhex(rfc["response_indeterminate_length"]))
    assert decoder.close() == []
    assert events == [
        *(Informational(i.status, i.headers) for i in resp.informational),
        Head(200, resp.headers),
        Content(resp.content),
        End(()),
    ]


def test_rfc_chunked_response_known_length_both_ways(rfc: dict[str, Any]) -> None:
    data = bytes.fromhex(rfc["chunked_response_known_length"])
    resp = decode_response(data)
    assert resp == Response(
        200, (), b"This content contains CRLF.\r\n", ((b"trailer", b"text"),), ()
    )
    assert encode_response(resp) == data
    # The same chunks as in the message/http text, streamed with indeterminate length.
    stream = (
        encode_response_head(200, ())
        + encode_content_chunk(b"This")
        + encode_content_chunk(b" conte")
        + encode_content_chunk(b"nt contains CRLF.\r\n")
        + encode_response_tail([(b"Trailer", b"text")])
    )
    assert decode_response(stream) == resp


# --- golden bytes of our own -----------------------------------------------------------------

_GOLDEN_REQUEST = Request(
    b"POST",
    b"https",
    b"gw.example",
    b"/v1/infer",
    headers=((b"Content-Type", b"application/json"),),
    content=b'{"a":1}',
    trailers=((b"x-t", b"1"),),
)
_GOLDEN_REQUEST_HEX = "".join(
    [
        "00",  # framing: known-length request
        "04504f5354",  # method POST
        "056874747073",  # scheme https
        "0a67772e6578616d706c65",  # authority gw.example
        "092f76312f696e666572",  # path /v1/infer
        "1e",  # header section: 30 bytes
        "0c636f6e74656e742d74797065",  # content-type (lower-cased on encode)
        "106170706c69636174696f6e2f6a736f6e",  # application/json
        "077b2261223a317d",  # content {"a":1}
        "06",  # trailer section: 6 bytes
        "03782d74",  # x-t
        "0131",  # 1
        "000000",  # padding
    ]
)
_GOLDEN_RESPONSE = Response(
    503,
    headers=((b"retry-after", b"5"),),
    content=b"busy",
    informational=(InformationalResponse(100),),
)
_GOLDEN_RESPONSE_HEX = "".join(
    [
        "01",  # framing: known-length response
        "4064",  # 100 Continue
        "00",  # its empty header section
        "41f7",  # 503
        "0e",  # header section: 14 bytes
        "0b72657472792d6166746572",  # retry-after
        "0135",  # 5
        "0462757379",  # content busy
        "00",  # empty trailer section
    ]
)
_GOLDEN_RESPONSE_INDETERMINATE_HEX = "".join(
    [
        "03",  # framing: indeterminate-length response
        "4064",  # 100 Continue
        "00",  # its empty header section
        "41f7",  # 503
        "0b72657472792d6166746572",  # retry-after
        "0135",  # 5
        "00",  # end of the header section
        "0462757379",  # one chunk: busy
        "00",  # content terminator
        "00",  # empty trailer section
    ]
)


def test_golden_request_encodes() -> None:
    assert encode_request(_GOLDEN_REQUEST, padding=3).hex() == _GOLDEN_REQUEST_HEX


def test_golden_request_decodes_with_lowercase_names() -> None:
    req = decode_request(bytes.fromhex(_GOLDEN_REQUEST_HEX))
    assert req.headers == ((b"content-type", b"application/json"),)
    assert req == Request(
        b"POST",
        b"https",
        b"gw.example",
        b"/v1/infer",
        ((b"content-type", b"application/json"),),
        b'{"a":1}',
        ((b"x-t", b"1"),),
    )


def test_golden_response_both_ways_in_both_framings() -> None:
    assert encode_response(_GOLDEN_RESPONSE).hex() == _GOLDEN_RESPONSE_HEX
    assert encode_response_indeterminate(_GOLDEN_RESPONSE).hex() == (
        _GOLDEN_RESPONSE_INDETERMINATE_HEX
    )
    assert decode_response(bytes.fromhex(_GOLDEN_RESPONSE_HEX)) == _GOLDEN_RESPONSE
    assert decode_response(bytes.fromhex(_GOLDEN_RESPONSE_INDETERMINATE_HEX)) == _GOLDEN_RESPONSE


def test_streaming_encoder_matches_whole_message_encoder() -> None:
    headers = ((b"Content-Type", b"text/event-stream"),)
    streamed = (
        encode_response_head(200, headers)
        + encode_content_chunk(b"data: 1\n\n")
        + encode_content_chunk(b"")
        + encode_response_tail()
    )
    whole = Response(200, ((b"content-type", b"text/event-stream"),), b"data: 1\n\n")
    assert streamed == encode_response_indeterminate(whole)
    assert encode_content_chunk(b"") == b""


def test_large_content_chunk_is_split_for_the_stream_decoder() -> None:
    size = limits.MAX_BHTTP_CHUNK
    data = bytes(size + 5)
    encoded = encode_content_chunk(data)
    assert encoded == varint.encode(size) + data[:size] + b"\x05" + bytes(5)


# --- round trips -----------------------------------------------------------------------------

_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
_names = st.text(alphabet=_TCHAR, min_size=1, max_size=12).map(str.encode)
_values = st.binary(max_size=24).map(lambda b: b.translate(None, b"\r\n\x00").strip(b" \t"))
_fields = st.lists(st.tuples(_names, _values), max_size=6).map(tuple)
_vchar = st.binary(max_size=20).map(lambda b: bytes(c for c in b if 0x21 <= c <= 0x7E))
_requests = st.builds(
    Request,
    method=st.text(alphabet=_TCHAR + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8).map(
        str.encode
    ),
    scheme=st.sampled_from([b"https", b"http", b"", b"coap+tcp"]),
    authority=_vchar,
    path=_vchar,
    headers=_fields,
    content=st.binary(max_size=300),
    trailers=_fields,
)
_informational = st.builds(InformationalResponse, status=st.integers(100, 199), headers=_fields)
_responses = st.builds(
    Response,
    status=st.integers(200, 599),
    headers=_fields,
    content=st.binary(max_size=300),
    trailers=_fields,
    informational=st.lists(_informational, max_size=3).map(tuple),
)


@given(req=_requests, padding=st.integers(0, 20))
def test_request_round_trips_in_both_framings(req: Request, padding: int) -> None:
    assert decode_request(encode_request(req, padding=padding)) == req
    assert decode_request(encode_request_indeterminate(req, padding=padding)) == req


@given(resp=_responses, padding=st.integers(0, 20))
def test_response_round_trips_in_both_framings(resp: Response, padding: int) -> None:
    assert decode_response(encode_response(resp, padding=padding)) == resp
    assert decode_response(encode_response_indeterminate(resp, padding=padding)) == resp


def test_uppercase_names_are_lowercased_on_encode() -> None:
    req = Request(b"GET", b"https", b"a.example", b"/", ((b"X-Mixed-Case", b"v"),))
    assert decode_request(encode_request(req)).headers == ((b"x-mixed-case", b"v"),)
    assert req.header(b"x-MIXED-case") == b"v"


def _feed_in_pieces(data: bytes, cuts: list[int]) -> list[ResponseEvent]:
    decoder = ResponseStreamDecoder()
    events: list[ResponseEvent] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        events += decoder.feed(data[start:cut])
        start = max(start, cut)
    events += decoder.close()
    return events


def _assemble(events: list[ResponseEvent]) -> Response:
    """The Response that a well-ordered event sequence describes."""
    informational = [
        InformationalResponse(e.status, e.headers) for e in events if isinstance(e, Informational)
    ]
    heads = [e for e in events if isinstance(e, Head)]
    ends = [e for e in events if isinstance(e, End)]
    assert len(heads) == 1
    assert len(ends) == 1
    assert events[-1] == ends[0]
    assert events[len(informational)] == heads[0]
    chunks = [e.data for e in events if isinstance(e, Content)]
    assert all(chunks)
    return Response(
        heads[0].status, heads[0].headers, b"".join(chunks), ends[0].trailers, tuple(informational)
    )


@given(resp=_responses, padding=st.integers(0, 10), data=st.data())
def test_stream_decoder_in_random_pieces_matches_decode_response(
    resp: Response, padding: int, data: st.DataObject
) -> None:
    encoded = encode_response_indeterminate(resp, padding=padding)
    cuts = data.draw(st.lists(st.integers(0, len(encoded)), max_size=12))
    events = _feed_in_pieces(encoded, cuts)
    assert _assemble(events) == decode_response(encoded) == resp


@given(
    status=st.integers(200, 599),
    headers=_fields,
    chunks=st.lists(st.binary(max_size=40), max_size=6),
    trailers=_fields,
    data=st.data(),
)
def test_streamed_chunks_arrive_as_sent(
    status: int,
    headers: tuple[Field, ...],
    chunks: list[bytes],
    trailers: tuple[Field, ...],
    data: st.DataObject,
) -> None:
    encoded = (
        encode_response_head(status, headers)
        + b"".join(encode_content_chunk(c) for c in chunks)
        + encode_response_tail(trailers)
    )
    cuts = data.draw(st.lists(st.integers(0, len(encoded)), max_size=12))
    events = _feed_in_pieces(encoded, cuts)
    assert events == [
        Head(status, headers),
        *(Content(c) for c in chunks if c),
        End(trailers),
    ]
    assert decode_response(encoded) == Response(status, headers, b"".join(chunks), trailers)


def test_stream_truncated_after_head_or_content_is_complete() -> None:
    # RFC 9292 §3.8: empty trailers, and empty content with them, may be left out.
    head = encode_response_head(204, [(b"x", b"y")])
    for data in (head, head + b"\x00"):
        decoder = ResponseStreamDecoder()
        assert decoder.feed(data) == [Head(204, ((b"x", b"y"),))]
        assert decoder.close() == [End(())]
        assert decode_response(data) == Response(204, ((b"x", b"y"),))


# --- malformations: each test is named after what it stops ------------------------------------

_CONTROL = b"".join(varint.encode(len(x)) + x for x in (b"GET", b"https", b"a.example", b"/"))


def _known_request(header_section: bytes, rest: bytes = b"\x00\x00") -> bytes:
    return b"\x00" + _CONTROL + varint.encode(len(header_section)) + header_section + rest


def _line(name: bytes, value: bytes) -> bytes:
    return varint.encode(len(name)) + name + varint.encode(len(value)) + value


def test_truncated_varint_is_refused() -> None:
    for data in (b"\x40", b"\x00\x80\x00", _known_request(b"")[:-2] + b"\xc0\x00"):
        with pytest.raises(DecodeError):
            decode_request(data)
    with pytest.raises(DecodeError):
        decode_response(b"\x01\x40")


def test_length_past_end_is_refused() -> None:
    with pytest.raises(DecodeError, match="length past end"):
        decode_request(b"\x00\x05GE")
    with pytest.raises(DecodeError):
        decode_request(_known_request(b"", b"\x10abc"))  # content longer than the message
    with pytest.raises(DecodeError):  # a field line running past its section
        decode_request(_known_request(_line(b"host", b"a.example")[:-1]))


def test_truncated_header_section_is_refused() -> None:
    with pytest.raises(DecodeError):
        decode_request(b"\x00" + _CONTROL)
    with pytest.raises(DecodeError):
        decode_request(b"\x02" + _CONTROL + _line(b"host", b"x"))  # no terminator
    with pytest.raises(DecodeError):
        decode_response(b"\x01\x40\xc8")


def test_unterminated_indeterminate_content_is_refused() -> None:
    with pytest.raises(DecodeError):
        decode_request(b"\x02" + _CONTROL + b"\x00" + b"\x03abc")


def test_uppercase_field_name_is_refused() -> None:
    with pytest.raises(DecodeError, match="uppercase field name"):
        decode_request(_known_request(_line(b"Host", b"a.example")))
    with pytest.raises(DecodeError, match="uppercase field name"):
        ResponseStreamDecoder().feed(b"\x03\x40\xc8" + _line(b"X", b"1"))


def test_invalid_field_name_is_refused() -> None:
    for name in (b":path", b"a b", b"a\x00", b"\xff", b"a\r\nb"):
        with pytest.raises(DecodeError, match="invalid field name"):
            decode_request(_known_request(_line(name, b"v")))
        with pytest.raises(UsageError):
            Request(b"GET", b"https", b"", b"/", ((name, b"v"),))
    with pytest.raises(DecodeError, match="empty field name"):
        decode_request(_known_request(b"\x00\x00"))


def test_nonzero_padding_is_refused() -> None:
    req = encode_request(_GOLDEN_REQUEST, padding=4)
    with pytest.raises(DecodeError, match="nonzero padding"):
        decode_request(req[:-1] + b"\x01")
    resp = encode_response_indeterminate(_GOLDEN_RESPONSE, padding=4)
    with pytest.raises(DecodeError, match="nonzero padding"):
        decode_response(resp[:-2] + b"\x01\x00")
    decoder = ResponseStreamDecoder()
    decoder.feed(resp)
    with pytest.raises(DecodeError, match="nonzero padding"):
        decoder.feed(b"\x00\x00\x07")


def test_oversize_field_section_is_refused() -> None:
    too_long = varint.encode(limits.MAX_BHTTP_FIELD_SECTION + 1)
    with pytest.raises(TooLargeError):
        decode_request(b"\x00" + _CONTROL + too_long)
    big = _line(b"x", bytes([0x61]) * limits.MAX_BHTTP_VALUE)
    count = limits.MAX_BHTTP_FIELD_SECTION // len(big) + 1
    with pytest.raises(TooLargeError, match="field section too large"):
        decode_request(b"\x02" + _CONTROL + big * count + b"\x00")
    with pytest.raises(TooLargeError, match="field section too large"):
        ResponseStreamDecoder().feed(b"\x03\x40\xc8" + big * count)
    with pytest.raises(UsageError):
        Response(200, ((b"x", b"a" * limits.MAX_BHTTP_VALUE),) * count)


def test_oversize_name_and_value_are_refused_before_buffering() -> None:
    with pytest.raises(TooLargeError, match="field name too large"):
        ResponseStreamDecoder().feed(b"\x03\x40\xc8" + varint.encode(limits.MAX_BHTTP_NAME + 1))
    with pytest.raises(TooLargeError, match="field value too large"):
        ResponseStreamDecoder().feed(
            b"\x03\x40\xc8\x01x" + varint.encode(limits.MAX_BHTTP_VALUE + 1)
        )


def test_too_many_fields_are_refused() -> None:
    lines = _line(b"a", b"") * (limits.MAX_BHTTP_FIELDS + 1)
    with pytest.raises(TooLargeError, match="too many fields"):
        decode_request(_known_request(lines))
    with pytest.raises(TooLargeError, match="too many fields"):
        decode_response(b"\x03\x40\xc8" + lines + b"\x00")
    with pytest.raises(UsageError):
        Request(b"GET", b"https", b"", b"/", ((b"a", b""),) * (limits.MAX_BHTTP_FIELDS + 1))


def test_too_many_informational_responses_are_refused() -> None:
    interim = b"\x40\x64\x00" * (limits.MAX_BHTTP_INFORMATIONAL + 1)
    for data in (b"\x01" + interim, b"\x03" + interim):
        with pytest.raises(TooLargeError):
            decode_response(data)
    with pytest.raises(TooLargeError):
        ResponseStreamDecoder().feed(b"\x03" + interim)


@pytest.mark.parametrize("status", [0, 99, 600, 999, 2**62 - 1])
def test_bad_status_is_refused(status: int) -> None:
    for framing in (b"\x01", b"\x03"):
        with pytest.raises(DecodeError, match="invalid status code"):
            decode_response(framing + varint.encode(status) + b"\x00\x00\x00")
    with pytest.raises(DecodeError, match="invalid status code"):
        ResponseStreamDecoder().feed(b"\x03" + varint.encode(status))
    with pytest.raises(UsageError):
        Response(status)
    with pytest.raises(UsageError):
        encode_response_head(status, ())


def test_informational_status_cannot_end_a_response() -> None:
    with pytest.raises(UsageError):
        Response(103)
    with pytest.raises(UsageError):
        InformationalResponse(200)
    with pytest.raises(DecodeError):  # only 1xx responses, no final one
        decode_response(b"\x01\x40\x64\x00")


@pytest.mark.parametrize("method", [b"", b"GE T", b"G\x00", b"GET\r\n", b"G\xc3\xa9", b"(GET)"])
def test_invalid_method_token_is_refused(method: bytes) -> None:
    data = b"\x00" + varint.encode(len(method)) + method + _CONTROL[4:] + b"\x00"
    with pytest.raises(DecodeError, match="invalid method"):
        decode_request(data)
    with pytest.raises(UsageError):
        Request(method, b"https", b"", b"/")


def test_request_target_injection_is_refused() -> None:
    for authority, path in (
        (b"a.example", b"/ HTTP/1.1\r\nx: y"),
        (b"a\r\nb", b"/"),
        (b"", b"/\x7f"),
    ):
        data = b"\x00" + b"".join(
            varint.encode(len(x)) + x for x in (b"GET", b"https", authority, path)
        )
        with pytest.raises(DecodeError, match="invalid request target"):
            decode_request(data + b"\x00")
    with pytest.raises(DecodeError, match="invalid scheme"):
        decode_request(b"\x00\x03GET\x02h:\x00\x01/\x00")


def test_oversize_control_data_is_refused() -> None:
    data = b"\x00\x03GET" + varint.encode(limits.MAX_BHTTP_CONTROL + 1)
    with pytest.raises(TooLargeError):
        decode_request(data)


@pytest.mark.parametrize(
    "value", [b"x\r\nSet-Cookie: a=b", b"x\ny", b"x\ry", b"x\x00y", b" x", b"x\t"]
)
def test_crlf_injection_in_value_is_refused(value: bytes) -> None:
    with pytest.raises(DecodeError, match="invalid field value"):
        decode_request(_known_request(_line(b"x", value)))
    with pytest.raises(DecodeError, match="invalid field value"):
        decode_response(b"\x03\x40\xc8" + _line(b"x", value) + b"\x00")
    with pytest.raises(UsageError):
        Request(b"GET", b"https", b"", b"/", ((b"x", value),))
    with pytest.raises(UsageError):
        encode_response_head(200, [(b"x", value)])
    with pytest.raises(UsageError):
        encode_response_tail([(b"x", value)])


def test_wrong_framing_indicator_is_refused() -> None:
    req = encode_request(_GOLDEN_REQUEST)
    resp = encode_response(_GOLDEN_RESPONSE)
    with pytest.raises(DecodeError, match="not a binary HTTP request"):
        decode_request(resp)
    with pytest.raises(DecodeError, match="not a binary HTTP response"):
        decode_response(req)
    for framing in (b"\x04", b"\x40\x05", b"\x3f"):
        with pytest.raises(DecodeError):
            decode_request(framing)
    with pytest.raises(DecodeError):  # the stream decoder takes framing 3 only
        ResponseStreamDecoder().feed(resp)


def test_oversize_message_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode_request(_GOLDEN_REQUEST)
    monkeypatch.setattr(limits, "MAX_BHTTP_MESSAGE", len(data) - 1)
    with pytest.raises(TooLargeError):
        decode_request(data)
    decoder = ResponseStreamDecoder()
    decoder.feed(b"\x03")
    with pytest.raises(TooLargeError):
        decoder.feed(bytes(len(data)))


def test_encoder_refuses_what_the_decoder_would(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError):
        encode_request(_GOLDEN_REQUEST, padding=-1)
    monkeypatch.setattr(limits, "MAX_BHTTP_MESSAGE", 40)
    with pytest.raises(UsageError):
        encode_request(_GOLDEN_REQUEST, padding=10)


def test_oversize_content_chunk_is_refused_by_the_stream_decoder() -> None:
    decoder = ResponseStreamDecoder()
    decoder.feed(encode_response_head(200, ()))
    with pytest.raises(TooLargeError, match="content chunk too large"):
        decoder.feed(varint.encode(limits.MAX_BHTTP_CHUNK + 1))


def test_stream_cut_mid_message_is_refused() -> None:
    full = encode_response_indeterminate(_GOLDEN_RESPONSE)
    # Only cuts right after the header section (the message then reads as one with empty content)
    # or right after the content terminator are complete messages (RFC 9292 §3.8).
    valid_ends = {len(full) - len(b"\x04busy\x00\x00"), len(full) - 1}
    for cut in range(len(full)):
        decoder = ResponseStreamDecoder()
        decoder.feed(full[:cut])
        if cut in valid_ends:
            assert decoder.close() == [End(())]
        else:
            with pytest.raises(DecodeError, match="truncated binary HTTP stream"):
                decoder.close()


def test_stream_decoder_refuses_input_after_an_error() -> None:
    decoder = ResponseStreamDecoder()
    with pytest.raises(DecodeError):
        decoder.feed(b"\x07")
    with pytest.raises(DecodeError):
        decoder.feed(b"\x03")
    with pytest.raises(DecodeError):
        decoder.close()


# --- fuzz: garbage is rejected with our error type, never a crash ----------------------------


def _try_all_decoders(data: bytes) -> None:
    for decode in (decode_request, decode_response):
        with contextlib.suppress(PeerError):
            decode(data)
    decoder = ResponseStreamDecoder()
    with contextlib.suppress(PeerError):
        decoder.feed(data)
        decoder.close()


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_a_decoder(data: bytes) -> None:
    _try_all_decoders(data)
    for framing in (b"\x00", b"\x01", b"\x02", b"\x03"):
        _try_all_decoders(framing + data)


@settings(max_examples=300)
@given(resp=_responses, req=_requests, data=st.data())
def test_mutated_messages_never_crash_a_decoder(
    resp: Response, req: Request, data: st.DataObject
) -> None:
    for encoded in (
        encode_response(resp),
        encode_response_indeterminate(resp),
        encode_request(req),
        encode_request_indeterminate(req),
    ):
        mutated = bytearray(encoded)
        for _ in range(data.draw(st.integers(1, 4))):
            mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(0, len(mutated)))
        _try_all_decoders(bytes(mutated[:cut]))


def test_too_many_content_chunks_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each chunk costs a loop turn; a flood of tiny chunks must not buy seconds of CPU.
    monkeypatch.setattr(limits, "MAX_BHTTP_CHUNKS", 3)
    head = encode_response_head(200, ())
    ok = head + encode_content_chunk(b"a") * 3 + encode_response_tail()
    assert decode_response(ok).content == b"aaa"
    assert len(ResponseStreamDecoder().feed(ok)) == 5
    flood = head + encode_content_chunk(b"a") * 4 + encode_response_tail()
    with pytest.raises(TooLargeError, match="too many content chunks"):
        decode_response(flood)
    with pytest.raises(TooLargeError, match="too many content chunks"):
        ResponseStreamDecoder().feed(flood)
    with pytest.raises(TooLargeError, match="too many content chunks"):
        decode_request(b"\x02" + _CONTROL + b"\x00" + b"\x01a" * 4 + b"\x00")

"""Nested JSON: a body of a few thousand ``[`` — under every size bound — must give our error at
every place privcloud reads JSON from a peer or from disk, never Python's ``RecursionError``.

First the one bounded decoder (:mod:`privcloud.wire.jsonio`) and the one remote-error codec;
then each client entry point, against a real aiohttp server on 127.0.0.1 that answers with the
nested body: the SDK client (the relay's error body, and an error inside the OHTTP response),
the wallet (the issuer's error body, the issuer directory, the wallet file), the log client
(error body, proofs, entries, the append answer), the command line (``node verify``,
``log audit``, local files) and the decoders of every other document from outside.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import math
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from privcloud import limits
from privcloud.cli import main
from privcloud.cli.features import _load_items
from privcloud.cli.session import read_run_file
from privcloud.crypto.hpke import X25519_SHA256_AES128GCM, KemId, generate_keypair
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.device.web import parse_params
from privcloud.envelope import key_id_for
from privcloud.errors import (
    ConfigError,
    DecodeError,
    NotFoundError,
    TooLargeError,
    UpstreamError,
    UsageError,
)
from privcloud.localcloud.cloudconfig import CloudConfig
from privcloud.logclient import LogClient
from privcloud.ohttp import MEDIA_REQUEST, ChunkedRequestDecoder, GatewayKey, decapsulate_request
from privcloud.privacypass.directory import WELL_KNOWN_PATH, IssuerDirectory
from privcloud.privacypass.issuance import ENROL_PATH, decode_enrolment, parse_issuer_directory
from privcloud.sdk import Client
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.services.site import start_site
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.merkle import MerkleTree, leaf_hash
from privcloud.transparency.note import Ed25519NoteSigner
from privcloud.transparency.tiles import encode_bundle, encode_tile
from privcloud.trust.bundle import NodeBundle
from privcloud.trust.directory import NodeDescriptor, decode_descriptor, decode_directory
from privcloud.trust.release_manifest import ReleaseManifest
from privcloud.wire import bhttp, jsonio, varint
from privcloud.wire.message import MESSAGE_VERSION, Event, EventKind, decode_event, encode_event
from privcloud.workloads.search import parse_request

#: The attack: nesting far past the interpreter's recursion limit (1000), in 3 KiB — under
#: every size bound, the enrolment body's 4 KiB included.
NESTED = b"[" * 3000
#: The same inside an error body's object, closed.
NESTED_BODY = b'{"error": "bad_request", "message": ' + NESTED + b"]" * 3000 + b"}"

SRC = Path(__file__).resolve().parents[2] / "src" / "privcloud"


# --- 1. the decoder ---------------------------------------------------------------------------


@pytest.mark.parametrize("open_, close", [("[", "]"), ('{"a":', "}")])
def test_nesting_exactly_at_the_limit_is_accepted(open_: str, close: str) -> None:
    depth = limits.MAX_JSON_DEPTH
    doc = jsonio.loads((open_ * depth + "1" + close * depth).encode())
    for _ in range(depth):
        doc = doc[0] if isinstance(doc, list) else doc["a"]
    assert doc == 1


@pytest.mark.parametrize("open_, close", [("[", "]"), ('{"a":', "}")])
def test_nesting_one_over_the_limit_is_refused(open_: str, close: str) -> None:
    depth = limits.MAX_JSON_DEPTH + 1
    with pytest.raises(DecodeError, match="nested too deeply"):
        jsonio.loads((open_ * depth + "1" + close * depth).encode())


@pytest.mark.parametrize("data", [b"[" * 100_000, b"{" * 100_000, b'{"a":[' * 50_000])
def test_hundred_thousand_open_brackets_are_refused_without_recursion_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        jsonio.loads(data, max_bytes=len(data))
    with pytest.raises(DecodeError):
        jsonio.loads(data.decode(), max_bytes=len(data))


def test_brackets_and_escaped_quotes_inside_strings_do_not_count_as_depth() -> None:
    shallow = limits.MAX_JSON_DEPTH - 1
    cases = [
        b'["' + b"[" * 5000 + b'"]',
        b'{"' + b"{" * 5000 + b'": 1}',
        b'["\\"' + b"[" * 5000 + b'\\""]',  # an escaped quote does not end the string
        b'["\\\\\\"[[[[", ' + b"[" * shallow + b"]" * shallow + b"]",
    ]
    for data in cases:
        jsonio.loads(data)
    # An escaped backslash does end it: the brackets after count.
    deep = b'["\\\\", ' + b"[" * limits.MAX_JSON_DEPTH + b"]" * limits.MAX_JSON_DEPTH + b"]"
    with pytest.raises(DecodeError, match="nested too deeply"):
        jsonio.loads(deep)


def test_document_over_its_size_bound_is_refused() -> None:
    with pytest.raises(TooLargeError):
        jsonio.loads(b"[" + b"1," * 600 + b"1]", max_bytes=1000)
    with pytest.raises(TooLargeError):
        jsonio.loads('"' + "é" * 600 + '"', max_bytes=1000)  # text: its UTF-8 size counts
    with pytest.raises(TooLargeError):
        jsonio.loads(b" " * (limits.MAX_JSON_BYTES + 1))
    assert jsonio.loads(b"[" + b"1," * 400 + b"1]", max_bytes=1000)[0] == 1


@pytest.mark.parametrize(
    "data", [b"NaN", b"[Infinity]", b'{"x": -Infinity}', b"[1e999]", b"-1e400"]
)
def test_nan_and_infinity_are_refused(data: bytes) -> None:
    with pytest.raises(DecodeError, match="NaN or Infinity"):
        jsonio.loads(data)


def test_duplicate_keys_are_refused_when_asked() -> None:
    data = b'{"a": 1, "b": {"a": 2, "a": 3}}'
    assert jsonio.loads(data) == {"a": 1, "b": {"a": 3}}
    with pytest.raises(DecodeError, match="duplicate"):
        jsonio.loads(data, allow_duplicate_keys=False)


def test_floats_are_refused_when_asked() -> None:
    assert jsonio.loads(b"[1.5]") == [1.5]
    with pytest.raises(DecodeError, match="non-integer"):
        jsonio.loads(b"[1.5]", allow_floats=False)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff[]",
        '["x"]'.encode("utf-16"),  # json.loads on bytes would sniff UTF-16; we do not
        b"\xef\xbb\xbf[]",
        b"[1,]",
        b"",
        b"[" + b"9" * 5000 + b"]",  # past the int digit limit: ValueError in json.loads
    ],
)
def test_malformed_json_is_our_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        jsonio.loads(data)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ ax'),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ ax', max_size=4), inner, max_size=3)
    ),
    max_leaves=30,
)


@given(_JSON, st.integers(0, 12))
def test_depth_scan_agrees_with_the_parsed_value(value: Any, max_depth: int) -> None:
    raw = json.dumps(value).encode()
    assert jsonio.nesting_depth_exceeds(raw, max_depth) == (_depth(value) > max_depth)


@given(st.binary(max_size=300) | st.text(alphabet='[]{}"\\:,1aNn ', max_size=300).map(str.encode))
def test_garbage_gives_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError, TooLargeError):
        jsonio.loads(data, max_depth=4)


# --- 2. the remote error body -----------------------------------------------------------------


def test_error_body_golden_bytes_both_ways() -> None:
    golden = b'{"error": "not_found", "message": "no such route"}'
    assert jsonio.encode_error_body(NotFoundError("no such route")) == golden
    error = jsonio.decode_error_body(golden, 404, peer="relay")
    assert type(error) is NotFoundError
    assert str(error) == "no such route"


@pytest.mark.parametrize(
    "body",
    [
        NESTED,
        NESTED_BODY,
        b"<html>bad gateway</html>",
        b'["error"]',
        b'{"message": "no code"}',
        b'{"error": "x", "pad": "' + b"a" * limits.MAX_REMOTE_ERROR_BODY + b'"}',
    ],
)
def test_undecodable_error_body_becomes_upstream_error_naming_the_status(body: bytes) -> None:
    error = jsonio.decode_error_body(body, 502, peer="relay")
    assert type(error) is UpstreamError
    assert str(error) == "relay answered status 502"


def test_no_json_is_parsed_outside_the_bounded_decoder() -> None:
    """A scan of the tree: ``json.load(s)`` and ``resp.json()`` appear only in wire/jsonio.py."""
    found = set()
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set()
            if getattr(node, "module", None) == "json" and names & {"load", "loads"}:
                found.add(rel)
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            func = node.func
            if func.attr in ("load", "loads") and getattr(func.value, "id", None) == "json":
                found.add(rel)
            if func.attr == "json" and not node.args:
                found.add(rel)  # aiohttp's resp.json()/request.json(): unbounded json.loads
    assert found - {"wire/jsonio.py"} == set(PENDING)


#: Modules still parsing JSON without the bounded decoder, in code being changed by others.
#: Each should use privcloud.wire.jsonio; drop the entry in the same change (a stale entry fails).
PENDING: dict[str, str] = {}


# --- 3. real servers answering with the nested body --------------------------------------------

Routes = dict[tuple[str, str], tuple[int, bytes]]


def _app(routes: Routes, ohttp: Callable[[web.Request], Any] | None = None) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        if ohttp is not None and request.path == "/v1/ohttp":
            return await ohttp(request)  # type: ignore[no-any-return]
        await request.read()
        status, body = routes.get((request.method, request.path), (404, b""))
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@contextlib.asynccontextmanager
async def _serve(routes: Routes, ohttp: Callable[[web.Request], Any] | None = None) -> Any:
    runner, port = await start_site(_app(routes, ohttp), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def _serve_in_thread(routes: Routes) -> Iterator[str]:
    """For the command line, which runs its own event loop: the server runs in another."""
    loop = asyncio.new_event_loop()
    runner, port = loop.run_until_complete(start_site(_app(routes), "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


# --- the SDK client ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway_key() -> GatewayKey:
    return GatewayKey.generate(key_id=7)


def _node() -> SimpleNamespace:
    key = generate_keypair(KemId.DHKEM_X25519_HKDF_SHA256)
    descriptor = NodeDescriptor(
        node_id="n1",
        key_id=key_id_for(KemId.DHKEM_X25519_HKDF_SHA256, key.public_bytes),
        suite=X25519_SHA256_AES128GCM,
        public_key=key.public_bytes,
        region="r",
        provider="p",
        tee="simulated-insecure",
        features=("echo", "echo_stream"),
    )
    return SimpleNamespace(descriptor=descriptor)


@contextlib.asynccontextmanager
async def _client(
    url: str, key: GatewayKey, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Client]:
    """A client of the relay at ``url`` that seals to one node with ``key``'s configuration.
    Admission is not what these tests attack: the client is given its result directly."""
    client = Client(url)
    node = _node()
    monkeypatch.setattr(client, "_expired", lambda: False)
    monkeypatch.setattr(client, "_choose", lambda feature, regions=None: [node])
    client._key_config = key.config
    try:
        yield client
    finally:
        await client.close()


async def test_nested_json_error_body_from_relay_gives_our_error(
    gateway_key: GatewayKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    for body in (NESTED, NESTED_BODY):
        routes = {("POST", "/v1/ohttp"): (502, body)}
        async with _serve(routes) as url, _client(url, gateway_key, monkeypatch) as client:
            with pytest.raises(UpstreamError, match="relay answered status 502"):
                await client.call("echo", {}, b"hi")


def _inner_error_answer(key: GatewayKey) -> Callable[[web.Request], Any]:
    """A relay and gateway in one that opens the request and answers, inside OHTTP, with an
    inner 502 whose body is the nested JSON."""

    async def answer(request: web.Request) -> web.Response:
        body = await request.read()
        headers = [(b"content-type", b"application/json")]
        if request.content_type == MEDIA_REQUEST:
            _, ctx = decapsulate_request({key.key_id: key}, body)
            inner = bhttp.Response(status=502, headers=tuple(headers), content=NESTED)
            sealed = ctx.encapsulate_response(bhttp.encode_response(inner))
            return web.Response(body=sealed, content_type="message/ohttp-res")
        decoder = ChunkedRequestDecoder({key.key_id: key})
        decoder.feed(body)
        decoder.close()
        chunked = decoder.context
        wire = [
            chunked.response_header(),
            chunked.seal_chunk(bhttp.encode_response_head(502, headers), final=False),
            chunked.seal_chunk(bhttp.encode_content_chunk(NESTED), final=False),
            chunked.seal_chunk(bhttp.encode_response_tail(), final=True),
        ]
        return web.Response(body=b"".join(wire), content_type="message/ohttp-chunked-res")

    return answer


@pytest.mark.parametrize("stream", [False, True])
async def test_nested_json_error_inside_ohttp_response_gives_our_error(
    gateway_key: GatewayKey, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    async with (
        _serve({}, ohttp=_inner_error_answer(gateway_key)) as url,
        _client(url, gateway_key, monkeypatch) as client,
    ):
        with pytest.raises(UpstreamError, match="gateway answered status 502"):
            if stream:
                async for _ in client.stream("echo_stream", {}, b"hi"):
                    pass
            else:
                await client.call("echo", {}, b"hi")


# --- the wallet ----------------------------------------------------------------------------


async def test_nested_json_error_body_from_issuer_gives_our_error() -> None:
    async with _serve({("POST", ENROL_PATH): (403, NESTED_BODY)}) as url:
        wallet = Wallet(url, enrolment_code="one-time-code")
        try:
            with pytest.raises(UpstreamError, match="issuer answered status 403"):
                await wallet.enrol()
        finally:
            await wallet.close()


async def test_nested_json_issuer_directory_gives_our_error() -> None:
    good = json.dumps({"issuer-request-uri": "/v1/token-batch", "token-keys": []}).encode()
    async with (
        _serve({("GET", WELL_KNOWN_PATH): (200, NESTED)}) as nested_url,
        _serve({("GET", WELL_KNOWN_PATH): (200, good)}) as good_url,
    ):
        for wallet in (
            Wallet(nested_url),  # the issuer itself
            Wallet(
                good_url, config=WalletConfig(consistency_url=nested_url)
            ),  # the relay's pass-through
        ):
            try:
                with pytest.raises(DecodeError, match="nested too deeply"):
                    await wallet.refresh_keys()
            finally:
                await wallet.close()


def test_nested_json_wallet_file_gives_our_error(tmp_path: Path) -> None:
    path = tmp_path / "wallet.json"
    path.write_bytes(b'{"version": 1, "tokens": ' + NESTED + b"]" * 3000 + b"}")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError, match="wallet file does not load"):
        Wallet("http://127.0.0.1:1", path=path)


# --- the log client ----------------------------------------------------------------------------


async def test_nested_json_error_body_from_log_gives_our_error() -> None:
    routes = {
        ("GET", "/v1/checkpoint"): (500, NESTED_BODY),
        ("POST", "/v1/entries"): (503, NESTED),
    }
    async with _serve(routes) as url, LogClient(url) as client:
        with pytest.raises(UpstreamError, match="log answered status 500"):
            await client.checkpoint()
        with pytest.raises(UpstreamError, match="log answered status 503"):
            await client.append(b"entry", Ed25519PrivateKey.generate(), now=0)


async def test_nested_json_log_proofs_and_entries_give_our_error() -> None:
    routes = {
        ("GET", "/v1/proof/inclusion"): (200, NESTED),
        ("GET", "/v1/proof/consistency"): (200, NESTED),
        ("GET", "/v1/entries"): (200, NESTED),
        ("GET", "/v1/leaf"): (200, NESTED),
        ("POST", "/v1/entries"): (201, NESTED),
    }
    async with _serve(routes) as url, LogClient(url) as client:
        reads: list[Callable[[], Awaitable[object]]] = [
            lambda: client.inclusion_proof(0, 2),
            lambda: client.consistency_proof(1, 2),
            lambda: client.entries(0, 1),
            lambda: client.leaf_index(b"\x00" * 32),
            lambda: client.append(b"entry", Ed25519PrivateKey.generate(), now=0),
        ]
        for read in reads:
            with pytest.raises(DecodeError, match="nested too deeply"):
                await read()


# --- the command line ----------------------------------------------------------------------


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(argv)
    err = capsys.readouterr().err
    assert "RecursionError" not in err
    return status, err


@pytest.mark.parametrize(
    "route", [(200, NESTED), (502, NESTED_BODY)], ids=["descriptor", "error-body"]
)
def test_nested_json_from_node_gives_our_error_in_node_verify(
    route: tuple[int, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    with _serve_in_thread({("GET", "/v1/attestation"): route}) as url:
        args = ["node", "verify", url, "--log", "http://127.0.0.1:1", "--log-vkey", "unused"]
        status, err = _run_cli(args, capsys)
    assert status == 1
    assert "DecodeError" in err or "UpstreamError: node answered status 502" in err


def test_bad_bodies_from_log_give_our_error_in_log_audit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The audit reads the C2SP checkpoint, tiles and entry bundles only (no JSON from the log
    # any more; entries are opaque bytes): an error body of nested JSON, or an entry bundle
    # whose length prefix overruns it, still gives our errors.
    signer = Ed25519NoteSigner("example.org/log", Ed25519PrivateKey.generate())
    tree = MerkleTree()
    tree.append_leaf(NESTED)
    note = sign_checkpoint(Checkpoint(signer.name, 1, tree.root()), [signer])
    vkey = signer.verifier().vkey()
    tiled = {
        ("GET", "/checkpoint"): (200, note),
        ("GET", "/tile/0/000.p/1"): (200, encode_tile([leaf_hash(NESTED)])),
        ("GET", "/tile/entries/000.p/1"): (200, encode_bundle([NESTED])[:-1]),
    }
    for routes, expected in [
        ({("GET", "/checkpoint"): (500, NESTED_BODY)}, "UpstreamError"),
        (tiled, "Decode"),
    ]:
        with _serve_in_thread(routes) as url:
            status, err = _run_cli(["log", "audit", "--log", url, "--log-vkey", vkey], capsys)
        assert status == 1
        assert expected in err


def test_nested_json_in_local_files_gives_our_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # privcloud call --params: refused before anything is sent.
    argv = ["call", "echo", "--relay", "http://127.0.0.1:1", "--params", NESTED.decode()]
    assert _run_cli(argv, capsys)[0] == 2
    # privcloud release build --config FILE
    config = tmp_path / "config.json"
    config.write_bytes(NESTED)
    assert _run_cli(["release", "build", "--config", str(config)], capsys)[0] == 2
    # privcloud search --items FILE: not JSON, so read as lines of text.
    assert _load_items(str(config)) == [{"id": "1", "text": NESTED.decode()}]
    # The run file of `privcloud up`: treated as absent.
    cloud = CloudConfig(data_dir=tmp_path)
    cloud.run_file.write_bytes(NESTED)
    os.chmod(cloud.run_file, 0o600)
    assert read_run_file(cloud) is None


# --- every other decoder of JSON from outside ----------------------------------------------------


def _event_with_meta(meta: bytes) -> bytes:
    return bytes([MESSAGE_VERSION, EventKind.RESULT]) + varint.encode(len(meta)) + meta


@pytest.mark.parametrize(
    "decode",
    [
        decode_directory,
        decode_descriptor,
        NodeBundle.decode,
        ReleaseManifest.decode,
        IssuerDirectory.decode,
        parse_issuer_directory,
        decode_enrolment,
        parse_request,
        TrustedLogState.from_json,
        lambda data: decode_event(_event_with_meta(data)),
        lambda data: parse_params(data.decode()),
    ],
)
def test_nested_json_document_from_outside_gives_our_error(decode: Callable[[bytes], Any]) -> None:
    for document in (NESTED, b'{"a": ' + NESTED[:1000] + b"1" + b"]" * 1000 + b"}"):
        with pytest.raises(DecodeError) as info:
            decode(document)
        # The nesting is what refused it (a caller may restate the error, from the decoder's).
        assert "nested too deeply" in f"{info.value} {info.value.__cause__}"


def test_workload_json_that_would_be_refused_is_not_encoded() -> None:
    """Encoder and decoder are a pair: a node cannot send meta the client then refuses."""
    deep: Any = 1
    for _ in range(limits.MAX_JSON_DEPTH + 1):
        deep = [deep]
    for meta in ({"x": math.nan}, {"x": math.inf}, {"x": deep}):
        with pytest.raises(UsageError):
            encode_event(Event(EventKind.RESULT, meta))

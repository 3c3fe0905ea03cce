"""The own seeds of the fuzz targets: bytes made by privcloud's encoders with the fixed keys of
:mod:`fuzz.fixtures`, and bytes of the repository's own golden vectors
(``tests/vectors/envelope_v1.json``, ``tests/vectors/privacypass_ts_headers.json``).

One function per target returns its seeds, each the operation byte and that operation's input
(:func:`fuzz.harness.seed`); ``make_corpus.py`` writes them to ``fuzz/corpus/<target>/``.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import struct
import wave
from collections.abc import Callable, Iterable
from typing import Final

from fuzz import (
    ROOT,
    fixtures,
    fuzz_android_attestation,
    fuzz_eventlog,
    fuzz_jwt,
    fuzz_rim,
    fuzz_spdm,
    fuzz_tpm,
    harness,
)
from fuzz.fuzz_privacypass_tokens import DEVICE_FIELDS, DEVICE_NOW
from fuzz.fuzz_tiles import NEEDED, TREE
from fuzz.fuzz_transparency import LOG_NOW
from privcloud.attest.base import TEE_SEV_SNP, Evidence
from privcloud.attest.sevsnp import GUID_VCEK
from privcloud.envelope import open_request, seal_request
from privcloud.envelope.padding import pad
from privcloud.errors import DecodeError
from privcloud.ohttp import ChunkedRequestDecoder, decapsulate_request, encode_key_configs
from privcloud.privacypass import PrivateTokenChallenge, TokenChallenge
from privcloud.privacypass.directory import DirectoryKey, IssuerDirectory
from privcloud.privacypass.headers import encode_authorization, encode_www_authenticate
from privcloud.privacypass.issuance import (
    BATCH_PATH,
    EXPIRES_MEMBER,
    encode_batch_request,
    encode_batch_response,
    encode_enrolment,
    sign_device_request,
)
from privcloud.privacypass.tokens import client_begin, client_finalize, issuer_evaluate
from privcloud.transparency.append_auth import sign_append
from privcloud.transparency.checkpoint import Checkpoint, sign_checkpoint
from privcloud.transparency.merkle import MerkleTree
from privcloud.transparency.note import NoteSigner
from privcloud.transparency.tiles import TileId, encode_bundle, read_tile
from privcloud.transparency.witness import encode_add_checkpoint, encode_size_body
from privcloud.trust.bundle import NodeBundle
from privcloud.trust.directory import (
    NodeDescriptor,
    encode_descriptor,
    encode_directory,
)
from privcloud.trust.keys import (
    DEFAULT_GATEWAY_SERVICE,
    KeyStatement,
    encode_statement_list,
)
from privcloud.trust.release_manifest import ModelFile, ReleaseManifest
from privcloud.wire import jsonio
from privcloud.wire.bhttp import (
    InformationalResponse,
    Request,
    Response,
    encode_content_chunk,
    encode_request,
    encode_request_indeterminate,
    encode_response,
    encode_response_head,
    encode_response_indeterminate,
    encode_response_tail,
)
from privcloud.wire.message import (
    Event,
    EventKind,
    WorkloadRequest,
    encode_event,
    frame_event,
)
from privcloud.wire.message import encode_request as encode_workload_request

#: Piece sizes the streaming seeds are fed in: byte by byte, odd splits, whole (0).
_PIECES: Final = (1, 7, 64, 0)


def _ops(target: str) -> harness.Ops:
    ops: harness.Ops = importlib.import_module(f"fuzz.{target}").OPS
    return ops


def streams(target: str, name: str, payloads: Iterable[bytes]) -> list[bytes]:
    """Seeds feeding each of ``payloads`` to streaming operation ``name`` in several splits."""
    ops = _ops(target)
    return [harness.stream_seed(ops, name, piece, p) for p in payloads for piece in _PIECES]


def each(target: str, name: str, payloads: Iterable[bytes]) -> list[bytes]:
    """Seeds running operation ``name`` of ``target`` on each of ``payloads``."""
    ops = _ops(target)
    return [harness.seed(ops, name, p) for p in payloads]


# --- Binary HTTP ----------------------------------------------------------------------------------

_HEADERS: Final = ((b"user-agent", b"curl/7.16.3"), (b"accept-language", b"en, mi"))


def _bhttp_messages() -> tuple[list[Request], list[Response]]:
    requests = [
        Request(b"GET", b"https", b"www.example.com", b"/hello.txt", _HEADERS),
        Request(b"GET", b"https", b"", b"/"),
        Request(b"CONNECT", b"", b"example.com:443", b""),
        Request(
            b"POST",
            b"https",
            b"privcloud.gateway",
            b"/v1/envelope",
            ((b"content-type", b"application/privcloud-envelope"),),
            b"\x01" + bytes(300),
            ((b"x-trailer", b"done"),),
        ),
    ]
    responses = [
        Response(200, ((b"content-type", b"text/plain"),), b"Hello World! My content includes"),
        Response(
            200,
            _HEADERS,
            b"body",
            ((b"server-timing", b"total;dur=1"),),
            (InformationalResponse(102), InformationalResponse(103, ((b"link", b"</s.css>"),))),
        ),
        Response(401, ((b"www-authenticate", b"PrivateToken challenge=AAIA"),)),
        Response(204),
    ]
    return requests, responses


def seeds_bhttp() -> list[bytes]:
    t = "fuzz_bhttp"
    requests, responses = _bhttp_messages()
    req = [encode_request(r) for r in requests] + [
        encode_request_indeterminate(r) for r in requests
    ]
    req += [encode_request(requests[0], padding=5), encode_request_indeterminate(requests[1])[:-2]]
    resp = [encode_response(r) for r in responses]
    resp += [encode_response_indeterminate(r, padding=3) for r in responses]
    stream_payloads = [encode_response_indeterminate(r) for r in responses]
    stream_payloads.append(
        encode_response_head(200, _HEADERS)
        + b"".join(encode_content_chunk(bytes([i]) * (i * 37 % 90 + 1)) for i in range(12))
        + encode_response_tail(((b"x-done", b"1"),))
    )
    stream_payloads.append(
        encode_response_head(200, ())
    )  # truncated after the head (RFC 9292 §3.8)
    return (
        each(t, "decode_request", req)
        + each(t, "decode_response", resp)
        + streams(t, "response_stream", stream_payloads)
    )


# --- OHTTP ----------------------------------------------------------------------------------------

_RESPONSE_NONCE: Final = bytes(range(16))  # max(Nn, Nk) of AES-128-GCM


def seeds_ohttp() -> list[bytes]:
    t = "fuzz_ohttp"
    keys = fixtures.gateway_keys()
    configs = [k.config.encode() for k in keys.values()]
    documents = [encode_key_configs([k.config for k in keys.values()])] + [
        len(c).to_bytes(2, "big") + c for c in configs
    ]
    # One-shot requests to both keys, and the response to the fixed client request (key 1).
    requests = [fixtures.ohttp_exchange(key_id)[0] for key_id in keys]
    _, gateway = decapsulate_request(keys, requests[0])
    response = encode_response(_bhttp_messages()[1][0])
    responses = [gateway.encapsulate_response(response, response_nonce=_RESPONSE_NONCE)]
    # Chunked: a request stream of three chunks, and the response stream to it.
    head, client = fixtures.chunked_exchange(1)
    body = encode_request_indeterminate(_bhttp_messages()[0][3])
    parts = [body[:40], body[40:200], body[200:]]
    chunked_request = head + b"".join(
        client.seal_chunk(p, final=i == len(parts) - 1) for i, p in enumerate(parts)
    )
    gateway_decoder = ChunkedRequestDecoder(keys)
    gateway_decoder.feed(chunked_request)
    gateway_decoder.close()
    context = gateway_decoder.context
    chunked_response = context.response_header(response_nonce=_RESPONSE_NONCE)
    for i, part in enumerate((b"\x03\x40\xc8\x00", b"partial", b"")):
        chunked_response += context.seal_chunk(part, final=i == 2)
    return (
        each(t, "decode_key_configs", documents)
        + each(t, "key_config", configs)
        + each(t, "decapsulate_request", requests)
        + each(t, "decapsulate_response", responses)
        + streams(t, "chunked_request", [chunked_request, head])
        + streams(t, "chunked_response", [chunked_response])
    )


# --- sealed envelope ------------------------------------------------------------------------------


def seeds_envelope() -> list[bytes]:
    t = "fuzz_envelope"
    envelope, _ = fixtures.envelope_exchange()
    p256, _ = seal_request(
        [fixtures.recipient("p256")], b"p256 request", rand=fixtures.SeededRandom("p256")
    )
    key_id, key, _suite = fixtures.node_keys()["x25519"]
    _, node = open_request(envelope, key_id, key)
    single = node.seal_response(b"the answer", rand=fixtures.SeededRandom("response"))
    sealer = node.stream_sealer(rand=fixtures.SeededRandom("stream"), pad=False)
    stream = sealer.header() + b"".join(
        sealer.seal_chunk(bytes([i]) * 10 * i, final=i == 3) for i in range(4)
    )
    repo = json.loads((ROOT / "tests" / "vectors" / "envelope_v1.json").read_text())
    repo_envelopes = [bytes.fromhex(v["envelope"]) for v in repo["vectors"]]
    repo_streams = [bytes.fromhex(v["stream"]) for v in repo["vectors"]]
    negatives = [bytes.fromhex(n["data"]) for n in repo["negative"]]
    envelopes = [envelope, p256, *repo_envelopes]
    return (
        each(t, "parse_header", envelopes + negatives)
        + each(t, "split_envelope", envelopes)
        + each(t, "open_request_x25519", [envelope, *repo_envelopes[:2]])
        + each(t, "open_request_p256", [p256])
        + each(t, "unpad", [pad(b"hello", 256), pad(b"", 4), pad(b"x" * 300, 512)])
        + streams(t, "stream_opener", [single, stream, *repo_streams[:1]])
        + streams(t, "stream_framer", [single, stream, *repo_streams])
    )


# --- Privacy Pass ---------------------------------------------------------------------------------


def _issued_token() -> tuple[bytes, bytes, bytes]:
    """``(TokenRequest, TokenResponse, Token)`` of one issuance to the fixed client."""
    request, state = fixtures.token_client()
    private = fixtures.issuer_private_key()
    key_id = fixtures.issuer_key().key_id
    response = issuer_evaluate(private, request, key_id, rand=fixtures.SeededRandom("issuer"))
    return request, response, client_finalize(state, response).encode()


def seeds_privacypass_headers() -> list[bytes]:
    t = "fuzz_privacypass_headers"
    spki = fixtures.issuer_key().spki
    challenge = fixtures.challenge()
    with_context = TokenChallenge(2, b"issuer.example", bytes(range(32)), b"a.example,b.example")
    www = [
        encode_www_authenticate(PrivateTokenChallenge(challenge, spki)),
        encode_www_authenticate(
            [
                PrivateTokenChallenge(challenge, spki, max_age=300),
                PrivateTokenChallenge(with_context.encode(), spki),
            ]
        ),
        'Basic realm="x", ' + encode_www_authenticate(PrivateTokenChallenge(challenge, spki)),
    ]
    repo = json.loads((ROOT / "tests" / "vectors" / "privacypass_ts_headers.json").read_text())
    www += [c["www-authenticate"] for c in repo["challenges"]]
    www += [h["header"] for h in repo["privcloud_emitted"]["www-authenticate"]]
    auth = [encode_authorization(_issued_token()[2]), 'PrivateToken token="AAIA", x=1']
    auth.append(encode_authorization(bytes.fromhex(repo["token"]["token"])))
    b64 = ["AAIADmlzc3Vlci5leGFtcGxl", "AAIA", "AA==", "_-8"]
    return (
        each(t, "www_authenticate_bytes", [w.encode("latin-1") for w in www])
        + each(t, "www_authenticate_text", [w.encode() for w in www[:3]])
        + each(t, "authorization_bytes", [a.encode() for a in auth])
        + each(t, "authorization_text", [a.encode() for a in auth[:2]])
        + each(t, "b64url", [b.encode() for b in b64])
    )


def seeds_privacypass_tokens() -> list[bytes]:
    t = "fuzz_privacypass_tokens"
    request, response, token = _issued_token()
    second, _ = client_begin(
        fixtures.challenge(), fixtures.issuer_key(), rand=fixtures.SeededRandom("second")
    )
    challenges = [
        fixtures.challenge(),
        TokenChallenge(2, b"issuer.example", bytes(range(32)), b"a.example,b.example").encode(),
        TokenChallenge(1, b"issuer.example", b"", b"").encode(),
    ]
    body = encode_batch_request([request, second])
    auth = sign_device_request(
        fixtures.device_key(),
        "POST",
        BATCH_PATH,
        body,
        now=DEVICE_NOW,
        rand=fixtures.SeededRandom("device request"),
    )
    fields = auth.headers()
    signed = "\n".join(fields[name] for name in DEVICE_FIELDS).encode() + b"\n" + body
    return (
        each(t, "token", [token])
        + each(t, "token_request", [request])
        + each(t, "token_response", [response])
        + each(t, "token_challenge", challenges)
        + each(t, "verify_token", [token])
        + each(t, "issuer_evaluate", [request, second])
        + each(t, "client_finalize", [response])
        + each(t, "batch_request", [body, encode_batch_request([request])])
        + each(t, "batch_response", [b"\x02" + encode_batch_response([response, response])])
        + each(t, "enrolment", [encode_enrolment(fixtures.device_key(), "enrol-123456")])
        + each(t, "device_auth", [signed])
    )


def seeds_privacypass_directory() -> list[bytes]:
    t = "fuzz_privacypass_directory"
    spki = fixtures.issuer_key().spki
    directory = IssuerDirectory(
        "https://issuer.fuzz.privcloud.test/v1/token-batch",
        (DirectoryKey(2, spki, 1_700_000_000), DirectoryKey(1, b"\x04" + bytes(96))),
    ).encode()
    document = jsonio.loads(directory)
    document["token-keys"][0][EXPIRES_MEMBER] = 1_800_000_000
    with_expiry = json.dumps(document, separators=(",", ":")).encode()
    docs = [directory, with_expiry]
    return each(t, "issuer_directory", docs) + each(t, "parse_issuer_directory", docs)


# --- transparency log -----------------------------------------------------------------------------


def _log_signers() -> list[NoteSigner]:
    """The log's key and both witnesses, cosigning at ``LOG_NOW``."""
    return [fixtures.log_signer(), *(w.at(LOG_NOW) for w in fixtures.witnesses())]


def _log() -> tuple[MerkleTree, list[bytes]]:
    """A five-entry tree and checkpoints of sizes 3 and 5, signed by the log and cosigned."""
    tree = MerkleTree()
    for i in range(5):
        tree.append_leaf(b"entry %d" % i)
    signers = _log_signers()
    notes = [
        sign_checkpoint(Checkpoint(fixtures.LOG_ORIGIN, size, tree.root(size)), signers)
        for size in (3, 5)
    ]
    return tree, notes


def seeds_transparency() -> list[bytes]:
    t = "fuzz_transparency"
    tree, notes = _log()
    checkpoint = Checkpoint(fixtures.LOG_ORIGIN, 5, tree.root(), ("extension line",))
    state = fixtures.log_state().update(notes[0], [], LOG_NOW)
    log_vkey = fixtures.log_signer().verifier().vkey()
    witness_vkeys = [w.verifier().vkey() for w in fixtures.witnesses()]
    add = encode_add_checkpoint(3, tree.consistency_proof(3, 5), notes[1])
    append = sign_append(
        fixtures.device_key(), b"entry", 1_750_000_000, rand=fixtures.SeededRandom("append")
    )
    return (
        each(t, "parse_note", notes)
        + each(t, "checkpoint", [checkpoint.encode().encode()])
        + each(t, "open_checkpoint", notes)
        + each(t, "cosignatures", notes)
        + each(t, "state_update", [n + b"\x00" for n in notes])
        + each(t, "vkey", [v.encode() for v in (log_vkey, *witness_vkeys)])
        + each(t, "note_verifier", [log_vkey.encode()])
        + each(t, "cosignature_verifier", [v.encode() for v in witness_vkeys])
        + each(t, "add_checkpoint", [add, encode_add_checkpoint(0, [], notes[0])])
        + each(t, "size_body", [encode_size_body(5)])
        + each(t, "log_state", [state.to_json(), fixtures.log_state().to_json()])
        + each(t, "append_authorization", [append.encode()])
    )


def seeds_tiles() -> list[bytes]:
    t = "fuzz_tiles"
    paths = ["tile/0/x001/x234/067", "tile/0/x001/x234/067.p/8", "tile/entries/000.p/255"]
    tile = read_tile(TREE, NEEDED[0])
    return (
        each(t, "tile_path", [p.encode() for p in paths])
        + each(t, "tile", [bytes([255]) + read_tile(TREE, TileId(0, 0, 256)), b"\x00" + tile[:32]])
        + each(t, "bundle", [b"\x02" + encode_bundle([b"a", b"", b"entry"])])
        + each(t, "proof_from_tiles", [b"".join(read_tile(TREE, x) for x in NEEDED)])
    )


# --- attestation ----------------------------------------------------------------------------------


def _cert_table(der: bytes) -> bytes:
    """A GHCB certificate table (GUID, offset, length; zero entry last) holding ``der``."""
    offset = 2 * 24
    return (
        struct.pack("<16sII", GUID_VCEK, offset, len(der)) + struct.pack("<16sII", bytes(16), 0, 0)
    ) + der


def seeds_sevsnp() -> list[bytes]:
    t = "fuzz_sevsnp"
    report, debug = fixtures.snp_report(), fixtures.snp_report(debug=True)
    vcek = fixtures.vcek()
    certs = [vcek.der, fixtures.pem(vcek), _cert_table(vcek.der)]
    return (
        each(t, "parse_report", [report, debug])
        + each(t, "extract_vcek", certs)
        + each(t, "verify", [report + c for c in certs] + [debug + vcek.der])
    )


def seeds_tdx() -> list[bytes]:
    quotes = [fixtures.tdx_quote(), fixtures.tdx_quote(td_attributes=1)]
    quotes.append(fixtures.tdx_quote(version=5))
    t = "fuzz_tdx"
    return (
        each(t, "parse_quote", quotes)
        + each(t, "verify", quotes)
        + each(t, "verify_with_collateral", quotes)
    )


def seeds_intel_collateral() -> list[bytes]:
    from fuzz.fuzz_intel_collateral import QE_IDENTITY, TCB_INFO, signed  # noqa: PLC0415

    t = "fuzz_intel_collateral"
    info, qe = json.dumps(TCB_INFO).encode(), json.dumps(QE_IDENTITY).encode()
    return (
        each(t, "signed_tcb_info", [signed("tcbInfo", TCB_INFO)])
        + each(t, "signed_qe_identity", [signed("enclaveIdentity", QE_IDENTITY)])
        + each(t, "tcb_status", [info])
        + each(t, "qe_status", [qe])
    )


# --- node directory and key statements ------------------------------------------------------------


def _manifest() -> ReleaseManifest:
    return ReleaseManifest(
        package_name="privcloud",
        package_version="1.0.0",
        code_digest=bytes(range(32)),
        code_files=42,
        dependencies=("aiohttp==3.14.5", "cryptography==50.0.2"),
        models=(ModelFile("models/whisper.bin", bytes(32), 1000),),
        config={"features": ["echo"], "hpke_suite": {"aead": 1, "kdf": 1, "kem": 32}},
        hardware_measurements={TEE_SEV_SNP: bytes(range(48)), "tdx": None},
    )


def seeds_node_directory() -> list[bytes]:
    t = "fuzz_node_directory"
    manifest = _manifest()
    tree = MerkleTree()
    tree.append_leaf(b"older release")
    index = tree.append_leaf(manifest.encode())
    signers = _log_signers()
    note = sign_checkpoint(Checkpoint(fixtures.LOG_ORIGIN, 2, tree.root()), signers)
    bundle = NodeBundle(
        issued_at=LOG_NOW,
        evidence=Evidence(TEE_SEV_SNP, fixtures.snp_report(), fixtures.vcek().der),
        manifest=manifest,
        log_index=index,
        checkpoint=note,
        inclusion=tuple(tree.inclusion_proof(index)),
    )
    nodes = []
    for name, with_bundle in (("x25519", True), ("p256", False)):
        key_id, key, suite = fixtures.node_keys()[name]
        nodes.append(
            NodeDescriptor(
                node_id=f"node-{name}",
                key_id=key_id,
                suite=suite,
                public_key=key.public_bytes,
                region="eu-west",
                provider="local",
                tee=TEE_SEV_SNP,
                features=("echo", "transcribe"),
                bundle=bundle if with_bundle else None,
            )
        )
    return (
        each(t, "directory", [encode_directory(nodes), encode_directory([])])
        + each(t, "descriptor", [encode_descriptor(n) for n in nodes])
        + each(t, "bundle", [bundle.encode()])
        + each(t, "release_manifest", [manifest.encode()])
    )


def seeds_key_statements() -> list[bytes]:
    t = "fuzz_key_statements"
    config = fixtures.gateway_keys()[1].config
    statements = [
        KeyStatement.for_ohttp(DEFAULT_GATEWAY_SERVICE, config, 1_750_000_000, 1_752_000_000),
        KeyStatement.for_token_key(
            fixtures.ISSUER_NAME, fixtures.issuer_key().spki, 1_750_000_000, 1_752_000_000
        ),
    ]
    return each(t, "statement", [s.encode() for s in statements]) + each(
        t, "statement_list", [encode_statement_list(statements), encode_statement_list([])]
    )


# --- workload messages and JSON -------------------------------------------------------------------


def seeds_workload_messages() -> list[bytes]:
    t = "fuzz_workload_messages"
    requests = [
        WorkloadRequest("echo", {}, b"hello"),
        WorkloadRequest("transcribe", {"language": "en", "n": 3}, b"RIFF\x00\x00", stream=True),
        WorkloadRequest("summarize", {"text": "caf\u00e9 \\u00e9", "list": [1, [2, {}]]}),
    ]
    events = [
        Event(EventKind.PARTIAL, {"text": "par"}),
        Event(EventKind.RESULT, {"text": "result", "seconds": 1.5}, b"data"),
        Event(EventKind.ERROR, {"error": "malformed", "message": "bad"}),
    ]
    stream = b"".join(frame_event(e) for e in events)
    return (
        each(t, "request", [encode_workload_request(r) for r in requests])
        + each(t, "event", [encode_event(e) for e in events])
        + streams(t, "event_stream", [stream])
    )


def seeds_json() -> list[bytes]:
    t = "fuzz_json"
    docs = [
        b'{"a":[1,2,{"b":null}],"c":"\\u00e9\\"[","d":true,"e":-1.5e3}',
        b'["[", "]", "\\\\", "\\"", {"": []}]',
        b"[" * 64 + b"]" * 64,
        b"[" * 65 + b"]" * 65,
        b'{"a":1,"a":2}',
        b"12345678901234567890",
        b"1e400",
        b'"\\ud800"',
        jsonio.encode_error_body(DecodeError("malformed input")),
    ]
    return (
        each(t, "loads", docs)
        + each(t, "loads_strict", docs[:2])
        + each(t, "loads_text", docs[:3])
        + each(t, "loads_shallow", [bytes([3]) + d for d in docs[:3]])
        + each(t, "error_body", [docs[-1], b'{"error":"too_large"}', b"oops"])
    )


# --- audio ----------------------------------------------------------------------------------------


def _wav(rate: int, width: int, channels: int, seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(int(rate * seconds)):
            level = math.sin(2 * math.pi * 440 * i / rate)
            sample = int(level * 0.5 * (2 ** (8 * width - 1) - 1))
            if width == 1:
                encoded = bytes([sample + 128])
            else:
                encoded = sample.to_bytes(width, "little", signed=True)
            frames += encoded * channels
        w.writeframes(bytes(frames))
    return out.getvalue()


def _encoded(container: str, codec: str, rate: int) -> bytes | None:
    """0.3 s of a tone encoded by FFmpeg (PyAV), or None where this FFmpeg lacks the codec."""
    try:
        import av  # noqa: PLC0415 - the AI extra; the other seeds do not need it
        import numpy as np  # noqa: PLC0415

        out = io.BytesIO()
        with av.open(out, "w", format=container) as box:
            stream = box.add_stream(codec, rate=rate)
            if not isinstance(stream, av.AudioStream):
                return None
            stream.layout = "mono"
            t = np.arange(int(rate * 0.3)) / rate
            samples = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                box.mux(packet)
            for packet in stream.encode(None):
                box.mux(packet)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - a codec missing from this FFmpeg build: no seed
        return None


def seeds_audio() -> list[bytes]:
    files = [
        _wav(8000, 2, 1, 0.3),
        _wav(16000, 1, 2, 0.2),
        _wav(4000, 2, 1, 0.2)[:-100],  # cut short
    ]
    for container, codec, rate in (
        ("flac", "flac", 8000),
        ("ogg", "libopus", 48000),
        ("mp3", "libmp3lame", 16000),
        ("ipod", "aac", 16000),
    ):
        data = _encoded(container, codec, rate)
        if data is not None and len(data) <= 64 * 1024:
            files.append(data)
    return each("fuzz_audio", "decode_audio", files)


OWN: Final[dict[str, Callable[[], list[bytes]]]] = {
    "fuzz_bhttp": seeds_bhttp,
    "fuzz_ohttp": seeds_ohttp,
    "fuzz_envelope": seeds_envelope,
    "fuzz_privacypass_headers": seeds_privacypass_headers,
    "fuzz_privacypass_tokens": seeds_privacypass_tokens,
    "fuzz_privacypass_directory": seeds_privacypass_directory,
    "fuzz_transparency": seeds_transparency,
    "fuzz_tiles": seeds_tiles,
    "fuzz_sevsnp": seeds_sevsnp,
    "fuzz_tdx": seeds_tdx,
    "fuzz_intel_collateral": seeds_intel_collateral,
    "fuzz_tpm": fuzz_tpm.own_seeds,
    "fuzz_eventlog": fuzz_eventlog.own_seeds,
    "fuzz_android_attestation": fuzz_android_attestation.own_seeds,
    "fuzz_jwt": fuzz_jwt.own_seeds,
    "fuzz_spdm": fuzz_spdm.own_seeds,
    "fuzz_rim": fuzz_rim.own_seeds,
    "fuzz_node_directory": seeds_node_directory,
    "fuzz_key_statements": seeds_key_statements,
    "fuzz_workload_messages": seeds_workload_messages,
    "fuzz_json": seeds_json,
    "fuzz_audio": seeds_audio,
}

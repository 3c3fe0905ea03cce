"""The device console's agent, through its HTTP API (no browser): the streamed runs, the
inspector's per-party records, the Nodes and Log views, and how bad input is refused.

One agent per module, on a free loopback port, runs a local cloud with the echo workloads
(fast); the tests marked ``needs_ai`` start a second one with the real models.
"""

from __future__ import annotations

import http.client
import json
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from aikit import models, needs_ai
from privcloud import limits
from privcloud.cli import build_parser
from privcloud.device import explain
from privcloud.device.agent import DeviceAgent
from privcloud.device.netaddr import DEVICE_LOOPBACK
from privcloud.device.records import History, RequestRecord
from privcloud.device.thread import BackgroundAgent
from privcloud.device.web import CONSOLE_HEADER, PARAMS_BODY, event_line, parse_params, run_input
from privcloud.errors import ConfigError, DecodeError, TooLargeError
from privcloud.services.observe import Observation
from privcloud.wire.message import Event, EventKind

CANARY = "CANARY-3b9c2d71"
ON_LINUX = sys.platform.startswith("linux")


# --- a small HTTP client ------------------------------------------------------------------


class Console:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.port = urllib.parse.urlsplit(url).port

    def _open(self, request: urllib.request.Request) -> tuple[int, dict[str, str], bytes]:
        try:
            with urllib.request.urlopen(request, timeout=120) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        status, _, body = self._open(urllib.request.Request(self.url + path, headers=headers or {}))
        return status, json.loads(body) if body.startswith(b"{") else body

    def run(
        self,
        feature: str,
        body: bytes,
        params: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """POST a run; a 200 answers its NDJSON lines, an error its JSON document."""
        query = ""
        if params is not None:
            raw = params if isinstance(params, str) else json.dumps(params)
            query = "?params=" + urllib.parse.quote(raw)
        request = urllib.request.Request(
            f"{self.url}/api/run/{feature}{query}",
            data=body,
            method="POST",
            headers={CONSOLE_HEADER: "1", **(headers or {})},
        )
        status, hdrs, payload = self._open(request)
        if status == 200:
            assert hdrs["Content-Type"].startswith("application/x-ndjson")
            return status, [json.loads(line) for line in payload.splitlines() if line]
        return status, json.loads(payload)


@pytest.fixture(scope="module")
def console() -> Iterator[Console]:
    with BackgroundAgent(DeviceAgent(port=0)) as url:
        yield Console(url)


# --- the page and the status --------------------------------------------------------------


def test_page_and_its_files_are_served_with_a_strict_content_security_policy(
    console: Console,
) -> None:
    status, page = console.get("/")
    assert status == 200 and b'id="audio-file"' in page and b"/static/console.js" in page
    for name in ("console.js", "console.css"):
        status, body = console.get(f"/static/{name}")
        assert status == 200 and len(body) > 1000
    with urllib.request.urlopen(console.url + "/") as resp:
        csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert console.get("/static/../agent.py")[0] == 404
    assert console.get("/static/secrets.txt")[0] == 404


def test_status_names_the_served_features_the_nodes_and_the_devices_own_address(
    console: Console,
) -> None:
    status, doc = console.get("/api/status")
    assert status == 200
    assert {"echo", "echo_stream"} <= set(doc["features"])
    assert doc["nodes"] == {"admitted": 3, "refused": 0}
    assert doc["insecure"] is True and doc["k"] == 3 and doc["tokens"] > 0
    if ON_LINUX:
        assert doc["device_address"] == DEVICE_LOOPBACK


# --- a streamed run and its inspector record ----------------------------------------------


def test_a_run_streams_its_partial_events_then_the_result_then_the_end(console: Console) -> None:
    status, lines = console.run("echo_stream", b"one two three four", {"parts": 4})
    assert status == 200
    kinds = [line["type"] for line in lines]
    assert kinds == ["request", "partial", "partial", "partial", "partial", "result", "end"]
    request = lines[0]
    assert request["route"]["placement"] == "cloud" and len(request["chosen"]) == 3
    assert "".join(line["text"] for line in lines[1:5]) == "one two three four"
    assert lines[5]["meta"] == {"size": 18}
    assert lines[-1]["status"] == "ok" and lines[-1]["id"] == request["id"]


def test_the_inspector_shows_the_relay_sees_the_device_and_the_node_sees_only_the_gateway(
    console: Console,
) -> None:
    _, lines = console.run("echo", b"hello", {"note": "x"})
    status, rec = console.get(f"/api/requests/{lines[0]['id']}")
    assert status == 200 and rec["status"] == "ok" and rec["feature"] == "echo"
    assert rec["param_names"] == ["note"] and rec["sizes"]["input_bytes"] == 5
    assert rec["token"].startswith("key id ")
    parties = {p["party"]: p for p in rec["parties"]}
    assert list(parties) == ["relay", "gateway", "node-1", "node-2", "node-3", "issuer"]

    relay, gateway = parties["relay"]["observed"], parties["gateway"]["observed"]
    assert [(o["method"], o["path"]) for o in relay] == [("POST", "/v1/ohttp")]
    assert [(o["method"], o["path"]) for o in gateway] == [("POST", "/v1/ohttp")]
    ran = [p for p in rec["parties"] if p["ran_request"]]
    assert len(ran) == 1 and ran[0]["party"] == rec["ran_on"]
    node = ran[0]["observed"]
    assert [(o["method"], o["path"]) for o in node] == [("POST", "/v1/envelope")]
    # The ciphertext the relay forwards is what the gateway receives; the node gets less (the
    # envelope, without the OHTTP and Binary HTTP layers and the token).
    assert relay[0]["body_size"] == gateway[0]["body_size"] > node[0]["body_size"] > 5
    assert parties["issuer"]["observed"] == []
    assert "nothing of this request" in parties["issuer"]["learns"]
    if ON_LINUX:
        device = rec["device_address"]
        assert device == DEVICE_LOOPBACK
        assert relay[0]["peer"] == device and device in parties["relay"]["learns"]
        assert gateway[0]["peer"] != device and node[0]["peer"] != device
        assert device not in parties["gateway"]["learns"] + ran[0]["learns"]
    # No party's record holds a token or an address beyond the peer's: the relay's header
    # fields are the device's request line, the node's the gateway's.
    assert "authorization" not in node[0]["headers"]


def test_long_params_travel_as_the_body_with_their_content_type(console: Console) -> None:
    # A chat's messages outgrow a URL (aiohttp refuses a request line over 8 KiB): the page
    # sends them as the body, which then carries no input.
    messages = [{"role": "user", "content": "word " * 4000}]
    headers = {"Content-Type": PARAMS_BODY}
    status, lines = console.run("echo", json.dumps({"messages": messages}).encode(), None, headers)
    assert status == 200
    result = next(line for line in lines if line["type"] == "result")
    assert result["meta"] == {"params": {"messages": messages}, "size": 0}
    _, rec = console.get(f"/api/requests/{lines[0]['id']}")
    assert rec["param_names"] == ["messages"] and rec["sizes"]["input_bytes"] == 0


@pytest.mark.parametrize(
    ("body", "params", "status"),
    [
        (b"[1, 2]", None, 400),  # not an object
        (b"\xff{}", None, 400),  # not UTF-8
        (b"{}", {"also": "in the query"}, 400),
        (b'{"x": "' + b"a" * limits.MAX_WORKLOAD_JSON + b'"}', None, 413),
    ],
)
def test_params_in_the_body_are_bounded_and_must_be_one_json_object(
    console: Console, body: bytes, params: dict[str, Any] | None, status: int
) -> None:
    assert console.run("echo", body, params, {"Content-Type": PARAMS_BODY})[0] == status


def test_run_input_reads_params_from_the_query_or_the_body() -> None:
    assert run_input("application/octet-stream", '{"a": 1}', b"raw") == ({"a": 1}, b"raw")
    assert run_input(PARAMS_BODY, None, b'{"a": 1}') == ({"a": 1}, b"")
    assert run_input(PARAMS_BODY, "", b"{}") == ({}, b"")
    with pytest.raises(DecodeError):
        run_input(PARAMS_BODY, '{"a": 1}', b"{}")


def test_the_request_list_is_newest_first_and_an_unknown_id_is_404(console: Console) -> None:
    _, first = console.run("echo", b"a")
    _, second = console.run("echo", b"b")
    _, doc = console.get("/api/requests")
    ids = [r["id"] for r in doc["requests"]]
    assert ids.index(second[0]["id"]) < ids.index(first[0]["id"])
    assert console.get("/api/requests/000000000000")[0] == 404


# --- the Nodes and Log views --------------------------------------------------------------


def test_nodes_view_lists_each_admitted_node_with_its_attestation_and_admission_trail(
    console: Console,
) -> None:
    status, doc = console.get("/api/nodes")
    assert status == 200 and doc["refused"] == []
    assert [n["node_id"] for n in doc["admitted"]] == ["node-1", "node-2", "node-3"]
    node = doc["admitted"][0]
    assert node["insecure"] is True and node["tee"] == "simulated"
    assert node["attestation"]["measurement"] == node["release"]["measurements"]["simulated"]
    steps = [line.split(":")[0] for line in node["trail"]]
    assert steps == [
        "0. well-formed",
        "1. evidence-valid",
        "2. report-data-binds-key",
        "3. measurement-matches-release",
        "4. release-in-log",
        "5. fresh",
        "6. policy",
    ]


def test_log_view_verifies_the_release_inclusion_at_the_latest_checkpoint_proven_consistent(
    console: Console,
) -> None:
    status, doc = console.get("/api/log")
    assert status == 200
    trusted = doc["trusted"]
    assert trusted["size"] >= 1 and trusted["note"]["text"].startswith(trusted["origin"] + "\n")
    assert {s["name"] for s in trusted["note"]["signatures"]} >= {trusted["origin"]}
    assert doc["latest"]["verified"] is True
    assert doc["log_url"].endswith("/log")  # read through the relay, as the device does
    proof = doc["proofs"][0]
    assert proof["verified"] is True and proof["tree_size"] == doc["latest"]["size"]
    entry = next(e for e in doc["entries"] if e["index"] == proof["index"])
    assert entry["leaf_hash"] == proof["leaf_hash"] and entry["release"]["package"] == "privcloud"


def test_the_log_view_reads_tiles_never_a_proof_endpoint_naming_the_trusted_size(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    # The log's JSON proof endpoints take the device's trusted size as a parameter
    # (``/v1/proof/consistency?old=N``), which its last admission set: the viewer reads tiles,
    # as the device's admissions do, and the entries it lists at the latest size, not the
    # trusted one (docs/adr/0009, decision 7).
    caplog.set_level(logging.DEBUG, logger="privcloud.http")
    status, doc = console.get("/api/log")
    assert status == 200
    served = [r.getMessage() for r in caplog.records if r.name == "privcloud.http"]
    assert any("route=tile " in line for line in served)
    assert not any(
        f"log route={r} " in line for line in served for r in ("inclusion", "consistency")
    )
    assert doc["entries"][0]["index"] == doc["latest"]["size"] - 1


# --- refusals: the agent answers with our error codes and keeps serving --------------------


def test_an_unknown_feature_is_404(console: Console) -> None:
    status, doc = console.run("teleport", b"x")
    assert status == 404 and doc["error"] == "not_found"


@pytest.mark.parametrize("params", ["{not json", "[1, 2]", '{"x": NaN}', '"text"'])
def test_params_that_are_not_a_json_object_are_400(console: Console, params: str) -> None:
    status, doc = console.run("echo", b"x", params)
    assert status == 400 and doc["error"] == "malformed"


def test_a_body_over_the_workload_bound_is_413_before_it_is_read(console: Console) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", console.port, timeout=30)
    conn.putrequest("POST", "/api/run/echo")
    conn.putheader("Content-Length", str(limits.MAX_WORKLOAD_INPUT + 1))
    conn.putheader(CONSOLE_HEADER, "1")
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413 and json.loads(resp.read())["error"] == "too_large"
    conn.close()


def test_a_node_side_refusal_keeps_its_status_and_is_recorded(console: Console) -> None:
    status, doc = console.run("echo_stream", b"abc", {"parts": 0})
    assert status == 400 and doc["error"] == "malformed" and doc["request_id"]
    _, rec = console.get(f"/api/requests/{doc['request_id']}")
    assert rec["status"] == "error" and rec["error"]["error"] == "malformed"
    assert rec["ran_on"] is not None  # the node refused it, after the private path
    assert console.run("echo", b"still serving")[0] == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"Origin": "http://evil.example"},
        {CONSOLE_HEADER: "0"},
    ],
    ids=["dns-rebinding-host", "foreign-origin", "no-console-header"],
)
def test_requests_not_from_the_console_page_are_refused(
    console: Console, headers: dict[str, str]
) -> None:
    status, doc = console.run("echo", b"x", headers=headers)
    assert status == 403 and doc["error"] == "policy"


def test_a_foreign_host_cannot_read_the_api(console: Console) -> None:
    status, doc = console.get("/api/status", headers={"Host": f"attacker.example:{console.port}"})
    assert status == 403 and doc["error"] == "policy"


def test_no_request_content_reaches_logs_or_the_inspector(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, lines = console.run("echo_stream", CANARY.encode(), {"secret": CANARY})
    assert lines[-1]["status"] == "ok"
    console.run("echo_stream", CANARY.encode(), {"parts": -1, "x": CANARY})
    assert any(r.name == "privcloud.http" for r in caplog.records)  # the agent's lines are seen
    for record in caplog.records:
        assert CANARY not in record.getMessage()
    _, history = console.get("/api/requests")
    for summary in history["requests"]:
        _, rec = console.get(f"/api/requests/{summary['id']}")
        assert CANARY not in json.dumps(rec)


# --- pure parts ---------------------------------------------------------------------------


def test_parse_params_accepts_only_a_bounded_json_object() -> None:
    assert parse_params(None) == {} and parse_params("") == {}
    assert parse_params('{"a": 1}') == {"a": 1}
    with pytest.raises(DecodeError):
        parse_params("Infinity")
    with pytest.raises(TooLargeError):
        parse_params('{"a": "' + "x" * limits.MAX_WORKLOAD_JSON + '"}')


def test_text_answers_stream_as_text_and_binary_ones_as_base64() -> None:
    assert event_line(Event(EventKind.PARTIAL, {"i": 1}, "olá".encode())) == {
        "type": "partial",
        "meta": {"i": 1},
        "text": "olá",
    }
    png = event_line(Event(EventKind.RESULT, {}, b"\x89PNG\r\n"))
    assert png["type"] == "result" and png["data_base64"] == "iVBORw0K"


def test_history_keeps_only_the_most_recent_requests() -> None:
    history = History(size=3)
    records = [RequestRecord("echo", (), 0, {}, 3, None, seq0=0, id=f"r{i}") for i in range(5)]
    for record in records:
        history.add(record)
    assert len(history) == 3 and history.get("r0") is None and history.get("r4") is records[4]
    assert [s["id"] for s in history.summaries()] == ["r4", "r3", "r2"]


def _obs(seq: int, party: str, method: str, path: str, peer: str) -> Observation:
    return Observation(seq, party, 100.0 + seq, peer, method, path, {}, 10)


def test_background_traffic_is_told_apart_from_the_request_hops() -> None:
    seen = [
        _obs(1, "node-1", "GET", "/v1/attestation", "127.0.0.1"),
        _obs(2, "node-1", "GET", "/v1/attestation", "127.0.0.1"),
        _obs(3, "relay", "POST", "/v1/ohttp", "127.0.0.2"),
        _obs(4, "issuer", "POST", "/v1/token-batch", "127.0.0.2"),
    ]
    rows = explain.background(seen)
    assert [(r["party"], r["count"]) for r in rows] == [("node-1", 2), ("issuer", 1)]
    assert "health check" in rows[0]["label"] and "refill" in rows[1]["label"]


def test_a_shared_loopback_address_is_said_so_rather_than_shown_as_private() -> None:
    facts = explain.RequestFacts(device_address=None, chosen=("node-1",), started_at=100.0)
    seen = [
        _obs(1, "relay", "POST", "/v1/ohttp", "127.0.0.1"),
        _obs(2, "gateway", "POST", "/v1/ohttp", "127.0.0.1"),
        _obs(3, "node-1", "POST", "/v1/envelope", "127.0.0.1"),
    ]
    views = {v["party"]: v for v in explain.party_views(seen, facts, node_ids=["node-1"])}
    assert "share one loopback address" in views["gateway"]["learns"]
    assert views["node-1"]["ran_request"] is True


def test_the_agent_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(ConfigError):
        DeviceAgent(host="0.0.0.0")


def test_the_console_command_is_registered() -> None:
    args = build_parser().parse_args(["console", "--port", "0", "--no-ai"])
    assert args.port == 0 and args.no_ai and callable(args.handler)


# --- with the real models -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ai_console() -> Iterator[Console]:
    from privcloud.workloads.models import WHISPER_TINY_EN

    agent = DeviceAgent(port=0, models=models(), warm_models=(WHISPER_TINY_EN,))
    with BackgroundAgent(agent) as url:
        yield Console(url)


@needs_ai
def test_transcription_streams_one_segment_at_a_time_through_the_agent(
    ai_console: Console,
) -> None:
    from speech import concat_wavs, silence, speak

    wav = concat_wavs(
        speak("Please book a table for Friday evening."),
        silence(1.0, rate=22_050),
        speak("The meeting with the design team moves to Tuesday."),
    )
    status, lines = ai_console.run("transcribe", wav, {"language": "en"})
    assert status == 200
    segments = [line for line in lines if line["type"] == "partial"]
    result = next(line for line in lines if line["type"] == "result")
    assert len(segments) >= 2 and all("start" in s["meta"] for s in segments)
    text = result["meta"]["text"].lower()
    assert "friday" in text and "tuesday" in text
    _, rec = ai_console.get(f"/api/requests/{lines[0]['id']}")
    assert rec["sizes"]["input_bytes"] == len(wav) and rec["sizes"]["events"] == len(lines) - 2


@needs_ai
def test_audio_that_does_not_decode_is_400_with_our_code(ai_console: Console) -> None:
    status, doc = ai_console.run("transcribe", b"RIFF....WAVEnot really audio", {})
    assert 400 <= status < 500 and doc["error"] in ("malformed", "unsupported")
    assert ai_console.get("/api/status")[0] == 200

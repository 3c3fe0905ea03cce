"""``privcloud demo``: the whole system on loopback, and why it is private, in a few minutes.

1. Start a local cloud: relay, gateway, issuer, transparency log and witness, and three
   simulated-TEE nodes in two regions, with embedded storage in a temporary directory.
2. Publish the nodes' release to the log; enrol this device with the issuer.
3. Admit the nodes: the full procedure per node, printed check by check.
4. Run the sample call (espeak-ng speech made at set-up) through transcription (streamed),
   a guarded summary, call translation (a Spanish voicemail) and extraction.
5. Print the verification trail (checkpoint, inclusion proof, tokens) and what each party saw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from privcloud.cli.lifecycle import INSECURE_BANNER
from privcloud.cli.quiet import Chatter, collected_chatter
from privcloud.cli.samples import CALL_SCRIPT, sample_call
from privcloud.cli.session import default_nodes
from privcloud.errors import ConfigError
from privcloud.hardening import forbid_core_dumps
from privcloud.localcloud.cloud import LocalCloud
from privcloud.localcloud.cloudconfig import CloudConfig, check_models
from privcloud.sdk import Client
from privcloud.sdk.client_types import Result
from privcloud.services.observe import Observation, Observer
from privcloud.trust.admission import ClientPolicy
from privcloud.wire.message import Event
from privcloud.workloads.models import (
    GEMMA_270M,
    MINILM_L6,
    QWEN_1_5B,
    WHISPER_BASE,
    WHISPER_TINY_EN,
    shared_models,
)

STEPS = 5


class _Clock:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def stamp(self) -> str:
        return f"{time.perf_counter() - self.started:6.1f}s"


def _header(clock: _Clock, n: int, text: str) -> None:
    print(f"\n[{n}/{STEPS}] {text}   ({clock.stamp()})", flush=True)


def _line(text: str, indent: int = 2) -> None:
    print(" " * indent + text, flush=True)


def _wrap(text: str, indent: int = 6, width: int = 92) -> None:
    words, line = text.split(), ""
    for word in words:
        if len(line) + len(word) + 1 > width:
            _line(line, indent)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        _line(line, indent)


async def _streamed(
    client: Client,
    feature: str,
    params: dict[str, Any],
    body: bytes,
    on_partial: Callable[[dict[str, Any]], None],
) -> tuple[Result, float]:
    started = time.perf_counter()
    partials: list[Event] = []
    async for event in client.stream(feature, params, body):
        if event.final:
            return Result(event.meta, event.data, tuple(partials)), time.perf_counter() - started
        partials.append(event)
        on_partial(event.meta)
    raise ConfigError("the answer ended without a result")


def _show_observations(records: list[Observation]) -> None:
    explain = {
        "relay": "sees your address and an opaque OHTTP message's size; not the content, "
        "not the token, not which node",
        "gateway": "sees the relay's address (not yours), an anonymous token, and ciphertext "
        "sealed to k nodes; not the content",
        "issuer": "nothing of this request: tokens were fetched earlier, in a batch, blindly",
    }
    seen: set[str] = set()
    order = {"relay": 0, "gateway": 1, "issuer": 3}
    # GETs are the services' own upkeep (the gateway's health checks of the nodes every 2 s,
    # directory refreshes), not this request: one that came first would stand for a party.
    records = [r for r in records if r.method != "GET"]
    for record in sorted(records, key=lambda r: (order.get(r.party, 2), r.seq)):
        party = record.party
        if party in seen:
            continue
        seen.add(party)
        ctype = record.headers.get("content-type", "-")
        auth = record.headers.get("authorization")
        note = explain.get(party) or (
            "the node chosen: decrypts the request, from the gateway's address; keeps nothing"
        )
        _line(f"{party:8} from {record.peer:15} {record.method} {record.path}", 4)
        _line(
            f"{'':8} {record.body_size} bytes of {ctype}" + (f"; token {auth}" if auth else ""), 4
        )
        _line(f"{'':8} -> {note}", 4)
    if "issuer" not in seen:
        _line(f"{'issuer':8} received nothing during this request", 4)
        _line(f"{'':8} -> {explain['issuer']}", 4)


def _run(args: argparse.Namespace) -> None:
    """The demo, with what libraries write collected into one line (``-v``: as it comes)."""
    print("privcloud demo: a private cloud on loopback, and why it is private", flush=True)
    print(INSECURE_BANNER, file=sys.stderr, flush=True)
    if getattr(args, "verbose", False):
        asyncio.run(_demo(args, None))
        return
    with collected_chatter() as chatter:
        asyncio.run(_demo(args, chatter))


async def _demo(args: argparse.Namespace, chatter: Chatter | None) -> None:
    clock = _Clock()
    sample = sample_call()
    config = CloudConfig(ai=not args.no_ai)
    models = shared_models(config.model_config())
    check_models(models.available(), config)
    observer = Observer()
    _header(clock, 1, "starting relay, gateway, issuer, log, witness and 3 nodes (2 regions)")
    # The models the demo's requests use: Whisper, the node's language model (Qwen2.5 1.5B where
    # installed: translation; summaries on Gemma 3 270M or it), MiniLM for the guard.
    llms = tuple(m for m in (QWEN_1_5B, GEMMA_270M) if m in models.available())
    warm = (WHISPER_TINY_EN, WHISPER_BASE, *llms, MINILM_L6) if config.ai else ()
    if warm:
        _line(f"loading {', '.join(warm)} into the nodes (shared in this process)...")
    forbid_core_dumps()  # its nodes serve requests in this process
    cloud = LocalCloud(
        nodes=default_nodes(3),
        models=models if config.ai else None,
        warm_models=warm,
        observer=observer,
    )
    async with cloud:
        assert cloud.release is not None
        _line(f"relay {cloud.relay_url}   gateway {cloud.gateway_url}   issuer {cloud.issuer_url}")
        _line(f"features served: {', '.join(cloud.node_objects[0].registry.features)}")
        _header(clock, 2, "the node release and the service keys are published to the log")
        manifest = cloud.release
        _line(
            f"log entry {cloud.release_index}: {manifest.package_name} {manifest.package_version}"
        )
        _line(f"code digest {manifest.code_digest.hex()[:32]}... over {manifest.code_files} files")
        _line(f"{len(manifest.models)} model files hashed into the release")
        _line(f"measurement [simulated] {manifest.simulated_measurement.hex()[:32]}...")
        _line(
            "key statements logged too: the gateway's OHTTP key and the issuer's token key, "
            "so every device can check it got the same keys"
        )
        wallet = cloud.new_wallet(batch_size=8)
        policy = ClientPolicy.insecure_local_dev()
        async with Client(
            cloud.relay_url, policy=policy, wallet=wallet, trust=cloud.client_trust()
        ) as client:
            trail = client.trail
            _header(clock, 3, "this device enrols and admits the nodes (each check below passed)")
            _line(
                f"enrolled with the issuer directly and took {wallet.fetched} anonymous tokens "
                "in one blind batch"
            )
            _line(  # production issuers accept only Android hardware key attestation
                "enrolled with an INSECURE one-time operator code: this loopback cloud has no "
                "phone to attest (docs/tokens.md#attested-enrolment)"
            )
            cp = trail.checkpoint
            assert cp is not None
            _line(
                f"trusted checkpoint: {cp.origin}, size {cp.size}, root "
                f"{cp.root_hash.hex()[:24]}... (log signature + witness cosignature verified)"
            )
            if trail.key_statement is not None:
                _line(
                    f"gateway OHTTP key {trail.key_config_id}: its statement is in that log "
                    f"(inclusion proof verified), the same key for every device"
                )
            for n, admitted in enumerate(trail.admitted):
                d = admitted.descriptor
                where = f"{d.node_id} [{d.region}/{d.provider}, tee={d.tee}]"
                if n == 0:
                    _line(f"{where} admitted after these checks:")
                    for step in admitted.trail:
                        _wrap(str(step), indent=6, width=96)
                else:
                    checks = ", ".join(admitted.checks)
                    _line(f"{where} admitted: the same {len(admitted.trail)} checks ({checks})")
            for node_id, why in trail.refused:
                _line(f"{node_id} refused: {why}")
            if config.ai:
                await _features(client, clock, sample.call.read_bytes(), sample.voicemail)
            seq = observer.last_seq
            await client.call("echo", {}, b"what does each party see?")
            _header(clock, 5, "the verification trail, and what each party saw")
            _line(f"request sealed to {len(trail.chosen)} nodes: {', '.join(trail.chosen)}")
            _line(f"last token spent: {wallet.spent[-1].describe()} (the issuer cannot link it)")
            first = trail.admitted[0]
            _line(
                f"release entry {first.log_index} proven included in checkpoint size "
                f"{first.checkpoint.size} (RFC 9162 inclusion proof, verified on the device)"
            )
            directory = trail.directory_statement
            if directory is not None:
                _line(
                    f"node directory: the logged statement of its {len(directory.key_ids)} nodes "
                    "(the same for every device), proven in the log"
                )
            _line("for the last request, each party received:")
            _show_observations(observer.since(seq))
        summary = chatter.summary() if chatter is not None else None
        if summary:
            print(f"\n({summary}; `privcloud -v demo` shows them as they come)", flush=True)
    print(
        f"\nDone in {clock.stamp().strip()}. The local cloud stopped; its temporary files are gone."
    )


async def _features(client: Client, clock: _Clock, call: bytes, voicemail_path: Any) -> None:
    _header(clock, 4, "the sample call through the private path (each request: new token, k=3)")
    _line("said in the call:")
    _wrap(CALL_SCRIPT)

    def segment(meta: dict[str, Any]) -> None:
        if "start" in meta:
            _line(f"[{meta['start']:5.1f}s] {str(meta.get('text', '')).strip()}", 6)

    _line("transcribe (Whisper base, streamed segment by segment):")
    params = {"language": "en", "model": "whisper-base"}
    result, took = await _streamed(client, "transcribe", params, call, segment)
    transcript = str(result.meta.get("text", "")).strip()
    _line(f"{result.meta.get('model')}, {took:.1f} s", 6)

    def stage(meta: dict[str, Any]) -> None:
        if meta.get("stage") == "checking":
            _line("checking every sentence against the transcript...", 6)

    _line("summarize (the node's language model, with the hallucination guard):")
    result, took = await _streamed(client, "summarize", {}, transcript.encode(), stage)
    _wrap(result.data.decode("utf-8", errors="replace"))
    report = result.meta.get("grounding") or {}
    _line(
        f"{result.meta.get('model')}; guard: kept {report.get('kept')}, dropped "
        f"{report.get('dropped')}"
        + (f", fallback {result.meta.get('fallback')}" if result.meta.get("fallback") else "")
        + f" ({took:.1f} s)",
        6,
    )
    for line in dropped_lines(report):
        _line(line, 8)  # one line each, the sentence quoted whole

    _line("translate (a Spanish voicemail -> English, Whisper base):")
    result, took = await _streamed(
        client, "translate", {"mode": "speech"}, voicemail_path.read_bytes(), lambda _: None
    )
    _wrap(str(result.meta.get("text", "")).strip())
    _line(f"detected {result.meta.get('source_language')}; {took:.1f} s", 6)

    _line("extract (Calendar / Clock / Contacts):")
    result, took = await _streamed(client, "extract", {}, transcript.encode(), lambda _: None)
    for kind in ("events", "reminders", "alarms", "contacts"):
        for item in result.meta.get(kind, []):
            shown = {k: v for k, v in item.items() if k not in ("source", "derived")}
            _line(f"{kind[:-1]:8} {json.dumps(shown, ensure_ascii=False)}", 6)


def dropped_lines(report: dict[str, Any]) -> list[str]:
    """Each sentence the guard's report (``meta["grounding"]`` of ``summarize``) left out, with
    why: the guard's reasons; for a grounded sentence left out after the check (a repeat, a
    question or fragment, or past ``max_sentences``), the report's notes say why. Each edit of
    a kept sentence (a wrong owner taken out) is listed too."""
    lines = []
    for sentence in report.get("sentences", []):
        if sentence.get("kept"):
            lines += [f"edited {edit}" for edit in sentence.get("edits") or []]
            continue
        reasons = [str(r) for r in sentence.get("reasons") or []]
        if reasons:
            why = "; ".join(reasons)
        elif sentence.get("grounded"):
            why = "grounded, but left out of the summary (see below)"
        else:
            why = "no reason given"
        lines.append(f'dropped "{str(sentence.get("text", "")).strip()}": {why}')
    if any(not s.get("kept") and s.get("grounded") for s in report.get("sentences", [])):
        lines += [f"note: {note}" for note in report.get("notes", [])]
    return lines


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo``."""
    demo = sub.add_parser("demo", help="a local private cloud, the sample call, and the trail")
    demo.add_argument("--no-ai", action="store_true", help="skip the AI features (echo only)")
    demo.set_defaults(handler=_run)

"""What each party of one request observed, and what that let it learn (pure functions).

The inspector's raw material is the :class:`~privcloud.services.observe.Observer` tap: for each
service, the requests it received at the HTTP layer (peer address, method, path, headers, body
size). This module sorts the records of one request's time window into

* the request's own hops: the relay's and the gateway's ``POST /v1/ohttp`` and the chosen node's
  ``POST /v1/envelope`` (docs/trust-model.md#request-path: device → relay → gateway → node), and
* background traffic in the same window (gateway health checks, log reads, token refills),
  listed apart so that it is not mistaken for part of the request,

and explains, in fixed sentences filled in only with addresses, sizes, node ids and key ids
(never request content), what each party could and could not learn. The explanations follow
the protocol, not the records: the records show the HTTP layer, while the gateway also sees,
after removing the OHTTP layer, the token and the envelope's recipient key ids (docs/envelope.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from privcloud.privacypass.issuance import BATCH_PATH, ENROL_PATH
from privcloud.services.observe import Observation

RELAY, GATEWAY, NODE, ISSUER = "relay", "gateway", "node", "issuer"

#: The request's own hop at each kind of party (method, path).
REQUEST_HOPS = {
    RELAY: ("POST", "/v1/ohttp"),
    GATEWAY: ("POST", "/v1/ohttp"),
    NODE: ("POST", "/v1/envelope"),
}


@dataclass(frozen=True)
class RequestFacts:
    """What the device itself knows about one request (nothing of its content)."""

    #: The address the device sent from (None: the system's default, shared with the services).
    device_address: str | None
    #: Node ids the request was sealed to, and each one's key id (hex).
    chosen: tuple[str, ...] = ()
    key_ids: dict[str, str] = field(default_factory=dict)
    #: The spent token's description (key id and nonce hash), or None without tokens.
    token: str | None = None
    input_bytes: int = 0
    started_at: float = 0.0


def role_of(party: str) -> str:
    """The kind of party a tap name stands for: relay, gateway, issuer or node (node ids)."""
    return party if party in (RELAY, GATEWAY, ISSUER) else NODE


def is_request_hop(obs: Observation) -> bool:
    """Whether ``obs`` is one of the request's own hops (not background traffic)."""
    return REQUEST_HOPS.get(role_of(obs.party)) == (obs.method, obs.path)


def background_label(obs: Observation) -> str:
    """A short name for traffic that is not the request itself."""
    role, path = role_of(obs.party), obs.path
    if role == NODE and path == "/v1/attestation":
        return "gateway health check (attestation fetch)"
    if path.startswith("/log/"):
        return "transparency-log read by the device, through the relay"
    if path == "/.well-known/ohttp-gateway":
        return "OHTTP key configuration fetch"
    if path == "/v1/directory":
        return "node directory fetch"
    if path.startswith("/issuer/"):
        return "issuer key check by the device, through the relay"
    if role == ISSUER and path == BATCH_PATH:
        return "token batch fetched by the wallet (background refill)"
    if role == ISSUER and path == ENROL_PATH:
        return "device enrolment"
    if role == ISSUER:
        return "issuer directory read"
    return "other request"


def background(observations: Sequence[Observation]) -> list[dict[str, Any]]:
    """The window's traffic that is not the request, grouped and counted."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    labels: dict[tuple[str, str, str, str], str] = {}
    for obs in observations:
        if is_request_hop(obs):
            continue
        key = (obs.party, obs.method, obs.path, obs.peer)
        counts[key] += 1
        labels[key] = background_label(obs)
    out = []
    for key, count in counts.items():
        party, method, path, peer = key
        out.append(
            {
                "party": party,
                "method": method,
                "path": path,
                "peer": peer,
                "count": count,
                "label": labels[key],
            }
        )
    return out


def _observation(obs: Observation, started_at: float) -> dict[str, Any]:
    doc = obs.as_json()
    doc["at_ms"] = round((obs.at - started_at) * 1000, 1)
    return doc


def _shared_address_note(peer: str, facts: RequestFacts) -> str:
    if facts.device_address is None or peer == facts.device_address:
        return (
            " (on this machine the device and the services share one loopback address; "
            "on a network these differ)"
        )
    return ""


def _relay(hops: list[Observation], facts: RequestFacts) -> tuple[str, str]:
    if not hops:
        return "nothing: the request never reached the relay", "anything"
    hop = hops[0]
    media = hop.headers.get("content-type", "?")
    return (
        f"your device's address ({hop.peer}), the time, and the size of one encrypted "
        f"message: {hop.body_size} bytes of {media}",
        "what is inside: the message is sealed with HPKE to the gateway's key (Oblivious HTTP, "
        "RFC 9458), so the relay sees neither your token, nor the feature, nor the nodes",
    )


def _gateway(hops: list[Observation], facts: RequestFacts) -> tuple[str, str]:
    if not hops:
        return "nothing: the request never reached the gateway", "anything"
    hop = hops[0]
    keys = ", ".join(f"{n} ({facts.key_ids.get(n, '?')[:16]})" for n in facts.chosen) or "?"
    token = f"one anonymous token ({facts.token})" if facts.token else "no token"
    return (
        f"the relay's address ({hop.peer}), not yours{_shared_address_note(hop.peer, facts)}; "
        f"{hop.body_size} bytes of ciphertext; inside the OHTTP layer: {token} and the key ids "
        f"of the {len(facts.chosen)} nodes the envelope is sealed to: {keys}",
        "your address, or who you are (a token is a blind signature that cannot be linked to "
        "your enrolment: RFC 9578), or the content: the envelope is sealed to node keys the "
        "gateway does not hold",
    )


def _node(party: str, hops: list[Observation], facts: RequestFacts) -> tuple[str, str]:
    if hops:
        hop = hops[0]
        return (
            f"the request in plaintext (the feature, its parameters and {facts.input_bytes} "
            f"bytes of input), inside its attested TEE, to compute the answer; it arrived from "
            f"{hop.peer}, the gateway{_shared_address_note(hop.peer, facts)}",
            "who sent it: no device address, token or device id reaches a node",
        )
    if party in facts.chosen:
        return (
            f"nothing: it was one of the {len(facts.chosen)} recipients (it could have opened "
            "the envelope), but the gateway forwarded the request to another",
            "anything of this request",
        )
    return "nothing: the request was not sealed to this node's key", "anything of this request"


def _issuer(history: Sequence[Observation], facts: RequestFacts) -> tuple[str, str]:
    batches = [o for o in history if o.path == BATCH_PATH and o.at <= facts.started_at]
    earlier = ""
    if batches:
        last = batches[-1]
        ago = max(0.0, facts.started_at - last.at)
        earlier = f" (last batch {ago:.0f} s before this request, from {last.peer})"
    return (
        "nothing of this request: your wallet fetched tokens before it, in batches, directly "
        f"from your address{earlier}",
        "which request a token paid for: tokens are signed blind (RFC 9474), and the gateway "
        "redeems them without asking the issuer",
    )


def party_views(
    observations: Sequence[Observation],
    facts: RequestFacts,
    *,
    node_ids: Sequence[str],
    issuer_history: Sequence[Observation] = (),
) -> list[dict[str, Any]]:
    """Per party (relay, gateway, each node, issuer): its records of this request and what it
    could and could not learn."""
    hops: dict[str, list[Observation]] = {}
    for obs in observations:
        if is_request_hop(obs):
            hops.setdefault(obs.party, []).append(obs)
    views: list[dict[str, Any]] = []
    parties = [RELAY, GATEWAY, *node_ids, ISSUER]
    for party in parties:
        role = role_of(party)
        own = hops.get(party, [])
        if role == RELAY:
            learns, cannot = _relay(own, facts)
        elif role == GATEWAY:
            learns, cannot = _gateway(own, facts)
        elif role == NODE:
            learns, cannot = _node(party, own, facts)
        else:
            learns, cannot = _issuer(issuer_history, facts)
        views.append(
            {
                "party": party,
                "role": role,
                "learns": learns,
                "cannot": cannot,
                "observed": [_observation(o, facts.started_at) for o in own],
                "ran_request": role == NODE and bool(own),
            }
        )
    return views

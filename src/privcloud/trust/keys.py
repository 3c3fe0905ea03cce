"""Key statements: the keys the operator serves to devices, made public in the transparency log
(sans-IO; docs/adr/0009-key-consistency.md, docs/trust-model.md#consistency).

A device learns two kinds of key from the operator: the gateway's OHTTP key configurations
(RFC 9458 §3) and the issuer's token keys (RFC 9578 §4). Either could single a device out: a
relay or gateway that serves one device a key of its own can read or link that device's
requests. So a device uses such a key only when a **key statement** naming it is an entry of
the transparency log, proven by an inclusion proof against the witness-cosigned checkpoint the
device trusts — the same log every device and every monitor reads. A key given to one device
only would then be in public view, next to every other key the service ever used.

A key statement, version 1, is the *canonical JSON* (as for release manifests,
:func:`~privcloud.trust.canonical.canonical_json`) of::

    {"schema": "privcloud.key-statement/v1",
     "kind": "ohttp-key-config" | "privacypass-token-key",
     "service": <the gateway's origin (e.g. "privcloud.gateway") | the issuer name>,
     "key": <standard base64: the RFC 9458 §3.1 KeyConfig | the RFC 9578 §6.5 SPKI>,
     "not_before": <unix seconds>, "not_after": <unix seconds>}

The log entry *is* these bytes, so the device rebuilds them from what it was served and looks
them up: nothing about a statement needs to be trusted before its proof verifies.

Device procedure (:func:`check_statement`, then the proof in :mod:`privcloud.sdk.keyproofs`):

1. the statement decodes, in canonical form, with a supported schema;
2. its kind and service are the ones the device expects (a key of another gateway or issuer
   is refused);
3. its validity is at most ``MAX_KEY_STATEMENT_VALIDITY_S`` long and contains now (with
   ``KEY_STATEMENT_SKEW_S`` for a ``not_before`` slightly ahead); an issuer's key follows the
   one schedule every issuer keeps (:func:`on_issuer_schedule`);
4. the entry is in the log: RFC 9162 inclusion proof against the trusted checkpoint;
5. at most ``MAX_OHTTP_VALID_KEYS`` / ``MAX_ISSUER_VALID_KEYS`` keys of the service are valid
   at once among those served (:func:`check_key_count`); OHTTP keys are counted per KEM, since
   a gateway offers a classical and a hybrid post-quantum configuration side by side
   (docs/adr/0014-post-quantum-hpke.md), each rotating on its own.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from privcloud import limits
from privcloud.errors import DecodeError, KeyConsistencyError, TooLargeError
from privcloud.ohttp import KeyConfig
from privcloud.privacypass import IssuerKey
from privcloud.transparency.client_state import TrustedLogState, verify_inclusion_against
from privcloud.trust.canonical import canonical_json, load_entry
from privcloud.trust.canonical import loads_strict as _loads_strict
from privcloud.trust.statement import LoggedStatement

#: ``schema`` of a version-1 key statement.
STATEMENT_SCHEMA: Final = "privcloud.key-statement/v1"
#: Media type of a gateway's statement list (``GET /v1/key-statements``).
MEDIA_KEY_STATEMENTS: Final = "application/privcloud-key-statements+json"
#: Route of a gateway's statement list (passed through by the relay).
KEY_STATEMENTS_PATH: Final = "/v1/key-statements"
#: Service name of a gateway's OHTTP key statements unless configured otherwise: the authority
#: of the inner requests (the gateway is the one origin behind the relay).
DEFAULT_GATEWAY_SERVICE: Final = "privcloud.gateway"

_FIELDS: Final = frozenset({"schema", "kind", "service", "key", "not_before", "not_after"})


class KeyKind(enum.Enum):
    """What a statement's key is."""

    OHTTP = "ohttp-key-config"
    ISSUER = "privacypass-token-key"


#: The most keys of one service a device accepts as valid at one time, per kind: rotation
#: needs two; more would let the service give devices keys of their own.
MOST_VALID_AT_ONCE: Final = {
    KeyKind.OHTTP: limits.MAX_OHTTP_VALID_KEYS,
    KeyKind.ISSUER: limits.MAX_ISSUER_VALID_KEYS,
}


@dataclass(frozen=True)
class KeyStatement(LoggedStatement):
    """One key statement, valid by construction (the key parses as its kind says)."""

    kind: KeyKind
    service: str
    key: bytes
    not_before: int
    not_after: int

    def __post_init__(self) -> None:
        if not isinstance(self.kind, KeyKind):
            raise DecodeError("unknown key statement kind")
        self._check_names("key statement", self.service)
        if not isinstance(self.key, bytes):
            raise DecodeError("key statement key is bytes")
        if self.kind is KeyKind.OHTTP:
            KeyConfig.decode(self.key)  # raises DecodeError / UnsupportedError
        else:
            IssuerKey.from_spki(self.key)

    @classmethod
    def for_ohttp(
        cls, service: str, config: KeyConfig, not_before: int, not_after: int
    ) -> KeyStatement:
        """The statement of a gateway's OHTTP key configuration."""
        return cls(KeyKind.OHTTP, service, config.encode(), not_before, not_after)

    @classmethod
    def for_token_key(
        cls, issuer_name: str, spki: bytes, not_before: int, not_after: int
    ) -> KeyStatement:
        """The statement of an issuer's type-2 token key (its RFC 9578 §6.5 SPKI)."""
        return cls(KeyKind.ISSUER, issuer_name, spki, not_before, not_after)

    @property
    def key_config(self) -> KeyConfig:
        """The OHTTP key configuration (for an ``ohttp-key-config`` statement)."""
        if self.kind is not KeyKind.OHTTP:
            raise DecodeError("not an OHTTP key statement")
        return KeyConfig.decode(self.key)

    def encode(self) -> bytes:
        """The log entry: canonical JSON."""
        return canonical_json(
            {
                "schema": STATEMENT_SCHEMA,
                "kind": self.kind.value,
                "service": self.service,
                "key": base64.b64encode(self.key).decode("ascii"),
                "not_before": self.not_before,
                "not_after": self.not_after,
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> KeyStatement:
        """Parse a log entry, which must be the canonical form byte for byte.

        Raises :class:`TooLargeError` past ``MAX_KEY_STATEMENT_BYTES``,
        :class:`UnsupportedError` for another schema, :class:`DecodeError` otherwise.
        """
        doc = load_entry(
            data,
            "key statement",
            max_bytes=limits.MAX_KEY_STATEMENT_BYTES,
            fields=_FIELDS,
            schema=STATEMENT_SCHEMA,
        )
        try:
            kind = KeyKind(doc["kind"])
            key = base64.b64decode(_str(doc["key"]), validate=True)
        except (ValueError, binascii.Error) as exc:
            raise DecodeError("malformed key statement") from exc
        statement = cls(kind, _str(doc["service"]), key, doc["not_before"], doc["not_after"])
        if statement.encode() != data:
            raise DecodeError("key statement is not in canonical form")
        return statement


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise DecodeError("malformed key statement")
    return value


def check_statement(statement: KeyStatement, *, kind: KeyKind, service: str, now: float) -> None:
    """Steps 2 and 3 of the device procedure (module docstring).

    Raises :class:`KeyConsistencyError` for another kind or service, a validity longer than
    ``MAX_KEY_STATEMENT_VALIDITY_S``, an issuer key off the schedule, or a statement not valid
    at ``now``.
    """
    # 2.
    if statement.kind is not kind or statement.service != service:
        raise KeyConsistencyError("key statement is for another service")
    # 3.
    if statement.not_after - statement.not_before > limits.MAX_KEY_STATEMENT_VALIDITY_S:
        raise KeyConsistencyError("key statement claims too long a validity")
    if kind is KeyKind.ISSUER and not on_issuer_schedule(statement.not_before, statement.not_after):
        raise KeyConsistencyError("issuer key statement is off the issuer key schedule")
    if not statement.valid_at(now):
        raise KeyConsistencyError("key statement is not valid now")


def issuer_step(now: float) -> int:
    """The start of the step of the issuer key schedule ``now`` falls in: the ``not_before`` of
    the key every wallet fetches under then."""
    return int(now) // limits.ISSUER_KEY_STEP_S * limits.ISSUER_KEY_STEP_S


def on_issuer_schedule(not_before: int, not_after: int) -> bool:
    """Whether a token key valid from ``not_before`` to ``not_after`` keeps the one schedule
    every issuer keeps: from a multiple of ``ISSUER_KEY_STEP_S``, for ``ISSUER_KEY_LIFETIME_S``
    (docs/adr/0009, decision 8). The issuer chooses no window: every device fetching in one
    step uses one key."""
    return (
        not_before % limits.ISSUER_KEY_STEP_S == 0
        and not_after - not_before == limits.ISSUER_KEY_LIFETIME_S
    )


def verify_logged(
    statement: KeyStatement, index: int, proof: Sequence[bytes], state: TrustedLogState
) -> None:
    """Step 4: the statement is entry ``index`` of the trusted checkpoint.

    Raises :class:`KeyConsistencyError` when the entry lies beyond the trusted checkpoint (not
    yet logged as far as the device knows), :class:`~privcloud.errors.VerificationError` when
    the proof does not verify.
    """
    if not 0 <= index < state.checkpoint.size:
        raise KeyConsistencyError("key statement is not in the trusted log checkpoint")
    verify_inclusion_against(state, statement.encode(), index, proof)


def _count_group(statement: KeyStatement) -> int:
    """What step 5 counts within: the KEM of an OHTTP key (0 for a token key)."""
    return int(statement.key_config.kem) if statement.kind is KeyKind.OHTTP else 0


def check_key_count(statements: Sequence[KeyStatement], now: float, most: int) -> None:
    """Step 5: refuse a set of served keys with more than ``most`` valid at ``now`` (OHTTP
    keys: per KEM).

    Raises :class:`KeyConsistencyError`.
    """
    counts: dict[int, int] = {}
    for s in statements:
        if s.valid_at(now):
            group = _count_group(s)
            counts[group] = counts.get(group, 0) + 1
    if any(n > most for n in counts.values()):
        raise KeyConsistencyError("the service offers too many valid keys at once")


def most_valid_at_once(statements: Sequence[KeyStatement]) -> dict[tuple[KeyKind, str], int]:
    """For a monitor reading the whole log: per (kind, service), the largest number of keys
    (of one KEM, for OHTTP keys) whose validity overlaps at one instant. More than rotation
    needs (2) means the operator could have handed some devices keys of their own (key
    partitioning)."""
    events: dict[tuple[KeyKind, str, int], list[tuple[int, int]]] = {}
    for s in statements:
        # An end sorts before a start at the same instant: [a, b) and [b, c) do not overlap.
        group = (s.kind, s.service, _count_group(s))
        events.setdefault(group, []).extend(((s.not_before, 1), (s.not_after, -1)))
    most: dict[tuple[KeyKind, str], int] = {}
    for (kind, service, _), points in events.items():
        live = peak = 0
        for _, delta in sorted(points):
            live += delta
            peak = max(peak, live)
        most[(kind, service)] = max(peak, most.get((kind, service), 0))
    return most


# --- the gateway's statement list ------------------------------------------------------------


def encode_statement_list(statements: Sequence[KeyStatement]) -> bytes:
    """``GET /v1/key-statements``: ``{"statements": [b64 entry, ...]}``, preferred first."""
    if len(statements) > limits.MAX_KEY_STATEMENTS:
        raise TooLargeError("too many key statements")
    entries = [base64.b64encode(s.encode()).decode("ascii") for s in statements]
    return canonical_json({"statements": entries})


def decode_statement_list(data: bytes) -> list[KeyStatement]:
    """Parse a statement list; each entry is checked by :meth:`KeyStatement.decode`.

    Raises :class:`TooLargeError` past ``MAX_KEY_STATEMENTS_DOC_BYTES`` or
    ``MAX_KEY_STATEMENTS`` entries, :class:`DecodeError` otherwise.
    """
    if len(data) > limits.MAX_KEY_STATEMENTS_DOC_BYTES:
        raise TooLargeError("key statement list too large")
    doc = _loads_strict(data, "key statement list")
    if not isinstance(doc, dict) or set(doc) != {"statements"}:
        raise DecodeError("malformed key statement list")
    entries = doc["statements"]
    if not isinstance(entries, list):
        raise DecodeError("malformed key statement list")
    if len(entries) > limits.MAX_KEY_STATEMENTS:
        raise TooLargeError("too many key statements")
    out = []
    for entry in entries:
        try:
            raw = base64.b64decode(_str(entry), validate=True)
        except (ValueError, binascii.Error) as exc:
            raise DecodeError("malformed key statement list") from exc
        out.append(KeyStatement.decode(raw))
    return out


__all__ = [
    "DEFAULT_GATEWAY_SERVICE",
    "KEY_STATEMENTS_PATH",
    "MOST_VALID_AT_ONCE",
    "MEDIA_KEY_STATEMENTS",
    "STATEMENT_SCHEMA",
    "KeyKind",
    "KeyStatement",
    "check_key_count",
    "check_statement",
    "decode_statement_list",
    "encode_statement_list",
    "issuer_step",
    "most_valid_at_once",
    "on_issuer_schedule",
    "verify_logged",
]

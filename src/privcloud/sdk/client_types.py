"""What a client is configured with and what it reports: :class:`ClientTrust` (the pins),
:class:`RequestOptions` (per request), :class:`Result` and :class:`Trail` (the verification
trail a user can inspect)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TypedDict

from privcloud.attest import TrustRoots
from privcloud.sdk.trust_store import TrustStore, pinned_state
from privcloud.transparency.checkpoint import Checkpoint
from privcloud.transparency.client_state import TrustedLogState
from privcloud.trust.admission import AdmittedNode
from privcloud.trust.directory_statement import DirectoryStatement
from privcloud.trust.keys import KeyStatement
from privcloud.wire.message import Event, JSONObject


class RequestOptions(TypedDict, total=False):
    """Per-request options of :meth:`Client.call` and :meth:`Client.stream`."""

    #: Region names the request may be sealed to (data residency), within the client's policy.
    regions: Collection[str] | None
    #: Seconds the node may work on the request (sealed in it; default: the feature's).
    deadline_s: int | None


@dataclass(frozen=True)
class Result:
    """A feature's final answer, with the partial events that came before it."""

    meta: JSONObject
    data: bytes = b""
    partials: tuple[Event, ...] = ()


@dataclass(frozen=True)
class ClientTrust:
    """What a client pins out of band to admit nodes (docs/trust-model.md#node-admission).

    ``log`` is the trust policy for the transparency log (its key, the witnesses' keys, the
    quorum; see :func:`privcloud.sdk.trust_store.pinned_state`); ``store`` keeps the trusted
    checkpoint across restarts; ``roots`` are the vendor roots (plus, for development only, the
    dev roots of the INSECURE simulated TEE).
    """

    log_url: str
    log: TrustedLogState
    roots: TrustRoots = field(default_factory=TrustRoots.pinned)
    store: TrustStore | None = None
    #: INSECURE: read the log at ``log_url`` though it is not the relay's ``/log``: the log's
    #: operator, who runs the gateway too, would see this device's address next to each of
    #: its admissions (docs/adr/0009, decision 2). For tools that admit no user's requests.
    insecure_direct_log: bool = False

    @classmethod
    def pinned(
        cls,
        log_url: str,
        log_vkey: str,
        witness_vkeys: list[str],
        *,
        required_witnesses: int | None = None,
        insecure_simulated_keys: tuple[bytes, ...] = (),
        store: TrustStore | None = None,
        insecure_direct_log: bool = False,
    ) -> ClientTrust:
        """Trust configured from the log's and witnesses' vkeys; ``insecure_simulated_keys``
        adds dev roots of the INSECURE simulated TEE (the local cloud's). ``log_url`` is the
        relay's ``/log`` (a :class:`~privcloud.sdk.Client` refuses another, unless
        ``insecure_direct_log``)."""
        return cls(
            log_url,
            pinned_state(log_vkey, witness_vkeys, required_witnesses),
            TrustRoots.pinned(insecure_simulated_keys=insecure_simulated_keys),
            store,
            insecure_direct_log,
        )


@dataclass
class Trail:
    """What the client did for its last request: the verification trail a user can inspect."""

    admitted: list[AdmittedNode] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)
    key_config_id: int | None = None
    #: The logged statement of the OHTTP key configuration in use, and the gateway's other
    #: statements that were refused, with the reason (key consistency, docs/adr/0009).
    key_statement: KeyStatement | None = None
    keys_refused: list[str] = field(default_factory=list)
    #: The logged statement of the node directory admission read (docs/adr/0033); None only
    #: for a client told to accept an unlogged directory (INSECURE).
    directory_statement: DirectoryStatement | None = None
    #: The trusted log checkpoint admission used.
    checkpoint: Checkpoint | None = None


__all__ = ["ClientTrust", "RequestOptions", "Result", "Trail"]

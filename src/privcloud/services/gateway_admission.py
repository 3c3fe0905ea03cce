"""The gateway's check of the nodes it lists (docs/adr/0033, "A listed node is checked first").

Devices admit a logged directory whole or not at all (:func:`privcloud.trust.admission.
admit_listed`): were a listed node's bundle that fails admission refused alone, a gateway could
break the bundles of all but a few nodes for one device and choose which nodes that device seals
to. So a node whose bundle fails would stop every device. The gateway therefore runs the devices'
own admission (:func:`~privcloud.trust.admission.admit_all`, with the fleet's policy, the pinned
roots and the log it follows) on each node's descriptor before it lists the node, and serves for
each listed node the newest descriptor that passed.

Nothing here is trusted by a device, which checks every bundle itself: the gateway's verdicts
decide only which nodes it offers. A gateway configured with a weaker policy than its devices'
lists nodes they refuse, and those devices then refuse the directory (fail closed, and loud).

Verdicts are kept per descriptor (its encoded bytes' SHA-256) and taken again after
:data:`RECHECK_S`, so a bundle that ages past the policy's limit stops being served. Refusal
reasons are our errors' fixed texts, never the node's bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import aiohttp

from privcloud.attest import TrustRoots
from privcloud.logclient import LogClient, advance_checkpoint, fetch_log_proofs
from privcloud.transparency.client_state import TrustedLogState
from privcloud.trust.admission import ClientPolicy, admit_all
from privcloud.trust.directory import NodeDescriptor, encode_descriptor

#: Seconds a verdict on one descriptor stands before the gateway takes it again.
RECHECK_S: Final = 300.0


@dataclass(frozen=True)
class NodeCheckConfig:
    """What the gateway admits its nodes with: the fleet's device policy, the log devices
    trust (``log``: its key, the witnesses' keys and quorum, as devices pin them; the gateway
    reads the log at ``log_url``) and the pinned vendor roots."""

    policy: ClientPolicy
    log_url: str
    log: TrustedLogState
    roots: TrustRoots = field(default_factory=TrustRoots.pinned)


def _digest(node: NodeDescriptor) -> bytes:
    return hashlib.sha256(encode_descriptor(node)).digest()


class NodeCheck:
    """The gateway's verdicts on its nodes' descriptors (module docstring)."""

    def __init__(
        self,
        config: NodeCheckConfig,
        *,
        session: Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        self.config = config
        #: The log state the checks ran against (advanced at each check).
        self.state = config.log
        self._session = session
        #: descriptor digest -> (when it was checked, the refusal reason or None)
        self._verdicts: dict[bytes, tuple[float, str | None]] = {}
        #: node id -> why its newest descriptor was refused (cleared when one passes)
        self.refused: dict[str, str] = {}

    def passed(self, node: NodeDescriptor, now: float) -> bool:
        """Whether ``node``'s descriptor passed its last check, taken within RECHECK_S."""
        verdict = self._verdicts.get(_digest(node))
        return verdict is not None and verdict[1] is None and now - verdict[0] < RECHECK_S

    async def check(self, nodes: Sequence[NodeDescriptor], now: float) -> None:
        """Check each of ``nodes`` not checked within RECHECK_S: advance the log state, fetch
        the proofs the bundles need, admit. Raises the log's errors (nothing is recorded
        then: the nodes keep their last verdicts until a check succeeds)."""
        due = {}
        for node in nodes:
            digest = _digest(node)
            verdict = self._verdicts.get(digest)
            if verdict is None or now - verdict[0] >= RECHECK_S:
                due[digest] = node
        if not due:
            return
        session = None if self._session is None else self._session()
        async with LogClient(self.config.log_url, session=session) as log:
            self.state = await advance_checkpoint(log, self.state, now=now)
            proofs = await fetch_log_proofs(log, self.state, list(due.values()))
        admitted, refused = admit_all(
            list(due.values()),
            policy=self.config.policy,
            roots=self.config.roots,
            log_state=self.state,
            now=now,
            proofs=proofs,
        )
        passed = {_digest(a.descriptor) for a in admitted}
        reasons = dict(refused)
        for digest, node in due.items():
            reason = None if digest in passed else reasons.get(node.node_id, "refused")
            self._verdicts[digest] = (now, reason)
            if reason is None:
                self.refused.pop(node.node_id, None)
            else:
                self.refused[node.node_id] = reason
        # Keep the verdicts of the descriptors seen now only (bounded by the node count).
        seen = {_digest(n) for n in nodes}
        self._verdicts = {d: v for d, v in self._verdicts.items() if d in seen}


__all__ = ["RECHECK_S", "NodeCheck", "NodeCheckConfig"]

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
:data:`RECHECK_S`. The check is stricter than the devices' by what lies between the two: a
bundle must have :data:`RECHECK_S` and the clock skew left before the policy's age limit, and
be no more than half the skew in the future, so one the gateway passes is not refused by a
device a few minutes later. A log out of reach (its checkpoint or a proof) records no verdict:
it is no verdict on a node. Refusal reasons are our errors' fixed texts, never the node's
bytes; a change of verdict is logged with the node's id (an operator's label) and the reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import aiohttp

from privcloud import limits
from privcloud.attest import TrustRoots
from privcloud.errors import ConfigError, PrivcloudError
from privcloud.logclient import LogClient, advance_checkpoint, fetch_log_proofs
from privcloud.transparency.client_state import TrustedLogState
from privcloud.transparency.errors import ForkError
from privcloud.trust.admission import (
    INTERNAL_REFUSAL,
    ClientPolicy,
    LogProofs,
    admit,
    proofs_key,
)
from privcloud.trust.directory import NodeDescriptor, encode_descriptor

log = logging.getLogger("privcloud.gateway")

#: Admission steps that judge only a bundle's log proof and age (trust.admission: 4, 5).
_BUNDLE_ONLY_STEPS: Final = frozenset({4, 5})

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
        devices = config.policy
        margin = RECHECK_S + devices.max_clock_skew_s
        # Room for the check's margin, a renewal, and a renewal that failed once.
        if devices.max_bundle_age_s < margin + 2 * limits.NODE_BUNDLE_REFRESH_S:
            raise ConfigError(
                "the node check's policy admits bundles for less than the nodes' renewal "
                "interval and the check's margin"
            )
        #: The devices' policy with the margins of the module docstring.
        self.policy = dataclasses.replace(
            devices,
            max_bundle_age_s=max(0.0, devices.max_bundle_age_s - margin),
            max_clock_skew_s=devices.max_clock_skew_s / 2,
        )
        #: Checks a bundle's checkpoint on its own: the witnesses' quorum, fresh with the same
        #: margin. A device whose trusted checkpoint lags takes a newer one only so cosigned;
        #: one stripped of its cosignatures would be refused by such devices alone.
        self._cosigned = dataclasses.replace(
            config.log,
            checkpoint_note=None,
            max_cosignature_age_s=max(0.0, config.log.max_cosignature_age_s - margin),
        )
        #: The log state the checks ran against (advanced at each check).
        self.state = config.log
        self._session = session
        #: descriptor digest -> (when it was checked, the refusal reason or None, the
        #: admission step that failed or None)
        self._verdicts: dict[bytes, tuple[float, str | None, int | None]] = {}
        #: node id -> why its newest descriptor was refused (cleared when one passes)
        self.refused: dict[str, str] = {}

    def passed(self, node: NodeDescriptor, now: float) -> bool:
        """Whether ``node``'s descriptor passed its last check, taken within RECHECK_S."""
        verdict = self._verdicts.get(_digest(node))
        return verdict is not None and verdict[1] is None and now - verdict[0] < RECHECK_S

    def recheck(self) -> None:
        """Take every verdict again at the next check (after a change of policy or roots)."""
        self._verdicts.clear()

    def failed(self, node: NodeDescriptor) -> bool:
        """Whether ``node``'s descriptor failed its last check (however long ago)."""
        verdict = self._verdicts.get(_digest(node))
        return verdict is not None and verdict[1] is not None

    def failed_on_its_bundle_alone(self, node: NodeDescriptor) -> bool:
        """Whether ``node``'s descriptor failed only on what its bundle says of the log or of
        the time (admission steps 4 and 5: its release proof, its checkpoint, its age), not
        on what it says of the node (evidence, GPUs, measurement, policy): an earlier bundle
        of the same boot key may then stand for it."""
        verdict = self._verdicts.get(_digest(node))
        return verdict is not None and verdict[2] in _BUNDLE_ONLY_STEPS

    def _admit(
        self, node: NodeDescriptor, proofs: Mapping[str, LogProofs], now: float
    ) -> tuple[str | None, int | None]:
        """``node``'s verdict: (None, None) when admitted, else (the refusal reason, the
        admission step that failed)."""
        steps: list[int] = []
        if node.bundle is not None:
            try:  # (admission step 4's matter: the log proof's checkpoint)
                self._cosigned.update(node.bundle.checkpoint, [], now)
            except PrivcloudError as exc:
                return f"node's checkpoint: {exc}", 4
        try:
            admit(
                node,
                policy=self.policy,
                roots=self.config.roots,
                log_state=self.state,
                now=now,
                proofs=proofs.get(proofs_key(node)),
                on_step=lambda step: steps.append(step.step),
            )
        except ForkError as exc:  # the log's fault, shown by this bundle: an alarm, no stand-in
            log.error(  # noqa: TRY400 - no traceback: the message says it all
                "gateway: node %s's bundle shows the log forked", node.node_id
            )
            return str(exc), None
        except PrivcloudError as exc:
            return str(exc) or INTERNAL_REFUSAL, max(steps, default=-1) + 1
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug: refuse this node (as admit_all does)
            log.error("gateway: checking a node failed with %s", type(exc).__name__)  # noqa: TRY400
            return INTERNAL_REFUSAL, None
        return None, None

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
        async with LogClient(self.config.log_url, session=session) as reader:
            state = await advance_checkpoint(reader, self.state, now=now)
            # Strictly: a log that does not answer decides nothing. (Filed by what they prove,
            # trust.admission.proofs_key, so two entries sharing a node id get their own.)
            proofs = await fetch_log_proofs(reader, state, list(due.values()), strict=True)
        self.state = state
        verdicts = {digest: self._admit(node, proofs, now) for digest, node in due.items()}
        for digest, node in due.items():
            reason, failing = verdicts[digest]
            self._verdicts[digest] = (now, reason, failing)
            if self.refused.get(node.node_id) != reason:
                if reason is None:
                    log.info("gateway: node %s passes the check again", node.node_id)
                else:
                    log.warning("gateway: node %s refused by the check: %s", node.node_id, reason)
            if reason is None:
                self.refused.pop(node.node_id, None)
            else:
                self.refused[node.node_id] = reason
        # Keep what concerns the descriptors seen now only (bounded by the node count).
        seen = {_digest(n) for n in nodes}
        self._verdicts = {d: v for d, v in self._verdicts.items() if d in seen}
        ids = {n.node_id for n in nodes}
        self.refused = {i: r for i, r in self.refused.items() if i in ids}


__all__ = ["RECHECK_S", "NodeCheck", "NodeCheckConfig"]

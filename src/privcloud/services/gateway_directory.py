"""Which node directory the gateway serves: the nodes of its last logged directory statement
(sans-IO; docs/adr/0033-logged-node-directory.md, :mod:`privcloud.trust.directory_statement`).

A device uses a directory only when the log holds a statement naming exactly its nodes, so the
gateway logs one when a node it sees healthy is not listed yet, and at each step of the
validity grid (every half of ``limits.DIRECTORY_STATEMENT_LIFETIME_S``, from a multiple of it,
for the lifetime: the one served always has at least half of its lifetime left). A node that
goes down stays listed until the next step (its requests go to the envelope's other
recipients, and a device that failed to reach it leaves it out), so a node that misses a health
check writes no entry for its absence: each statement valid at once is a step or a node that
came up, which keeps the count a monitor reads (``MAX_DIRECTORIES_VALID_AT_ONCE``)
meaningful. A node that came up is listed once its statement is in a cosigned checkpoint; one
that restarted (a new boot key under its node id) replaces its old entry then, so no node is
listed twice.

Statements are deterministic, so gateway replicas that see the same nodes make the same entry
(the log appends it once). At a step, a renewal of the same nodes waits until
``KEY_STATEMENT_SKEW_S`` has passed (the last statement is served meanwhile), so a device
whose clock is a little behind does not see a statement that starts in its future; a change of
the nodes is logged at once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from privcloud import limits
from privcloud.services.gateway_key import GatewayKeyRecord
from privcloud.trust.directory import NodeDescriptor, encode_directory
from privcloud.trust.directory_statement import DirectoryStatement, node_line
from privcloud.trust.keys import KeyStatement
from privcloud.trust.statement import LoggedStatement


def named_keys_of(offered: Sequence[GatewayKeyRecord], now: float) -> list[KeyStatement]:
    """The key statements a directory statement logged at ``now`` names, of the ``offered``
    keys: devices choose among them alone (docs/adr/0033, decision 7). A key is named

    - from ``KEY_STATEMENT_SKEW_S`` after its ``not_before``: a device whose clock is that
      much behind finds it valid, and a cache in front of the gateway (key statements live
      10 s in it) serves it by then (none is, while no offered key qualifies: a gateway just
      started names its keys at once);
    - until ``DIRECTORY_KEY_AHEAD_S`` before its end: devices, which admit again in the
      background at least ``READMIT_MARGIN_S`` before their key ends, find a statement
      without it and move off it while it still works.
    """
    lasting = [r for r in offered if r.offered_at(now + limits.DIRECTORY_KEY_AHEAD_S)]
    begun = [r for r in lasting if r.not_before + limits.KEY_STATEMENT_SKEW_S <= now]
    return [r.statement for r in (begun or lasting)]


def _distinct(nodes: Sequence[NodeDescriptor]) -> list[NodeDescriptor]:
    """One entry per key (two node URLs reaching one node list it once)."""
    seen: dict[bytes, NodeDescriptor] = {}
    for node in nodes:
        seen.setdefault(node.key_id, node)
    return list(seen.values())


class LoggedDirectory:
    """The gateway's logged directory statement and the node entries it names."""

    def __init__(self, service: str) -> None:
        self.service = service
        #: The last statement logged (and covered by a cosigned checkpoint); None before one.
        self.statement: DirectoryStatement | None = None
        self._logged: dict[bytes, NodeDescriptor] = {}
        #: Key ids listed in the statement of the step that began at _held_out_step and then
        #: refused by the gateway's check: out until the next step.
        self._held_out: set[bytes] = set()
        self._held_out_step = -1

    def wanted(
        self,
        healthy: Sequence[NodeDescriptor],
        now: float,
        service: str | None = None,
        *,
        refused: Collection[bytes] = (),
        keys: Sequence[LoggedStatement] = (),
    ) -> tuple[DirectoryStatement, list[NodeDescriptor]] | None:
        """The statement to log now and the entries it names, or None (module docstring):
        within a step, the nodes listed and the healthy ones not yet listed; at a new step,
        the healthy ones. None while no node is healthy (the last statement stays served).
        ``service`` names the gateway (default: the one given at construction). A key id in
        ``refused`` (its node failed the gateway's check, newest and logged entry alike,
        :mod:`~privcloud.services.gateway_admission`) is not kept listed: devices admit a
        logged directory whole or not at all. One that was listed in this step's statement
        stays out until the next step even if it passes again: each node dropped so adds at
        most one statement per step (without it, k nodes flapping apart would make up to 2^k;
        a review counted 32 valid at once for four of seven). A node never listed in the step
        (one starting, whose bundle is not there yet) is listed as soon as it passes.
        ``keys`` are the key statements the statement names (:func:`named_keys_of`); a change
        of them is logged at once, like a node that came up."""
        if service is not None:
            self.service = service
        nodes = _distinct(healthy)
        if not nodes:
            return None
        half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
        start = int(now) // half * half
        current = self.statement
        same_service = current is not None and current.service == self.service
        this_step = current is not None and same_service and current.not_before == start
        if self._held_out_step != start:
            self._held_out_step, self._held_out = start, set()
        if current is not None and this_step:
            self._held_out |= set(refused) & set(current.key_ids)
        nodes = [n for n in nodes if n.key_id not in self._held_out]
        if current is not None and this_step:
            # A listed key whose entry changed (node id, features: not bound by its evidence)
            # keeps the entry it was listed with until the next step, so a node host cannot
            # make a statement per change (a review made 21 valid at once so).
            logged_lines = dict(current.nodes)
            nodes = [
                self._logged[n.key_id]
                if n.key_id in logged_lines and node_line(n)[1] != logged_lines[n.key_id]
                else n
                for n in nodes
            ]
            # Within the step nothing goes but a node that restarted or failed the check:
            # new nodes come.
            listed = {node_line(n) for n in nodes}
            names = {n.node_id for n in nodes}
            nodes += [
                self._logged[k]
                for k, d in current.nodes
                if (k, d) not in listed
                and self._logged[k].node_id not in names
                and k not in refused
                and k not in self._held_out
            ]
        nodes = _distinct(nodes)
        if not nodes:
            return None
        statement = DirectoryStatement.for_nodes(
            self.service, nodes, start, start + limits.DIRECTORY_STATEMENT_LIFETIME_S, keys
        )
        if (
            current is not None
            and same_service
            and (statement.nodes, statement.keys) == (current.nodes, current.keys)
        ):
            # A renewal: devices a little behind still take the last one for the skew.
            held = now < start + limits.KEY_STATEMENT_SKEW_S and current.not_after > now
            if held or statement == current:
                return None
        return (statement, nodes)

    def adopt(self, statement: DirectoryStatement, nodes: Sequence[NodeDescriptor]) -> None:
        """``statement`` (made of ``nodes`` by :meth:`wanted`) is logged: serve it from now."""
        named = set(statement.key_ids)
        self._logged = {n.key_id: n for n in _distinct(nodes) if n.key_id in named}
        self.statement = statement

    def logged(self) -> list[NodeDescriptor]:
        """The entries of the last statement logged, as they were logged."""
        return list(self._logged.values())

    def document(
        self,
        healthy: Sequence[NodeDescriptor],
        known: Sequence[NodeDescriptor],
        *,
        withheld: Collection[bytes] = (),
    ) -> bytes:
        """The directory as served: the logged statement's nodes, each with its newest entry
        among ``known`` (fresher evidence, the same stable part; in their order) or else the
        one logged, and the statement. Before any statement is logged, the ``healthy`` nodes
        alone, which devices refuse unless told to accept an unlogged directory (INSECURE).
        A key id in ``withheld`` (the entry it was logged with failed the gateway's check) is
        not served with it: until a statement without it is logged, devices refuse this
        directory rather than admit a bundle the check refused."""
        if self.statement is None:
            return encode_directory(list(healthy))
        named = set(self.statement.nodes)
        nodes = [n for n in _distinct(known) if node_line(n) in named]
        listed = {n.key_id for n in nodes}
        nodes += [n for k, n in self._logged.items() if k not in listed and k not in withheld]
        return encode_directory(nodes, self.statement.encode())


__all__ = ["LoggedDirectory"]

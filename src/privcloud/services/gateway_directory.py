"""Which node directory the gateway serves: the nodes of its last logged directory statement
(sans-IO; docs/adr/0033-logged-node-directory.md, :mod:`privcloud.trust.directory_statement`).

A device uses a directory only when the log holds a statement naming exactly its nodes, so the
gateway logs one whenever the nodes it sees healthy change, and serves, until the next is
logged, the nodes of the last one: a node that went down stays listed (requests sealed to it
go to the envelope's other recipients), one that came up is listed once its statement is in a
cosigned checkpoint.

Statements are made deterministic, so gateway replicas that see the same nodes make the same
entry (the log appends it once): the validity starts at the last multiple of half of
``limits.DIRECTORY_STATEMENT_LIFETIME_S`` and lasts the lifetime. A new one is due when the
healthy nodes change and at each half lifetime, so the one served always has at least half
of its lifetime left, and at most two of one node set are valid at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from privcloud import limits
from privcloud.trust.directory import NodeDescriptor, encode_directory
from privcloud.trust.directory_statement import DirectoryStatement, node_line


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

    def wanted(self, healthy: Sequence[NodeDescriptor], now: float) -> DirectoryStatement | None:
        """The statement to log now, or None: none while no node is healthy (the last one
        stays served), none when the last one logged names these nodes for this half
        lifetime."""
        nodes = _distinct(healthy)
        if not nodes:
            return None
        half = limits.DIRECTORY_STATEMENT_LIFETIME_S // 2
        start = int(now) // half * half
        statement = DirectoryStatement.for_nodes(
            self.service, nodes, start, start + limits.DIRECTORY_STATEMENT_LIFETIME_S
        )
        return None if statement == self.statement else statement

    def adopt(self, statement: DirectoryStatement, nodes: Sequence[NodeDescriptor]) -> None:
        """``statement`` (made of ``nodes`` by :meth:`wanted`) is logged: serve it from now."""
        named = set(statement.key_ids)
        self._logged = {n.key_id: n for n in _distinct(nodes) if n.key_id in named}
        self.statement = statement

    def document(self, healthy: Sequence[NodeDescriptor], known: Sequence[NodeDescriptor]) -> bytes:
        """The directory as served: the logged statement's nodes, each with its newest entry
        among ``known`` (fresher evidence, the same stable part; in their order) or else the
        one logged, and the statement. Before any statement is logged, the ``healthy`` nodes alone, which
        devices refuse unless told to accept an unlogged directory (INSECURE)."""
        if self.statement is None:
            return encode_directory(list(healthy))
        named = set(self.statement.nodes)
        nodes = [n for n in _distinct(known) if node_line(n) in named]
        listed = {n.key_id for n in nodes}
        nodes += [n for k, n in self._logged.items() if k not in listed]
        return encode_directory(nodes, self.statement.encode())


__all__ = ["LoggedDirectory"]

"""Node admission, client side: the one place that decides whether a node may get user data.

Procedure (each step raises; none returns a bool):

1. The key id commits to the node's HPKE public key (``key_id = SHA-256(kem || pk)``).
2. The public key is a valid point for the node's KEM.
3. The node's TEE type is allowed by the client's policy. The simulated TEE is refused unless the
   policy was built with :meth:`ClientPolicy.insecure_local_dev` (loud: it logs a warning).
4. The node's region and provider are allowed by the policy (data residency).
5. The attestation evidence is verified, binds the key, and names a logged release — *not yet*:
   that step arrives with the attestation and transparency issue. Until then every TEE type
   other than the simulated one is refused, so admission fails closed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from privcloud.crypto.hpke import check_public_key
from privcloud.crypto.symmetric import constant_time_equal
from privcloud.envelope import key_id_for
from privcloud.errors import PolicyError, VerificationError
from privcloud.trust.directory import NodeDescriptor

log = logging.getLogger("privcloud.trust")

#: The TEE label of the software-simulated TEE. It protects nothing.
SIMULATED_TEE = "simulated-insecure"
#: TEE types whose evidence this version can verify.
VERIFIABLE_TEES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ClientPolicy:
    """What a client accepts. The default refuses the simulated TEE."""

    allowed_tees: frozenset[str] = frozenset({"sev-snp", "tdx"})
    allow_insecure_simulated: bool = False
    #: Regions that may see the user's data; ``None`` allows every region.
    allowed_regions: frozenset[str] | None = None
    allowed_providers: frozenset[str] | None = None
    #: Tags recorded for the verification trail.
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def insecure_local_dev(
        cls,
        *,
        allowed_regions: frozenset[str] | None = None,
        allowed_providers: frozenset[str] | None = None,
    ) -> ClientPolicy:
        """A policy that also admits simulated-TEE nodes. INSECURE: for the local cloud only."""
        log.warning("INSECURE client policy: simulated TEE nodes will be admitted")
        return cls(
            allowed_tees=frozenset({SIMULATED_TEE, "sev-snp", "tdx"}),
            allow_insecure_simulated=True,
            allowed_regions=allowed_regions,
            allowed_providers=allowed_providers,
            notes=("insecure-local-dev",),
        )


@dataclass(frozen=True)
class AdmittedNode:
    """A node that passed admission, with the trail of what was checked."""

    descriptor: NodeDescriptor
    checks: tuple[str, ...]


def admit(node: NodeDescriptor, policy: ClientPolicy) -> AdmittedNode:
    """Run the admission procedure above; raises :class:`VerificationError`/:class:`PolicyError`."""
    checks: list[str] = []
    # 1. The key id commits to the public key.
    expected = key_id_for(node.suite.kem, node.public_key)
    if not constant_time_equal(expected, node.key_id):
        raise VerificationError("node key id does not commit to its public key")
    checks.append("key-id-commits-to-key")
    # 2. The key is usable.
    check_public_key(node.suite.kem, node.public_key)
    checks.append("hpke-key-valid")
    # 3. The TEE type is allowed.
    if node.tee not in policy.allowed_tees:
        raise PolicyError("node TEE type not allowed by policy")
    if node.tee == SIMULATED_TEE:
        if not policy.allow_insecure_simulated:
            raise PolicyError("simulated TEE refused by policy")
        log.warning("INSECURE: admitting a simulated-TEE node")
        checks.append("tee-simulated-INSECURE")
    elif node.tee not in VERIFIABLE_TEES:
        raise PolicyError("evidence of this TEE type cannot be verified by this version")
    # 4. Data residency.
    if policy.allowed_regions is not None and node.region not in policy.allowed_regions:
        raise PolicyError("node region not allowed by policy")
    if policy.allowed_providers is not None and node.provider not in policy.allowed_providers:
        raise PolicyError("node provider not allowed by policy")
    checks.append("region-and-provider-allowed")
    return AdmittedNode(node, tuple(checks))


def admit_all(
    nodes: list[NodeDescriptor], policy: ClientPolicy
) -> tuple[list[AdmittedNode], list[tuple[str, str]]]:
    """Admit every node it can; returns ``(admitted, [(node_id, refusal code), ...])``."""
    admitted: list[AdmittedNode] = []
    refused: list[tuple[str, str]] = []
    for node in nodes:
        try:
            admitted.append(admit(node, policy))
        except VerificationError as exc:
            refused.append((node.node_id, str(exc)))
    return admitted, refused

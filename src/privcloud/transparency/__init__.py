"""Verifiable transparency, sans-IO: the RFC 9162 Merkle log of release manifests.

* :mod:`.merkle` — tree hashing, inclusion and consistency proofs (RFC 9162 §2.1).
* :mod:`.note` — C2SP signed notes and verifier keys.
* :mod:`.checkpoint` — C2SP tlog checkpoints (signed tree heads).
* :mod:`.cosignature` — C2SP tlog cosignatures (Ed25519 ``cosignature/v1``) from witnesses.
* :mod:`.client_state` — the checkpoint a client trusts and how it moves forward.
* :mod:`.errors` — rollback, fork and missing-cosignature refusals.
"""

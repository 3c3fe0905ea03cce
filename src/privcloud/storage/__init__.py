"""Embedded storage (SQLite) of the services: each module owns one database file.

* :mod:`.tlog_store` — the transparency log (entries, Merkle subtree hashes, checkpoint).
* :mod:`.witness_store` — a witness's latest cosigned checkpoint per log.
* :mod:`.spent_tokens`, :mod:`.issuer_store` — anonymous tokens (spent nonces, issuer state).
"""

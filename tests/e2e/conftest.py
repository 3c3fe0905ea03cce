"""Fixtures every end-to-end test may ask for by name: the throwaway PostgreSQL server
(``postgres_server``), a fresh database on it (``postgres_url``) and a store URL of each back end
in turn (``store_url``); see tests/support/postgres.py."""

from postgres import postgres_server, postgres_url, store_url

__all__ = ["postgres_server", "postgres_url", "store_url"]

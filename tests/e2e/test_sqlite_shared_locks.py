"""An SQLite store shared by processes keeps its write-ahead log while another process opens and
closes the database.

SQLite deletes a database's ``-wal`` and ``-shm`` files when the *last* connection closes, and it
decides "last" by taking an exclusive POSIX lock on the database file: every live WAL connection
holds a shared one. POSIX locks belong to the process, and closing *any* descriptor of the file
drops all of them. The store's opener used to open and close the file itself (to create it owner
only) after its first connection was up; that silently dropped the gateway's lock, so the next
reader that closed (an operator's ``sqlite3`` shell, a backup, a test reading the count) deleted
the log under two live gateways, which went on spending tokens into deleted files: the spends were
invisible to every other gateway and lost at restart, so those tokens could be spent again. Found
by ``tests/e2e/test_cluster_launcher.py``, whose count of spent rows came up short in full runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from privcloud.storage.spent_tokens import SqliteSpentTokenStore

_COUNT = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT COUNT(*) FROM spent_tokens WHERE holder = 0").fetchone()[0])
db.close()
"""


def _count_in_another_process(path: Path) -> int:
    """Spent rows as a fresh process sees them (it opens, reads and closes the database)."""
    out = subprocess.run(
        [sys.executable, "-c", _COUNT, str(path)], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


async def test_a_reader_closing_in_another_process_cannot_delete_a_live_stores_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spent-tokens.sqlite3"
    store = SqliteSpentTokenStore(path)
    try:
        key_id = bytes(32)
        await store.spend(os.urandom(32), key_id=key_id, expires=2**40)
        assert _count_in_another_process(path) == 1  # the reader closed: the log must stay
        wal = Path(f"{path}-wal")
        assert wal.exists()
        await store.spend(os.urandom(32), key_id=key_id, expires=2**40)
        assert _count_in_another_process(path) == 2  # the second spend is seen by others
        assert wal.exists()
    finally:
        await store.close()


def test_the_opener_creates_a_missing_database_owner_only(tmp_path: Path) -> None:
    from privcloud.storage.sqlite import connect

    path = tmp_path / "new.sqlite3"
    connect(path).close()
    assert path.stat().st_mode & 0o777 == 0o600

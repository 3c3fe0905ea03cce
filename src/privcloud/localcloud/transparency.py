"""One transparency log and one witness that cosigns it, on loopback: the local cloud's part
(docs/transparency.md §6). Used by :class:`~privcloud.localcloud.cloud.LocalCloud` and tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aiohttp import web

from privcloud.attest import TrustRoots
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.fileio import file_error
from privcloud.sdk.trust_store import pinned_state
from privcloud.services.gateway_admission import NodeCheck, NodeCheckConfig
from privcloud.services.site import start_site
from privcloud.services.tlog import (
    DEFAULT_ORIGIN,
    LOG_KEY_FILE,
    TransparencyLog,
    WitnessEndpoint,
    open_log,
)
from privcloud.services.witness import Witness
from privcloud.storage.database import open_database
from privcloud.storage.tlog_store import load_or_create_key
from privcloud.storage.witness_key import load_or_create_witness_key
from privcloud.transparency.cosignature import WitnessKey
from privcloud.transparency.note import Ed25519NoteSigner
from privcloud.trust.admission import ClientPolicy

#: Name of the local cloud's witness key.
LOCAL_WITNESS_NAME: Final = "privcloud.local/witness"
WITNESS_KEY_FILE: Final = "witness.key"
WITNESS_DB_FILE: Final = "witness.db"


@dataclass
class LocalTransparency:
    """One log and one witness that cosigns it, serving on ``host`` (the local cloud's part).

    Files live in ``data_dir/log`` and ``data_dir/witness``; with no ``data_dir`` a temporary
    directory is used and removed by :meth:`stop`. What other services need: ``log_url``,
    ``witness_url``, ``log_vkey``, ``witness_vkeys``, ``operator_key`` (to publish entries with
    :func:`privcloud.logclient.publish_entry`).
    """

    log: TransparencyLog
    witness: Witness
    log_url: str
    witness_url: str
    _runners: list[web.AppRunner]
    _tempdir: str | None

    @property
    def log_vkey(self) -> str:
        return self.log.vkey

    @property
    def witness_vkeys(self) -> list[str]:
        return [self.witness.vkey]

    def insecure_node_check(self, simulated_tee_key: bytes) -> NodeCheck:
        """A gateway's check of its nodes (:mod:`privcloud.services.gateway_admission`) under
        the INSECURE development policy: the simulated TEE's dev root ``simulated_tee_key``
        trusted, this log followed with its witness's cosignatures, as the local cloud's
        devices pin them."""
        return NodeCheck(
            NodeCheckConfig(
                ClientPolicy.insecure_local_dev(),
                self.log_url,
                pinned_state(self.log_vkey, self.witness_vkeys),
                TrustRoots.pinned(insecure_simulated_keys=(simulated_tee_key,)),
            )
        )

    @property
    def operator_key(self) -> Ed25519PrivateKey:
        assert self.log.operator_key is not None  # open_log made it: no operator keys given
        return self.log.operator_key

    @classmethod
    async def start(
        cls,
        host: str,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        checkpoint_interval_s: float = 0.05,
        database: str | None = None,
        witness_key_type: str | None = None,
    ) -> LocalTransparency:
        """Start the witness, then the log configured with it; return once the log serves a
        checkpoint the witness cosigned. ``witness_key_type``: ``"ed25519"`` or ``"ml-dsa-44"``
        for a new witness key (None: Ed25519, or the type of the key already in ``data_dir``)."""
        try:
            tempdir = tempfile.mkdtemp(prefix="privcloud-tlog-") if data_dir is None else None
        except OSError as exc:
            raise file_error("create", "a temporary directory for the log", exc) from exc
        base = Path(tempdir if tempdir is not None else data_dir)  # type: ignore[arg-type]
        runners: list[web.AppRunner] = []
        try:
            for sub in ("log", "witness"):
                try:
                    (base / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
                except OSError as exc:
                    raise file_error("create", f"the directory {base / sub}", exc) from exc
            log_key, _ = load_or_create_key(base / "log" / LOG_KEY_FILE, role="the log key")
            witness_key, _ = load_or_create_witness_key(
                base / "witness" / WITNESS_KEY_FILE, witness_key_type
            )
            witness = Witness(
                WitnessKey(LOCAL_WITNESS_NAME, witness_key),
                [Ed25519NoteSigner(DEFAULT_ORIGIN, log_key).verifier()],
                open_database(database, base / "witness" / WITNESS_DB_FILE).witness(),
            )
            runner, port = await start_site(witness.app(), host, 0)
            runners.append(runner)
            witness_url = f"http://{host}:{port}"
            endpoint = WitnessEndpoint(witness_url, witness.key.verifier())
            tlog = open_log(
                base / "log",
                witnesses=[endpoint],
                checkpoint_interval_s=checkpoint_interval_s,
                database=database,
            )
            runner, port = await start_site(tlog.app(), host, 0)
            runners.append(runner)
            await tlog.publish()
        except BaseException:
            for r in reversed(runners):
                await r.cleanup()
            if tempdir is not None:
                shutil.rmtree(tempdir, ignore_errors=True)
            raise
        return cls(tlog, witness, f"http://{host}:{port}", witness_url, runners, tempdir)

    async def stop(self) -> None:
        """Stop the log, then the witness; remove a temporary data directory."""
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

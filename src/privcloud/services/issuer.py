"""The token issuer's HTTP service: Privacy Pass publicly verifiable tokens (RFC 9578, type
0x0002).

It authenticates devices, charges their quota and signs blinded token requests in batches; it
never sees the tokens it helps make, so it cannot link an issuance to a later redemption at the
gateway (DESIGN.md §1, §4). What it stores is listed in :mod:`privcloud.storage.issuer_store`;
the wire formats and the threat model are in docs/tokens.md.

Routes::

    GET  /.well-known/private-token-issuer-directory   the active keys (RFC 9578 §4)
    POST /v1/enrol/challenge                           a fresh attestation challenge (JSON)
    POST /v1/enrol                                     register a device key: Android hardware
                                                       key attestation, or (INSECURE, local
                                                       development cloud only) a one-time code
    POST /v1/token-batch                               signed issuance: a batch of N requests
                                                       (application/privcloud-token-batch-request)
                                                       or one (application/private-token-request)
    GET  /healthz, /metrics

This module holds :class:`Issuer`, the aiohttp shell (routes, media types, metrics, the
maintenance timer, the attestation status list file), which runs the procedures of
:class:`~privcloud.services.issuer_core.IssuerCore` (blocking: SQLite and RSA) on worker
threads; the key schedule is :mod:`privcloud.services.issuer_keys`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from aiohttp import web

from privcloud import limits
from privcloud.clock import Clock
from privcloud.crypto import Random, system_random
from privcloud.deviceattest import parse_status_list
from privcloud.errors import ConfigError, DecodeError, PrivcloudError
from privcloud.privacypass import b64url_encode
from privcloud.privacypass.directory import MEDIA_TYPE as DIRECTORY_MEDIA_TYPE
from privcloud.privacypass.directory import WELL_KNOWN_PATH
from privcloud.privacypass.issuance import (
    BATCH_PATH,
    ENROL_CHALLENGE_PATH,
    ENROL_PATH,
    MEDIA_BATCH_REQUEST,
    MEDIA_BATCH_RESPONSE,
)
from privcloud.services.http import Metrics, read_body, require_media_type
from privcloud.services.issuer_core import IssuerConfig, IssuerCore
from privcloud.services.keylog import KeyLog
from privcloud.services.site import new_app
from privcloud.storage.issuer_store import IssuerStore

log = logging.getLogger("privcloud.issuer")

#: RFC 9578 §8.2 media types of a single (unbatched) issuance.
MEDIA_TOKEN_REQUEST: Final = "application/private-token-request"  # noqa: S105
MEDIA_TOKEN_RESPONSE: Final = "application/private-token-response"  # noqa: S105
#: Environment variable of a fault-injection hook for tests (INSECURE: never set it in
#: production): seconds the issuer stalls after a request's charge is committed and before it
#: signs, so that a test can kill it, or time a client out, at exactly that point.
INSECURE_TEST_STALL_ENV: Final = "PRIVCLOUD_INSECURE_TEST_ISSUER_STALL_AFTER_CHARGE_S"


def _insecure_stall_hook() -> Callable[[int], None] | None:
    """The fault-injection hook named by :data:`INSECURE_TEST_STALL_ENV`, or None (the
    default). Loud: a warning when it is installed and on every use."""
    value = os.environ.get(INSECURE_TEST_STALL_ENV)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError as exc:
        raise ConfigError(f"{INSECURE_TEST_STALL_ENV} must be a number of seconds") from exc
    log.warning("INSECURE: issuer test hook %s=%s is set", INSECURE_TEST_STALL_ENV, value)

    def stall(charged: int) -> None:
        log.warning("INSECURE test hook: charged %d tokens, stalling %s s", charged, seconds)
        time.sleep(seconds)

    return stall


class Issuer:
    """The issuer service: an aiohttp shell over :class:`IssuerCore`."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        config: IssuerConfig | None = None,
        *,
        store: IssuerStore | None = None,
        clock: Clock | None = None,
        rand: Random = system_random,
    ) -> None:
        if store is None:
            if data_dir is None:
                raise ConfigError("the issuer needs a data directory or a store")
            store = IssuerStore(Path(data_dir) / "issuer.sqlite3")
        self.core = IssuerCore(store, config, clock=clock, rand=rand)
        self.core.after_charge = _insecure_stall_hook()
        self.metrics = Metrics("issuer")
        self._task: asyncio.Task[None] | None = None
        #: Where the issuer logs its keys' statements, and the issuer name they carry (set
        #: both to publish; a key made by rotation is logged a whole overlap before use).
        self.key_log: KeyLog | None = None
        self.issuer_name: str | None = None
        #: The operator's attestation status list file, read again on the maintenance timer
        #: when it changes (:meth:`reload_attestation_status`).
        self.attestation_status_path: Path | None = None
        self._status_stamp: tuple[int, int] | None = None

    def reload_attestation_status(self) -> bool:
        """Read the status list file again if it changed; returns whether it was replaced.
        A list that does not read or parse is refused (logged) and the previous one kept."""
        path = self.attestation_status_path
        if path is None:
            return False
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._status_stamp:
                return False
            if stat.st_size > limits.MAX_ATTESTATION_STATUS_LIST_BYTES:
                raise DecodeError("attestation status list too large")
            status = parse_status_list(path.read_bytes())
        except OSError:
            log.warning("issuer: attestation status list unreadable; the previous one is kept")
            return False
        except PrivcloudError as exc:
            log.warning("issuer: attestation status list refused (%s); kept the previous", exc.code)
            return False
        self.core.attestation_status = status
        self._status_stamp = stamp
        log.info("issuer: attestation status list loaded (%d entries)", len(status.entries))
        return True

    async def publish_key_statements(self) -> None:
        """Log the statement of every live key (idempotent); a no-op without ``key_log``."""
        if self.key_log is not None and self.issuer_name is not None:
            await self.key_log.publish(self.core.key_statements(self.issuer_name))

    @property
    def config(self) -> IssuerConfig:
        return self.core.config

    def app(self) -> web.Application:
        # Devices come to the issuer directly: one address may hold only so many of its
        # connections, so that it cannot lock the others out (as at the relay).
        app = new_app(
            "issuer", self.metrics, per_peer_connections=limits.MAX_ISSUER_CONNECTIONS_PER_PEER
        )
        app.router.add_get(WELL_KNOWN_PATH, self.handle_directory, name="directory")
        app.router.add_post(ENROL_CHALLENGE_PATH, self.handle_challenge, name="enrol-challenge")
        app.router.add_post(ENROL_PATH, self.handle_enrol, name="enrol")
        app.router.add_post(BATCH_PATH, self.handle_issue, name="issue")
        app.router.add_get("/healthz", self.handle_health, name="health")
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _: web.Application) -> None:
        self._task = asyncio.create_task(self._maintain())

    async def _stop(self, _: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _maintain(self) -> None:
        """Log the keys' statements (with ``key_log``), then rotate keys and drop expired
        nonces and codes, on a timer; statements of new keys are logged as they appear."""
        try:
            await self.publish_key_statements()
        except PrivcloudError as exc:
            log.warning("issuer: logging key statements failed: %s", exc.code)
        while True:
            await asyncio.sleep(self.config.rotation_check_s)
            try:
                await asyncio.to_thread(self.core.rotate)
                await asyncio.to_thread(self.core.purge)
                await asyncio.to_thread(self.reload_attestation_status)
                await self.publish_key_statements()
            except PrivcloudError as exc:
                log.warning("issuer: maintenance failed: %s", exc.code)

    async def handle_health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True, "service": "issuer"})

    async def handle_directory(self, _: web.Request) -> web.Response:
        overlap = limits.ISSUER_KEY_LIFETIME_S - limits.ISSUER_KEY_STEP_S
        max_age = int(min(overlap / 4, 3600))
        return web.Response(
            body=self.core.directory(),
            content_type=DIRECTORY_MEDIA_TYPE,
            headers={"Cache-Control": f"max-age={max_age}"},
        )

    async def handle_challenge(self, _: web.Request) -> web.Response:
        challenge, expires = await asyncio.to_thread(self.core.new_challenge)
        return web.json_response(
            {"challenge": b64url_encode(challenge), "expires": expires},
            headers={"Cache-Control": "no-store"},
        )

    async def handle_enrol(self, request: web.Request) -> web.Response:
        require_media_type(request, "application/json")
        body = await read_body(request, limit=limits.MAX_ATTESTED_ENROLMENT_BODY_BYTES)
        device_id, attested = await asyncio.to_thread(self.core.enrol, body)
        self.metrics.counters["enrolments_attested" if attested else "enrolments_insecure"] += 1
        return web.json_response(
            {"device-id": b64url_encode(device_id), "attested": attested}, status=201
        )

    def _count_issued(self, work: asyncio.Future[tuple[bytes, int]]) -> None:
        if work.cancelled() or work.exception() is not None:
            return
        count = work.result()[1]
        self.metrics.counters["tokens_issued"] += count
        if not count:
            self.metrics.counters["batches_answered_again"] += 1

    async def handle_issue(self, request: web.Request) -> web.Response:
        media = require_media_type(request, MEDIA_BATCH_REQUEST, MEDIA_TOKEN_REQUEST)
        body = await read_body(request, limit=limits.MAX_TOKEN_BATCH_REQUEST_BYTES)
        batch = media == MEDIA_BATCH_REQUEST
        headers = {name.lower(): value for name, value in request.headers.items()}
        work = asyncio.ensure_future(
            asyncio.to_thread(
                self.core.issue, request.method, request.path, headers, body, batch=batch
            )
        )
        # Counted when the work ends, even if the device has gone (its handler is cancelled):
        # the tokens were charged and signed, and a retry's answer adds 0.
        work.add_done_callback(self._count_issued)
        answer, _ = await asyncio.shield(work)
        return web.Response(
            body=answer, content_type=MEDIA_BATCH_RESPONSE if batch else MEDIA_TOKEN_RESPONSE
        )


__all__ = [
    "INSECURE_TEST_STALL_ENV",
    "Issuer",
]

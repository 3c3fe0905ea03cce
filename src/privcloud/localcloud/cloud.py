"""A whole private cloud on loopback, in one event loop: relay, gateway, several nodes, and a
transparency log with one witness.

At start the cloud computes the node release manifest once (:mod:`privcloud.release`), publishes
it to the log with the operator key, and starts the nodes in one INSECURE simulated TEE platform
(one dev root, whose public key a development client pins: :meth:`LocalCloud.client_trust`); each
node fetches the inclusion proof of the release and a cosigned checkpoint before it serves.

Used by ``privcloud up``/``demo`` and by the end-to-end tests. Every service listens on
127.0.0.1 only and talks to the next hop over real HTTP sockets.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from privcloud import limits
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.errors import ConfigError
from privcloud.fileio import file_error, os_cause
from privcloud.live.process import PipelineHost, release_builder
from privcloud.localcloud.transparency import LocalTransparency
from privcloud.logclient import publish_entry
from privcloud.netio import is_loopback
from privcloud.privacypass.issuance import issuer_name_for
from privcloud.sdk.client_types import ClientTrust
from privcloud.sdk.trust_store import TrustStore
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.services.gateway import Gateway
from privcloud.services.gateway_key import (
    DEFAULT_SERVICE,
    GatewayKeyRecord,
    KeyRing,
    add_key,
    load_or_create,
    remove_key,
)
from privcloud.services.issuer import Issuer
from privcloud.services.issuer_core import IssuerConfig
from privcloud.services.keylog import KeyLog
from privcloud.services.node import Node, node_release_manifest
from privcloud.services.observe import Observer
from privcloud.services.redemption import SpendPolicy, TokenAuthorizer
from privcloud.services.relay import Relay
from privcloud.services.site import start_site
from privcloud.storage.database import open_database
from privcloud.trust.release_manifest import ReleaseManifest
from privcloud.workloads import WorkloadRegistry, default_registry
from privcloud.workloads.ai import ai_registry, release_model_files
from privcloud.workloads.models import Models

log = logging.getLogger("privcloud.cloud")

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    region: str = "local"
    provider: str = "local"


@dataclass
class LocalCloud:
    """Starts and stops the services; ``relay_url`` is what a client needs."""

    nodes: list[NodeSpec] = field(
        default_factory=lambda: [
            NodeSpec("node-1", "eu-west", "local"),
            NodeSpec("node-2", "eu-west", "local"),
            NodeSpec("node-3", "us-east", "local"),
        ]
    )
    host: str = LOOPBACK
    relay_port: int = 0
    gateway_port: int = 0
    node_objects: list[Node] = field(default_factory=list)
    gateway: Gateway | None = None
    relay: Relay | None = None
    relay_url: str = ""
    gateway_url: str = ""
    node_urls: list[str] = field(default_factory=list)
    #: Files of the log and witness; ``None``: a temporary directory, removed on stop.
    data_dir: str | None = None
    #: Database URL of the log, witness, issuer and spent-token stores (``[storage] url``);
    #: ``None``: SQLite files under ``data_dir``.
    database: str | None = None
    #: Type of a new witness key (``[cloud] witness_key_type``): "ed25519" or "ml-dsa-44";
    #: None: Ed25519, or the type of the key already in ``data_dir``.
    witness_key_type: str | None = None
    transparency: LocalTransparency | None = None
    #: The transparency log and its witness (docs/transparency.md): URLs, keys to pin, and the
    #: operator key that publishes entries (``privcloud.logclient.publish_entry``).
    log_url: str = ""
    witness_url: str = ""
    log_vkey: str = ""
    witness_vkeys: list[str] = field(default_factory=list)
    operator_key: Ed25519PrivateKey | None = None
    #: The nodes' release manifest and its index in the log.
    release: ReleaseManifest | None = None
    release_index: int | None = None
    #: Dev root of the INSECURE simulated TEE the nodes run in (made at start).
    insecure_tee_key: EcPrivateKey | None = None
    #: Anonymous tokens (docs/tokens.md): the gateway asks for one per request unless False.
    #: The issuer keeps its state and the gateway its spent tokens under ``data_dir/tokens``
    #: (a temporary directory, removed on stop, when ``data_dir`` is None).
    require_tokens: bool = True
    #: When the gateway charges a token (docs/adr/0029): at its check, or once a node took the
    #: request.
    spend: SpendPolicy = "at-check"
    issuer: Issuer | None = None
    issuer_url: str = ""
    #: The AI models the nodes serve (docs/features.md); None: the echo workloads only.
    models: Models | None = None
    #: Models to load at start, so the first request does not wait for them.
    warm_models: tuple[str, ...] = ()
    #: Development tap recording what each service received (the console's inspector).
    observer: Observer | None = None
    #: Publishes the gateway's and the issuer's key statements (key consistency, ADR 0009).
    key_log: KeyLog | None = None
    _token_tmp: str | None = None
    _runners: list[web.AppRunner] = field(default_factory=list)
    _pipelines: PipelineHost | None = None

    async def start(self) -> None:
        if not is_loopback(self.host):
            raise ConfigError("the local cloud listens on loopback only")
        if not self.nodes:
            raise ConfigError("the local cloud needs at least one node")
        try:
            self.transparency = t = await LocalTransparency.start(
                self.host,
                self.data_dir,
                database=self.database,
                witness_key_type=self.witness_key_type,
            )
            self.log_url, self.witness_url = t.log_url, t.witness_url
            self.log_vkey, self.witness_vkeys = t.log_vkey, t.witness_vkeys
            self.operator_key = t.operator_key
            self.release = release = await self._release()
            self.release_index = await publish_entry(
                self.log_url, self.operator_key, release.encode()
            )
            self.insecure_tee_key = EcPrivateKey.generate(Curve.P384)
            for spec in self.nodes:
                node = Node(
                    spec.node_id,
                    region=spec.region,
                    provider=spec.provider,
                    manifest=release,
                    registry=self._registry(),
                    insecure_tee_key=self.insecure_tee_key,
                    log_url=self.log_url,
                )
                if self.models is not None:  # live call translation (docs/adr/0023)
                    node.live.pipelines = self._live_host(self.models)
                runner, port = await start_site(self._tap(node.app(), spec.node_id), self.host, 0)
                self._runners.append(runner)
                self.node_objects.append(node)
                self.node_urls.append(f"http://{self.host}:{port}")
            key_file = self._gateway_key_file()
            if key_file is not None:
                load_or_create(key_file, now=time.time())
            self.gateway = Gateway(
                self.node_urls,
                key_file=key_file,
                authorizer=await self._start_tokens(),
                node_check=t.insecure_node_check(self.insecure_tee_public_key),
            )
            runner, port = await start_site(
                self._tap(self.gateway.app(), "gateway"), self.host, self.gateway_port
            )
            self._runners.append(runner)
            self.gateway_url = f"http://{self.host}:{port}"
            self.relay = Relay(
                self.gateway_url, log_url=self.log_url, issuer_url=self.issuer_url or None
            )
            runner, port = await start_site(
                self._tap(self.relay.app(), "relay"), self.host, self.relay_port
            )
            self._runners.append(runner)
            self.relay_url = f"http://{self.host}:{port}"
            await self._log_keys()
        except OSError as exc:
            # Listening errors are start_site's ConfigError; an OSError here is a file's.
            await self.stop()
            raise self._start_error(exc) from exc
        except BaseException:
            await self.stop()  # nothing half-started stays behind
            raise
        log.info("local cloud up: %d nodes", len(self.node_objects))

    def _start_error(self, exc: OSError) -> ConfigError:
        """What to tell the operator about an OSError at start: the cause and which file, by
        its path inside ``data_dir`` (or as given, outside it)."""
        if exc.errno == errno.EADDRINUSE:
            return ConfigError(
                "a port of the local cloud is in use: stop the other process (privcloud down) "
                "or choose another relay port (cloud.relay_port)"
            )
        where = ""
        if isinstance(exc.filename, str | os.PathLike):
            path = Path(exc.filename)
            if self.data_dir is not None and path.is_relative_to(self.data_dir):
                path = path.relative_to(self.data_dir)
            where = f" ({path})"
        return ConfigError(f"the local cloud cannot start: {os_cause(exc)}{where}")

    def _gateway_key_file(self) -> Path | None:
        """The gateway's key ring file under ``data_dir`` (kept across restarts, like the log
        that holds its statements); None: keys in memory only."""
        if self.data_dir is None:
            return None
        directory = Path(self.data_dir) / "gateway"
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise file_error("create", f"the directory {directory}", exc) from exc
        return directory / "ohttp-keys.json"

    async def _log_keys(self) -> None:
        """Log the statements of the gateway's keys and the issuer's keys, and the gateway's
        directory statement, and wait until a checkpoint cosigned by every witness covers them:
        devices use no key and no directory before that."""
        assert self.gateway is not None and self.operator_key is not None
        self.key_log = KeyLog(
            self.log_url, self.operator_key, min_cosignatures=len(self.witness_vkeys)
        )
        statements = [r.statement for r in self.gateway.ring.offered(time.time())]
        if self.issuer is not None:
            self.issuer.key_log = self.key_log
            self.issuer.issuer_name = issuer_name_for(self.issuer_url)
            statements += self.issuer.core.key_statements(self.issuer.issuer_name)
        await self.key_log.publish(statements)
        # Directory consistency: the gateway logs the statement of its nodes (docs/adr/0033).
        self.gateway.directory_log = self.key_log
        await self.gateway.log_directory()

    async def add_gateway_key(
        self, *, lifetime_s: int | None = None, begun_s: int = 0
    ) -> GatewayKeyRecord:
        """Rotate: give the gateway a new OHTTP key valid from ``begun_s`` ago (offered first
        from now on; the old one stays accepted), log its statement and wait for a cosigned
        checkpoint covering it, then log the directory statement (as the gateway's health loop
        would within seconds): devices choose among the keys it names, which take in a key a
        skew after it begins (``begun_s`` of a skew or more: at once)."""
        gateway, key_log = self.gateway, self.key_log
        if gateway is None or key_log is None:
            raise ConfigError("the local cloud is not started")
        now = time.time()
        lifetime = lifetime_s if lifetime_s is not None else limits.OHTTP_KEY_LIFETIME_S
        if gateway.key_file is not None:
            record = add_key(
                gateway.key_file, now=now, lifetime_s=lifetime, not_before=int(now) - begun_s
            )
            gateway.reload_keys()
        else:
            gateway.ring, record = gateway.ring.with_new_key(
                DEFAULT_SERVICE, int(now) - begun_s, lifetime, now
            )
        await key_log.publish([record.statement])
        await gateway.log_directory()
        return record

    async def retire_gateway_key(self, key_id: int) -> None:
        """Take a key out of the gateway (as its expiry would) and log the directory statement
        without it: requests still encapsulated to it get RFC 9458's key-mismatch answer, and
        clients move to the current key."""
        gateway = self.gateway
        if gateway is None:
            raise ConfigError("the local cloud is not started")
        if gateway.key_file is not None:
            remove_key(gateway.key_file, key_id)
            gateway.reload_keys()
        else:
            kept = tuple(r for r in gateway.ring.records if r.key.key_id != key_id)
            gateway.ring = KeyRing(kept)
        await gateway.log_directory()

    def _tap(self, app: web.Application, party: str) -> web.Application:
        if self.observer is not None:
            self.observer.install(app, party)
        return app

    def _registry(self) -> WorkloadRegistry:
        if self.models is None:
            return default_registry()
        return ai_registry(self.models)

    async def _release(self) -> ReleaseManifest:
        """The nodes' release manifest; with models, joins and hashes the model files and loads
        ``warm_models`` first (in a thread: this takes seconds)."""
        if self.models is None:
            return node_release_manifest()
        models = self.models
        files = await asyncio.to_thread(release_model_files, models)
        if self.warm_models:
            await asyncio.to_thread(models.warm, self.warm_models)
        return node_release_manifest(self._registry(), models=files)

    async def _start_tokens(self) -> TokenAuthorizer | None:
        """Start the issuer; return the gateway's token authorizer (None without tokens)."""
        if not self.require_tokens:
            return None
        if self.data_dir is not None:
            token_dir = Path(self.data_dir) / "tokens"
        else:
            try:
                self._token_tmp = tempfile.mkdtemp(prefix="privcloud-tokens-")
            except OSError as exc:
                raise file_error("create", "a temporary directory for tokens", exc) from exc
            token_dir = Path(self._token_tmp)
        issuer_store = open_database(self.database, token_dir / "issuer.sqlite3").issuer()
        # INSECURE, labelled: a development cloud has no real phone to attest (docs/tokens.md).
        config = IssuerConfig(quota=100_000, insecure_operator_codes=True)
        self.issuer = Issuer(token_dir, config, store=issuer_store)
        runner, port = await start_site(self._tap(self.issuer.app(), "issuer"), self.host, 0)
        self._runners.append(runner)
        self.issuer_url = f"http://{self.host}:{port}"
        store = open_database(self.database, token_dir / "spent-tokens.sqlite3").spent_tokens()
        return TokenAuthorizer(store, issuer_url=self.issuer_url, spend=self.spend)

    @property
    def insecure_tee_public_key(self) -> bytes:
        """The simulated TEE's dev root public key: INSECURE, pinned by development clients."""
        if self.insecure_tee_key is None:
            raise ConfigError("the local cloud is not started")
        return self.insecure_tee_key.public_key().to_bytes()

    def client_trust(self, *, store: TrustStore | None = None) -> ClientTrust:
        """What a development client pins to admit this cloud's nodes: the log's and witness's
        vkeys and the INSECURE simulated TEE's dev root (use with
        :meth:`~privcloud.trust.admission.ClientPolicy.insecure_local_dev`)."""
        # The device reads the log through the relay, so the log never sees its address.
        return ClientTrust.pinned(
            f"{self.relay_url}/log",
            self.log_vkey,
            self.witness_vkeys,
            insecure_simulated_keys=(self.insecure_tee_public_key,),
            store=store,
        )

    def new_wallet(self, **config: Any) -> Wallet:
        """A device wallet for this cloud, with a fresh one-time enrolment code (the local
        cloud enrols devices automatically; a real operator hands codes out). ``config`` are
        :class:`~privcloud.sdk.wallet_state.WalletConfig` fields; by default the wallet also
        checks the issuer's keys over the relay (key consistency)."""
        if self.issuer is None:
            raise ConfigError("this local cloud runs without tokens")
        code = self.issuer.core.new_enrolment_code()
        config.setdefault("consistency_url", f"{self.relay_url}/issuer")
        return Wallet(self.issuer_url, enrolment_code=code, config=WalletConfig(**config))

    def _live_host(self, models: Models) -> PipelineHost:
        """The call pipelines' process, one for all the nodes (started at the first call)."""
        if self._pipelines is None:
            self._pipelines = PipelineHost(release_builder(models.config))
        return self._pipelines

    async def stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._pipelines is not None:
            await asyncio.to_thread(self._pipelines.close)
            self._pipelines = None
        if self.issuer is not None:
            self.issuer.core.store.close()
        if self._token_tmp is not None:
            shutil.rmtree(self._token_tmp, ignore_errors=True)
            self._token_tmp = None
        if self.transparency is not None:
            await self.transparency.stop()
            self.transparency = None

    async def __aenter__(self) -> LocalCloud:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

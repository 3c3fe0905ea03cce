"""Release manifests: what a node runs (sans-IO; DESIGN.md §3, docs/trust.md).

**Release manifest** (DESIGN.md §3: "a node's software *is* its manifest"), version 1. One
transparency-log entry is the manifest's *canonical JSON* (:mod:`privcloud.trust.canonical`)::

    {"code": {"algorithm": "sha256-files-v1", "digest": <64 hex>, "files": <n>},
     "config": {...node configuration...},
     "dependencies": ["aiohttp==3.14.5", ...],        sorted, normalised names
     "measurements": {"sev-snp": null | <96 hex>, "simulated": <96 hex>,
                      "tdx": null | <480 hex: MRTD || RTMR0..3> | <96 hex: MRTD alone, refused>},
     "models": [{"path": "...", "sha256": <64 hex>, "size": <n>}, ...],   sorted by path
     "package": {"name": "privcloud", "version": "0.1.0"},
     "schema": "privcloud.release/v1"}

The *body* is the manifest without ``measurements``. The expected measurement of the INSECURE
simulated TEE is ``SHA-384(canonical body)``: a node running this release in the simulated TEE
reports exactly that, and :meth:`ReleaseManifest.decode` refuses a manifest whose ``simulated``
value is anything else. Hardware measurements (SEV-SNP ``MEASUREMENT``; TDX ``MRTD || RTMR0 ||
RTMR1 || RTMR2 || RTMR3``, 240 bytes, since MRTD covers only the TD firmware and the kernel,
initrd and application are measured into the RTMRs) come from building the VM image and cannot
be computed from the body; ``null`` means "no image build recorded one", and a client then
refuses that TEE type for this release (fail closed). A TDX value of 48 bytes (MRTD alone)
decodes, but admits no TDX node.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from privcloud import limits
from privcloud.attest import TEE_SEV_SNP, TEE_SIMULATED, TEE_TDX
from privcloud.crypto.hpke import KemId, Suite
from privcloud.crypto.symmetric import AeadId, KdfId
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, UsageError
from privcloud.transparency.merkle import leaf_hash
from privcloud.trust.canonical import MAX_INT, canonical_json, json_object, loads_strict
from privcloud.wire import jsonio

#: ``schema`` of a version-1 release manifest.
MANIFEST_SCHEMA: Final = "privcloud.release/v1"
#: ``code.algorithm`` of version 1: SHA-256 over ``"<sha256 hex>  <path>\n"`` lines (the
#: ``sha256sum`` format) of every file, sorted by path; see :mod:`privcloud.release.build`.
CODE_ALGORITHM: Final = "sha256-files-v1"
#: Size of a launch measurement (SHA-384; SEV-SNP MEASUREMENT and TDX MRTD are 48 bytes too).
MEASUREMENT_SIZE: Final = 48
#: TDX runtime measurement registers a release must record: RTMR0 (TD firmware configuration),
#: RTMR1 (kernel, initrd), RTMR2 (kernel command line, OS), RTMR3 (application).
TDX_RTMRS: Final = ("rtmr0", "rtmr1", "rtmr2", "rtmr3")
#: Size of a TDX measurement in a manifest: MRTD || RTMR0 || RTMR1 || RTMR2 || RTMR3.
TDX_MEASUREMENT_SIZE: Final = MEASUREMENT_SIZE * (1 + len(TDX_RTMRS))
#: TEE types every version-1 manifest names in ``measurements``.
KNOWN_TEE_TYPES: Final = (TEE_SEV_SNP, TEE_SIMULATED, TEE_TDX)

#: A TEE type (and other short labels) in a manifest or bundle.
TEE_LABEL = re.compile(r"[a-z0-9][a-z0-9.-]{0,31}\Z")
_DEP = re.compile(r"([a-z0-9](?:[a-z0-9.-]{0,126}[a-z0-9])?)==([A-Za-z0-9.+!_-]{1,64})\Z")
_TEXT = re.compile(r"[\x20-\x7e]{1,256}\Z")


@dataclass(frozen=True)
class ModelFile:
    """One model file of a release: its path (as configured on the node), digest and size."""

    path: str
    sha256: bytes
    size: int

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not _TEXT.match(self.path):
            raise UsageError("model path must be printable ASCII, 1 to 256 characters")
        if not isinstance(self.sha256, bytes) or len(self.sha256) != 32:
            raise UsageError("model digest must be 32 bytes")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise UsageError("model size must be an int")
        if not 0 <= self.size <= MAX_INT:
            raise UsageError("model size out of range")

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256.hex(), "size": self.size}


@dataclass(frozen=True)
class ReleaseManifest:
    """What one release of the node software is. Valid by construction, immutable.

    ``hardware_measurements`` holds the launch measurement per hardware TEE type, ``None`` where
    no VM image build recorded one; the simulated TEE's measurement is derived from the body
    (:attr:`simulated_measurement`). Raises :class:`UsageError` for an invalid value.
    """

    package_name: str
    package_version: str
    code_digest: bytes
    code_files: int
    dependencies: tuple[str, ...]
    models: tuple[ModelFile, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    hardware_measurements: Mapping[str, bytes | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for text in (self.package_name, self.package_version):
            if not isinstance(text, str) or not _TEXT.match(text):
                raise UsageError("package name and version must be printable ASCII")
        if not isinstance(self.code_digest, bytes) or len(self.code_digest) != 32:
            raise UsageError("code digest must be 32 bytes")
        if isinstance(self.code_files, bool) or not isinstance(self.code_files, int):
            raise UsageError("code file count must be an int")
        if not 0 <= self.code_files <= MAX_INT:
            raise UsageError("code file count out of range")
        deps = tuple(self.dependencies)
        if len(deps) > limits.MAX_RELEASE_DEPENDENCIES:
            raise UsageError("too many dependencies")
        if not all(isinstance(d, str) and _DEP.match(d) for d in deps):
            raise UsageError("a dependency must be 'normalised-name==version'")
        if list(deps) != sorted(set(deps)):
            raise UsageError("dependencies must be sorted and distinct")
        if len({d.split("==", 1)[0] for d in deps}) != len(deps):
            raise UsageError("a dependency is listed with two versions")
        object.__setattr__(self, "dependencies", deps)
        models = tuple(self.models)
        if len(models) > limits.MAX_RELEASE_MODELS:
            raise UsageError("too many model files")
        if not all(isinstance(m, ModelFile) for m in models):
            raise UsageError("models must be ModelFile values")
        paths = [m.path for m in models]
        if paths != sorted(set(paths)):
            raise UsageError("model files must be sorted by path and distinct")
        object.__setattr__(self, "models", models)
        if not isinstance(self.config, Mapping):
            raise UsageError("config must be a JSON object")
        config = dict(self.config)
        config_json = canonical_json(config, max_depth=limits.MAX_RELEASE_CONFIG_DEPTH)
        if len(config_json) > limits.MAX_RELEASE_CONFIG_BYTES:
            raise UsageError("config too large")
        # A deep copy through JSON: nobody can change the manifest through a shared dict.
        frozen = jsonio.loads(config_json, max_bytes=limits.MAX_RELEASE_CONFIG_BYTES)
        object.__setattr__(self, "config", MappingProxyType(frozen))
        hardware: dict[str, bytes | None] = {t: None for t in KNOWN_TEE_TYPES if t != TEE_SIMULATED}
        for tee, value in dict(self.hardware_measurements).items():
            if not isinstance(tee, str) or not TEE_LABEL.match(tee) or tee == TEE_SIMULATED:
                raise UsageError("invalid hardware TEE type in measurements")
            if value is not None and (
                not isinstance(value, bytes) or len(value) not in _measurement_sizes(tee)
            ):
                raise UsageError("a measurement is 48 bytes (TDX: 240, MRTD and RTMR0-3)")
            hardware[tee] = value
        object.__setattr__(self, "hardware_measurements", MappingProxyType(hardware))
        if len(self.encode()) > limits.MAX_RELEASE_MANIFEST_BYTES:
            raise UsageError("manifest too large")

    # --- the body and the measurements ------------------------------------------------------

    def body(self) -> dict[str, Any]:
        """The manifest without ``measurements``: what the simulated measurement covers."""
        return {
            "schema": MANIFEST_SCHEMA,
            "package": {"name": self.package_name, "version": self.package_version},
            "code": {
                "algorithm": CODE_ALGORITHM,
                "digest": self.code_digest.hex(),
                "files": self.code_files,
            },
            "dependencies": list(self.dependencies),
            "models": [m.to_json() for m in self.models],
            "config": dict(self.config),
        }

    @functools.cached_property
    def simulated_measurement(self) -> bytes:
        """``SHA-384(canonical body)``: what the INSECURE simulated TEE reports for this release."""
        return hashlib.sha384(canonical_json(self.body())).digest()

    @property
    def measurements(self) -> Mapping[str, bytes | None]:
        """Expected launch measurement per TEE type; ``None``: none recorded (refused)."""
        out = dict(self.hardware_measurements)
        out[TEE_SIMULATED] = self.simulated_measurement
        return MappingProxyType(out)

    def measurement_for(self, tee_type: str) -> bytes | None:
        """The expected measurement of ``tee_type``, or ``None`` if the release records none."""
        return self.measurements.get(tee_type)

    # --- encoding ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON object (:meth:`encode` is its canonical form)."""
        doc = self.body()
        doc["measurements"] = {
            tee: None if m is None else m.hex() for tee, m in sorted(self.measurements.items())
        }
        return doc

    def encode(self) -> bytes:
        """The canonical JSON bytes: exactly the transparency-log entry."""
        return self._encoded

    def leaf_hash(self) -> bytes:
        """RFC 9162 leaf hash of :meth:`encode`: ``SHA-256(0x00 || entry)``."""
        return self._leaf_hash

    # Computed once: the manifest is immutable (these live outside the dataclass fields).
    @functools.cached_property
    def _encoded(self) -> bytes:
        return canonical_json(self.to_json())

    @functools.cached_property
    def _leaf_hash(self) -> bytes:
        return leaf_hash(self._encoded)

    @classmethod
    def decode(cls, data: bytes) -> ReleaseManifest:
        """Parse a log entry; the bytes must be the canonical form, byte for byte.

        Raises :class:`TooLargeError` beyond ``limits.MAX_RELEASE_MANIFEST_BYTES``,
        :class:`UnsupportedError` for another schema, :class:`DecodeError` otherwise
        (malformed, not canonical, or a ``simulated`` measurement that is not the body's hash).
        """
        if not isinstance(data, bytes):
            raise DecodeError("manifest is bytes")
        if len(data) > limits.MAX_RELEASE_MANIFEST_BYTES:
            raise TooLargeError("release manifest too large")
        manifest = cls.from_json(
            loads_strict(data, "release manifest", limits.MAX_RELEASE_MANIFEST_BYTES)
        )
        if manifest.encode() != data:
            raise DecodeError("release manifest is not in canonical form")
        return manifest

    @classmethod
    def from_json(cls, doc: object) -> ReleaseManifest:
        """Build a manifest from its JSON object; same checks as :meth:`decode` but the form."""
        obj = json_object(
            doc,
            "release manifest",
            {"schema", "package", "code", "dependencies", "models", "config", "measurements"},
        )
        if obj["schema"] != MANIFEST_SCHEMA:
            raise UnsupportedError("unknown release manifest schema")
        package = json_object(obj["package"], "manifest package", {"name", "version"})
        code = json_object(obj["code"], "manifest code", {"algorithm", "digest", "files"})
        if code["algorithm"] != CODE_ALGORITHM:
            raise UnsupportedError("unknown code digest algorithm")
        deps = obj["dependencies"]
        if not isinstance(deps, list) or len(deps) > limits.MAX_RELEASE_DEPENDENCIES:
            raise DecodeError("malformed dependency list")
        models_doc = obj["models"]
        if not isinstance(models_doc, list) or len(models_doc) > limits.MAX_RELEASE_MODELS:
            raise DecodeError("malformed model list")
        models = []
        for m in models_doc:
            mo = json_object(m, "model file", {"path", "sha256", "size"})
            models.append((mo["path"], _hex(mo["sha256"], 32), mo["size"]))
        measurements = json_object(obj["measurements"], "manifest measurements", None)
        if TEE_SIMULATED not in measurements or len(measurements) > 16:
            raise DecodeError("malformed measurements")
        hardware = {
            tee: None if value is None else _hex_sized(value, _measurement_sizes(tee))
            for tee, value in measurements.items()
            if tee != TEE_SIMULATED
        }
        try:
            manifest = cls(
                package_name=package["name"],
                package_version=package["version"],
                code_digest=_hex(code["digest"], 32),
                code_files=code["files"],
                dependencies=tuple(deps),
                models=tuple(ModelFile(p, d, s) for p, d, s in models),
                config=json_object(obj["config"], "manifest config", None),
                hardware_measurements=hardware,
            )
        except UsageError as exc:
            raise DecodeError("release manifest holds an invalid value") from exc
        if set(manifest.measurements) != set(measurements):
            raise DecodeError("release manifest omits a known TEE type")
        if _hex(measurements[TEE_SIMULATED], MEASUREMENT_SIZE) != manifest.simulated_measurement:
            raise DecodeError("simulated measurement is not the hash of the manifest body")
        return manifest


# --- small codecs ------------------------------------------------------------------------------


def _measurement_sizes(tee: object) -> tuple[int, ...]:
    """Sizes a hardware measurement of ``tee`` may have in a manifest: 48 bytes; TDX also
    :data:`TDX_MEASUREMENT_SIZE` (MRTD || RTMR0..3), the only form that admits a TDX node."""
    return (MEASUREMENT_SIZE, TDX_MEASUREMENT_SIZE) if tee == TEE_TDX else (MEASUREMENT_SIZE,)


def _hex_sized(value: object, sizes: tuple[int, ...]) -> bytes:
    if not isinstance(value, str) or len(value) not in {2 * n for n in sizes}:
        raise DecodeError("malformed hex value")
    return _hex(value, len(value) // 2)


def tdx_expected_registers(value: bytes) -> dict[str, bytes] | None:
    """A TDX manifest measurement split into ``{"mrtd", "rtmr0".."rtmr3"}``; ``None`` when it
    records the MRTD alone (no RTMR expectations: such a release admits no TDX node)."""
    if len(value) != TDX_MEASUREMENT_SIZE:
        return None
    names = ("mrtd", *TDX_RTMRS)
    return {
        n: value[i * MEASUREMENT_SIZE : (i + 1) * MEASUREMENT_SIZE] for i, n in enumerate(names)
    }


def _hex(value: object, size: int) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or value.lower() != value:
        raise DecodeError("malformed hex value")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise DecodeError("malformed hex value") from exc


def measurement_hex(value: bytes | None) -> str:
    """A measurement for humans: hex, or ``absent``."""
    return "absent" if value is None else value.hex()


# --- the nodes' HPKE suites in ``config`` ------------------------------------------------------

#: ``config`` key of the suite of the nodes' classical boot key (every release records it).
CONFIG_HPKE_SUITE: Final = "hpke_suite"
#: ``config`` key of the suite of the nodes' hybrid post-quantum boot key (ADR 0014), recorded
#: when the nodes make one. A manifest without it (older releases) still decodes and verifies:
#: ``config`` is a free JSON object and the schema stays ``privcloud.release/v1``.
CONFIG_HPKE_PQ_SUITE: Final = "hpke_pq_suite"


def hpke_suite_config(suite: Suite, pq_suite: Suite | None) -> dict[str, dict[str, int]]:
    """The ``config`` entries naming the nodes' suites: ``{"hpke_suite": {"kem", "kdf",
    "aead"}}`` and, with a hybrid key, ``"hpke_pq_suite"`` likewise (ids as integers)."""
    out = {CONFIG_HPKE_SUITE: _suite_doc(suite)}
    if pq_suite is not None:
        if pq_suite.kem is not KemId.MLKEM768_X25519:
            raise UsageError("the post-quantum suite must use the hybrid ML-KEM-768 + X25519 KEM")
        out[CONFIG_HPKE_PQ_SUITE] = _suite_doc(pq_suite)
    return out


def release_hpke_suites(manifest: ReleaseManifest) -> tuple[Suite | None, Suite | None]:
    """The classical and hybrid suites ``manifest`` records (None where it records none).

    Raises :class:`DecodeError` for a malformed entry, :class:`UnsupportedError` for an id
    this build does not know, and :class:`DecodeError` for an ``hpke_pq_suite`` whose KEM is
    not the hybrid one (a classical suite recorded as post-quantum).
    """
    classical = _suite_of(manifest.config.get(CONFIG_HPKE_SUITE))
    hybrid = _suite_of(manifest.config.get(CONFIG_HPKE_PQ_SUITE))
    if hybrid is not None and hybrid.kem is not KemId.MLKEM768_X25519:
        raise DecodeError("hpke_pq_suite names a KEM that is not post-quantum")
    return classical, hybrid


def _suite_doc(suite: Suite) -> dict[str, int]:
    return {"kem": int(suite.kem), "kdf": int(suite.kdf), "aead": int(suite.aead)}


def _suite_of(doc: object) -> Suite | None:
    if doc is None:
        return None
    obj = json_object(doc, "HPKE suite", {"kem", "kdf", "aead"})
    ids = [obj["kem"], obj["kdf"], obj["aead"]]
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= 0xFFFF for i in ids):
        raise DecodeError("malformed HPKE suite")
    try:
        return Suite(KemId(ids[0]), KdfId(ids[1]), AeadId(ids[2]))
    except ValueError as exc:
        raise UnsupportedError("unknown HPKE suite id") from exc

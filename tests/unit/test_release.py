"""Release manifests: deterministic builds from the install, the canonical log entry, the simulated
measurement, field-by-field comparison, and the PEP 508 markers of the dependency walk."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from privcloud.attest import TEE_SEV_SNP, TEE_SIMULATED, TEE_TDX
from privcloud.errors import (
    ConfigError,
    DecodeError,
    TooLargeError,
    UnsupportedError,
    UsageError,
    VerificationError,
)
from privcloud.release import build_manifest, code_files, compare, locked_dependencies, require_same
from privcloud.release.build import code_digest, model_file, package_dir
from privcloud.release.markers import current_environment, evaluate
from privcloud.release.verify import Outcome
from privcloud.trust.canonical import canonical_json
from privcloud.trust.release_manifest import ModelFile, ReleaseManifest

CONFIG = {"features": ["echo", "echo_stream"], "hpke_suite": {"aead": 1, "kdf": 1, "kem": 32}}


def _manifest(**kw: object) -> ReleaseManifest:
    base: dict[str, object] = {
        "package_name": "privcloud",
        "package_version": "0.1.0",
        "code_digest": b"\x11" * 32,
        "code_files": 3,
        "dependencies": ("aiohttp==3.14.5", "cryptography==50.0.2"),
        "config": CONFIG,
    }
    base.update(kw)
    return ReleaseManifest(**base)  # type: ignore[arg-type]


# --- the golden entry ----------------------------------------------------------------------------

GOLDEN = (
    b'{"code":{"algorithm":"sha256-files-v1","digest":"' + b"11" * 32 + b'","files":3},'
    b'"config":{"features":["echo","echo_stream"],"hpke_suite":{"aead":1,"kdf":1,"kem":32}},'
    b'"dependencies":["aiohttp==3.14.5","cryptography==50.0.2"],'
    b'"measurements":{"sev-snp":null,"simulated":"MEASUREMENT","tdx":null},'
    b'"models":[],"package":{"name":"privcloud","version":"0.1.0"},'
    b'"schema":"privcloud.release/v1"}'
)


def test_manifest_golden_bytes_both_ways() -> None:
    m = _manifest()
    body = json.loads(GOLDEN)
    del body["measurements"]
    # The simulated measurement is SHA-384 of the canonical body, computed independently here.
    body_bytes = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    expected = hashlib.sha384(body_bytes).hexdigest()
    golden = GOLDEN.replace(b"MEASUREMENT", expected.encode())
    assert m.encode() == golden
    assert m.simulated_measurement.hex() == expected
    assert ReleaseManifest.decode(golden) == m
    assert dict(m.measurements) == {
        TEE_SEV_SNP: None,
        TEE_SIMULATED: bytes.fromhex(expected),
        TEE_TDX: None,
    }


def test_every_field_changes_the_measurement() -> None:
    base = _manifest().simulated_measurement
    variants = [
        _manifest(package_version="0.1.1"),
        _manifest(code_digest=b"\x12" * 32),
        _manifest(code_files=4),
        _manifest(dependencies=("aiohttp==3.14.6", "cryptography==50.0.2")),
        _manifest(models=(ModelFile("models/w.bin", b"\x01" * 32, 10),)),
        _manifest(config={**CONFIG, "features": ["echo"]}),
    ]
    assert len({v.simulated_measurement for v in variants} | {base}) == len(variants) + 1
    # Hardware measurements are outside the body: they do not change the simulated one.
    assert (
        _manifest(hardware_measurements={TEE_SEV_SNP: b"\x01" * 48}).simulated_measurement == base
    )


def test_non_canonical_or_inconsistent_entries_are_refused() -> None:
    good = _manifest().encode()
    doc = json.loads(good)
    cases = [
        json.dumps(doc, indent=1).encode(),  # whitespace
        json.dumps(doc, sort_keys=False).encode(),  # not the canonical form
        good.replace(b'"files":3', b'"files":3.0'),  # a float
        good.replace(b'"models":[]', b'"models":[],"models":[]'),  # duplicate key
        good.replace(b'"simulated":"', b'"simulated":"00'),  # wrong length
        good[:-1],
        b"",
        b"[]",
    ]
    for data in cases:
        with pytest.raises(DecodeError):
            ReleaseManifest.decode(data)
    # A simulated measurement that is not the body's hash (someone edited the body).
    tampered = good.replace(b'"files":3', b'"files":4')
    with pytest.raises(DecodeError, match="simulated measurement"):
        ReleaseManifest.decode(tampered)
    # Unknown fields and schemas.
    extra = dict(doc, extra=1)
    with pytest.raises(DecodeError):
        ReleaseManifest.from_json(extra)
    with pytest.raises(UnsupportedError):
        ReleaseManifest.from_json(dict(doc, schema="privcloud.release/v9"))
    with pytest.raises(TooLargeError):
        ReleaseManifest.decode(b" " * (64 * 1024 + 1))


def test_invalid_manifests_cannot_be_built() -> None:
    for kw in (
        {"code_digest": b"short"},
        {"dependencies": ("b==1", "a==1")},  # unsorted
        {"dependencies": ("Not_Normalised==1",)},
        {"dependencies": ("a==1", "a==2")},
        {"config": {"ratio": 0.5}},
        {"config": {"deep": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}},  # deeper than the bound
        {"hardware_measurements": {TEE_SEV_SNP: b"\x00" * 32}},
        {"hardware_measurements": {TEE_SIMULATED: b"\x00" * 48}},
        {"models": (ModelFile("b", b"\0" * 32, 1), ModelFile("a", b"\0" * 32, 1))},
    ):
        with pytest.raises(UsageError):
            _manifest(**kw)
    with pytest.raises(UsageError):
        canonical_json({"x": float("nan")})


# --- building from the install -------------------------------------------------------------------


def test_build_is_deterministic_and_matches_sha256sum() -> None:
    a = build_manifest(config=CONFIG)
    b = build_manifest(config=dict(reversed(CONFIG.items())))
    assert a.encode() == b.encode()
    files = code_files()
    assert files == sorted(files, key=lambda f: f.path.encode())
    assert all(f.path.startswith("privcloud/") for f in files)
    assert not any("__pycache__" in f.path or f.path.endswith(".pyc") for f in files)
    assert "privcloud/trust/admission.py" in {f.path for f in files}
    # Recomputable with coreutils, as docs/trust.md says.
    root = package_dir().parent
    listing = "".join(f.line() for f in files)
    sums = subprocess.run(
        ["sha256sum", *[f.path for f in files]], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    assert sums == listing
    assert code_digest(files) == hashlib.sha256(sums.encode()).digest() == a.code_digest


def test_code_tree_digest_follows_every_byte(tmp_path: Path) -> None:
    pkg = tmp_path / "privcloud"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__pycache__").mkdir()
    (pkg / "a.py").write_bytes(b"x = 1\n")
    (pkg / "sub" / "b.py").write_bytes(b"y = 2\n")
    (pkg / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"ignored")
    (pkg / "c.pyc").write_bytes(b"ignored too")
    first = code_files(pkg)
    assert [f.path for f in first] == ["privcloud/a.py", "privcloud/sub/b.py"]
    (pkg / "sub" / "b.py").write_bytes(b"y = 3\n")
    assert code_digest(code_files(pkg)) != code_digest(first)
    (pkg / "link.py").symlink_to(pkg / "a.py")
    with pytest.raises(ConfigError):
        code_files(pkg)


def test_locked_dependencies_are_the_transitive_runtime_set() -> None:
    deps = locked_dependencies()
    names = {d.split("==")[0] for d in deps}
    assert {"cryptography", "pyhpke", "aiohttp", "yarl", "multidict"} <= names
    # Development extras are not runtime dependencies.
    assert not names & {"pytest", "mypy", "ruff", "hypothesis"}
    # Markers are evaluated: async-timeout is only for Python < 3.11.
    assert "async-timeout" not in names
    assert list(deps) == sorted(deps)


def test_model_files_are_digested(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"\x01" * 1000)
    entry = model_file(weights, "models/w.bin")
    assert entry == ModelFile("models/w.bin", hashlib.sha256(b"\x01" * 1000).digest(), 1000)
    m = build_manifest(config=CONFIG, models=[entry])
    assert m.models == (entry,)


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ('python_version < "3.11"', False),
        ('python_version >= "3.11"', True),
        ('python_version < "3.13"', True),
        ('python_full_version >= "3.11.0"', True),
        ('python_version ~= "3.10"', True),
        ('python_version ~= "3.12"', False),
        ('sys_platform != "android" and sys_platform != "ios"', True),
        ('(sys_platform == "win32" or os_name == "posix") and extra == ""', True),
        ('extra == "speedups"', False),
        ("platform_python_implementation != 'PyPy'", True),
        ('"linux" in sys_platform', True),
        ('"3.1" not in python_version', False),
    ],
)
def test_markers(marker: str, expected: bool) -> None:
    env = {
        **current_environment(),
        "python_version": "3.11",
        "python_full_version": "3.11.9",
        "sys_platform": "linux",
        "os_name": "posix",
    }
    assert evaluate(marker, env) is expected


def test_extra_markers_follow_the_requested_extra() -> None:
    env = {**current_environment(), "extra": "speedups"}
    assert evaluate('extra == "Speedups"', env)


@pytest.mark.parametrize("marker", ["python_version <", 'nonsense == "1"', "(", '"a" "b"', "and"])
def test_bad_markers_are_config_errors(marker: str) -> None:
    with pytest.raises(ConfigError):
        evaluate(marker, current_environment())


# --- comparing -----------------------------------------------------------------------------------


def test_compare_reports_each_field() -> None:
    here = _manifest()
    same = compare(here, here)
    assert all(c.outcome is Outcome.MATCH for c in same)
    require_same(same)
    there = _manifest(
        code_digest=b"\x22" * 32,
        dependencies=("aiohttp==3.14.5", "cryptography==51.0.0"),
        hardware_measurements={TEE_SEV_SNP: b"\x01" * 48},
    )
    diff = {c.name: c for c in compare(here, there)}
    assert diff["code"].outcome is Outcome.DIFFER
    assert diff["dependencies"].outcome is Outcome.DIFFER
    assert "cryptography==51.0.0" in diff["dependencies"].logged
    assert diff["package"].outcome is Outcome.MATCH
    assert diff["measurement[simulated]"].outcome is Outcome.DIFFER
    assert diff["measurement[sev-snp]"].outcome is Outcome.NOT_RECOMPUTED
    with pytest.raises(VerificationError):
        require_same(tuple(diff.values()))
    # A field that cannot be recomputed here is not a failure by itself.
    only_hw = compare(here, _manifest(hardware_measurements={TEE_SEV_SNP: b"\x01" * 48}))
    require_same(only_hw)

"""The release manifest records the nodes' HPKE suites: the classical one (every release) and
the hybrid post-quantum one where the nodes make a hybrid boot key (ADR 0014). Older manifests,
which record only ``hpke_suite``, still decode and verify."""

from __future__ import annotations

import pytest

from privcloud import errors
from privcloud.crypto.hpke import MLKEM768X25519_SHA256_CHACHA20, X25519_SHA256_AES128GCM
from privcloud.services.node import Node, node_release_config
from privcloud.trust.release_manifest import (
    CONFIG_HPKE_PQ_SUITE,
    ReleaseManifest,
    hpke_suite_config,
    release_hpke_suites,
)

#: The config of a release made before the hybrid suite was recorded (tests/unit/test_release.py).
OLD_CONFIG = {"features": ["echo", "echo_stream"], "hpke_suite": {"aead": 1, "kdf": 1, "kem": 32}}


def _manifest(config: object) -> ReleaseManifest:
    return ReleaseManifest(
        package_name="privcloud",
        package_version="0.1.0",
        code_digest=b"\x11" * 32,
        code_files=3,
        dependencies=("aiohttp==3.14.5",),
        config=config,  # type: ignore[arg-type]
    )


def test_node_release_records_the_hybrid_suite_of_its_hybrid_boot_key() -> None:
    config = node_release_config()
    assert config["hpke_suite"] == {"kem": 0x20, "kdf": 1, "aead": 1}
    assert config[CONFIG_HPKE_PQ_SUITE] == {"kem": 0x647A, "kdf": 1, "aead": 3}
    m = ReleaseManifest.decode(_manifest(config).encode())
    assert release_hpke_suites(m) == (X25519_SHA256_AES128GCM, MLKEM768X25519_SHA256_CHACHA20)
    # A node's own release records the suites of the keys it publishes.
    node = Node("node-1")
    pq = node.descriptor.pq_key
    assert pq is not None
    assert release_hpke_suites(node.core.manifest) == (node.descriptor.suite, pq.suite)


def test_release_without_a_hybrid_key_records_the_classical_suite_only() -> None:
    config = node_release_config(pq_suite=None)
    assert CONFIG_HPKE_PQ_SUITE not in config
    assert release_hpke_suites(_manifest(config)) == (X25519_SHA256_AES128GCM, None)


def test_old_manifest_with_the_classical_suite_only_still_decodes_and_verifies() -> None:
    old = _manifest(OLD_CONFIG)
    assert ReleaseManifest.decode(old.encode()) == old
    assert release_hpke_suites(old) == (X25519_SHA256_AES128GCM, None)


@pytest.mark.parametrize(
    "entry",
    [
        {"kem": 0x20, "kdf": 1, "aead": 1},  # a classical suite recorded as post-quantum
        {"kem": 0x647A, "kdf": 1},
        {"kem": "25722", "kdf": 1, "aead": 3},
        {"kem": True, "kdf": 1, "aead": 3},
    ],
)
def test_malformed_or_classical_pq_suite_entry_is_refused(entry: object) -> None:
    with pytest.raises(errors.DecodeError):
        release_hpke_suites(_manifest({**OLD_CONFIG, CONFIG_HPKE_PQ_SUITE: entry}))


def test_unknown_suite_id_is_unsupported_and_a_classical_pq_suite_cannot_be_recorded() -> None:
    with pytest.raises(errors.UnsupportedError):
        release_hpke_suites(
            _manifest({**OLD_CONFIG, CONFIG_HPKE_PQ_SUITE: {"kem": 0x647A, "kdf": 9, "aead": 3}})
        )
    with pytest.raises(errors.UsageError):
        hpke_suite_config(X25519_SHA256_AES128GCM, X25519_SHA256_AES128GCM)
    assert hpke_suite_config(X25519_SHA256_AES128GCM, MLKEM768X25519_SHA256_CHACHA20)[
        CONFIG_HPKE_PQ_SUITE
    ] == {"kem": 0x647A, "kdf": 1, "aead": 3}

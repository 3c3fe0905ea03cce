"""Witness key files of both types (storage/witness_key.py) and the local cloud's option."""

from __future__ import annotations

from pathlib import Path

import pytest

from privcloud.crypto.signing import Ed25519PrivateKey, MLDSA44PrivateKey
from privcloud.errors import ConfigError
from privcloud.localcloud.cloudconfig import load
from privcloud.storage.witness_key import load_or_create_witness_key, load_witness_key


def test_mldsa_key_is_created_once_owner_only_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "witness.key"
    key, created = load_or_create_witness_key(path, "ml-dsa-44")
    assert created and isinstance(key, MLDSA44PrivateKey)
    assert path.stat().st_mode & 0o777 == 0o600
    again, created = load_or_create_witness_key(path, "ml-dsa-44")
    assert not created and again.public_bytes() == key.public_bytes()
    # No type asked: the kept key's type.
    kept, _ = load_or_create_witness_key(path)
    assert kept.public_bytes() == key.public_bytes()


def test_default_stays_ed25519_and_old_key_files_load(tmp_path: Path) -> None:
    key, created = load_or_create_witness_key(tmp_path / "witness.key")
    assert created and isinstance(key, Ed25519PrivateKey)
    assert isinstance(load_witness_key(tmp_path / "witness.key"), Ed25519PrivateKey)


@pytest.mark.parametrize(("first", "second"), [("ed25519", "ml-dsa-44"), ("ml-dsa-44", "ed25519")])
def test_a_kept_key_never_changes_type_silently(tmp_path: Path, first: str, second: str) -> None:
    load_or_create_witness_key(tmp_path / "witness.key", first)
    with pytest.raises(ConfigError, match=f"use --key-type {first}"):
        load_or_create_witness_key(tmp_path / "witness.key", second)


def test_mldsa_key_readable_by_others_or_malformed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "witness.key"
    load_or_create_witness_key(path, "ml-dsa-44")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        load_witness_key(path)
    path.chmod(0o600)
    path.write_bytes(b"privcloud-ml-dsa-44-seed-v1 not-base64!\n")
    with pytest.raises(ConfigError, match="malformed"):
        load_witness_key(path)
    with pytest.raises(ConfigError, match="unknown witness key type"):
        load_or_create_witness_key(tmp_path / "other.key", "rsa")


def test_local_cloud_config_chooses_the_witness_key_type(tmp_path: Path) -> None:
    conf = tmp_path / "privcloud.toml"
    conf.write_text('[cloud]\nwitness_key_type = "ml-dsa-44"\n')
    assert load(conf).witness_key_type == "ml-dsa-44"
    conf.write_text('[cloud]\nwitness_key_type = "dsa"\n')
    with pytest.raises(ConfigError, match="witness_key_type"):
        load(conf)
    conf.write_text("[cloud]\n")
    assert load(conf).witness_key_type is None

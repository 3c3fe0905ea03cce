"""Fuzz targets: one module per decoder family, run by atheris (``make fuzz``) and, without
instrumentation, by tests/unit/test_fuzz_targets.py. See docs/fuzzing.md."""

from pathlib import Path
from typing import Final

#: The repository's root.
ROOT: Final = Path(__file__).resolve().parents[1]

#: Every target (a module ``fuzz.<name>``), in the order ``make fuzz`` runs them.
TARGETS: Final = (
    "fuzz_bhttp",
    "fuzz_ohttp",
    "fuzz_envelope",
    "fuzz_privacypass_headers",
    "fuzz_privacypass_tokens",
    "fuzz_privacypass_directory",
    "fuzz_transparency",
    "fuzz_tiles",
    "fuzz_sevsnp",
    "fuzz_tdx",
    "fuzz_intel_collateral",
    "fuzz_tpm",
    "fuzz_eventlog",
    "fuzz_jwt",
    "fuzz_android_attestation",
    "fuzz_spdm",
    "fuzz_rim",
    "fuzz_node_directory",
    "fuzz_key_statements",
    "fuzz_workload_messages",
    "fuzz_json",
    "fuzz_audio",
)

"""Run the fuzz targets under atheris, one after another, and summarise (``make fuzz``).

    python -m fuzz.run --seconds 180                 # every target
    python -m fuzz.run --seconds 60 fuzz_bhttp fuzz_json

For each target: libFuzzer starts from ``fuzz/corpus/<target>`` (committed), the shared-vector
seeds in ``build/fuzz/seeds-shared/<target>`` (when ``make_corpus.py`` wrote them) and what
earlier runs kept in ``build/fuzz/work/<target>`` (where new inputs go); crashes are written to
``build/fuzz/artifacts/<target>/``, the log to ``build/fuzz/logs/<target>.log``. The summary
gives executions, new inputs and crashes per target; the exit status is 1 if any target
crashed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fuzz import ROOT, TARGETS
from fuzz.make_corpus import SHARED_SEEDS_DIR

BUILD: Final = ROOT / "build" / "fuzz"
#: libFuzzer's own per-input timeout (s): a backstop behind the harness's 1 s check, for an
#: input that hangs in C code where the check never gets control back.
_LIBFUZZER_TIMEOUT_S: Final = 10
#: libFuzzer dictionaries (fuzz/dicts/) of the targets whose inputs have a text syntax.
DICTIONARIES: Final = {
    "fuzz_privacypass_headers": "http.dict",
    "fuzz_privacypass_tokens": "json.dict",
    "fuzz_privacypass_directory": "json.dict",
    "fuzz_transparency": "json.dict",
    "fuzz_node_directory": "json.dict",
    "fuzz_key_statements": "json.dict",
    "fuzz_workload_messages": "json.dict",
    "fuzz_json": "json.dict",
}
_STAT = re.compile(rb"^stat::(\w+):\s+(\d+)", re.M)


@dataclass(frozen=True)
class Result:
    target: str
    executions: int
    new_units: int
    crashes: list[Path]
    seconds: float


def run_target(target: str, seconds: int, extra: list[str]) -> Result:
    work, artifacts = BUILD / "work" / target, BUILD / "artifacts" / target
    logs = BUILD / "logs"
    for folder in (work, artifacts, logs):
        folder.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    corpora = [work, ROOT / "fuzz" / "corpus" / target]
    shared = SHARED_SEEDS_DIR / target
    if shared.is_dir():
        corpora.append(shared)
    command = [
        sys.executable,
        "-m",
        f"fuzz.{target}",
        f"-max_total_time={seconds}",
        f"-timeout={_LIBFUZZER_TIMEOUT_S}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        *(
            [f"-dict={ROOT / 'fuzz' / 'dicts' / DICTIONARIES[target]}"]
            if target in DICTIONARIES
            else []
        ),
        *extra,
        *(str(c) for c in corpora),
    ]
    start = time.monotonic()
    log = logs / f"{target}.log"
    with log.open("wb") as out:
        subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    stats = {k.decode(): int(v) for k, v in _STAT.findall(log.read_bytes())}
    return Result(
        target,
        stats.get("number_of_executed_units", 0),
        stats.get("new_units_added", 0),
        sorted(set(artifacts.iterdir()) - before),
        time.monotonic() - start,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=180, help="per target")
    parser.add_argument("targets", nargs="*", default=list(TARGETS))
    parser.add_argument("--libfuzzer", action="append", default=[], help="extra flag, repeatable")
    args = parser.parse_args()
    results = []
    for target in args.targets:
        result = run_target(target, args.seconds, args.libfuzzer)
        results.append(result)
        crashes = ", ".join(str(c.relative_to(ROOT)) for c in result.crashes) or "none"
        print(
            f"{target:28} {result.executions:>10} execs {result.new_units:>6} new inputs "
            f"{result.seconds:6.0f} s  crashes: {crashes}",
            flush=True,
        )
    sys.exit(1 if any(r.crashes for r in results) else 0)


if __name__ == "__main__":
    main()

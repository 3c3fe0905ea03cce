"""How often the translation fact check (issue 15) is wrong, on hand-labelled pairs. Prints
ONE JSON line.

    .venv/bin/python bench/eval_translate_facts.py [--sets a_review,b_independent,...]

For each set of bench/data/translate_pairs/ (see its README): ``withheld`` is the share of
faithful pairs the check does not keep (a withheld piece reaches the user untranslated),
``kept_wrong`` the share of pairs with one changed or dropped fact that it keeps, both by
language (either side) too; ``seconds_per_check`` one ``check`` call, warm. The **baseline**
in the same run is a check that compares only the digit strings of both sides (what a check
without any language knowledge can do).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

DATA = Path(__file__).parent / "data" / "translate_pairs"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from privcloud.workloads.translate_facts import check, warm  # noqa: E402


def _digits_only(source: str, translation: str) -> bool:
    """The baseline: the same multiset of digit runs on both sides."""
    return Counter(re.findall(r"\d+", source)) == Counter(re.findall(r"\d+", translation))


def _rates(rows: list[tuple[dict[str, object], bool]]) -> dict[str, float | int]:
    faithful = [kept for pair, kept in rows if pair["faithful"]]
    wrong = [kept for pair, kept in rows if not pair["faithful"]]
    return {
        "faithful": len(faithful),
        "wrong": len(wrong),
        "withheld": round(faithful.count(False) / len(faithful), 3) if faithful else 0.0,
        "kept_wrong": round(wrong.count(True) / len(wrong), 3) if wrong else 0.0,
    }


def evaluate(name: str) -> dict[str, object]:
    pairs = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    for pair in pairs:
        warm(pair["sl"], pair["tl"])
    rows, base, seconds = [], [], 0.0
    for pair in pairs:
        start = time.perf_counter()
        result = check(pair["source"], pair["sl"], pair["translation"], pair["tl"])
        seconds += time.perf_counter() - start
        rows.append((pair, result.kept))
        base.append((pair, _digits_only(pair["source"], pair["translation"])))
    languages = sorted({lang for pair in pairs for lang in (pair["sl"], pair["tl"])})
    return {
        **_rates(rows),
        "by_language": {
            lang: _rates([r for r in rows if lang in (r[0]["sl"], r[0]["tl"])])
            for lang in languages
        },
        "seconds_per_check": round(seconds / len(pairs), 5),
        "baseline_digits_only": _rates(base),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sets", default=",".join(sorted(path.stem for path in DATA.glob("*.json")))
    )
    args = parser.parse_args()
    out = {"bench": "eval_translate_facts"}
    out.update({name: evaluate(name) for name in args.sets.split(",")})
    print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()

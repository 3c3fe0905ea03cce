"""Would an NLI model help the summary guard (issue 15)? Prints ONE JSON line.

    .venv/bin/python bench/eval_guard_nli.py --model DIR [--aclsum-split train]

``DIR`` holds an ONNX sequence-pair classifier (one ``*.onnx`` file, inputs ``input_ids`` and
``attention_mask``, two or three logits) and its ``tokenizer.json`` (Hugging Face
``tokenizers``) somewhere below it; ``--entail`` is the index of its entailment logit. No
such model ships with the project: none with a licence that fits was found on PyPI (see
docs/features.md, "An NLI model as a second opinion"), so this script is not part of ``make
test``; it measures any model an operator can install.

On ACLSum (``bench/eval_guard.py``'s documents, faithful sentences and planted errors, the
same seed), every sentence the rule-based guard keeps is read against its four nearest source
sentences (by the guard's own embeddings) and two pairs of neighbours. Two second opinions
are measured, each as faithful sentences dropped and planted errors caught, guard and model
together:

* ``absolute``: drop a kept sentence whose best entailment probability is under a threshold;
* ``contrast``: drop it when its denial (a negation inserted or removed, as the planted
  negations are made) is entailed by more than a margin over the sentence itself and the
  sentence's own probability is under 0.2: the model as a judge of polarity only.

The baseline in the same run is the guard alone.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import eval_guard
from privcloud.workloads import grounding
from privcloud.workloads.models import shared_models

_THRESHOLDS = (0.02, 0.05, 0.1, 0.2)
_MARGINS = (0.1, 0.3)


class _Judge:
    """An ONNX NLI classifier: the probability that a premise entails a hypothesis."""

    def __init__(self, directory: Path, entail: int) -> None:
        import onnxruntime  # noqa: PLC0415 (installed with the ai extra)
        import tokenizers  # noqa: PLC0415

        [model] = sorted(directory.rglob("*.onnx"))
        [vocabulary] = sorted(directory.rglob("tokenizer.json"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(model), options)
        self._tokenizer = tokenizers.Tokenizer.from_file(str(vocabulary))
        shape = self._session.get_inputs()[0].shape[1]
        self._length = shape if isinstance(shape, int) else 512
        self._tokenizer.enable_truncation(self._length)
        self._tokenizer.enable_padding(length=self._length)
        self._entail = entail

    def entailed(self, premises: Sequence[str], hypothesis: str) -> list[float]:
        encodings = self._tokenizer.encode_batch([(p, hypothesis) for p in premises])
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        logits = self._session.run(None, feed)[0]
        odds = np.exp(logits - logits.max(axis=1, keepdims=True))
        return [float(p) for p in (odds / odds.sum(axis=1, keepdims=True))[:, self._entail]]


def _premises(source: grounding.SourceDocument, sentence: str, embed: Any) -> list[str]:
    texts = [span.text for span in source.sentences]
    order = np.argsort(-(source.vectors @ np.asarray(embed([sentence]))[0]))[:4]
    pairs = [texts[i] + " " + texts[i + 1] for i in order[:2] if i + 1 < len(texts)]
    return [texts[i] for i in order] + pairs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--entail", type=int, default=0, help="index of the entailment logit")
    parser.add_argument("--aclsum-split", choices=("test", "val", "train"), default="train")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    judge = _Judge(args.model, args.entail)
    embed = shared_models().embed
    docs = eval_guard.aclsum_set(args.aclsum_split)
    if isinstance(docs, str):
        raise SystemExit(docs)
    rng = random.Random(args.seed)
    rows: list[tuple[bool, bool, float, float | None]] = []  # faithful, kept, p, p(denial)
    for doc in docs:
        doc.mutations = list(eval_guard.mutations(doc, rng))
        source = grounding.prepare_source(doc.text, embed)
        cases = [(True, s) for s in doc.summary] + [(False, m[1]) for m in doc.mutations]
        for faithful, sentence in cases:
            report = grounding.check_summary(source, sentence, embed)
            if not all(c.kept for c in report.sentences):
                rows.append((faithful, False, 0.0, None))
                continue
            premises = _premises(source, sentence, embed)
            own = judge.entailed(premises, sentence)
            denial = eval_guard._mutate_negation(sentence, doc.text, rng)
            other = judge.entailed(premises, denial) if denial else None
            best = int(np.argmax(own))
            rows.append((faithful, True, own[best], other[best] if other else None))

    def rates(drop: Any) -> dict[str, float]:
        faithful = [r for r in rows if r[0]]
        planted = [r for r in rows if not r[0]]
        return {
            "false_alarm_rate": round(
                sum(not r[1] or drop(r) for r in faithful) / len(faithful), 3
            ),
            "catch_rate": round(sum(not r[1] or drop(r) for r in planted) / len(planted), 3),
        }

    out = {
        "bench": "eval_guard_nli",
        "split": args.aclsum_split,
        "faithful": sum(r[0] for r in rows),
        "planted": sum(not r[0] for r in rows),
        "guard_alone": rates(lambda r: False),
        "absolute": {f"under_{t}": rates(lambda r, t=t: r[2] < t) for t in _THRESHOLDS},
        "contrast": {
            f"margin_{m}": rates(lambda r, m=m: r[3] is not None and r[3] - r[2] > m and r[2] < 0.2)
            for m in _MARGINS
        },
    }
    print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()

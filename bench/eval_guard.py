"""Evaluation of the summary guard (issue 15) on faithful human-style abstractive summaries and
on planted errors derived from them. Prints ONE JSON line.

    .venv/bin/python bench/eval_guard.py [--sets hand,aclsum] [--no-baseline]

Sets (each: documents of several hundred words, each with a faithful abstractive summary):

* ``hand``: bench/data/guard_eval/documents.txt, 20 documents written for this evaluation
  (calls, news, meetings, e-mails, travel, a clinic letter, a school notice) with summaries in a
  human style: paraphrase, compression, merged sentences, pronouns. See the README there.
* ``aclsum``: the test split of ACLSum (Takeshita et al., EACL 2024; MIT), as shipped in the
  ``aclsum`` wheel on PyPI: 100 papers (abstract, introduction, conclusion; 350 to 2,000 words)
  with three one-sentence summaries each, written by the dataset's annotators. Read from the
  installed package's files; the set is skipped (and says so) when it is not installed.
  ``--aclsum-split train`` (100 papers) or ``val`` (50) takes another split: write new rules
  against those and measure the test split after, so that its figures stay held out.

Planted errors are programmatic mutations of the faithful sentences (one per kind where the
sentence allows it): ``number`` (a digit or number word changed, times included), ``date`` (a
weekday or month changed), ``name`` (a proper name replaced by one absent from the document),
``negation`` (a negation inserted or removed), ``role`` (two named parties of an asymmetric
relation swapped: who called or wrote to whom), ``direction`` ("from X to Y" reversed) and
``order`` ("before" and "after" exchanged). ``catch_rate`` is the share of mutated sentences the
guard does not keep; ``relation_caught`` the share of the role, direction and order kinds.
``false_alarm_rate`` is the share of faithful sentences dropped, ``summaries_with_false_alarm``
the share of summaries that lost at least one.

What the mutators do not plant (audit of issue 15; planted counts before -> after at seed 15:
hand role 14 -> 7, negation 69 -> 69; ACLSum role 6 -> 1, negation 131 -> 130; every other
kind unchanged): a mutation must be a false statement in English of its kind.

* ``role`` swaps only the two parties of one verb: a subject name, a verb group (auxiliaries,
  adverbs, the verb, a particle, one preposition other than "of" and "for"), an object name
  or its possessive ("Rovers beat City", "Marsh set up Doyle's equaliser"). It no longer swaps
  a player and his team ("City scored both of Jonas Weber's goals": the team did score its
  player's goals; "City was sent off for Paul Grant"), a noun's modifier with a verb's party
  or with another modifier ("Oslo must halve ... for the Julia conference", "Hotel Kamogawa
  will drive them to the Kenji", "the Sanskrit framework originally designed for Paninian",
  "a Bayesian sampler-based Gibbs approach", "the Indian framework ... Paninian languages"),
  nor a name with a name inside it ("Markov used for ... the Hidden Markov Models
  assumptions"): not English, or no claim. Four former mutations were false English
  statements but no swap of a verb's parties and are no longer planted either: "her Denmark
  oak table ... workshop in Fjord", "World Wide Web which is a sub-network of the Darknet"
  (both caught by the guard before), "Ruth asked Meridian to look after the Jakob account",
  "Kyoto confirmed the Novaks' five-day trip to Lantern Journeys" (both missed).
* ``negation`` keeps the "not" of "not only ... but" ("only by X but of Y" is no English and
  denies nothing; one ACLSum sentence has no other place for a negation); drops "never"
  instead of writing "once"; turns "won't reopen until the 1st" into "will reopen before the
  1st", not "will reopen until"; negates "has" as a verb with "does not have" ("She has until
  the 12th", "have problems"), not "has not until"; turns a subject's "no" into "some" ("some
  date should be promised", not "date should be promised") and leaves "limited or no use"
  alone; writes "not any", not "not some".
* ``number`` keeps days and hours possible ("27 February", not "38 February"; "17:20", not
  "26:20"), the article right ("a 970 euro payment", not "an 970") and a capital at the start;
  ``name`` no longer takes a weekday's plural ("Tuesdays") for a name.

Times: the guard's per-document preparation (source sentences split, embedded, indexed) is done
once per document and reused for every summary checked against it (``prepare_source``);
``seconds_per_summary`` is one ``check_summary`` of a whole summary with the document prepared,
``seconds_per_summary_cold`` includes preparing it, ``seconds_per_sentence`` the warm time
divided by the summary's sentences.

Baselines, in the same run: ``previous`` is the guard of commit BASELINE_COMMIT (before issue
15), read from git into a temporary package; ``lexical`` is a trivial guard that keeps a sentence
when 60% of its content words occur anywhere in the document.

Standalone: imports nothing from tests/.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privcloud.workloads import grounding
from privcloud.workloads.grounding_facts import content_words
from privcloud.workloads.models import Models, shared_models

#: The guard before issue 15 (the last commit before this evaluation existed).
BASELINE_COMMIT = "46e7326218eeae9ca8f74645445fea664fd9101d"
DATA = Path(__file__).parent / "data" / "guard_eval" / "documents.txt"
ROOT = Path(__file__).resolve().parent.parent
KINDS = ("number", "date", "name", "negation", "role", "direction", "order")
RELATION_KINDS = ("role", "direction", "order")

#: Names used to replace a document's names: checked absent from the document before use.
INVENTED_NAMES = (
    "Gregor Whitlock",
    "Marisol",
    "Okonkwo",
    "Tilda",
    "Bramwell",
    "Ferreira",
    "Ysolde",
    "Castellano",
    "Quentin",
    "Ravensworth",
    "Dagny",
    "Zoltan",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
NUMBER_WORDS = [
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "fifteen",
    "twenty",
    "thirty",
]
#: Capitalised words that open sentences without being names.
NOT_NAMES = frozenset(
    [
        "The",
        "A",
        "An",
        "She",
        "He",
        "It",
        "They",
        "Her",
        "His",
        "Its",
        "Their",
        "Only",
        "While",
        "After",
        "Before",
        "On",
        "At",
        "In",
        "There",
        "This",
        "That",
        "Tickets",
        "Most",
        "Local",
        "Engineers",
        "Two",
        "Release",
        "Economy",
        "Microscope",
        "Students",
        "Year",
    ]
)
AUXILIARIES = [
    "is",
    "are",
    "was",
    "were",
    "will",
    "can",
    "could",
    "should",
    "would",
    "must",
    "has",
    "have",
    "had",
    "does",
    "do",
    "did",
    "may",
    "might",
]
# A word of a name: capitalised, not a weekday or month.
_NAME_WORD = r"(?:Mc|O')?[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
_NAME_RE = re.compile(rf"(?<![\w.])(?:(?:Mr|Mrs|Ms|Dr|Prof)\. )?{_NAME_WORD}(?: {_NAME_WORD})*")
_FROM_TO_RE = re.compile(
    r"\bfrom ((?:[A-Z0-9][\w,.:]*)(?: (?:[A-Z0-9][\w,.:]*|million|billion|percent))*)"
    r" to ((?:[A-Z0-9][\w,.:]*)(?: (?:[A-Z0-9][\w,.:]*|million|billion|percent))*)"
    r"(?=[,;.]?(?:\s|$))"
)
_NUMBER_RE = re.compile(r"(?<![\w@.])(\d+)((?:[,.:]\d+)*)(?![\w@])")


@dataclass
class Document:
    """One document of a set with its faithful summary sentences."""

    id: str
    domain: str
    text: str
    summary: list[str]
    mutations: list[tuple[str, str, int]] = field(default_factory=list)  # kind, text, sentence


# --- sets -------------------------------------------------------------------------------------


def hand_set(path: Path = DATA) -> list[Document]:
    """The documents of ``path`` (format in its header)."""
    docs: list[Document] = []
    current: Document | None = None
    in_summary = False
    lines: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#") and current is None:
            continue
        if raw.startswith("=== "):
            ident, domain = (p.strip() for p in raw[4:].split("|"))
            current = Document(ident, domain, "", [])
            docs.append(current)
            in_summary, lines = False, []
        elif current is None:
            continue
        elif raw.strip() == "--- summary":
            current.text = "\n".join(lines).strip()
            in_summary = True
        elif in_summary and raw.strip():
            current.summary.append(raw.strip())
        elif not in_summary:
            lines.append(raw)
    return docs


def aclsum_set(split: str = "test") -> list[Document] | str:
    """ACLSum's ``split`` (test, val or train) from the installed ``aclsum`` package, or why it
    is missing."""
    spec = importlib.util.find_spec("aclsum")
    if spec is None or not spec.submodule_search_locations:
        return "aclsum is not installed (pip install aclsum)"
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / f"{split}.jsonl"
    if not path.is_file():
        return f"aclsum has no dataset/{split}.jsonl"
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        sentences = [
            s for sec in ("abstract", "introduction", "conclusion") for s in row["sentences"][sec]
        ]
        text = _detokenise(" ".join(sentences))
        summary = [
            row["summary"][aspect].strip() for aspect in ("challenge", "approach", "outcome")
        ]
        docs.append(Document(row["id"], "science", text, [s for s in summary if s]))
    return docs


def _detokenise(text: str) -> str:
    """ACLSum's sentences are tokenised ("terms ( MT ) ."): glue punctuation back."""
    text = re.sub(r" ([.,;:!?%)\]])", r"\1", text)
    text = re.sub(r"([(\[]) ", r"\1", text)
    return re.sub(r" (n't|'s|'re|'ve|'ll|'d)\b", r"\1", text)


# --- mutations --------------------------------------------------------------------------------


def mutations(doc: Document, rng: random.Random) -> Iterator[tuple[str, str, int]]:
    """(kind, mutated sentence, index of the faithful sentence) for each kind each sentence
    allows; every mutation differs from the faithful sentence."""
    for k, sentence in enumerate(doc.summary):
        for kind, mutate in MUTATORS.items():
            changed = mutate(sentence, doc.text, rng)
            if changed and changed != sentence:
                yield kind, changed, k


_SHORT_MONTHS = frozenset(["April", "June", "September", "November"])


def _possible(sentence: str, match: re.Match[str], new: str) -> bool:
    """Whether ``new`` in the place of ``match`` is still a possible value: a day of the month
    next to it ("38 February" is no date), a clock hour at most 23 ("26:20")."""
    near = [w.strip(",.;") for w in [*sentence[: match.start()].split()[-1:]]]
    near += [w.strip(",.;") for w in sentence[match.end() :].split()[:1]]
    month = next((w for w in near if w in MONTHS), None)
    days = 28 if month == "February" else 30 if month in _SHORT_MONTHS else 31
    if month and not match.group(2) and not 1 <= int(new) <= days:
        return False
    return not (match.group(2).startswith(":") and int(new.split(":", maxsplit=1)[0]) > 23)


def _mutate_number(sentence: str, source: str, rng: random.Random) -> str | None:
    for match in _NUMBER_RE.finditer(sentence):
        head, tail = match.group(1), match.group(2)
        rotated = [f"{(int(head[0]) + step) % 10 or 1}{head[1:]}{tail}" for step in (1, 2, 3, 5, 7)]
        # a day whose first digit cannot change ("28 February") moves by one
        for new in [*rotated, f"{int(head) + 1}{tail}", f"{int(head) - 1}{tail}"]:
            if new not in source and _possible(sentence, match, new):
                start = match.start()
                # "an 870 euro payment" -> "a 970 euro payment", not "an 970"
                article = re.search(r"\b(an?) $", sentence[:start])
                if article:
                    wanted = "an" if new.startswith("8") else "a"
                    sentence = sentence[: article.start(1)] + wanted + " " + sentence[start:]
                    start = article.start(1) + len(wanted) + 1
                    return sentence[:start] + new + sentence[start + len(match.group()) :]
                return sentence[:start] + new + sentence[match.end() :]
    lowered = sentence.lower()
    for word in NUMBER_WORDS:
        found = re.search(rf"\b{word}\b", lowered)
        if found:
            options = [w for w in NUMBER_WORDS if w != word and w not in source.lower()]
            if options:
                new = rng.choice(options)
                if sentence[found.start()].isupper():  # "Two backend ..." -> "Ten backend"
                    new = new.capitalize()
                return sentence[: found.start()] + new + sentence[found.end() :]
    return None


def _mutate_date(sentence: str, source: str, rng: random.Random) -> str | None:
    for names in (WEEKDAYS, MONTHS):
        for name in names:
            found = re.search(rf"\b{name}\b", sentence)
            if found and not (name == "May" and found.start() == 0):
                options = [n for n in names if n != name and n not in source]
                if options:
                    return sentence.replace(name, rng.choice(options), 1)
    return None


def _names(sentence: str, source: str) -> list[re.Match[str]]:
    """Name mentions of ``sentence`` that the source also writes capitalised, not a sentence's
    first word unless the source has it mid-sentence, no weekday or month."""
    found = []
    for match in _NAME_RE.finditer(sentence):
        words = match.group().split()
        if any(w.removesuffix("s") in WEEKDAYS or w in MONTHS for w in words):
            continue
        if words[0] in NOT_NAMES or not re.search(rf"[a-z,;:] {re.escape(words[0])}\b", source):
            continue
        found.append(match)
    return found


def _mutate_name(sentence: str, source: str, rng: random.Random) -> str | None:
    names = _names(sentence, source)
    if not names:
        return None
    match = names[rng.randrange(len(names))]
    last = match.group().split()[-1]
    options = [n for n in INVENTED_NAMES if n not in source and n.split()[-1] != last]
    start = match.end() - len(last)
    return sentence[:start] + rng.choice(options).split()[-1] + sentence[match.end() :]


_SYMMETRIC = re.compile(r"\b(?:and|or|with|met|between|nor|while)\b|[,;]")
# Words before a name that make it a noun's modifier ("the Oslo conference", when a content
# word follows) or put it inside a prepositional phrase ("of Hartwell Furniture told").
_DETERMINERS = frozenset(["the", "a", "an", "her", "his", "its", "their", "our", "my", "your"])
_PREPOSITIONS = frozenset(["of", "for", "at", "in", "on", "from", "to", "by", "with", "into"])
# Words that are no verb between two names.
_FUNCTION_WORDS = frozenset(
    [
        *_DETERMINERS,
        *_PREPOSITIONS,
        "that",
        "which",
        "who",
        "whom",
        "whose",
        "this",
        "these",
        "those",
        "them",
        "him",
        "it",
        "us",
        "me",
        "both",
        "all",
        "some",
        "each",
        "and",
        "or",
        "but",
        "if",
        "as",
        "than",
        "so",
        "because",
        "when",
        "while",
        "also",
        "then",
    ]
)
_PARTICLES = frozenset(["up", "off", "out", "down", "over", "back", "away", "on", "in"])
# The one preposition a verb group may end with before its second party: not "of" or "for"
# ("scored both of City's goals", "was sent off for City" name an owner or a team).
_ROLE_PREPOSITIONS = frozenset(["to", "by", "at", "in", "on", "into", "against", "over", "from"])


def _modifier(sentence: str, match: re.Match[str]) -> bool:
    """Whether the name ``match`` modifies a noun after a determiner ("the Oslo conference",
    "her Fjord oak table", "the Paninian framework"): it is no party of a verb."""
    before = re.findall(r"[A-Za-z]+", sentence[: match.start()])
    after = re.match(r"\s+([a-z][\w-]*)", sentence[match.end() :])
    return (
        bool(before)
        and before[-1].lower() in _DETERMINERS
        and after is not None
        and after.group(1) not in _FUNCTION_WORDS
        and after.group(1) not in AUXILIARIES
    )


def _verb_link(between: str) -> bool:
    """Whether ``between`` is only a verb group joining a subject to its object: adverbs and
    auxiliaries, a verb (and particle), at most one preposition of _ROLE_PREPOSITIONS, "the";
    a possessive object ("set up Doyle's equaliser") is read by the caller."""
    words = between.split()
    if not words or any(not re.fullmatch(r"[a-z][a-z-]*", w) for w in words):
        return False
    if words[-1] == "the":
        words = words[:-1]
    if words and words[-1] in _ROLE_PREPOSITIONS:
        words = words[:-1]
    if words and len(words) > 1 and words[-1] in _PARTICLES:
        words = words[:-1]
    if not words:
        return False
    *helpers, verb = words
    if verb in _FUNCTION_WORDS or verb in AUXILIARIES:  # "A is B": no verb with two parties
        return False
    return all(
        w in AUXILIARIES
        or w.endswith("ly")
        or w in ("be", "been", "being", "not", "now", "also", "then", "later", "to")
        for w in helpers
    )


def _mutate_role(sentence: str, source: str, rng: random.Random) -> str | None:
    """Swap the two parties of one verb: a subject name, a verb group, an object name ("Rovers
    beat City", "Anna Nowak will ask Crestline Estates", "Marsh set up Doyle's equaliser").
    Names that modify a noun ("the Oslo conference"), a name inside a prepositional phrase
    ("of Hartwell Furniture told"), names one inside the other ("Hidden Markov Models" and
    "Markov") and names joined by more than a verb group are not swapped."""
    names = _names(sentence, source)
    for a_pos, a in enumerate(names):
        before = re.findall(r"[A-Za-z]+", sentence[: a.start()])
        if (before and before[-1].lower() in _PREPOSITIONS) or _modifier(sentence, a):
            continue
        for b in names[a_pos + 1 : a_pos + 2]:
            between = sentence[a.end() : b.start()]
            if a.group() == b.group() or _SYMMETRIC.search(between):
                continue
            if set(a.group().split()) & set(b.group().split()) or _modifier(sentence, b):
                continue
            if not _verb_link(between):
                continue
            return sentence[: a.start()] + b.group() + between + a.group() + sentence[b.end() :]
    return None


def _mutate_direction(sentence: str, source: str, rng: random.Random) -> str | None:
    match = _FROM_TO_RE.search(sentence)
    if match is None or match.group(1) == match.group(2):
        return None
    x, y = match.group(1).rstrip(",.:"), match.group(2).rstrip(",.:")
    end = match.start(2) + len(y)
    return sentence[: match.start()] + f"from {y} to {x}" + sentence[end:]


def _mutate_order(sentence: str, source: str, rng: random.Random) -> str | None:
    found = re.search(r"(?<!look )(?<!take )\b(before|after)\b(?! all)", sentence)
    if found is None:
        return None
    new = "after" if found.group(1) == "before" else "before"
    return sentence[: found.start()] + new + sentence[found.end() :]


# "not only ... but" adds, it does not deny: removing its "not" leaves "only ... but", no
# English, and no negation is removed.
_NOT_ADDITIVE = r"(?!\s+(?:only|just|merely|simply)\b)"
# Past participles that make "has", "have" or "had" an auxiliary ("has lost"), not the verb
# ("has until the 12th", "have problems").
_PARTICIPLE_RE = re.compile(
    r"been|become|begun|brought|built|bought|caught|come|cut|done|felt|found|given|gone|"
    r"got|grown|had|held|heard|hit|kept|known|laid|led|left|lost|made|meant|met|paid|put|"
    r"read|risen|run|said|seen|sent|set|shown|shut|spent|stood|taken|taught|thought|told|"
    r"understood|won|worn|written"
)
_AUXILIARY_ADVERBS = frozenset(
    [
        "not",
        "never",
        "already",
        "also",
        "just",
        "now",
        "still",
        "recently",
        "always",
        "ever",
        "only",
        "yet",
        "to",
        "long",
        "since",
    ]
)
_DO_SUPPORT = {"has": "does not have", "have": "do not have", "had": "did not have"}


def _remove_negation(sentence: str) -> str | None:
    removals = (
        (r"\bwon't\b" + _NOT_ADDITIVE, "will"),
        (r"\bcan't\b" + _NOT_ADDITIVE, "can"),
        (r"\b(is|are|was|were|do|does|did|has|have|had)n't\b" + _NOT_ADDITIVE, r"\1"),
        (
            r"\b(is|are|was|were|will|can|do|does|did|has|have|had|could|should) not\b"
            + _NOT_ADDITIVE,
            r"\1",
        ),
        (r"\bnot\b" + _NOT_ADDITIVE + " ", ""),
        (r"\bnever ", ""),
        (r"\bno longer\b", "still"),
    )
    for pattern, replacement in removals:
        match = re.search(pattern, sentence)
        if match is None:
            continue
        rest = sentence[match.end() :]
        # "won't reopen until the 1st" denied is "will reopen before the 1st", not "will
        # reopen until the 1st"
        rest = re.sub(r"\buntil\b", "before", rest, count=1)
        return sentence[: match.start()] + match.expand(replacement) + rest
    # "no X": after a verb the determiner goes ("gets no compensation" -> "gets
    # compensation"); a subject takes "some" ("no study assesses" -> "some study assesses",
    # not "study assesses"); "limited or no use" is left: "limited or use" is no English.
    for match in re.finditer(r"\b(no) (?=[a-z])", sentence):
        previous = re.findall(r"[A-Za-z']+", sentence[: match.start()])
        last = previous[-1].lower() if previous else ""
        if last == "or":
            continue
        verb = last in AUXILIARIES or last in ("there", "be", "been") or last.endswith("s")
        verb = verb or last.endswith("ed")
        new = "" if verb else "some "
        return sentence[: match.start()] + new + sentence[match.end() :]
    return None


def _insert_negation(sentence: str) -> str | None:
    for match in re.finditer(r"\b(\w+)\b", sentence):
        word = match.group(1)
        if word.lower() not in AUXILIARIES:
            continue
        after = re.match(r"\s+([\w'-]+)", sentence[match.end() :])
        following = after.group(1).lower() if after else ""
        rest = sentence[match.end() :]
        if word.lower() in _DO_SUPPORT and not (
            following.endswith("ed")
            or following in _AUXILIARY_ADVERBS
            or _PARTICIPLE_RE.fullmatch(following)
        ):
            # "has" as the verb: "She has until the 12th" -> "She does not have until the
            # 12th", not "She has not until the 12th"
            head = _DO_SUPPORT[word.lower()]
            head = head.capitalize() if word[0].isupper() else head
            changed = sentence[: match.start()] + head + rest
        else:
            changed = sentence[: match.end()] + " not" + rest
        # "there are not some works" -> "there are not any works"
        return re.sub(r"(\bnot (?:be |been |have )?)some\b", r"\1any", changed, count=1)
    return None


def _mutate_negation(sentence: str, source: str, rng: random.Random) -> str | None:
    """Remove the sentence's first negation, or else negate its first auxiliary: English
    either way (see the module docstring for what is not planted)."""
    return _remove_negation(sentence) or _insert_negation(sentence)


MUTATORS: dict[str, Callable[[str, str, random.Random], str | None]] = {
    "number": _mutate_number,
    "date": _mutate_date,
    "name": _mutate_name,
    "negation": _mutate_negation,
    "role": _mutate_role,
    "direction": _mutate_direction,
    "order": _mutate_order,
}


# --- guards -----------------------------------------------------------------------------------


def previous_guard(commit: str = BASELINE_COMMIT) -> Any:
    """The grounding module of ``commit``, imported from a temporary package (its own modules'
    imports of each other rewritten); None when git cannot read it."""
    folder = Path(tempfile.mkdtemp(prefix="guard_baseline_"))
    package = folder / "guard_baseline"
    package.mkdir()
    (package / "__init__.py").write_text("")
    try:
        listing = subprocess.run(
            ["git", "-C", str(ROOT), "ls-tree", "--name-only", commit, "src/privcloud/workloads/"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    # Every guard module the commit has (grounding*.py), not a fixed list: the guard has
    # grown modules since (polarity, relations).
    names = [Path(p).stem for p in listing.split() if re.fullmatch(r".*/grounding\w*\.py", p)]
    for name in names:
        try:
            text = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{commit}:src/privcloud/workloads/{name}.py"],
                capture_output=True,
                check=True,
                text=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        text = re.sub(r"privcloud\.workloads\.(grounding\w*)", r"guard_baseline.\1", text)
        (package / f"{name}.py").write_text(text)
    sys.path.insert(0, str(folder))
    return importlib.import_module("guard_baseline.grounding")


@dataclass
class Verdicts:
    kept: list[bool]
    seconds: float
    cold_seconds: float


def run_guard(guard: Any, source: str, sentences: Sequence[str], embed: Any) -> Verdicts:
    """Which of ``sentences`` (one summary, or one planted sentence per line) the guard keeps."""
    started = time.perf_counter()
    prepared = guard.prepare_source(source, embed) if hasattr(guard, "prepare_source") else source
    prepared_at = time.perf_counter()
    report = guard.check_summary(prepared, "\n".join(sentences), embed)
    done = time.perf_counter()
    checks = report.sentences
    if len(checks) != len(sentences):  # a sentence split in two: check each alone
        kept = [
            all(c.kept for c in guard.check_summary(prepared, s, embed).sentences)
            for s in sentences
        ]
    else:
        kept = [c.kept for c in checks]
    if not hasattr(guard, "prepare_source"):
        return Verdicts(kept, done - started, done - started)
    return Verdicts(kept, done - prepared_at, done - started)


def lexical_keep(source: str, sentence: str) -> bool:
    """The trivial guard: 60% of the sentence's content words occur in the document."""
    wanted = content_words(sentence)
    return not wanted or len(wanted & content_words(source, source=True)) / len(wanted) >= 0.6


def evaluate(guard: Any, docs: Sequence[Document], embed: Any) -> dict[str, Any]:
    faithful = dropped = lost_summaries = 0
    times: list[float] = []
    cold: list[float] = []
    per_sentence: list[float] = []
    caught: dict[str, list[int]] = {kind: [0, 0] for kind in KINDS}
    for doc in docs:
        verdicts = run_guard(guard, doc.text, doc.summary, embed)
        faithful += len(doc.summary)
        misses = verdicts.kept.count(False)
        dropped += misses
        lost_summaries += misses > 0
        times.append(verdicts.seconds)
        cold.append(verdicts.cold_seconds)
        per_sentence.append(verdicts.seconds / max(1, len(doc.summary)))
        planted = run_guard(guard, doc.text, [m[1] for m in doc.mutations], embed)
        for (kind, _, _), kept in zip(doc.mutations, planted.kept, strict=True):
            caught[kind][0] += not kept
            caught[kind][1] += 1
    total_caught = sum(c for c, _ in caught.values())
    total = sum(n for _, n in caught.values())
    relation = [caught[k] for k in RELATION_KINDS]
    return {
        "false_alarm_rate": round(dropped / max(1, faithful), 3),
        "summaries_with_false_alarm": round(lost_summaries / max(1, len(docs)), 3),
        "catch_rate": round(total_caught / max(1, total), 3),
        "catch_by_kind": {k: round(c / n, 3) if n else None for k, (c, n) in caught.items()},
        "relation_caught": round(
            sum(c for c, _ in relation) / max(1, sum(n for _, n in relation)), 3
        ),
        "seconds_per_summary": round(_median(times), 4),
        "seconds_per_summary_cold": round(_median(cold), 4),
        "seconds_per_sentence": round(_median(per_sentence), 4),
    }


def evaluate_lexical(docs: Sequence[Document]) -> dict[str, Any]:
    faithful = [lexical_keep(d.text, s) for d in docs for s in d.summary]
    planted = [lexical_keep(d.text, m[1]) for d in docs for m in d.mutations]
    return {
        "false_alarm_rate": round(faithful.count(False) / max(1, len(faithful)), 3),
        "catch_rate": round(planted.count(False) / max(1, len(planted)), 3),
    }


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sets", default="hand,aclsum")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--aclsum-split",
        choices=("test", "val", "train"),
        default="test",
        help="ACLSum split: test (the reported figures) or val/train (to develop rules on, "
        "keeping the test split held out)",
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--dump", help="write every verdict of the new guard to this JSON file")
    args = parser.parse_args(argv)
    models: Models = shared_models()
    embed = models.embed
    embed(["warm up"])
    previous = None if args.no_baseline else previous_guard()
    out: dict[str, Any] = {
        "bench": "eval_guard",
        "targets": {
            "false_alarm_rate": "<= 0.10",
            "catch_rate": ">= 0.95",
            "seconds_per_summary": "<= 0.2",
        },
    }
    for name in args.sets.split(","):
        docs = hand_set() if name == "hand" else aclsum_set(args.aclsum_split)
        if isinstance(docs, str):
            out[name] = {"skipped": docs}
            continue
        rng = random.Random(args.seed)
        for doc in docs:
            doc.mutations = list(mutations(doc, rng))
        result: dict[str, Any] = {
            "documents": len(docs),
            **({"split": args.aclsum_split} if name == "aclsum" else {}),
            "faithful_sentences": sum(len(d.summary) for d in docs),
            "planted": {k: sum(m[0] == k for d in docs for m in d.mutations) for k in KINDS},
            "words_per_document": _median([len(d.text.split()) for d in docs]),
            "guard": evaluate(grounding, docs, embed),
            "lexical": evaluate_lexical(docs),
        }
        if previous is not None:
            result["previous"] = evaluate(previous, docs, embed)
        out[name] = result
        if args.dump:
            _dump(Path(f"{args.dump}.{name}.json"), docs, embed)
    out["baseline_commit"] = BASELINE_COMMIT[:12] if previous is not None else None
    print(json.dumps(out, separators=(",", ":")))


def _dump(path: Path, docs: Sequence[Document], embed: Any) -> None:
    rows = []
    for doc in docs:
        source = grounding.prepare_source(doc.text, embed)
        report = grounding.check_summary(source, "\n".join(doc.summary), embed)
        rows += [{"doc": doc.id, "faithful": True, **c.to_json()} for c in report.sentences]
        for kind, text, _ in doc.mutations:
            [*checks] = grounding.check_summary(source, text, embed).sentences
            rows += [{"doc": doc.id, "kind": kind, **c.to_json()} for c in checks]
    path.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""Who did what to whom: the relation checks of the summary guard
(:mod:`privcloud.workloads.grounding`).

Fact and word checks pass a summary that recombines the source's own facts: "Brightway Dental
called Thomas Berg" when he called them, "moved from Friday to Monday" when it was the reverse,
"the talks collapsed after the strike was called" when it was before. Four checks look at the
relations between the facts and names of a sentence (its *mentions*), each giving a verdict
only where the source states the relation, so that a paraphrase the checks cannot read passes:

1. **Calls.** In a transcript with speaker labels, each name is given to the party it belongs to
   (self-introductions "this is X", "my name is X", "X speaking"; a question "is that X?" or a
   greeting "Hi X," names the other party), and the caller is the party that says why it is
   calling or the one that did not answer ("Hello?", "Brightway Dental, Karen speaking"). "X
   called Y" fails when X and Y are the same party (she called *from* the company, not the
   company) or when X is not the caller.
2. **Roles.** Two names joined by a verb ("Rovers beat City", "Anna emailed Ben", a passive "by"
   turned round) must not be joined in the opposite direction in every source sentence holding
   both (a passive's agent may carry modifiers: "supported by effective NER"). Names joined
   by "and", "with", "or" or a comma are symmetric and not compared, nor are two names in
   different clauses ("datasets show *that* our model outperforms BERT").
   Two names also fail when each has the other's neighbours: the content words next to the
   first in the sentence are next to the second only in the source, and the other way round
   ("her Denmark oak table ... a workshop in Fjord" for "the Fjord oak table ... a workshop in
   Denmark").
3. **Direction and order.** A mention after "from" or "since" is an origin, one after "to",
   "until", "till" or "into" a goal (the next mentions inherit it: "from Monday 4 August");
   "from X to Y" fails when the source has only "from Y ... to X", or, for amounts, when one
   source sentence calls Y the earlier and X the new one ("had set aside 6.2 million; the new
   estimate is 9.5 million"). "P before Q" and "P after Q"
   (also ", followed by", ", then") are aligned with a source sentence that has such a word by
   the content words on each side, and fail when the source orders them the other way.
4. **Places.** A name after "at", "in", "to" (and an article) is a place or goal; two names of
   which a sentence places the second fail when a source sentence holding both places only the
   first ("the National Library will be displayed at the Portsend Map" against "the Portsend
   Map will travel to the National Library").

Heuristics over word order, not a parser: they read English prose and transcripts, and they
are built to stay silent (pass) whenever the source does not state the relation in a form they
can read (the measured cost of a false alarm on faithful summaries is what bench/eval_guard.py
reports).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from privcloud import limits
from privcloud.workloads.grounding_facts import content_words
from privcloud.workloads.grounding_lexicon import REPORTING_WORDS, STOPWORDS
from privcloud.workloads.grounding_scan import Fact, Scanner, name_tokens
from privcloud.workloads.text.stemming import stem

__all__ = [
    "CallParties",
    "Mention",
    "call_conflicts",
    "call_parties",
    "direction_conflicts",
    "place_conflicts",
    "mentions",
    "order_conflicts",
    "role_conflicts",
]

_ORIGIN = frozenset({"from", "since"})
_GOAL = frozenset({"to", "until", "till", "into"})
# Text between two mentions that makes them one symmetric group ("Anna and Ben", "with Ben").
_SYMMETRIC_RE = re.compile(r"\b(?:and|or|with|between|nor|met|versus|vs)\b|[,;:()]")
# Words that open another clause: a name past one is no party of the verb before it ("Ben left
# *because* Anna called").
_SUBORDINATE_RE = re.compile(
    r"\b(?:whom|whose|where|when|whether|if|because|but|while|whereas|although|though|so)\b",
    re.IGNORECASE,
)
# "that" opens a clause after a verb of saying, finding or showing ("two Chinese datasets show
# *that* our model outperforms BERT", "Anna said that Martin paid Ben"); elsewhere it may be a
# determiner ("Ben paid *that* Brightway deposit").
_REPORTED_RE = re.compile(
    r"\b(?:say|says|said|tell|tells|told|show|shows|showed|shown|find|finds|found|report|"
    r"reports|reported|claim|claims|claimed|argue|argues|argued|believe|believes|believed|"
    r"think|thinks|thought|know|knows|knew|note|notes|noted|suggest|suggests|suggested|"
    r"demonstrate|demonstrates|demonstrated|prove|proves|proved|confirm|confirms|confirmed|"
    r"mention|mentions|mentioned|explain|explains|explained|indicate|indicates|indicated|"
    r"reveal|reveals|revealed|agree|agrees|agreed|hope|hopes|hoped|expect|expects|expected|"
    r"mean|means|meant|ensure|ensures|ensured|learn|learns|learned|learnt|observe|observes|"
    r"observed)\s+that\b",
    re.IGNORECASE,
)
# A relative pronoun right after the first name (or after "is the one") makes that name the
# subject of the verb after it ("It was Ben *who* paid Martin", "Martin is the one who paid
# Ben"); after other words it opens a clause about something else ("Ben met the agent who paid
# Martin").
_RELATIVE_RE = re.compile(r"\b(?:who|which)\b", re.IGNORECASE)
# A name right after the relative word is the subject of a clause of its own ("Martin *who*
# Anna paid", "the invoice *that* Anna sent"): it is no party of the verb before.
_OBJECT_RELATIVE_RE = re.compile(r"\b(?:who|whom|which|that)\s*$", re.IGNORECASE)
# The whole gap between two names when the second opens an object relative on the first:
# "Martin*, who* Anna paid".
_OBJECT_RELATIVE_GAP_RE = re.compile(r"\s*,?\s*(?:who|whom|which|that)\s*", re.IGNORECASE)
# The verb of an object relative's own clause, after its subject name: "Martin, who Anna
# *paid* yesterday", "Harbor Bank, which Ben *has called*" (auxiliaries and an adverb first).
_RELATIVE_VERB_RE = re.compile(
    r"^\s+(?:(?:has|had|have|is|was|were|will|would|can|could|did|does|just|already|also|"
    r"then)\s+){0,2}([a-z][a-z'-]*)\b"
)
_OWN_RELATIVE_RE = re.compile(
    r"^\s*(?:(?:is|was|are|were)\s+the\s+(?:one|ones|person|people|company|firm|team)\s+)?"
    r"(?:who|which|that)\b",
    re.IGNORECASE,
)
# Words that join two names without a verb: "Anna from Brightway", "Ben of Harbor Bank".
_LINK_WORDS = frozenset(
    ["from", "of", "at", "in", "for", "the", "a", "an", "s", "to", "do", "de", "da", "by", "on"]
)
# The agent of a passive may carry an article and up to two modifiers ("supported by
# effective NER"), though none that starts a phrase or a clause of its own ("followed by a call
# to Ben", "delayed by traffic so Anna waited").
_PASSIVE_RE = re.compile(
    r"\b(?:was|were|is|are|been|be|being|got|gets)\b.*\bby\s+(?:(?:the|an?)\s+)?"
    r"(?:(?!(?:to|from|of|with|for|in|on|at|into|by|and|or|that|which|who|so|then|after|before|"
    r"until|since|as|once|when|while|because|but|if)\b)[a-z][\w-]*\s+){0,2}$"
)
_CALL_VERB_RE = re.compile(
    r"^(?:'s?)?[\w\s'-]{0,40}?\b(?:called|phoned|rang|rung|calls|phones|rings|contacted)\s+"
    r"(?:the\s+|(?:mr|mrs|ms|miss|dr)\.?\s+)?$",
    re.IGNORECASE,
)
_CALL_BREAK_RE = re.compile(r"\b(?:and|who|that|because|which|but|so)\b|[,;]", re.IGNORECASE)
_TURN_RE = re.compile(r"(?im)^[ \t]*speaker[ \t]*(\w{1,3})[ \t]*:(.*)$")
_CALLING_RE = re.compile(
    r"\b(?:i'?m|i am|we'?re|we are) (?:just )?calling\b|\breason (?:i'?m|i am|for my) call"
    r"|\bthis is \w+(?: \w+)? calling\b|\breturning your call\b",
    re.IGNORECASE,
)
_ANSWER_RE = re.compile(
    r"^\W*(?:hello|hi|hey|yes|good (?:morning|afternoon|evening))?\W*$"
    r"|\bspeaking\W*$|\bhow (?:can|may) i help\b",
    re.IGNORECASE,
)
# "this is Anna", "my name is Anna", "it's Anna", "I'm Anna": the speaker's own name follows.
_SELF_CUE_RE = re.compile(
    r"\b(?:this is|my name is|it'?s|i'?m|i am)\s+(?=(?:(?:mr|mrs|ms|miss|dr)\.?\s+)?[A-Z][\w'-])",
    re.IGNORECASE,
)
# "Is that Ms. Duarte?", "Hi Karen,": the other party's name follows.
_OTHER_RE = re.compile(
    r"\b(?:is (?:this|that)|am i (?:speaking|talking) (?:to|with)|hi|hello|hey|dear|thanks|"
    r"thank you)\W*(?:(?:mr|mrs|ms|miss|dr)\.?\s+)?$",
    re.IGNORECASE,
)
_GREETING_RE = re.compile(
    r"^\W*(?:(?:good )?(?:morning|afternoon|evening)|hello|hi|hey)?[\W]*$", re.IGNORECASE
)
_SPEAKING_RE = re.compile(r"\W{0,4}(?:speaking|here)\b", re.IGNORECASE)
_ORDER_RE = re.compile(
    r"\b(before|after|prior to)\b|(,\s*(?:and\s+)?then\b|,?\s*followed by)", re.IGNORECASE
)


@dataclass(frozen=True)
class Mention:
    """A fact or name of a sentence with its offsets and the direction word that marks it
    ("origin", "goal" or "")."""

    fact: Fact
    start: int
    end: int
    marker: str

    def same(self, other: Mention) -> bool:
        """Whether ``other`` (a source mention) names the same thing: names by a shared
        contiguous token run (so "Mr. Berg" is "Thomas Berg"), other facts by value or key."""
        if self.fact.kind == "name" or other.fact.kind == "name":
            if self.fact.kind != other.fact.kind:
                return False
            mine, theirs = self.fact.value.split(), other.fact.value.split()
            if not mine or not theirs:
                return False
            short, long = (mine, theirs) if len(mine) <= len(theirs) else (theirs, mine)
            return any(long[k : k + len(short)] == short for k in range(len(long) - len(short) + 1))
        if self.fact.value and self.fact.value == other.fact.value:
            return True
        return bool(set(self.fact.keys) & set(other.fact.keys))


_FIRST_WORDS_RE = re.compile(r"\W*((?:[A-Z][\w'-]*)(?: [A-Z][\w'-]*)*)")


def mentions(text: str, proper: frozenset[str] = frozenset()) -> list[Mention]:
    """The facts and names of ``text`` in order, with offsets and direction markers.

    A sentence's first words are not read as a name when they look like common words ("City",
    "Rovers"); ``proper`` (lower-case words that a source writes capitalised mid-sentence) puts
    them back.
    """
    found = _mentions(text)
    first = _FIRST_WORDS_RE.match(text)
    if first and (not found or found[0].start > first.start(1)):
        words = first.group(1).split()
        taken = 0
        while taken < len(words) and words[taken].lower().removesuffix("'s") in proper:
            taken += 1
        if taken:
            surface = " ".join(words[:taken]).removesuffix("'s")
            value = " ".join(name_tokens(surface))
            start = first.start(1)
            found.insert(0, Mention(Fact("name", surface, value), start, start + len(surface), ""))
    return found


def _mentions(text: str) -> list[Mention]:
    found: list[Mention] = []
    cursor = 0
    marker = ""
    for fact in Scanner(text, generous=False).facts():
        if not fact.text or not (fact.keys or fact.kind == "name"):
            continue
        start = text.find(fact.text, cursor)
        if start < 0:
            continue
        gap = text[cursor:start]
        previous = re.findall(r"[a-z]+", gap.lower())
        if previous and previous[-1] in _ORIGIN:
            marker = "origin"
        elif previous and previous[-1] in _GOAL:
            marker = "goal"
        elif not found or not re.fullmatch(r"[\s,]*(?:the\s+|of\s+)?", gap):
            marker = ""
        found.append(Mention(fact, start, start + len(fact.text), marker))
        cursor = start + len(fact.text)
    return found


# --- roles ------------------------------------------------------------------------------------


def _relational(between: str) -> bool:
    """Whether the text between two names relates them through a verb (not "and", not a
    bare "from" or "of")."""
    if _SYMMETRIC_RE.search(between) or _SUBORDINATE_RE.search(between):
        return False
    if _REPORTED_RE.search(between):
        return False
    if _OBJECT_RELATIVE_RE.search(between):
        return False
    if _RELATIVE_RE.search(between) and not _OWN_RELATIVE_RE.match(between):
        return False
    words = re.findall(r"[a-z]+", between.lower())
    return bool(words) and not all(w in _LINK_WORDS for w in words)


def _object_relative(between: str, after: str) -> bool:
    """Whether the second name is the subject of an object relative on the first, with its
    verb after it ("Martin, *who* Anna *paid* yesterday"): the second acts on the first."""
    if not _OBJECT_RELATIVE_GAP_RE.fullmatch(between):
        return False
    verb = _RELATIVE_VERB_RE.match(after)
    return verb is not None and verb.group(1) not in STOPWORDS


def _orientation(between: str) -> int:
    """+1 when the first name acts on the second ("A called B"), -1 in the passive ("A was
    called by B")."""
    return -1 if _PASSIVE_RE.search(between.lower()) else 1


def _occurrences(mention: Mention, source: Sequence[SourceSentence]) -> list[tuple[int, Mention]]:
    return [(k, m) for k, src in enumerate(source) for m in src.mentions if mention.same(m)]


def role_conflicts(
    sentence: str, mine: Sequence[Mention], source: Sequence[SourceSentence]
) -> list[str]:
    """Pairs of names that the source joins only the other way round."""
    names = [m for m in mine if m.fact.kind == "name"][: limits.MAX_GUARD_RELATED]
    where = [_occurrences(m, source) for m in names]
    found = []
    for k, a in enumerate(names):
        for j in range(k + 1, len(names)):
            b = names[j]
            between = sentence[a.end : b.start]
            if a.same(b) or not _relational(between):
                continue
            want = _orientation(between)
            seen = []
            for index, sa in where[k]:
                for other, sb in where[j]:
                    if other != index or sb is sa:
                        continue
                    first, second = (sa, sb) if sa.start < sb.start else (sb, sa)
                    text = source[index].text
                    gap = text[first.end : second.start]
                    order = 1 if first is sa else -1
                    if _object_relative(gap, text[second.end :]):
                        seen.append(-order)  # "Martin, who Anna paid": Anna paid Martin
                    elif _relational(gap):
                        seen.append(order * _orientation(gap))
            if seen and want not in seen:
                found.append(
                    f"'{a.fact.text}' and '{b.fact.text}' are the other way round in the source"
                )
    return found


_NEIGHBOUR_WORD_RE = re.compile(r"[^\W\d_]+")
_CONTEXT_BREAK_RE = re.compile(r"[,;:.!?()\[\]\"]")
#: Content words on each side of a mention that are its neighbours (:func:`_neighbours`).
NEIGHBOUR_WORDS = 2
#: Characters on each side of a mention that its neighbours are looked for in.
NEIGHBOUR_CHARS = 40


def _neighbours(text: str, mention: Mention) -> frozenset[str]:
    """The content words next to ``mention`` in ``text`` (stemmed): up to
    :data:`NEIGHBOUR_WORDS` on each side, within :data:`NEIGHBOUR_CHARS` characters and the
    same stretch between punctuation, no stopwords, no capitalised words (other names)."""

    def words(piece: str) -> list[str]:
        return [
            stem(w.lower())
            for w in _NEIGHBOUR_WORD_RE.findall(piece)
            if len(w) > 1 and not w[0].isupper() and w.lower() not in STOPWORDS
        ]

    left = text[max(0, mention.start - NEIGHBOUR_CHARS) : mention.start]
    right = text[mention.end : mention.end + NEIGHBOUR_CHARS]
    before = words(_CONTEXT_BREAK_RE.split(left)[-1])[-NEIGHBOUR_WORDS:]
    after = words(_CONTEXT_BREAK_RE.split(right)[0])[:NEIGHBOUR_WORDS]
    return frozenset(before + after)


def swap_conflicts(
    sentence: str, mine: Sequence[Mention], source: Sequence[SourceSentence]
) -> list[str]:
    """Pairs of names that have each other's places: a word next to the first name in the
    sentence is next to the second in the source and never next to the first, and a word
    next to the second is next to the first only ("her Denmark oak table ... the workshop in
    Fjord" against "the Fjord oak table ... a workshop in Denmark"). Both must hold: one
    word alone is often a paraphrase's."""
    names = [m for m in mine if m.fact.kind == "name"][: limits.MAX_GUARD_RELATED]
    around = [
        frozenset().union(*(_neighbours(source[k].text, m) for k, m in _occurrences(n, source)))
        for n in names
    ]
    near = [_neighbours(sentence, n) for n in names]
    found = []
    for k, a in enumerate(names):
        for j in range(k + 1, len(names)):
            b = names[j]
            if a.same(b):
                continue
            crossed_a = (near[k] - near[j]) & (around[j] - around[k])
            crossed_b = (near[j] - near[k]) & (around[k] - around[j])
            if crossed_a and crossed_b:
                found.append(
                    f"'{a.fact.text}' and '{b.fact.text}' have each other's places in the source"
                )
    return found


# --- calls ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallParties:
    """The parties of a labelled transcript: which speaker each name belongs to, and which
    speaker placed the call (None when the transcript does not say)."""

    owners: tuple[tuple[Mention, str], ...]
    caller: str | None

    def owner(self, mention: Mention) -> str | None:
        owners = {speaker for m, speaker in self.owners if mention.same(m)}
        return owners.pop() if len(owners) == 1 else None


def call_parties(source: str) -> CallParties | None:
    """The parties of ``source`` when it is a transcript of two labelled speakers."""
    turns = [(m.group(1), m.group(2).strip()) for m in _TURN_RE.finditer(source)]
    speakers = list(dict.fromkeys(s for s, _ in turns))
    if len(speakers) != 2:
        return None
    other = {speakers[0]: speakers[1], speakers[1]: speakers[0]}
    caller = next((s for s, text in turns if _CALLING_RE.search(text)), None)
    if caller is None and turns and _ANSWER_RE.search(turns[0][1].split("?")[0].split(".")[0]):
        caller = other[turns[0][0]]
    if caller is None and turns and _ANSWER_RE.search(turns[0][1]):
        caller = other[turns[0][0]]
    owners: list[tuple[Mention, str]] = []
    claimed: list[tuple[Mention, str]] = []
    for speaker, text in turns:
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            cue = _SELF_CUE_RE.search(sentence)
            introduced = cue is not None or "speaking" in sentence.lower()
            names = [m for m in mentions(sentence) if m.fact.kind == "name"]
            for k, mention in enumerate(names):
                # bounded look-behind: a turn of thousands of names stays linear
                before = sentence[max(0, mention.start - 60) : mention.start]
                if _OTHER_RE.search(before):
                    claimed.append((mention, other[speaker]))
                elif (
                    (cue is not None and mention.start >= cue.end())
                    or _SPEAKING_RE.match(sentence, mention.end)
                    or (introduced and mention.start <= 60 and _GREETING_RE.match(before))
                    or (
                        k
                        and owners
                        and owners[-1][0] is names[k - 1]
                        and " from " in sentence[names[k - 1].end : mention.start]
                    )
                ):
                    owners.append((mention, speaker))
    owned = [m for m, _ in owners]
    owners += [(m, s) for m, s in claimed if not any(m.same(o) for o in owned)]
    return CallParties(tuple(owners), caller)


def call_conflicts(
    sentence: str, mine: Sequence[Mention], parties: CallParties | None
) -> list[str]:
    """ "X called Y" against the parties of the call."""
    if parties is None:
        return []
    names = [m for m in mine if m.fact.kind == "name"]
    found = []
    for a, b in itertools.pairwise(names):
        between = sentence[a.end : b.start]
        if not _CALL_VERB_RE.search(between) or _CALL_BREAK_RE.search(between):
            continue
        who, whom = parties.owner(a), parties.owner(b)
        if who is not None and who == whom:
            found.append(f"'{a.fact.text}' and '{b.fact.text}' are the same party of the call")
        elif who is not None and parties.caller is not None and who != parties.caller:
            found.append(f"'{a.fact.text}' did not place the call")
        elif whom is not None and parties.caller is not None and whom == parties.caller:
            found.append(f"'{b.fact.text}' placed the call")
    return found


# --- direction and order ----------------------------------------------------------------------


def direction_conflicts(mine: Sequence[Mention], source: Sequence[SourceSentence]) -> list[str]:
    """ "from X to Y" that the source states only as "from Y to X"."""
    found = []
    origins = [m for m in mine if m.marker == "origin"][: limits.MAX_GUARD_RELATED]
    goals = [m for m in mine if m.marker == "goal"][: limits.MAX_GUARD_RELATED]
    where = {id(m): _occurrences(m, source) for m in (*origins, *goals)}
    for x in origins:
        for y in goals:
            if y.start < x.start or x.same(y):
                continue
            xs: dict[int, set[str]] = {}
            for k, m in where[id(x)]:
                xs.setdefault(k, set()).add(m.marker)
            agree = disagree = False
            for k, m in where[id(y)]:
                markers = xs.get(k, set())
                agree |= "origin" in markers and m.marker == "goal"
                disagree |= "goal" in markers and m.marker == "origin"
            if disagree and not agree:
                found.append(f"from '{x.fact.text}' to '{y.fact.text}' is reversed in the source")
    return found


# A name after these (and "the") is a place or a goal: what holds or receives the thing the
# sentence is about ("displayed at the National Library", "English inclusions in German text").
_PLACE_WORDS = frozenset({"at", "in", "into", "inside", "within", "onto", "to"})
_PLACE_BEFORE_RE = re.compile(r"\b([a-z]+)\s+(?:(?:the|a|an)\s+)?$", re.IGNORECASE)
#: Characters before a mention in which its place word is looked for.
_PLACE_CHARS = 24


def _placed(text: str, mention: Mention) -> bool:
    """Whether ``mention`` follows a place word of _PLACE_WORDS (and an article) in ``text``."""
    before = _PLACE_BEFORE_RE.search(text[max(0, mention.start - _PLACE_CHARS) : mention.start])
    return before is not None and before.group(1).lower() in _PLACE_WORDS


def place_conflicts(
    sentence: str, mine: Sequence[Mention], source: Sequence[SourceSentence]
) -> list[str]:
    """Pairs of names of which the sentence places the second (after "at", "in", "to", ...:
    "the National Library will be displayed *at* the Portsend Map") where a source sentence
    holding both places the first and not the second ("the Portsend Map will travel *to* the
    National Library"), and no source sentence places them the sentence's way. Names joined
    by "and", "or", "with" or a comma are left alone."""
    names = [m for m in mine if m.fact.kind == "name"][: limits.MAX_GUARD_RELATED]
    placed = [_placed(sentence, m) for m in names]
    # per name, the source sentences that hold it and whether each places it: one pass over
    # the source's mentions per name
    where: list[dict[int, set[bool]]] = []
    for name in names:
        held: dict[int, set[bool]] = {}
        for index, m in _occurrences(name, source):
            held.setdefault(index, set()).add(_placed(source[index].text, m))
        where.append(held)
    found = []
    for k, x in enumerate(names):
        if placed[k]:
            continue
        for j in range(k + 1, len(names)):
            y = names[j]
            if not placed[j] or x.same(y) or _SYMMETRIC_RE.search(sentence[x.end : y.start]):
                continue
            agree = disagree = False
            for index, ys in where[j].items():
                xs = where[k].get(index, set())
                agree |= False in xs and True in ys
                disagree |= True in xs and False in ys
            if disagree and not agree:
                found.append(
                    f"'{y.fact.text}' holds '{x.fact.text}' in the sentence, the other way "
                    "round in the source"
                )
    return found


def _sides(text: str) -> tuple[str, set[str], set[str]] | None:
    """The order word of ``text`` ("before" when the left side comes first, "after" when it
    comes second) and the content words left and right of it."""
    match = _ORDER_RE.search(text)
    if match is None:
        return None
    word = (match.group(1) or "").lower()
    relation = "after" if word == "after" else "before"
    return relation, _side_words(text[: match.start()]), _side_words(text[match.end() :])


def _side_words(text: str) -> set[str]:
    """The content words of one side of an order word, reporting verbs included: "before he
    confirms it" is aligned by "confirms" alone."""
    reported = {stem(w) for w in re.findall(r"[a-z]+", text.lower()) if w in REPORTING_WORDS}
    return content_words(text, source=True) | reported


def order_conflicts(sentence: str, source: Sequence[SourceSentence]) -> list[str]:
    """ "P before Q" that a source sentence relating the same P and Q orders the other way."""
    mine = _sides(sentence)
    if mine is None:
        return []
    relation, left, right = mine
    agree = disagree = False
    for src in source:
        if src.sides is None:
            continue
        theirs, src_left, src_right = src.sides
        same = len(left & src_left) + len(right & src_right)
        cross = len(left & src_right) + len(right & src_left)
        aligned_same = bool(left & src_left) and bool(right & src_right) and same > cross
        aligned_cross = bool(left & src_right) and bool(right & src_left) and cross > same
        if aligned_same:
            agree |= theirs == relation
            disagree |= theirs != relation
        elif aligned_cross:
            agree |= theirs != relation
            disagree |= theirs == relation
    return (
        ["the order of events (before, after) is reversed in the source"]
        if disagree and not agree
        else []
    )


@dataclass(frozen=True)
class SourceSentence:
    """What the relation checks read of one source sentence, computed once per document."""

    text: str
    mentions: tuple[Mention, ...]
    sides: tuple[str, set[str], set[str]] | None

    @classmethod
    def read(cls, text: str) -> SourceSentence:
        return cls(text, tuple(_dated_amounts(text, mentions(text))), _sides(text))


# Words of a clause that make its amount the later value ("the new estimate is 9.5 million")
# or the earlier one ("had set aside 6.2 million", "originally 4 months"): the past perfect
# and "originally" put an event before the one told in the simple past.
_LATER_WORDS = frozenset(["new", "now", "latest", "revised", "updated"])
_EARLIER_WORDS = frozenset(
    ["had", "original", "originally", "previous", "previously", "initial", "initially", "old"]
)
_CLAUSE_BREAK_RE = re.compile(r"[;:!?()]|[.,](?!\d)")
#: Characters before an amount in which its clause's marking words are looked for (bounded:
#: a sentence may hold thousands of mentions).
_MARK_CHARS = 80


def _dated_amounts(text: str, found: Sequence[Mention]) -> list[Mention]:
    """``found`` with each unmarked number of a source sentence made a goal when its clause
    calls it new ("the new estimate is 9.5 million") and an origin when the clause puts it
    earlier ("had set aside 6.2 million"), so that "from 9.5 million to 6.2 million" can be
    compared; only where the sentence has one of each."""
    marks = []
    breaks = [b.end() for b in _CLAUSE_BREAK_RE.finditer(text)]  # once: mentions may be many
    for m in found:
        start = max(_clause_start(breaks, m.start), m.start - _MARK_CHARS)
        clause = text[start : m.start]
        words = set(re.findall(r"[a-z]+", clause.lower()))
        later, earlier = bool(words & _LATER_WORDS), bool(words & _EARLIER_WORDS)
        plain = m.fact.kind == "number" and not m.marker and later != earlier
        marks.append(("goal" if later else "origin") if plain else "")
    if "goal" not in marks or "origin" not in marks:
        return list(found)
    return [
        Mention(m.fact, m.start, m.end, mark) if mark else m
        for m, mark in zip(found, marks, strict=True)
    ]


def _clause_start(breaks: Sequence[int], position: int) -> int:
    """Where the clause holding ``position`` starts: after the last break (``breaks``: the
    ends of the clause breaks, in order) that ends at or before it."""
    k = bisect.bisect_right(breaks, position)
    return breaks[k - 1] if k else 0

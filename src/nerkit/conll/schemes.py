"""Tag schemes: tags to spans and back, validation, conversion, detection and decoding masks.

A span is ``(label, start, end)`` in word indices, ``end`` exclusive. Tags are strings such as
``"B-PER"``; the prefix is everything before the first hyphen, so types may contain hyphens
(``"I-ORG-COMPANY"``). Scheme names are written as users write them: ``"iob1"``, ``"iob2"``
and ``"bioes"`` (``"iobes"`` and ``"bilou"`` are read as ``"bioes"``; BILOU's ``L-``/``U-``
prefixes are read as ``E-``/``S-``).

Reading tags into spans (:func:`tags_to_spans`) is lenient and scheme-free: it follows
conlleval.pl's ``startOfChunk``/``endOfChunk`` rules with seqeval's extension for ``E-`` and
``S-`` (the default, non-strict mode of seqeval's ``get_entities``). :func:`find_ill_formed`
is the strict check. This module imports only the standard library and :mod:`nerkit.errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nerkit.errors import LabelError, SchemeError

SCHEMES = ("iob1", "iob2", "bioes")
_ALIASES = {"iob1": "iob1", "iob2": "iob2", "bioes": "bioes", "iobes": "bioes", "bilou": "bioes"}
_PREFIXES = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}
_SCHEME_PREFIXES = {"iob1": "BIO", "iob2": "BIO", "bioes": "BIESO"}

Span = tuple[str, int, int]
ParsedTag = tuple[str, str]


def normalize_scheme(scheme: str) -> str:
    """Return the canonical name of a tag scheme, or raise :class:`SchemeError`.

    >>> normalize_scheme("IOBES"), normalize_scheme("bilou"), normalize_scheme("iob2")
    ('bioes', 'bioes', 'iob2')
    """
    name = _ALIASES.get(scheme.strip().lower()) if isinstance(scheme, str) else None
    if name is None:
        raise SchemeError(
            f"unknown tag scheme {scheme!r}; use one of {', '.join(SCHEMES)} "
            "(iobes and bilou are accepted as bioes)"
        )
    return name


def split_tag(tag: str) -> tuple[str, str]:
    """Split a tag into (prefix, type); BILOU ``L``/``U`` come back as ``E``/``S``.

    Only the first hyphen separates, so types may contain hyphens. A tag without a hyphen is
    untyped (type ``""``).

    >>> split_tag("B-PER"), split_tag("O"), split_tag("B"), split_tag("I-ORG-COMPANY")
    (('B', 'PER'), ('O', ''), ('B', ''), ('I', 'ORG-COMPANY'))
    >>> split_tag("U-LOC"), split_tag("L-LOC")
    (('S', 'LOC'), ('E', 'LOC'))
    """
    if tag == "O":
        return "O", ""
    prefix, hyphen, label = tag.partition("-") if isinstance(tag, str) else ("", "", "")
    if prefix not in _PREFIXES:
        raise SchemeError(
            f"unknown tag {tag!r}: a tag is O, or a prefix B, I, E, S (BILOU: L, U) "
            "followed by -TYPE, as in B-PER"
        )
    if hyphen and not label:
        raise SchemeError(f"tag {tag!r} has an empty type; write {prefix}-TYPE, as in {prefix}-PER")
    return _PREFIXES[prefix], label


def tag_problem(tag: str) -> str | None:
    """What is wrong with ``tag`` as an entity tag in a data file, or ``None`` if nothing.

    Stricter than :func:`split_tag`, which reads untyped chunk tags (``B``, ``I``) as
    conlleval does: an entity in a file nerkit reads, trains on or scores must have a type, so
    ``data stats``, ``score`` and ``train`` all refuse a bare ``B`` with the same words.

    >>> tag_problem("B-PER"), tag_problem("O"), tag_problem("U-LOC")
    (None, None, None)
    >>> tag_problem("B")
    "tag 'B' has no entity type; write B-TYPE, as in B-PER"
    >>> tag_problem("X-PER")
    "unknown tag 'X-PER': a tag is O, or B-, I-, E-, S- (BILOU: L-, U-) and a type, as in B-PER"
    """
    if tag == "O":
        return None
    prefix, hyphen, label = tag.partition("-")
    if prefix not in _PREFIXES:
        return (
            f"unknown tag {tag!r}: a tag is O, or B-, I-, E-, S- (BILOU: L-, U-) and a type, "
            "as in B-PER"
        )
    if not label:
        what = "an empty type" if hyphen else "no entity type"
        return f"tag {tag!r} has {what}; write {prefix}-TYPE, as in {prefix}-PER"
    return None


def _join(prefix: str, label: str) -> str:
    return f"{prefix}-{label}" if label else prefix


# The two predicates below are conlleval.pl's endOfChunk/startOfChunk for O, B and I, with
# seqeval's additions: E- and S- always close a chunk, B- and S- always open one. (The 2004
# conlleval.pl predates BIOES: it reads "S-X S-X" as one chunk and "E-X B-X" as no boundary.)
def _ends(prev: ParsedTag, cur: ParsedTag) -> bool:
    """Does the chunk holding ``prev`` end before ``cur``?"""
    if prev[0] == "O":
        return False
    return prev[0] in "ES" or cur[0] in "BSO" or prev[1] != cur[1]


def _starts(prev: ParsedTag, cur: ParsedTag) -> bool:
    """Does a chunk start at ``cur``? (conlleval quirk kept: I- after O or another type does.)"""
    if cur[0] == "O":
        return False
    return cur[0] in "BS" or prev[0] in "OES" or prev[1] != cur[1]


def tags_to_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Read the entities of one sentence as conlleval does, for any mix of IOB1/IOB2/BIOES.

    Returns ``(label, start, end)`` spans in word indices, end exclusive, sorted by start.
    ``B-``/``S-`` always open an entity, ``E-``/``S-`` close one, and ``I-`` after ``O`` or
    after another type opens a new one (conlleval's lenient reading of ill-formed tags).

    >>> tags_to_spans(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG", "S-ORG"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5), ('ORG', 5, 6), ('ORG', 6, 7)]
    """
    spans: list[Span] = []
    prev: ParsedTag = ("O", "")
    start = 0
    for i, tag in enumerate([*tags, "O"]):  # the final O closes a last entity
        cur = split_tag(tag)
        if _ends(prev, cur):
            spans.append((prev[1], start, i))
        if _starts(prev, cur):
            start = i
        prev = cur
    return spans


def spans_to_tags(
    spans: Iterable[tuple[str, int, int]], length: int, scheme: str = "iob2"
) -> list[str]:
    """Write spans (word indices, end exclusive) as ``length`` tags in ``scheme``.

    ``iob1`` uses ``B-`` only for an entity that directly follows one of the same type;
    ``bioes`` (and its aliases) writes ``B-``/``I-``/``E-``/``S-``. Overlapping spans, empty
    spans and spans outside the sentence raise :class:`SchemeError`.

    >>> spans_to_tags([("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)], 5, "iob1")
    ['I-PER', 'I-PER', 'B-PER', 'O', 'I-LOC']
    >>> spans_to_tags([("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)], 5, "bioes")
    ['B-PER', 'E-PER', 'S-PER', 'O', 'S-LOC']
    """
    scheme = normalize_scheme(scheme)
    tags = ["O"] * length
    prev: Span | None = None
    for span in sorted((tuple(s) for s in spans), key=lambda s: (s[1], s[2])):
        label, start, end = span
        if not 0 <= start < end <= length:
            raise SchemeError(
                f"span {span!r} is empty or outside a sentence of {length} words; "
                "spans are (label, start, end) in words, end exclusive"
            )
        if prev is not None and start < prev[2]:
            raise SchemeError(f"spans {prev!r} and {span!r} overlap; tags hold one entity per word")
        if scheme == "bioes" and end - start == 1:
            tags[start] = _join("S", label)
        elif scheme == "bioes":
            inside = [_join("I", label)] * (end - start - 2)
            tags[start:end] = [_join("B", label), *inside, _join("E", label)]
        else:
            tags[start:end] = [_join("I", label)] * (end - start)
            touches_same = prev is not None and prev[2] == start and prev[0] == label
            if scheme == "iob2" or touches_same:
                tags[start] = _join("B", label)
        prev = span
    return tags


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """Guess the scheme of some sentences' tags: ``"bioes"``, ``"iob1"`` or ``"iob2"``.

    ``bioes`` if any ``E-``/``S-`` (or ``L-``/``U-``) tag appears. Otherwise ``iob1`` only if
    entities open with ``I-`` and every ``B-`` sits where IOB1 puts it (right after an entity
    of the same type); any other ``B-`` means ``iob2``, so a few stray ``I-`` openers in IOB2
    data (CoNLL-2002 Spanish has some) do not flip the answer. All-``O`` data gives ``iob2``.

    >>> detect_scheme([["I-PER", "B-PER", "O"], ["I-LOC"]])
    'iob1'
    >>> detect_scheme([["B-PER", "I-PER", "O"], ["I-LOC"]])
    'iob2'
    >>> detect_scheme([["B-PER", "E-PER"]]), detect_scheme([["O"]])
    ('bioes', 'iob2')
    """
    has_e_or_s = b_opens = i_opens = False
    for tags in tag_sequences:
        if isinstance(tags, str):
            raise TypeError("detect_scheme takes a list of sentences, each a list of tags")
        prev: ParsedTag = ("O", "")
        for tag in tags:
            cur = split_tag(tag)
            after_same = prev[0] != "O" and prev[1] == cur[1]
            has_e_or_s = has_e_or_s or cur[0] in "ES"
            b_opens = b_opens or (cur[0] == "B" and not after_same)
            i_opens = i_opens or (cur[0] == "I" and not after_same)
            prev = cur
    if has_e_or_s:
        return "bioes"
    return "iob1" if i_opens and not b_opens else "iob2"


def convert_tags(tags: Sequence[str], to: str, source: str | None = None) -> list[str]:
    """Rewrite one sentence's tags in scheme ``to``, keeping the entities conlleval reads.

    With ``source=None`` any tags are read leniently (see :func:`tags_to_spans`); naming a
    ``source`` scheme first checks the tags with :func:`find_ill_formed` and raises
    :class:`SchemeError` on the first tag that scheme does not allow.

    >>> convert_tags(["B-PER", "I-PER", "O", "B-LOC"], "bioes")
    ['B-PER', 'E-PER', 'O', 'S-LOC']
    >>> convert_tags(["I-PER", "B-PER"], "iob2", source="iob1")
    ['B-PER', 'B-PER']
    """
    if source is not None:
        problems = find_ill_formed(tags, source)
        if problems:
            index, message = problems[0]
            raise SchemeError(
                f"word {index}: {message} ({len(problems)} problem(s) in this sentence); "
                "fix the tags or pass source=None to read them as conlleval does"
            )
    return spans_to_tags(tags_to_spans(tags), len(tags), to)


def find_ill_formed(tags: Sequence[str], scheme: str = "iob2") -> list[tuple[int, str]]:
    """List ``(word index, message)`` for each tag that ``scheme`` does not allow where it is.

    ``iob2``: ``I-X`` only after ``B-X``/``I-X``. ``iob1``: ``B-X`` only right after
    ``B-X``/``I-X``. ``bioes``: ``I-X``/``E-X`` only after ``B-X``/``I-X``, and ``B-X``/``I-X``
    only before ``I-X``/``E-X``. A prefix the scheme lacks (``E-`` in iob2) is always reported.
    A tag may be reported twice (bad before and bad after). Unknown tags raise SchemeError.

    >>> find_ill_formed(["O", "I-PER", "B-ORG", "I-LOC"])
    [(1, 'I-PER after O: iob2 starts every entity with B-PER'), \
(3, 'I-LOC after B-ORG: iob2 starts every entity with B-LOC')]
    >>> find_ill_formed(["B-PER", "O"], "bioes")
    [(0, 'B-PER followed by O: bioes ends an entity with E-PER (S-PER for one word)')]
    """
    scheme = normalize_scheme(scheme)
    tags = list(tags)
    parsed = [split_tag(tag) for tag in tags]
    problems: list[tuple[int, str]] = []
    for i, tag in enumerate(tags):
        prefix, label = parsed[i]
        b_tag, i_tag, e_tag, s_tag = (_join(p, label) for p in "BIES")
        after = f"after {tags[i - 1]}" if i else "at the start of the sentence"
        before = f"followed by {tags[i + 1]}" if i + 1 < len(tags) else "at the end of the sentence"
        prev_open = i > 0 and parsed[i - 1][0] in "BI" and parsed[i - 1][1] == label
        next_goes_on = i + 1 < len(tags) and parsed[i + 1] in (("I", label), ("E", label))
        if prefix not in _SCHEME_PREFIXES[scheme]:
            problems.append((i, f"{tag}: {scheme} has no {prefix}- tags; they belong to bioes"))
        elif scheme == "iob2" and prefix == "I" and not prev_open:
            problems.append((i, f"{tag} {after}: iob2 starts every entity with {b_tag}"))
        elif scheme == "iob1" and prefix == "B" and not prev_open:
            message = "iob1 uses B- only right after an entity of the same type; write"
            problems.append((i, f"{tag} {after}: {message} {i_tag}"))
        elif scheme == "bioes":
            if prefix in "IE" and not prev_open:
                message = f"bioes starts an entity with {b_tag} ({s_tag} for one word)"
                problems.append((i, f"{tag} {after}: {message}"))
            if prefix in "BI" and not next_goes_on:
                message = f"bioes ends an entity with {e_tag} ({s_tag} for one word)"
                problems.append((i, f"{tag} {before}: {message}"))
    return problems


def _follows(prev: ParsedTag | None, cur: ParsedTag | None, scheme: str) -> bool:
    """Strict iob2/bioes: may ``cur`` come right after ``prev``? ``None`` is a sentence edge."""
    open_entity = prev is not None and prev[0] in "BI"
    if scheme == "iob2":
        return cur is None or cur[0] != "I" or (open_entity and prev[1] == cur[1])
    if open_entity:  # bioes: an entity opened by B-/I- goes on with I-X or closes with E-X
        return cur is not None and cur[0] in "IE" and cur[1] == prev[1]
    return cur is None or cur[0] in "OBS"


def transition_masks(
    labels: Sequence[str], scheme: str = "iob2"
) -> tuple[list[bool], list[list[bool]], list[bool]]:
    """Allowed starts, transitions and ends for constrained Viterbi decoding over ``labels``.

    Returns ``(start_allowed, allowed, end_allowed)``: ``start_allowed[j]`` says a sentence
    may begin with ``labels[j]``, ``allowed[i][j]`` that ``labels[j]`` may follow
    ``labels[i]``, ``end_allowed[i]`` that a sentence may end with ``labels[i]``.

    - ``iob2``: ``I-X`` only after ``B-X`` or ``I-X``, so never first.
    - ``bioes``: after ``B-X``/``I-X`` only ``I-X``/``E-X``; after ``O``/``E-``/``S-`` (and
      at the start) only ``O``/``B-``/``S-``; a sentence ends only on ``O``/``E-``/``S-``.
    - ``iob1``: everything is allowed. conlleval reads any IOB1-style sequence (``B-X`` after
      ``O`` reads as ``I-X`` would), so no transition needs forbidding.

    ``labels`` must contain ``"O"`` (else :class:`LabelError`) and use only the scheme's
    prefixes (else :class:`SchemeError`).

    >>> start, allowed, end = transition_masks(["O", "B-PER", "I-PER"])
    >>> start, allowed, end
    ([True, True, False], [[True, True, False], [True, True, True], [True, True, True]], \
[True, True, True])
    """
    scheme = normalize_scheme(scheme)
    if "O" not in labels:
        raise LabelError(f"label list {list(labels)!r} has no 'O'; every nerkit label set has O")
    parsed = [split_tag(label) for label in labels]
    for label, (prefix, _) in zip(labels, parsed, strict=True):
        if prefix not in _SCHEME_PREFIXES[scheme]:
            raise SchemeError(
                f"label {label!r} uses the {prefix}- prefix, which {scheme} does not have; "
                "pass the scheme the model was trained with"
            )
    n = len(labels)
    if scheme == "iob1":
        return [True] * n, [[True] * n for _ in range(n)], [True] * n
    start_allowed = [_follows(None, cur, scheme) for cur in parsed]
    allowed = [[_follows(prev, cur, scheme) for cur in parsed] for prev in parsed]
    end_allowed = [_follows(prev, None, scheme) for prev in parsed]
    return start_allowed, allowed, end_allowed

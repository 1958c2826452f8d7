"""Raw text to words, the way the CoNLL-2002 corpora were tokenized, with offsets kept.

A model fine-tuned on CoNLL-2002 has only ever seen text cut the way the Spanish (EFE newswire)
and Dutch (De Morgen) files were cut: punctuation is a word of its own, but abbreviations
("S.A.", "etc.", "fr."), numbers ("1.500", "3,5"), hyphenated compounds ("Castilla-La",
"Jean-Paul"), Spanish contractions and clitics ("del", "dárselo") and Dutch apostrophe forms
("zo'n", "'s", "foto's") stay whole. Cutting user text the same way keeps inference close to
training. The rules below were read off the corpus files (``esp.train``, ``ned.train``); the
test suite measures how often they give back the corpus tokens of ``esp.testb`` / ``ned.testb``.

Every :class:`Word` points into the *original* string: ``text == original[start:end]``, so
entities found on words map straight back to characters. Nothing is normalized before offsets
are taken. NFD input ("e" + U+0301) is matched as if composed, but the combining mark stays in
the word. Any Unicode whitespace and the zero-width characters U+200B, U+200C, U+200D, U+2060
and U+FEFF separate words and never appear inside one; other format characters (category Cf,
e.g. a soft hyphen) never become a word by themselves.

This module imports only the standard library, :mod:`nerkit.conll.text` and :mod:`nerkit.errors`.
Text holding a lone surrogate is refused with a :class:`~nerkit.errors.TextError`.

>>> [w.text for w in split_words("El Sr. Pérez viajó a EE.UU. el 3,5% de las veces.")]
['El', 'Sr.', 'Pérez', 'viajó', 'a', 'EE.UU.', 'el', '3,5%', 'de', 'las', 'veces', '.']
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from nerkit.conll.text import check_text
from nerkit.errors import ConfigError

__all__ = [
    "ConllWordSplitter",
    "LANGUAGES",
    "SpacyWordSplitter",
    "WhitespaceSplitter",
    "Word",
    "WordSplitter",
    "is_format",
    "is_separator",
    "languages",
    "split_words",
    "splitter_for",
]

LANGUAGES = ("es", "nl")

# Zero-width characters that writers use as (invisible) spaces or joiners; they separate words.
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")


@dataclass(frozen=True)
class Word:
    """One word of a text: ``text`` is exactly ``original[start:end]``.

    Offsets are character (code point) offsets into the string that was split, end exclusive,
    so a span of words maps back to characters with ``original[first.start:last.end]``.

    >>> Word("Pérez", 3, 8)
    Word(text='Pérez', start=3, end=8)
    """

    text: str
    start: int
    end: int


class WordSplitter(Protocol):
    """Anything that turns a text into words with offsets into that same text.

    The tagger takes any such callable, so a project can plug in its own splitter (spaCy,
    a rule set for another language) without touching nerkit.
    """

    def __call__(self, text: str) -> list[Word]: ...


def is_separator(ch: str) -> bool:
    """True for a character that separates words: any whitespace or a zero-width space/joiner.

    Covers what :meth:`str.isspace` covers (tabs, CR/LF, NBSP...), every Unicode ``Z*``
    category, and U+200B/U+200C/U+200D/U+2060/U+FEFF/U+180E.

    >>> [is_separator(c) for c in ("\\u00a0", "\\u200b", "\\u3000", "a", "\\u00ad")]
    [True, True, True, False, False]
    """
    return ch.isspace() or ch in _ZERO_WIDTH or unicodedata.category(ch)[0] == "Z"


def is_format(ch: str) -> bool:
    """True for an invisible format character (category Cf) that is not a separator.

    Such characters (soft hyphen, bidi marks, emoji tag characters) stay inside a word when they
    sit inside one, but never form a word on their own.

    >>> is_format("\\u00ad"), is_format("\\u200e"), is_format("\\u200b")
    (True, True, False)
    """
    return unicodedata.category(ch) == "Cf" and ch not in _ZERO_WIDTH


def _check_text(text: object) -> str:
    """The text to split, refused (:class:`~nerkit.errors.TextError`) if it holds a lone
    surrogate: no tokenizer takes one (see :mod:`nerkit.conll.text`)."""
    if not isinstance(text, str):
        raise TypeError(f"expected the text to split as a str, got {type(text).__name__}")
    return check_text(text)


class WhitespaceSplitter:
    """Split on whitespace only: each maximal run of non-separator characters is a word.

    Useful for text that is already tokenized (one space between tokens), where the tokens
    must come back exactly as given. Format characters at the edges of a run are left out of
    the word, and a run made only of format characters is no word.

    >>> [w.text for w in WhitespaceSplitter()("hola,\\tmundo\\u200b(bis)")]
    ['hola,', 'mundo', '(bis)']
    """

    def __call__(self, text: str) -> list[Word]:
        text = _check_text(text)
        words: list[Word] = []
        start = None  # start of the current run
        last = -1  # end of the last non-format character of the run
        for i, ch in enumerate(text):
            if is_separator(ch):
                if start is not None and last > start:
                    words.append(Word(text[start:last], start, last))
                start = None
                continue
            if is_format(ch):
                continue
            if start is None:
                start = i
            last = i + 1
        if start is not None and last > start:
            words.append(Word(text[start:last], start, last))
        return words

    def __repr__(self) -> str:
        return "WhitespaceSplitter()"


# --- abbreviations -------------------------------------------------------------------------
# Words that keep their final period. Collected from the corpus tokens that contain a period
# and are not punctuation (e.g. esp: "h.", "kg.", "etc.", "S.A.", "CC.OO.", "St.", "Mín.",
# "Máx.", "ref.", "At."; ned: "fr.", "tel.", "Dr.", "prof.", "z.t.", "enz.", "o.a.", "nr.",
# "blz.", "gem.", "Mevr.", "Mgr.", "Inc.", "Ltd.") and completed with the usual newspaper
# abbreviations of each language. Ordinary words that also end sentences ("no", "mar", "Jan",
# "min") are left out on purpose: there a period is far more often the sentence end.
# Initials ("J."), dotted acronyms ("EE.UU.", "p.ej.", "m.a.w.") need no entry (see
# ``_keeps_period``); "EE UU CC OO FF AA" are there for the spaced forms "EE. UU.", "CC. OO.".
_COMMON_ABBREVIATIONS = """
    Co Corp Inc Ltd Ms Mr Mrs Dr Jr Sr St vs etc ca cm km kg mm ml mg cf ed eds vol vols fig figs
    nr nº pp
"""

_SPANISH_ABBREVIATIONS = """
    Sra Sras Srta Srtas Sres Srs Dra Dras Dres Dña Dª Lic Lda Ldo Ing Arq Prof Profa Mons Excmo
    Excma Exmo Exma Ilmo Ilma Rvdo Rvda Sto Sta Gral Cnel Tte Cmdte Almte Pdte Cía Hnos Avda Av
    Pza Pº Ctra Apdo apdo aprox admón art arts cap caps cfr págs pág núm núms tel telf tfno
    dpto depto dcha izq izqda Univ Vda ss sigs ej ibíd op Mín Máx min máx seg gr At Dto Dtor
    ene feb abr ago sept oct nov dic lun mié jue vie sáb ref
    EE UU CC OO FF AA
"""

_DUTCH_ABBREVIATIONS = """
    dhr mevr mw mej drs dr ir ing prof ds mgr jr sr bv bijv enz nrs blz pag tel fr fl gem resp
    incl excl jl zgn vnl evt mln mld Cie Av ca ong gesch afd art hfdst nl vz
    v.Chr n.Chr
"""

_ABBREVIATIONS = {
    "es": _COMMON_ABBREVIATIONS.split() + _SPANISH_ABBREVIATIONS.split(),
    "nl": _COMMON_ABBREVIATIONS.split() + _DUTCH_ABBREVIATIONS.split(),
}


def _abbreviation_forms(entries: list[str]) -> frozenset[str]:
    """The spellings accepted for each entry (without its final period).

    The entry itself, its lower-case and capitalized forms; all upper case only for entries of
    three letters or more, so that "pp." does not swallow the period after "el PP.".
    """
    forms: set[str] = set()
    for entry in entries:
        forms.update({entry, entry.lower(), entry[0].upper() + entry[1:]})
        if len(entry) >= 3:
            forms.add(entry.upper())
    return frozenset(forms)


# --- clusters: what one "character" is for the rules -------------------------------------
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_REGIONAL = range(0x1F1E6, 0x1F200)


# Below U+0300 (Latin, Latin-1, Latin Extended, IPA) no character combines with another: no
# marks, skin tones or regional indicators; the soft hyphen (U+00AD) is the one format
# character, and every separator there is whitespace. Such text (nearly all Spanish and Dutch)
# takes :func:`_simple_clusters`, which works per run of characters instead of per character.
_NOT_SIMPLE = re.compile("[\u00ad\u0300-\U0010ffff]")
_RUNS = re.compile(r"\S+|\s+")


def _clusters(text: str) -> tuple[str, list[int], list[int]]:
    """Group ``text`` into clusters and return (skeleton, starts, ends).

    A cluster is a base character with the combining marks, variation selectors, skin-tone
    modifiers and format characters that follow it (two regional indicators form one flag).
    The skeleton holds one character per cluster (the first character of the cluster composed to
    NFC) and one space for each run of separators, so the rules can be
    plain regular expressions while ``starts[i]:ends[i]`` locates skeleton character ``i`` in the
    original text.
    """
    if _NOT_SIMPLE.search(text) is None:
        return _simple_clusters(text)
    return _general_clusters(text)


def _general_clusters(text: str) -> tuple[str, list[int], list[int]]:
    """:func:`_clusters` for any text, one character at a time."""
    skeleton: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    is_open = False  # can the last cluster still take marks?
    flag_half = False  # is the last cluster a single regional indicator?
    for i, ch in enumerate(text):
        if is_separator(ch):
            if skeleton and skeleton[-1] != " ":
                skeleton.append(" ")
                starts.append(i)
                ends.append(i)
            is_open = False
            continue
        cat = unicodedata.category(ch)
        code = ord(ch)
        if is_open:
            if cat == "Cf":
                continue  # inside the cluster, but not counted in its end
            if (
                cat[0] == "M"
                or (code in _SKIN_TONES and unicodedata.category(skeleton[-1]) == "So")
                or (flag_half and code in _REGIONAL)
            ):
                ends[-1] = i + 1
                flag_half = False
                continue
        elif cat == "Cf":
            continue  # a format character outside a cluster is never a word
        skeleton.append(ch if cat[0] != "M" else "a")  # an orphan mark counts as a letter
        starts.append(i)
        ends.append(i + 1)
        is_open = True
        flag_half = code in _REGIONAL
    # Give each multi-character cluster the first character it composes to, so that NFC and
    # NFD spellings get the same skeleton ("N" + U+0303 + U+0301 and "Ñ" + U+0301 both read as
    # "Ñ"; a Dutch rule must not see the clitic "'n" in the one and not in the other).
    for k, ch in enumerate(skeleton):
        if ends[k] - starts[k] > 1 and ch != " ":
            core = "".join(c for c in text[starts[k] : ends[k]] if unicodedata.category(c) != "Cf")
            first = unicodedata.normalize("NFC", core)[0]
            if unicodedata.category(first)[0] != "M":  # an orphan mark stays a letter
                skeleton[k] = first
    return "".join(skeleton), starts, ends


def _simple_clusters(text: str) -> tuple[str, list[int], list[int]]:
    """:func:`_clusters` for text where every character is its own cluster (see above)."""
    skeleton: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for run in _RUNS.finditer(text):
        a, b = run.span()
        if text[a].isspace():
            if skeleton:  # leading separators make no skeleton character
                skeleton.append(" ")
                starts.append(a)
                ends.append(a)
        else:
            skeleton.append(run.group())
            starts.extend(range(a, b))
            ends.extend(range(a + 1, b + 1))
    return "".join(skeleton), starts, ends


# --- the rules, on the skeleton -----------------------------------------------------------
_APOS = "'\u2019"
_URL = re.compile(r"(?:(?:https?|ftp)://|www\.)[^\s]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?'\"»)]}”’>"
# A word: runs of letters/digits joined by connectors written without spaces.
_WORD = re.compile(r"\w+(?:(?:[-\u2010\u2011/&+@\u00b7." + _APOS + r"]|(?<=\d)[,:](?=\d))\w+)*")
_DUTCH_CLITIC = re.compile(r"[" + _APOS + r"](?:s|t|n|k|r|m|em|ns)(?!\w)", re.IGNORECASE)
_YEAR = re.compile(r"[" + _APOS + r"](?:\d\d){1,2}(?:-\w+)*(?!\w)")
_SIGNED = re.compile(r"[-+]\.?\d|\.{1,2}\d|/\w")
_PUNCT_RUN = re.compile(r"\.{2,}|-{2,}|={2,}|\*{2,}|~{2,}|#{2,}")
_OPENERS = frozenset(" ([{¿¡\"'«“‘<")


class ConllWordSplitter:
    """Split raw text into words as the CoNLL-2002 Spanish or Dutch files are tokenized.

    ``language`` picks the abbreviation list and the few rules where the corpora differ:
    Spanish keeps "%" on its number ("3,5%"), Dutch splits it off and keeps clitics such as
    "'s" and "'t" whole.

    >>> es = ConllWordSplitter("es")
    >>> [w.text for w in es("¿Dárselo al Sr. López? ¡No!")]
    ['¿', 'Dárselo', 'al', 'Sr.', 'López', '?', '¡', 'No', '!']
    >>> nl = ConllWordSplitter("nl")
    >>> [w.text for w in nl("Zo'n 5% van de foto's, 's avonds (o.a. in Gent).")][:12]
    ["Zo'n", '5', '%', 'van', 'de', "foto's", ',', "'s", 'avonds', '(', 'o.a.', 'in']
    """

    def __init__(self, language: str = "es") -> None:
        if language not in LANGUAGES:
            raise ConfigError(
                f"word splitter language {language!r} is not supported; "
                f"use one of {', '.join(LANGUAGES)}"
            )
        self.language = language
        self._abbreviations = _abbreviation_forms(_ABBREVIATIONS[language])

    def __repr__(self) -> str:
        return f"ConllWordSplitter(language={self.language!r})"

    def __call__(self, text: str) -> list[Word]:
        text = _check_text(text)
        skeleton, starts, ends = _clusters(text)
        words: list[Word] = []
        for a, b in self._spans(skeleton):
            start, end = starts[a], ends[b - 1]
            words.append(Word(text[start:end], start, end))
        return words

    # The scanner works on the skeleton and yields [a, b) index spans of it.
    def _spans(self, s: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        n = len(s)
        i = 0
        while i < n:
            if s[i] == " ":
                i += 1
                continue
            end = self._token_end(s, i)
            spans.append((i, end))
            i = end
        return spans

    def _token_end(self, s: str, i: int) -> int:
        ch = s[i]
        at_start = i == 0 or s[i - 1] in _OPENERS
        if at_start and ch in "wWhHfF":
            m = _URL.match(s, i)
            if m:
                return self._url_end(s, i, m.end())
        if ch in _APOS:
            if self.language == "nl":
                m = _DUTCH_CLITIC.match(s, i)
                if m:
                    return m.end()
            m = _YEAR.match(s, i)
            if m and at_start:
                return m.end()
        if at_start and ch in "-+./":
            m = _SIGNED.match(s, i)
            if m:
                w = _WORD.match(s, m.end() - 1)
                if w:
                    return self._word_end(s, i, w.end())
        m = _WORD.match(s, i)
        if m:
            return self._word_end(s, i, m.end())
        m = _PUNCT_RUN.match(s, i)
        if m:
            return m.end()
        return i + 1

    @staticmethod
    def _url_end(s: str, i: int, end: int) -> int:
        while end > i + 4 and s[end - 1] in _URL_TRAILING:
            if s[end - 1] == ")" and s.count("(", i, end) >= s.count(")", i, end):
                break
            end -= 1
        return end

    def _word_end(self, s: str, i: int, end: int) -> int:
        """Decide what the word ``s[i:end]`` takes from what follows: "%", "-" or "."."""
        n = len(s)
        if end >= n:
            return end
        nxt = s[end]
        word = s[i:end]
        if nxt == "%" and self.language == "es" and word[-1].isdigit():
            return end + 1
        if nxt == "/" and (end + 1 == n or s[end + 1] == " "):  # EFE signatures: "eco/ /Mc"
            return end + 1
        if nxt in "-\u2010\u2011" and word[-1].isalpha() and self._hyphen_is_suspended(s, end):
            return end + 1
        if nxt == "." and (end + 1 >= n or s[end + 1] != "."):
            if self._keeps_period(word, s, end + 1):
                return end + 1
        return end

    @staticmethod
    def _hyphen_is_suspended(s: str, j: int) -> bool:
        """ "regen- en windjassen": a hyphen ending a word before "," or a lowercase word."""
        after = s[j + 1 : j + 3]
        if after[:1] == ",":
            return True
        return len(after) == 2 and after[0] == " " and after[1].islower()

    def _keeps_period(self, word: str, s: str, j: int) -> bool:
        """Is the period at ``s[j-1]`` part of ``word`` (abbreviation) or a word of its own?"""
        if word in self._abbreviations:
            return True
        parts = word.split(".")
        if len(parts) > 1 and all(p.isalpha() for p in parts):  # EE.UU. p.ej. S.A. m.a.w.
            if all(len(p) <= 2 for p in parts) or all(len(p) <= 4 and p.isupper() for p in parts):
                return True
        if len(word) == 1 and word.isupper():  # an initial: "J. Smith"
            return True
        following = s[j + 1 : j + 2] if s[j : j + 1] == " " else s[j : j + 1]
        if following.islower():  # a sentence never starts in lower case: "aprox. cinco",
            return True  # "m. t.", chess moves "1. e4"
        # a single lower-case letter ("m. t. .3") is an abbreviation unless a sentence follows
        return len(word) == 1 and word.isalpha() and following != "" and not following.isupper()


def split_words(text: str, language: str = "es") -> list[Word]:
    """Split ``text`` the way :func:`splitter_for` splits ``language``.

    >>> [(w.text, w.start, w.end) for w in split_words("Hola,\\u00a0mundo")]
    [('Hola', 0, 4), (',', 4, 5), ('mundo', 6, 11)]
    >>> split_words(" \\t\\r\\n\\u200b")
    []
    """
    return splitter_for(language)(text)


# --- other languages: spaCy's rule-based tokenizers ----------------------------------------
# CoNLL-2002 covers Spanish and Dutch only. Every other language is split by the tokenizer of
# spaCy's blank pipeline for it (rules only: prefixes, suffixes, infixes and exceptions written
# for that language; no model is downloaded). Two changes bring it closer to how NER corpora
# are tokenized (CoNLL-2003 English and German, like CoNLL-2002): hyphenated words and number
# ranges stay whole ("Russian-held", "1-0", "1996-08-22"), where spaCy splits the hyphen off.
# Clitics are split as CoNLL-2003 (Penn Treebank) splits them: "York 's", "did n't".

_HYPHEN_PROBES = ("x-y", "1-0", "x\u2010y", "x\u2013y")


def _spacy_languages() -> tuple[str, ...]:
    """Language codes that the installed spaCy has a blank pipeline for (without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("spacy")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return ()
    codes: set[str] = set()
    for location in spec.submodule_search_locations:
        lang = os.path.join(location, "lang")
        if os.path.isdir(lang):
            codes.update(
                name for name in os.listdir(lang)
                if os.path.isfile(os.path.join(lang, name, "__init__.py"))
            )
    return tuple(sorted(codes))


def languages() -> tuple[str, ...]:
    """Every language code :func:`splitter_for` accepts: "es" and "nl" (CoNLL-2002 rules), then
    the languages of the installed spaCy (none without it).

    >>> languages()[:2]
    ('es', 'nl')
    """
    return LANGUAGES + tuple(c for c in _spacy_languages() if c not in LANGUAGES)


def _unknown_language(language: str) -> ConfigError:
    others = [c for c in _spacy_languages() if c not in LANGUAGES]
    if not others:
        return ConfigError(
            f"language {language!r} has no word splitter; es and nl use the CoNLL-2002 rules, "
            "every other language needs spaCy (pip install 'nerkit[spacy]')"
        )
    return ConfigError(
        f"language {language!r} has no word splitter; choose es or nl (CoNLL-2002 rules) or "
        f"one of spaCy's: {', '.join(others)}"
    )


class SpacyWordSplitter:
    """Split raw text with the rule-based tokenizer of spaCy's blank pipeline for ``language``.

    The same contract as :class:`ConllWordSplitter`: words point into the original text, any
    separator (see :func:`is_separator`) ends a word and never appears in one, format characters
    never make a word alone, a combining mark stays on its base. spaCy is imported when the
    splitter is built, so a project that uses only es/nl never needs it.

    >>> en = SpacyWordSplitter("en")
    >>> [w.text for w in en("New York's Russian-held U.S. firms didn't.")]
    ['New', 'York', "'s", 'Russian-held', 'U.S.', 'firms', 'did', "n't", '.']
    """

    def __init__(self, language: str) -> None:
        if language in LANGUAGES:
            raise ConfigError(
                f"language {language!r} is split with the CoNLL-2002 rules, which its corpora "
                f"were tokenized with; use ConllWordSplitter({language!r}) or splitter_for"
            )
        if language not in _spacy_languages():
            raise _unknown_language(language)
        try:
            import spacy
            from spacy.util import compile_infix_regex
        except ImportError as err:  # pragma: no cover - the language list comes from spaCy
            raise _unknown_language(language) from err
        try:
            nlp = spacy.blank(language)
        except ImportError as err:  # ja, ko, th, vi... need a segmenter package of their own
            raise ConfigError(
                f"spaCy's {language!r} tokenizer needs a package that is not installed ({err})"
            ) from err
        infixes = [p for p in nlp.Defaults.infixes if not _splits_hyphen(p)]
        nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
        self.language = language
        self._tokenizer = nlp.tokenizer

    def __repr__(self) -> str:
        return f"SpacyWordSplitter(language={self.language!r})"

    def __call__(self, text: str) -> list[Word]:
        text = _check_text(text)
        # every separator becomes one plain space (same length: offsets stay), so spaCy splits
        # where nerkit's contract says words end; runs of spaces come back as space tokens
        spaced = "".join(" " if is_separator(c) else c for c in text)
        words: list[Word] = []
        for token in self._tokenizer(spaced):
            start, end = token.idx, token.idx + len(token.text)
            while start < end and is_format(text[start]):
                start += 1
            while end > start and is_format(text[end - 1]):
                end -= 1
            if start == end or spaced[start] == " ":
                continue
            if words and words[-1].end == start and unicodedata.category(text[start])[0] == "M":
                start = words.pop().start  # a mark split off its base goes back to it
            words.append(Word(text[start:end], start, end))
        return words


def _splits_hyphen(pattern: str) -> bool:
    """Does the infix rule ``pattern`` cut a hyphen between letters or digits?"""
    return any(
        m.group() and set(m.group()) <= set("-\u2010\u2011\u2012\u2013\u2014")
        for probe in _HYPHEN_PROBES
        for m in re.finditer(pattern, probe)
    )


@functools.cache
def splitter_for(language: str) -> WordSplitter:
    """The word splitter for ``language``: CoNLL-2002 rules for "es" and "nl", spaCy's rules
    for the other languages of :func:`languages`; anything else is a :class:`ConfigError`
    naming the choices (never a silent fallback to another language's rules).

    >>> splitter_for("nl")
    ConllWordSplitter(language='nl')
    >>> splitter_for("xx-unknown")                                     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nerkit.errors.ConfigError: language 'xx-unknown' has no word splitter; ...
    """
    if language in LANGUAGES:
        return ConllWordSplitter(language)
    return SpacyWordSplitter(language)

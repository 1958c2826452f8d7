"""Words to model inputs: subword pieces, first-piece labels and overlapping windows.

This is where run_ner.py loses data: it truncates at ``max_length`` and the words past it vanish.
nerkit never truncates a sentence. A sentence whose pieces do not fit is cut into windows of
whole words that overlap by about half a window. Every word is *owned* by exactly one window:
each overlap is cut in its middle, so a word is predicted where it has context on both sides,
and only the owner's prediction (and, in training, the owner's label) counts. Training and
prediction use the same windows, so the model is trained on what it will see.

Context beyond the sentence (``context=N``, off by default): a sentence's pieces leave most of a
window unused (43 of 126 on average in esp.train with e5-small), and the sentences around it often
decide a type (a name spelled out in full in the previous sentence, a headline that says what an
organisation is). With ``context`` > 0 the spare room of a window is filled with up to ``N``
pieces of the previous and of the next sentences of the same document, on each side, as in
FLERT (Schweter & Akbik, 2020). Context pieces carry no label and no prediction is read from
them; the window's ``first_piece`` positions already point past them, so decoding is unchanged.

The only loss that remains is a single word longer than a whole window (e.g. a 300-character
URL with ``max_length=128``): its first pieces are kept, which is all its label needs, and the
cut is counted in :class:`EncodingStats`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

IGNORE = -100  # label id that the loss ignores (PyTorch's CrossEntropyLoss default)


@dataclass
class EncodingStats:
    """What encoding had to change, so that it can be reported instead of hidden."""

    sentences: int = 0
    windows: int = 0
    split_sentences: int = 0
    context_pieces: int = 0  # pieces of neighbouring sentences added as context (context > 0)
    context_dropped: int = 0  # sentences encoded without their neighbours (context dropout)
    empty_words: int = 0  # words the tokenizer turned into no piece (given the unknown piece)
    cut_words: int = 0  # words longer than a window (pieces past the window dropped)

    def summary(self) -> str:
        parts = [f"{self.sentences} sentences -> {self.windows} windows"]
        if self.split_sentences:
            parts.append(f"{self.split_sentences} long sentences split into overlapping windows")
        if self.empty_words:
            parts.append(f"{self.empty_words} words with no subword got the unknown token")
        if self.context_pieces:
            parts.append(f"{self.context_pieces} pieces of neighbouring sentences as context")
        if self.context_dropped:
            parts.append(f"{self.context_dropped} sentences without context (context dropout)")
        if self.cut_words:
            parts.append(f"{self.cut_words} words longer than a window kept their first pieces")
        return "; ".join(parts)


@dataclass(frozen=True)
class Window:
    """One model input: a run of whole words of one sentence.

    ``word_start``/``word_end`` (end exclusive) are the words in the window; ``own_start``/
    ``own_end`` the words whose prediction is taken from it. ``first_piece[k]`` is the position
    in ``input_ids`` of the first piece of word ``word_start + k``.
    """

    sentence: int
    word_start: int
    word_end: int
    own_start: int
    own_end: int
    input_ids: list[int]
    first_piece: list[int]
    labels: list[int] | None = field(default=None)


class WindowEncoder:
    """Turns word lists into :class:`Window` objects for one tokenizer and ``max_length``.

    ``context``: at most this many pieces of the neighbouring sentences of the same document
    on each side of a sentence, in the room its window leaves (0: none).
    """

    def __init__(self, tokenizer: object, max_length: int = 128, context: int = 0) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError(
                "nerkit needs a fast tokenizer (with word_ids) to align words and subwords; "
                "load the model with a tokenizer.json or install the tokenizers package"
            )
        self.tokenizer = tokenizer
        self.max_length = max_length
        if context < 0:
            raise ValueError(f"context must be 0 or more pieces, got {context}")
        self.context = context
        cls_id = getattr(tokenizer, "cls_token_id", None)
        sep_id = getattr(tokenizer, "sep_token_id", None)
        if cls_id is None:
            cls_id = getattr(tokenizer, "bos_token_id", None)
        if sep_id is None:
            sep_id = getattr(tokenizer, "eos_token_id", None)
        self.prefix = [cls_id] if cls_id is not None else []
        self.suffix = [sep_id] if sep_id is not None else []
        self.budget = max_length - len(self.prefix) - len(self.suffix)
        if self.budget < 2:
            raise ValueError(f"max_length {max_length} leaves no room for words")
        self.unk_id = getattr(tokenizer, "unk_token_id", None)
        if self.unk_id is None:
            self.unk_id = 0
        self.stats = EncodingStats()

    def word_pieces(self, sentences: Sequence[Sequence[str]]) -> list[list[list[int]]]:
        """Piece ids of every word of every sentence (no special tokens).

        Words are tokenized in context-free mode (``is_split_into_words``), so a word has the
        same pieces wherever it stands; a word with no piece gets the unknown token, so that it
        still receives a prediction.
        """
        out: list[list[list[int]]] = []
        for i in range(0, len(sentences), 512):
            batch = [list(s) for s in sentences[i : i + 512]]
            nonempty = [j for j, s in enumerate(batch) if s]
            # verbose=False: transformers warns that a sentence longer than the model's maximum
            # "will result in indexing errors"; here it is cut into windows, never fed whole
            enc = self.tokenizer(  # type: ignore[operator]
                [batch[j] for j in nonempty], is_split_into_words=True, add_special_tokens=False,
                verbose=False,
            )
            by_index: dict[int, list[list[int]]] = {}
            for k, j in enumerate(nonempty):
                pieces: list[list[int]] = [[] for _ in batch[j]]
                for piece, word in zip(enc["input_ids"][k], enc.word_ids(k), strict=True):
                    if word is not None:
                        pieces[word].append(piece)
                for p in pieces:
                    if not p:
                        p.append(self.unk_id)
                        self.stats.empty_words += 1
                by_index[j] = pieces
            out.extend(by_index.get(j, []) for j in range(len(batch)))
        return out

    def windows(
        self,
        sentences: Sequence[Sequence[str]],
        tag_ids: Sequence[Sequence[int]] | None = None,
        documents: Sequence[int] | None = None,
        alone: Sequence[bool] | None = None,
    ) -> list[Window]:
        """Windows for every sentence, in sentence order; empty sentences give none.

        ``documents`` gives each sentence's document id: with ``context`` > 0, consecutive
        sentences with the same id are each other's context. Without it every sentence is a
        document of its own (independent inputs never see each other). ``alone`` marks
        sentences encoded without their neighbours although they have some (context dropout in
        training: a model that only ever saw context leans on it and tags a lone sentence worse);
        they still serve as context for the sentences around them.
        """
        if documents is not None and len(documents) != len(sentences):
            raise ValueError(f"{len(documents)} document ids for {len(sentences)} sentences")
        if alone is not None and len(alone) != len(sentences):
            raise ValueError(f"{len(alone)} context-dropout flags for {len(sentences)} sentences")
        all_pieces = self.word_pieces(sentences)
        read_context = bool(self.context) and documents is not None
        # each sentence's pieces in one list, built only when neighbours are read
        flat = [[p for word in s for p in word] for s in all_pieces] if read_context else []
        out: list[Window] = []
        for index, pieces in enumerate(all_pieces):
            labels = tag_ids[index] if tag_ids is not None else None
            left: list[int] = []
            right: list[int] = []
            if read_context and alone is not None and alone[index]:
                self.stats.context_dropped += 1
            elif read_context and documents is not None:
                left = _neighbour_pieces(flat, documents, index, -1, self.context)
                right = _neighbour_pieces(flat, documents, index, 1, self.context)
            out.extend(self._sentence_windows(index, pieces, labels, left, right))
        return out

    def _sentence_windows(
        self,
        index: int,
        pieces: list[list[int]],
        labels: Sequence[int] | None,
        left: Sequence[int] = (),
        right: Sequence[int] = (),
    ) -> list[Window]:
        self.stats.sentences += 1
        n = len(pieces)
        if n == 0:
            return []
        lengths = []
        for p in pieces:
            if len(p) > self.budget:
                self.stats.cut_words += 1
            lengths.append(min(len(p), self.budget))
        spans = _plan_windows(lengths, self.budget)
        if len(spans) > 1:
            self.stats.split_sentences += 1
        # Ownership: the overlap of two neighbours is cut in its middle, so each word is
        # predicted by the window where it has context on both sides.
        owners: list[tuple[int, int]] = []
        for k, (start, end) in enumerate(spans):
            own_start = 0 if k == 0 else (start + spans[k - 1][1]) // 2
            own_end = n if k == len(spans) - 1 else (spans[k + 1][0] + end) // 2
            owners.append((own_start, own_end))
        result = []
        for (start, end), (own_start, own_end) in zip(spans, owners, strict=True):
            # context only beside the sentence's own edges: inner windows of a long sentence
            # already have the sentence around them and no room to spare
            room = self.budget - sum(lengths[start:end])
            before = list(left) if start == 0 else []
            after = list(right) if end == n else []
            take_left, take_right = _share_room(len(before), len(after), room)
            before = before[len(before) - take_left :]
            after = after[:take_right]
            self.stats.context_pieces += len(before) + len(after)
            ids = list(self.prefix) + before
            first = []
            piece_labels = [IGNORE] * len(ids) if labels is not None else None
            for w in range(start, end):
                first.append(len(ids))
                word_pieces = pieces[w][: lengths[w]]
                ids.extend(word_pieces)
                if piece_labels is not None and labels is not None:
                    owned = own_start <= w < own_end
                    piece_labels.append(labels[w] if owned else IGNORE)
                    piece_labels.extend([IGNORE] * (len(word_pieces) - 1))
            ids.extend(after)
            ids.extend(self.suffix)
            if piece_labels is not None:
                piece_labels.extend([IGNORE] * (len(after) + len(self.suffix)))
            result.append(
                Window(index, start, end, own_start, own_end, ids, first, piece_labels)
            )
        self.stats.windows += len(result)
        return result


def _neighbour_pieces(
    flat: Sequence[Sequence[int]], documents: Sequence[int], index: int, step: int, limit: int
) -> list[int]:
    """Up to ``limit`` pieces of the sentences before (``step=-1``) or after (``step=1``)
    sentence ``index`` in the same document, nearest pieces kept, in reading order.

    >>> flat = [[1, 2], [3], [4, 5, 6], [7]]
    >>> docs = [0, 0, 0, 1]
    >>> _neighbour_pieces(flat, docs, 2, -1, limit=2), _neighbour_pieces(flat, docs, 0, 1, limit=3)
    ([2, 3], [3, 4, 5])
    >>> _neighbour_pieces(flat, docs, 2, -1, limit=9)
    [1, 2, 3]
    >>> _neighbour_pieces(flat, docs, 2, 1, limit=5)  # the next sentence is another document
    []
    """
    taken: list[list[int]] = []
    count = 0
    k = index + step
    while 0 <= k < len(flat) and documents[k] == documents[index] and count < limit:
        pieces = flat[k]
        rest = limit - count
        part = pieces[max(0, len(pieces) - rest) :] if step < 0 else pieces[:rest]
        taken.append(list(part))
        count += len(part)
        k += step
    if step < 0:
        taken.reverse()
    return [p for part in taken for p in part]


def _share_room(left: int, right: int, room: int) -> tuple[int, int]:
    """How many context pieces to take on each side: evenly, a short side's rest to the other.

    >>> _share_room(10, 10, 8), _share_room(2, 10, 8), _share_room(10, 10, 40)
    ((4, 4), (2, 6), (10, 10))
    >>> _share_room(10, 1, 8), _share_room(3, 3, -1)
    ((7, 1), (0, 0))
    """
    room = max(room, 0)
    take_left = min(left, max(room // 2, room - right))
    return take_left, min(right, room - take_left)


def _plan_windows(lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Word ranges ``(start, end)`` of windows of at most ``budget`` pieces.

    Consecutive windows advance by about half a window; starts and ends never move back, so
    cutting each overlap in its middle gives every word exactly one owning window.

    >>> _plan_windows([1, 1, 1], budget=8)
    [(0, 3)]
    >>> _plan_windows([2] * 8, budget=8)
    [(0, 4), (2, 6), (4, 8)]
    """
    n = len(lengths)
    if sum(lengths) <= budget:
        return [(0, n)]
    spans = []
    start = 0
    while True:
        end, used = start, 0
        while end < n and used + lengths[end] <= budget:
            used += lengths[end]
            end += 1
        end = max(end, start + 1)
        spans.append((start, end))
        if end >= n:
            return spans
        # next window starts once half the budget has been passed, but always moves on
        step, used = start, 0
        while step < end and used + lengths[step] <= budget // 2:
            used += lengths[step]
            step += 1
        start = max(step, start + 1)


def pad_windows(
    windows: Sequence[Window], pad_id: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch as right-padded int64 arrays: (input_ids, attention_mask, labels).

    The batch is as wide as its longest window; ``labels`` holds ``IGNORE`` on padding and for
    windows without labels. Shared by prediction, the layer probe and the ONNX export's dummy
    batch, so all three feed the network the same way.

    >>> w = Window(0, 0, 1, 0, 1, [0, 7, 2], [1], [IGNORE, 3, IGNORE])
    >>> [a.tolist() for a in pad_windows([w, Window(1, 0, 0, 0, 0, [0, 2], [])], pad_id=1)]
    [[[0, 7, 2], [0, 2, 1]], [[1, 1, 1], [1, 1, 0]], [[-100, 3, -100], [-100, -100, -100]]]
    """
    width = max(len(w.input_ids) for w in windows)
    ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    labels = np.full((len(windows), width), IGNORE, dtype=np.int64)
    for i, w in enumerate(windows):
        n = len(w.input_ids)
        ids[i, :n] = w.input_ids
        mask[i, :n] = 1
        if w.labels is not None:
            labels[i, :n] = w.labels
    return ids, mask, labels

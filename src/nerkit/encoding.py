"""Words to model inputs: subword pieces, first-piece labels and overlapping windows.

This is where run_ner.py loses data: it truncates at ``max_length`` and the words past it vanish.
nerkit never truncates a sentence. A sentence whose pieces do not fit is cut into windows of
whole words that overlap by about half a window. Every word is *owned* by exactly one window:
each overlap is cut in its middle, so a word is predicted where it has context on both sides,
and only the owner's prediction (and, in training, the owner's label) counts. Training and
prediction use the same windows, so the model is trained on what it will see.

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
    empty_words: int = 0  # words the tokenizer turned into no piece (given the unknown piece)
    cut_words: int = 0  # words longer than a window (pieces past the window dropped)

    def summary(self) -> str:
        parts = [f"{self.sentences} sentences -> {self.windows} windows"]
        if self.split_sentences:
            parts.append(f"{self.split_sentences} long sentences split into overlapping windows")
        if self.empty_words:
            parts.append(f"{self.empty_words} words with no subword got the unknown token")
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
    """Turns word lists into :class:`Window` objects for one tokenizer and ``max_length``."""

    def __init__(self, tokenizer: object, max_length: int = 128) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError(
                "nerkit needs a fast tokenizer (with word_ids) to align words and subwords; "
                "load the model with a tokenizer.json or install the tokenizers package"
            )
        self.tokenizer = tokenizer
        self.max_length = max_length
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
            enc = self.tokenizer(  # type: ignore[operator]
                [batch[j] for j in nonempty], is_split_into_words=True, add_special_tokens=False
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
    ) -> list[Window]:
        """Windows for every sentence, in sentence order; empty sentences give none."""
        all_pieces = self.word_pieces(sentences)
        out: list[Window] = []
        for index, pieces in enumerate(all_pieces):
            labels = tag_ids[index] if tag_ids is not None else None
            out.extend(self._sentence_windows(index, pieces, labels))
        return out

    def _sentence_windows(
        self, index: int, pieces: list[list[int]], labels: Sequence[int] | None
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
            ids = list(self.prefix)
            first = []
            piece_labels = [IGNORE] * len(self.prefix) if labels is not None else None
            for w in range(start, end):
                first.append(len(ids))
                word_pieces = pieces[w][: lengths[w]]
                ids.extend(word_pieces)
                if piece_labels is not None and labels is not None:
                    owned = own_start <= w < own_end
                    piece_labels.append(labels[w] if owned else IGNORE)
                    piece_labels.extend([IGNORE] * (len(word_pieces) - 1))
            ids.extend(self.suffix)
            if piece_labels is not None:
                piece_labels.extend([IGNORE] * len(self.suffix))
            result.append(
                Window(index, start, end, own_start, own_end, ids, first, piece_labels)
            )
        self.stats.windows += len(result)
        return result


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

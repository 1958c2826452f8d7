"""The ordered label set a model predicts, built from the data and saved with the model.

Labels come from every split the user gives (not train alone, the mistake run_ner.py makes), in
the internal IOB2 scheme, ordered ``O`` first then ``B-``/``I-`` per type sorted by name, so the
same data always gives the same ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nerkit.conll.schemes import split_tag
from nerkit.errors import LabelError

INTERNAL_SCHEME = "iob2"


@dataclass(frozen=True)
class LabelSet:
    """Ordered labels with their ids.

    >>> labels = LabelSet.from_types(["PER", "LOC"])
    >>> labels.labels
    ('O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER')
    >>> labels.id("I-PER")
    4
    """

    labels: tuple[str, ...]

    @classmethod
    def from_types(cls, types: Iterable[str]) -> LabelSet:
        ordered = sorted(set(types))
        return cls(("O", *[f"{p}-{t}" for t in ordered for p in ("B", "I")]))

    @classmethod
    def from_tags(cls, tag_sequences: Iterable[Sequence[str]]) -> LabelSet:
        """All entity types seen in the tags, whatever their prefix or scheme.

        An untyped tag (a bare ``B`` or ``I``) is refused as the column reader refuses it: a
        model's labels are ``B-TYPE``/``I-TYPE``, so it could never predict one.
        """
        types: set[str] = set()
        for tags in tag_sequences:
            for tag in tags:
                prefix, label = split_tag(tag)
                if prefix != "O" and not label:
                    raise LabelError(
                        f"tag {tag!r} has no entity type; write {prefix}-TYPE, as in {prefix}-PER"
                    )
                if prefix != "O":
                    types.add(label)
        return cls.from_types(types)

    @classmethod
    def from_config(cls, id2label: dict[int | str, str]) -> LabelSet:
        """The label set stored in a Hugging Face config (``id2label``)."""
        return cls(tuple(id2label[k] for k in sorted(id2label, key=int)))

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(t for t in dict.fromkeys(split_tag(x)[1] for x in self.labels) if t)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.labels))

    @property
    def label2id(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    def id(self, label: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise LabelError(
                f"label {label!r} is unknown to the model (it knows {', '.join(self.labels)})"
            ) from None

    def ids(self, tags: Sequence[str], *, where: str = "") -> list[int]:
        """Ids of IOB2 tags; an unknown tag raises :class:`LabelError` naming ``where``."""
        table = self.label2id
        out = []
        for i, tag in enumerate(tags):
            if tag not in table:
                place = f"{where} (word {i + 1})" if where else f"word {i + 1}"
                raise LabelError(
                    f"{place}: tag {tag!r} is unknown to the model, which knows "
                    f"{', '.join(self.labels)}; retrain with data that has this type, or map it "
                    "to a known one"
                )
            out.append(table[tag])
        return out

    def __len__(self) -> int:
        return len(self.labels)

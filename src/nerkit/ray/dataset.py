"""A Ray ``Dataset`` of texts in, the same dataset with an ``entities`` column out.

The tagging runs in :class:`TagBatches` actors (Ray Data's actor pool): each loads the model
once and tags whole batches with :meth:`Tagger.tag_many <nerkit.tagging.tagger.Tagger.tag_many>`,
the path ``nerkit predict`` takes, so the entities and their offsets are the same. Batches are
Arrow tables and the ``entities`` column has one fixed Arrow type, so that blocks where no text
has an entity still concatenate with the others.
"""

from __future__ import annotations

import os
from typing import Any

from nerkit.errors import ConfigError, DataFormatError

ENTITY_FIELDS = (("text", "string"), ("label", "string"), ("start", "int64"),
                 ("end", "int64"), ("score", "float64"))


def entity_type() -> Any:
    """The Arrow type of the ``entities`` column: a list of (text, label, start, end, score)."""
    import pyarrow as pa

    return pa.list_(pa.struct([(name, getattr(pa, kind)()) for name, kind in ENTITY_FIELDS]))


def ray_ready() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ConfigError(
            "Ray is not installed; install it with `pip install nerkit[ray]`"
        ) from err
    return ray


class TagBatches:
    """A Ray Data actor: loads the model once, then adds ``entities`` to each batch of texts."""

    def __init__(
        self,
        model_dir: str,
        text_column: str = "text",
        threads: int | None = 1,
        decoding: str | None = None,
    ) -> None:
        from nerkit.tagging.tagger import Tagger

        self.tagger = Tagger.load(model_dir, threads=threads, decoding=decoding)
        self.text_column = text_column

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        if self.text_column not in batch.column_names:
            raise DataFormatError(
                "dataset", None, f"no column {self.text_column!r} (columns: "
                f"{', '.join(batch.column_names)})", "pass text_column= with the text's column"
            )
        texts = batch.column(self.text_column).to_pylist()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataFormatError(
                    "dataset", None, f"row {i} of a batch: {self.text_column!r} is "
                    f"{type(text).__name__}, not a string", "give one text per row"
                )
        found = [[e.to_dict() for e in entities] for entities in self.tagger.tag_many(texts)]
        return batch.append_column("entities", pa.array(found, type=entity_type()))


def tag_dataset(
    ds: Any,
    model_dir: str | os.PathLike[str],
    *,
    text_column: str = "text",
    workers: int | None = None,
    batch_size: int = 256,
    threads: int = 1,
    decoding: str | None = None,
) -> Any:
    """``ds`` with an ``entities`` column: one list of entities per row's ``text_column``.

    ``workers`` actors (default: as many as the cluster's CPUs allow at ``threads`` each) each
    load ``model_dir`` once; on a cluster the folder must be readable at that path on every node
    (a shared file system). ``batch_size`` rows go to an actor at a time: large enough that the
    model's own batches fill, small enough that the work spreads over every actor. A killed actor
    is restarted by Ray and its batch run again. Lazy, like every Ray Data transformation.

    >>> import ray                                               # doctest: +SKIP
    >>> ds = ray.data.read_json("s3://bucket/docs/")             # doctest: +SKIP
    >>> tagged = tag_dataset(ds, "/shared/my-ner-model")          # doctest: +SKIP
    >>> tagged.write_parquet("s3://bucket/tagged/")              # doctest: +SKIP
    """
    ray = ray_ready()
    if batch_size < 1 or threads < 1 or (workers is not None and workers < 1):
        raise ConfigError("batch_size, threads and workers must be at least 1")
    if workers is None:
        cpus = int(ray.cluster_resources().get("CPU", 1)) if ray.is_initialized() else 1
        workers = max(1, cpus // threads)
    return ds.map_batches(
        TagBatches,
        fn_constructor_kwargs={"model_dir": str(model_dir), "text_column": text_column,
                               "threads": threads, "decoding": decoding},
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
        udf_modifying_row_count=False,
    )

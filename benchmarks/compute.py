"""Training compute of a run, counted from its settings, so that runs compare on one budget.

The budget rule of the accuracy work (docs/compute-budget.md): no configuration may spend more
training compute than the Hugging Face recipe's 3 epochs. Wall time cannot be that measure
(runs share two busy CPU cores or move to a GPU), so the compute is counted, deterministically,
from what a run records:

    training_compute = 3 x sum over training steps of (padded pieces of the batch x layers run)
                       + 1 x padded pieces the layer probe feeds forward x the encoder's layers

in **layer-pieces**: one encoder layer applied to one piece position (a subword, a special or a
padding piece). A training step runs the batch forward and backward through every kept layer;
the backward pass is counted as twice the forward (it computes the gradients with respect to
both the activations and the weights, one matrix product each for every product of the forward
pass; the usual 6N-FLOPs-per-token rule for training, against 2N for inference). Padding is
counted because a padded position costs a dense layer as much as a real one. Left out, for both
systems alike: the embeddings and the classification head (a lookup and one small matrix), and
the part of attention that grows with the sequence length (about 4Ld of each layer's 24d^2 + 4Ld
FLOPs per piece: at most 5 % for e5-small, d = 384, at L = 128 pieces).

What decides the padded pieces:

- the Hugging Face recipe (``hf_recipe.py``): one input per sentence, truncated at
  ``max_length``; the Trainer's default random sampler; each batch padded to its longest
  input. The Trainer hands the sampler to accelerate, which seeds it with ``seed + epoch``
  (``SeedableRandomSampler``), so every epoch's order is replayed here exactly.
- nerkit: its windows (up to ``max_length`` pieces with up to ``context`` pieces of the
  neighbouring sentences, sentences drawn for context dropout read alone), as
  ``nerkit.modeling.encoding.WindowEncoder`` builds them; with ``sampling="random"`` the order
  is replayed exactly as above. With ``group_by_length`` (the default) the Trainer's
  ``LengthGroupedSampler`` draws each epoch's permutation from torch's global generator: the
  first epoch's is replayed exactly (the generator is reseeded when the Trainer is made and
  the data loader draws one number first), but the later ones depend on how many numbers
  dropout drew during training (on a GPU none at all), which no setting records. Those epochs
  are **bounded** instead, exactly, over every permutation the sampler can produce: the
  column holds the upper bound (a run under the budget by this count is under it whatever the
  order was) and the detail holds both bounds. They are a few percent apart on conll2002,
  wider than the spread of the orders the sampler actually draws (``budget`` prints both).
- the layer probe (``encoder_layers="auto"``) runs the full encoder forward over up to 1000
  training windows, batched by length, once per run: counted with its own layers, forward only.

nerkit also scores dev after each epoch to keep the best checkpoint; that is forward passes on
dev, not training, and is reported next to the count (``dev_selection``), not in it. The steps
are the Trainer's: ``ceil(epochs x batches per epoch)``, or ``max_steps``.

Examples::

    python3 benchmarks/compute.py budget --corpus conll2002-es   # the recipe's 3 epochs and
                                                                 # how many of nerkit's fit
    python3 benchmarks/compute.py annotate benchmarks/results/accuracy-conll2002-es.json
    python3 benchmarks/compute.py run path/to/nerkit-model-folder  # or an hf_recipe.py --json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent
BUILDER = PROJECT_ROOT.parent / "shared" / "models" / "build-e5-small"
UNIT = "layer-pieces"
FORWARD, BACKWARD = 1, 2  # a backward pass costs twice its forward pass
PASSES = FORWARD + BACKWARD
FORMULA = (
    "3 x sum over training steps of (padded pieces in the batch x encoder layers kept) "
    "+ 1 x padded pieces of the layer probe's forward passes x the encoder's layers "
    "(backward = 2 x forward; embeddings, head and the length-dependent part of attention "
    "left out for both systems)"
)
# the recipe's budget: its defaults (hf_recipe.py, run_ner.py)
RECIPE_BUDGET = {"epochs": 3.0, "batch_size": 32, "max_length": 128, "max_steps": -1,
                 "limit_train": None}
# the layer probe's sample and batch (nerkit.modeling.layer_probe.probe_layers defaults)
PROBE_SAMPLE, PROBE_BATCH = 1000, 32


class ComputeError(Exception):
    """Settings from which the compute cannot be counted; the message says what is missing."""


@dataclass
class Compute:
    """One run's training compute, with the parts it is made of.

    ``padded`` is (low, high): equal when every batch was replayed, bounds otherwise.
    """

    system: str
    layers: int  # encoder layers run by each training step
    examples: int  # training inputs per epoch: sentences (recipe) or windows (nerkit)
    steps: int
    epochs: float  # steps / batches per epoch
    pieces: int  # real (unpadded) pieces of the training steps
    padded: tuple[int, int]
    probe: int = 0  # layer-pieces of the layer probe (forward only, all layers)
    dev_selection: int | None = None  # forward layer-pieces of the per-epoch dev scoring
    notes: list[str] = field(default_factory=list)
    copies: int = 1  # passes of each window per step (2 with R-Drop)

    @property
    def low(self) -> int:
        return PASSES * self.copies * self.layers * self.padded[0] + self.probe

    @property
    def high(self) -> int:
        return PASSES * self.copies * self.layers * self.padded[1] + self.probe

    @property
    def exact(self) -> bool:
        return self.padded[0] == self.padded[1]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["padded"] = list(self.padded)
        shares = [round(1 - self.pieces / p, 4) if p else 0.0 for p in self.padded]
        out.update(unit=UNIT, training_compute=self.high, low=self.low, high=self.high,
                   exact=self.exact,
                   # share of the padded pieces that are padding (low, high where bounded)
                   padding_share=shares[0] if self.exact else shares)
        return out


# ----------------------------------------------------------------------------- schedule


def batches_per_epoch(examples: int, batch_size: int) -> int:
    """Batches in one epoch (the last one may be short; the Trainer does not drop it)."""
    return max(math.ceil(examples / batch_size), 1)


def total_steps(examples: int, batch_size: int, epochs: float, max_steps: int) -> int:
    """The Trainer's number of optimizer steps: ``max_steps``, else ceil(epochs x batches)."""
    if max_steps > 0:
        return max_steps
    return math.ceil(epochs * batches_per_epoch(examples, batch_size))


def batch_costs(lengths: Sequence[int], order: Sequence[int], batch_size: int) -> list[int]:
    """Padded pieces of each batch when the inputs come in ``order``, each batch padded to
    its longest input (``DataCollatorForTokenClassification`` without ``pad_to_multiple_of``).

    >>> batch_costs([3, 5, 2, 7, 1], [0, 1, 2, 3, 4], batch_size=2)
    [10, 14, 1]
    """
    return [
        len(batch) * max(lengths[i] for i in batch)
        for batch in (order[i : i + batch_size] for i in range(0, len(order), batch_size))
    ]


def seedable_order(n: int, seed: int, epoch: int) -> list[int]:
    """The Trainer's random order for ``epoch`` (0-based) of a run with ``seed``.

    accelerate replaces the Trainer's ``RandomSampler`` by a ``SeedableRandomSampler`` whose
    generator is seeded with ``torch.initial_seed() + epoch``; the Trainer has just called
    ``set_seed(seed)``, so that is ``seed + epoch``.
    """
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()


def grouped_first_order(lengths: Sequence[int], batch_size: int, seed: int) -> list[int]:
    """The first epoch's order under ``group_by_length``, replayed.

    ``LengthGroupedSampler`` draws its permutation from torch's global generator, which the
    Trainer seeds with ``seed`` when it is made; creating the data loader's iterator draws one
    64-bit number (its base seed) before the sampler draws the permutation.
    """
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.empty((), dtype=torch.int64).random_()
        return get_length_grouped_indices(list(lengths), batch_size)


def replayed_padded(
    lengths: Sequence[int], batch_size: int, steps: int, order: Callable[[int], Sequence[int]]
) -> int:
    """Padded pieces of ``steps`` batches, epoch after epoch, each epoch in ``order(epoch)``."""
    total = done = epoch = 0
    while done < steps:
        costs = batch_costs(lengths, order(epoch), batch_size)
        take = min(len(costs), steps - done)
        total += sum(costs[:take])
        done += take
        epoch += 1
    return total


def real_pieces(lengths: Sequence[int], batch_size: int, steps: int) -> int:
    """Unpadded pieces of ``steps`` batches: whole epochs exactly; the last partial epoch's
    batches hold ``batch_size`` inputs each, counted at the mean input length."""
    per_epoch = batches_per_epoch(len(lengths), batch_size)
    full, rest = divmod(steps, per_epoch)
    mean = sum(lengths) / len(lengths)
    return full * sum(lengths) + round(rest * min(batch_size, len(lengths)) * mean)


# ----------------------------------------------------------------------------- bounds


def _top(sorted_desc: Sequence[int], k: int) -> int:
    return sum(sorted_desc[: max(k, 0)])


def grouped_bounds(lengths: Sequence[int], batch_size: int, batches: int) -> tuple[int, int]:
    """Exact bounds on the padded pieces of the first ``batches`` batches of one epoch of
    ``LengthGroupedSampler``, over every permutation it may draw.

    The sampler cuts a random permutation into megabatches of ``mult x batch_size`` inputs
    (``mult = min(n // (4 batch_size), 50)``, at least 1), sorts each by decreasing length, cuts
    it into batches, and swaps the longest input of all into the first batch. Every batch but
    the epoch's last holds ``batch_size`` inputs.

    Low: the first batch holds the longest input; the other batches cost at least the shortest
    remaining inputs cut, in sorted order, into batches (any other grouping of the same sizes
    pads more). High: in a megabatch sorted by length, batch k >= 1 is padded to a length no
    greater than any input of batch k - 1, so it costs at most their sum; the first batch of
    each megabatch costs at most ``batch_size`` x its longest input (the longest of all for the
    first megabatch, after the swap). With m megabatches touched, the cost is at most
    ``batch_size`` x (the longest input + the m - 1 next longest) + the sum of the
    ``batch_size x (batches - m)`` longest inputs.
    """
    n = len(lengths)
    per_epoch = batches_per_epoch(n, batch_size)
    batches = min(batches, per_epoch)
    if batches <= 0:
        return 0, 0
    mult = max(min(n // (batch_size * 4), 50), 1)
    desc = sorted(lengths, reverse=True)
    last_size = n - batch_size * (per_epoch - 1)
    # low: the longest input's batch, then the cheapest grouping of the shortest others
    if batches == per_epoch:
        low = _cheapest_grouping(desc, batch_size, last_size)
    else:
        shortest = sorted(desc[1:])[: batch_size * (batches - 1)]
        low = batch_size * desc[0] + sum(
            len(chunk) * chunk[-1]
            for chunk in (shortest[i : i + batch_size] for i in range(0, len(shortest), batch_size))
        )
    touched = math.ceil(batches / mult)
    high = batch_size * (desc[0] + _top(desc, touched - 1)) + _top(
        desc, batch_size * (batches - touched)
    )
    return low, min(high, batch_size * desc[0] * batches)


def _cheapest_grouping(desc: Sequence[int], batch_size: int, last_size: int) -> int:
    """Least padded pieces of all inputs (``desc``: longest first) cut into full batches and
    one batch of ``last_size``.

    An optimal grouping takes consecutive inputs in sorted order (swapping two inputs between
    batches never helps); only the place of the short batch among them is free, so every place
    is tried.

    >>> _cheapest_grouping([9, 5, 5, 1, 1], batch_size=2, last_size=1)  # {9} {5 5} {1 1}
    21
    """
    n = len(desc)

    def chunks_from(offset: int) -> list[int]:
        # cost of each full batch of consecutive inputs starting at offset, offset + bs, ...
        return [batch_size * desc[i] for i in range(offset, n - batch_size + 1, batch_size)]

    before = [0]  # before[k]: the k full batches at the top
    for cost in chunks_from(0):
        before.append(before[-1] + cost)
    after_costs = chunks_from(last_size)
    after = [0] * (len(after_costs) + 1)  # after[k]: full batches from the k-th one on
    for k in range(len(after_costs) - 1, -1, -1):
        after[k] = after[k + 1] + after_costs[k]
    full = (n - last_size) // batch_size
    return min(
        before[k] + last_size * desc[k * batch_size] + after[k] for k in range(full + 1)
    )


def grouped_padded(
    lengths: Sequence[int], batch_size: int, steps: int, seed: int
) -> tuple[int, int]:
    """(low, high) padded pieces of ``steps`` batches of ``group_by_length``: the first epoch
    replayed, every later one bounded."""
    per_epoch = batches_per_epoch(len(lengths), batch_size)
    first = batch_costs(lengths, grouped_first_order(lengths, batch_size, seed), batch_size)
    exact = sum(first[: min(steps, per_epoch)])
    low = high = exact
    rest = steps - min(steps, per_epoch)
    full, partial = divmod(rest, per_epoch)
    if full:
        lo, hi = grouped_bounds(lengths, batch_size, per_epoch)
        low, high = low + full * lo, high + full * hi
    if partial:
        lo, hi = grouped_bounds(lengths, batch_size, partial)
        low, high = low + lo, high + hi
    return low, high


# ----------------------------------------------------------------------------- the model


@lru_cache(maxsize=4)
def _tokenizer(model: str) -> Any:
    from nerkit.modeling.folder import load_tokenizer

    encoder_layers(model)  # a local folder only: never a hub download
    return load_tokenizer(model)


def encoder_layers(model: str | os.PathLike[str]) -> int:
    """The encoder's layer count, from its ``config.json`` (no weights loaded)."""
    path = Path(model) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ComputeError(f"{path}: cannot read the encoder's config ({type(err).__name__}); "
                           "pass --model with the encoder's folder") from err
    if "num_hidden_layers" not in config:
        raise ComputeError(f"{path}: no num_hidden_layers; cannot count the encoder's layers")
    return int(config["num_hidden_layers"])


def default_model() -> str:
    """The e5-small folder: the last line printed by ``../shared/models/build-e5-small``."""
    if not BUILDER.exists():
        raise SystemExit(f"compute: {BUILDER} not found; pass --model")
    done = subprocess.run([sys.executable, str(BUILDER)], capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode or not lines:
        raise SystemExit(f"compute: {BUILDER} failed; pass --model\n{done.stderr}")
    return lines[-1].strip()


def default_data_dir() -> str:
    return os.environ.get("NERKIT_DATA") or str(PROJECT_ROOT.parent / "shared" / "data")


# ----------------------------------------------------------------------------- the recipe


def _load_hf_recipe() -> Any:
    if "hf_recipe" in sys.modules:
        return sys.modules["hf_recipe"]
    spec = importlib.util.spec_from_file_location("hf_recipe", HERE / "hf_recipe.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def recipe_train_file(corpus: str, data_dir: str) -> str:
    """The train file of a named corpus, where ``hf_recipe.py`` finds it."""
    hf_recipe = _load_hf_recipe()
    if corpus not in hf_recipe.CORPUS_FILES:
        raise ComputeError(f"unknown corpus {corpus!r}; known: {', '.join(hf_recipe.CORPUS_FILES)}")
    folder, names = hf_recipe.CORPUS_FILES[corpus]
    path = Path(data_dir) / folder / names["train"]
    if not path.exists():
        raise ComputeError(f"{path} not found; pass --data-dir (the folder holding {folder}/)")
    return str(path)


@lru_cache(maxsize=8)
def recipe_lengths(
    train: str, model: str, max_length: int, limit_train: int | None = None
) -> tuple[int, ...]:
    """Pieces of each training input of the recipe, encoded by ``hf_recipe.py``'s own code."""
    hf_recipe = _load_hf_recipe()
    sentences = hf_recipe.read_conll(train)[:limit_train]
    labels = {tag: i for i, tag in enumerate(hf_recipe.label_list(sentences))}
    encoded = hf_recipe.encode(_tokenizer(model), sentences, labels, max_length)
    return tuple(len(f["input_ids"]) for f in encoded.features)


def recipe_compute(
    settings: dict[str, Any], corpus: str | None, model: str, data_dir: str,
    train: str | None = None,
) -> Compute:
    """The recipe's count from its settings (``hf_recipe.py --json``'s ``settings``) on
    ``corpus`` (or the ``train`` file)."""
    layers = encoder_layers(model)  # first: a missing model fails before any tokenizing
    if train is None:
        if corpus is None:
            raise ComputeError("no corpus and no train file recorded")
        train = recipe_train_file(corpus, data_dir)
    lengths = recipe_lengths(train, model, settings["max_length"], settings.get("limit_train"))
    batch, seed = settings["batch_size"], settings["seed"]
    steps = total_steps(len(lengths), batch, settings["epochs"], settings.get("max_steps", -1))
    padded = replayed_padded(lengths, batch, steps, lambda epoch: seedable_order(
        len(lengths), seed, epoch))
    return Compute(
        system="hf-recipe", layers=layers, examples=len(lengths), steps=steps,
        epochs=round(steps / batches_per_epoch(len(lengths), batch), 4),
        pieces=real_pieces(lengths, batch, steps), padded=(padded, padded),
        notes=["every epoch's order replayed (seed + epoch)"],
    )


def recipe_budget(corpus: str, model: str, data_dir: str, seed: int) -> Compute:
    """The budget: the recipe's defaults (3 epochs, batch 32, truncation at 128) with ``seed``."""
    return recipe_compute({**RECIPE_BUDGET, "seed": seed}, corpus, model, data_dir)


# ----------------------------------------------------------------------------- nerkit


_WINDOWS: dict[tuple[Any, ...], list[Any]] = {}


def nerkit_windows(settings: dict[str, Any], model: str, data_dir: str, split: str) -> list[Any]:
    """The windows nerkit trains on (``split="train"``) or scores (``"dev"``) for ``settings``,
    built as ``nerkit.training.train.train`` builds them (kept for the next call with the same
    data settings: a budget search counts one run many times)."""
    keys = ("data", split, "max_length", "context", "limit_train")
    key = (model, data_dir, split, *(settings.get(k) for k in keys))
    if split == "train":
        key += (settings.get("context_dropout", 0.0), settings.get("augment_mentions", 0.0),
                settings["seed"])
    if key not in _WINDOWS:
        if len(_WINDOWS) >= 4:  # a few sets at a time: windows of 8k sentences are not small
            _WINDOWS.clear()
        _WINDOWS[key] = _build_windows(settings, model, data_dir, split)
    return _WINDOWS[key]


def _build_windows(settings: dict[str, Any], model: str, data_dir: str, split: str
                   ) -> list[Any]:
    from nerkit.conll.corpus import CORPORA
    from nerkit.conll.formats import load_split
    from nerkit.modeling.encoding import WindowEncoder
    from nerkit.training.data import context_dropout_flags, training_sentences

    data = settings.get("data")
    if data in CORPORA:
        folder = Path(data_dir) / CORPORA[data].folder / CORPORA[data].files[split]
        if not folder.exists():  # load_split would go and download it
            raise ComputeError(f"{folder} not found; pass --data-dir")
        sentences = load_split(data, split, data_dir)
    elif settings.get(split):
        sentences = load_split(settings[split], split)
    else:
        raise ComputeError(f"no {split} data recorded (neither a corpus name nor a {split} file)")
    if split == "train" and settings.get("limit_train") is not None:
        sentences = sentences[: settings["limit_train"]]
    if split == "train":  # the copies of mention replacement are trained on, and counted
        sentences = training_sentences(sentences, settings.get("augment_mentions", 0.0),
                                       settings["seed"])
    context = settings.get("context", 0)
    encoder = WindowEncoder(_tokenizer(model), settings["max_length"], context)
    words = [s.words for s in sentences]
    documents = [s.doc_id for s in sentences]
    if split != "train":
        return encoder.windows(words, documents=documents)
    alone = context_dropout_flags(len(sentences), settings.get("context_dropout", 0.0),
                                  settings["seed"])
    # any label id gives the same windows; labels only mark which windows the probe may use
    tags = [[0] * len(s) for s in sentences]
    return encoder.windows(words, tags, documents, alone=alone)


def probe_padded(windows: Sequence[Any], sample: int = PROBE_SAMPLE,
                 batch_size: int = PROBE_BATCH) -> int:
    """Padded pieces the layer probe feeds forward: its sample of labelled windows, two thirds
    to fit and one third to score, each part sorted by length and batched
    (``nerkit.modeling.layer_probe.probe_layers``)."""
    from nerkit.modeling.encoding import IGNORE

    labelled = [w for w in windows if w.labels and any(t != IGNORE for t in w.labels)]
    step = max(1, len(labelled) // sample)
    chosen = labelled[::step][:sample]
    score_part = chosen[2::3]
    fit_part = [w for i, w in enumerate(chosen) if i % 3 != 2]
    if not fit_part or not score_part:
        return 0  # the probe gives up before running the encoder
    total = 0
    for part in (fit_part, score_part):
        lengths = sorted(len(w.input_ids) for w in part)
        total += sum(batch_costs(lengths, range(len(lengths)), batch_size))
    return total


def nerkit_layers(settings: dict[str, Any], total: int) -> tuple[int, bool]:
    """(layers trained, whether the layer probe ran) from a run's settings."""
    chosen = settings.get("encoder_layers")
    probed = settings.get("encoder_layers_chosen_by") == "layer probe"
    if chosen == "auto":
        raise ComputeError("encoder_layers 'auto' without the probe's choice recorded")
    if chosen in (None, "all"):
        return total, probed
    return int(chosen), probed


def nerkit_compute(
    settings: dict[str, Any], model: str, data_dir: str, dev: bool = True
) -> Compute:
    """nerkit's count from a run's settings (a ``TrainConfig`` as ``training_args.json`` or a
    results row records it, with the probe's choice in ``encoder_layers``)."""
    total_layers = encoder_layers(model)
    layers, probed = nerkit_layers(settings, total_layers)
    windows = nerkit_windows(settings, model, data_dir, "train")
    lengths = [len(w.input_ids) for w in windows]
    batch, seed = settings["batch_size"], settings["seed"]
    steps = total_steps(len(lengths), batch, settings["epochs"], settings.get("max_steps", -1))
    per_epoch = batches_per_epoch(len(lengths), batch)
    notes = []
    if settings.get("sampling", "group_by_length") == "random":
        exact = replayed_padded(lengths, batch, steps, lambda e: seedable_order(len(lengths),
                                                                                seed, e))
        padded = (exact, exact)
        notes.append("every epoch's order replayed (seed + epoch)")
    else:
        padded = grouped_padded(lengths, batch, steps, seed)
        notes.append("group_by_length: first epoch replayed; later epochs bounded over every "
                     "order the sampler can draw (it draws from the global torch generator, "
                     "which dropout advances)" if steps > per_epoch else
                     "group_by_length: the first epoch's order replayed")
    probe = 0
    if probed:
        probe = FORWARD * total_layers * probe_padded(windows)
        notes.append(f"layer probe: forward through all {total_layers} layers, counted")
    copies = 2 if settings.get("rdrop") else 1
    if copies == 2:
        notes.append("R-Drop: every window runs twice per step (forward and backward), counted")
    if settings.get("early_stopping"):
        notes.append("early_stopping set: the full schedule is counted, an upper bound")
    if settings.get("resume"):
        notes.append("resumed run: counted as one uninterrupted schedule (steps redone after "
                     "an interruption are not recorded)")
    selection = None
    if dev:
        selection = dev_selection(settings, model, data_dir, layers, steps, per_epoch)
    return Compute(
        system="nerkit", layers=layers, examples=len(lengths), steps=steps,
        epochs=round(steps / per_epoch, 4), pieces=real_pieces(lengths, batch, steps),
        padded=padded, probe=probe, dev_selection=selection, notes=notes, copies=copies,
    )


def dev_selection(settings: dict[str, Any], model: str, data_dir: str, layers: int,
                  steps: int, per_epoch: int) -> int | None:
    """Forward layer-pieces of nerkit's dev scoring during training (kept out of the count):
    once per epoch begun, or once at ``max_steps``; windows sorted by length and batched by
    ``eval_batch_size`` as ``Predictor.word_log_probs`` does."""
    try:
        windows = nerkit_windows(settings, model, data_dir, "dev")
    except ComputeError:
        return None
    evaluations = 1 if settings.get("max_steps", -1) > 0 else math.ceil(steps / per_epoch)
    lengths = sorted(len(w.input_ids) for w in windows)
    padded = sum(batch_costs(lengths, range(len(lengths)), settings.get("eval_batch_size", 64)))
    return FORWARD * layers * padded * evaluations


# ----------------------------------------------------------------------------- results rows


def row_compute(row: dict[str, Any], model: str, data_dir: str, dev: bool = True) -> Compute:
    """The count of one row of ``accuracy-*.json`` (``accuracy.hf_run``/``nerkit_run``).

    The row's own encoder folder is used where it exists here, else ``model`` (noted).
    """
    settings = row.get("settings")
    if not settings:
        raise ComputeError("no settings recorded in this row")
    here = row.get("model") if row.get("model") and Path(row["model"]).is_dir() else model
    if row.get("system") == "hf-recipe":
        if not row.get("corpus") and not row.get("train_file"):
            raise ComputeError("the recipe row records no corpus and no train file")
        missing = [k for k in ("epochs", "batch_size", "max_length", "seed") if k not in settings]
        if missing:
            raise ComputeError(f"settings {', '.join(missing)} not recorded")
        count = recipe_compute(settings, row.get("corpus"), here, data_dir,
                               train=None if row.get("corpus") else row["train_file"])
    elif row.get("system") == "nerkit":
        from run_settings import SETTINGS_BEFORE

        count = nerkit_compute({**SETTINGS_BEFORE, **settings}, here, data_dir, dev=dev)
    else:
        raise ComputeError(f"unknown system {row.get('system')!r}")
    if here != row.get("model"):
        count.notes.append(f"trained from {row.get('model')}, counted with {here}'s tokenizer "
                           "and layer count")
    return count


def annotate_runs(
    runs: Sequence[dict[str, Any]], corpus: str, model: str, data_dir: str
) -> dict[str, Any]:
    """Add ``training_compute`` (layer-pieces), its ratio to the recipe's 3-epoch budget with the
    row's seed, and the detail to every row; a row that cannot be counted gets ``None`` and a
    note why. Returns the top-level summary (unit, formula, budget per seed, per-row figures)."""
    budgets: dict[int, int] = {}
    summary = []
    for row in runs:
        try:
            count = row_compute(row, model, data_dir)
            if row["seed"] not in budgets:
                budgets[row["seed"]] = recipe_budget(corpus, model, data_dir, row["seed"]).high
            row["training_compute"] = count.high
            row["training_compute_ratio"] = round(count.high / budgets[row["seed"]], 4)
            row["training_compute_detail"] = count.as_dict()
        except (ComputeError, KeyError, TypeError, ValueError) as err:
            row["training_compute"] = None
            row["training_compute_ratio"] = None
            row["training_compute_detail"] = {"note": f"not counted: {err}"}
        summary.append({k: row.get(k) for k in ("system", "seed", "lr", "training_compute",
                                                "training_compute_ratio")})
    return {
        "unit": UNIT,
        "formula": FORMULA,
        "budget": {"rule": "the recipe's 3 epochs (batch 32, truncation at 128) on "
                   f"{corpus}, same seed as the row", "by_seed": budgets},
        "rows": summary,
        "notes": "training_compute is exact where every batch is replayed and an upper bound "
                 "otherwise (group_by_length after its first epoch; detail.low/high); "
                 "detail.dev_selection (nerkit's per-epoch dev scoring, forward) is not in it. "
                 "See benchmarks/compute.py and docs/compute-budget.md.",
    }


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as accuracy.py does (indent 2), atomically: a temporary file renamed."""
    text = json.dumps(data, indent=2, default=str) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        # mkstemp makes the file private; keep the mode the file had, or the usual one
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_report(path: str | Path, report: dict[str, Any]) -> None:
    """Write a benchmark's JSON report (folders made as needed) and say where, and how to make
    it again (its ``command``)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, report)
    print(f"\nwrote {out}\nreproduce: {report['command']}")


def annotate_file(path: Path, model: str, data_dir: str, command: str) -> dict[str, Any]:
    """Add the compute column to every row of a results file, changing nothing else."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if "runs" not in data or "corpus" not in data:
        raise ComputeError(f"{path}: not an accuracy.py results file (no runs or corpus)")
    data["training_compute"] = {**annotate_runs(data["runs"], data["corpus"], model, data_dir),
                                "command": command}
    write_json(path, data)
    return data


# ----------------------------------------------------------------------------- budget


def nerkit_defaults(corpus: str, seed: int, layers: int, config_file: str | None = None
                    ) -> dict[str, Any]:
    """nerkit's settings for ``corpus``: today's ``TrainConfig`` defaults, then ``config_file``,
    with ``layers`` standing for the probe's choice (the probe runs: its cost is counted)."""
    from nerkit.training.config import TrainConfig

    config = TrainConfig.from_file(config_file) if config_file else TrainConfig()
    settings = asdict(config)
    probed = settings["encoder_layers"] == "auto"
    settings.update(data=corpus, seed=seed)
    if probed:
        settings.update(encoder_layers=layers, encoder_layers_chosen_by="layer probe")
    return settings


def steps_within(settings: dict[str, Any], model: str, data_dir: str, budget: int) -> int:
    """Most training steps of ``settings`` whose count (upper bound) stays within ``budget``."""
    low, high = 0, 1
    while nerkit_compute({**settings, "max_steps": high}, model, data_dir, dev=False
                         ).high <= budget:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        fits = nerkit_compute({**settings, "max_steps": mid}, model, data_dir, dev=False
                              ).high <= budget
        low, high = (mid, high) if fits else (low, mid)
    return low


def whole_epochs_within(settings: dict[str, Any], model: str, data_dir: str, budget: int
                        ) -> tuple[int, int]:
    """Most whole epochs within ``budget``: by the count, and by the count plus the dev scoring
    after each epoch."""
    found = [0, 0]
    epochs = 1
    while True:
        count = nerkit_compute({**settings, "epochs": float(epochs)}, model, data_dir)
        with_dev = count.high + (count.dev_selection or 0)
        if count.high > budget:
            return found[0], found[1]
        found[0] = epochs
        if with_dev <= budget:
            found[1] = epochs
        epochs += 1


def sampled_epochs(lengths: Sequence[int], batch_size: int, samples: int) -> dict[str, Any]:
    """The exact bounds on one length-grouped epoch next to the padded pieces of ``samples``
    orders the sampler draws (generator seeds 0, 1, ...): how wide the bounds are against the
    orders that actually occur."""
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    low, high = grouped_bounds(lengths, batch_size, batches_per_epoch(len(lengths), batch_size))
    generator = torch.Generator()
    drawn = []
    for seed in range(samples):
        generator.manual_seed(seed)
        order = get_length_grouped_indices(list(lengths), batch_size, generator=generator)
        drawn.append(sum(batch_costs(lengths, order, batch_size)))
    drawn.sort()
    return {"pieces": sum(lengths), "low": low, "high": high, "samples": samples,
            "sampled_min": drawn[0], "sampled_median": drawn[len(drawn) // 2],
            "sampled_max": drawn[-1]}


def budget_report(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe's 3-epoch budget per seed and how much of nerkit's defaults fits in it."""
    layers = args.layers or probe_choice(args.corpus)
    report: dict[str, Any] = {"corpus": args.corpus, "model": args.model, "unit": UNIT,
                              "formula": FORMULA, "layers": layers, "seeds": {}}
    for seed in args.seeds:
        budget = recipe_budget(args.corpus, args.model, args.data_dir, seed)
        settings = nerkit_defaults(args.corpus, seed, layers, args.config)
        one = nerkit_compute({**settings, "epochs": 1.0}, args.model, args.data_dir)
        three = nerkit_compute({**settings, "epochs": 3.0}, args.model, args.data_dir)
        steps = steps_within(settings, args.model, args.data_dir, budget.high)
        per_epoch = batches_per_epoch(one.examples, settings["batch_size"])
        whole = whole_epochs_within(settings, args.model, args.data_dir, budget.high)
        lengths = [len(w.input_ids) for w in nerkit_windows(settings, args.model,
                                                             args.data_dir, "train")]
        report["seeds"][seed] = {
            "recipe_3_epochs": budget.as_dict(),
            "nerkit_1_epoch": one.as_dict(),
            "nerkit_3_epochs": three.as_dict(),
            "nerkit_3_epochs_ratio": round(three.high / budget.high, 4),
            "nerkit_steps_within_budget": steps,
            "nerkit_epochs_within_budget": round(steps / per_epoch, 3),
            "nerkit_whole_epochs_within_budget": whole[0],
            "nerkit_whole_epochs_within_budget_counting_dev_scoring": whole[1],
            "nerkit_epoch_padded_pieces": sampled_epochs(lengths, settings["batch_size"],
                                                         args.samples),
        }
    return report


def probe_choice(corpus: str) -> int:
    """The layer count the probe chose for ``corpus``, as recorded in its accuracy results."""
    path = HERE / "results" / f"accuracy-{corpus}.json"
    if path.exists():
        runs = json.loads(path.read_text(encoding="utf-8")).get("runs", [])
        chosen = {r["settings"]["encoder_layers"] for r in runs if r.get("system") == "nerkit"
                  and r["settings"].get("encoder_layers_chosen_by") == "layer probe"}
        if len(chosen) == 1:
            return int(chosen.pop())
    raise SystemExit(f"compute: no single probe choice recorded in {path}; pass --layers")


def print_budget(report: dict[str, Any]) -> None:
    def m(value: int) -> str:
        return f"{value / 1e6:8.2f}M"

    print(f"{report['corpus']}: training compute in {UNIT} (millions); nerkit keeps "
          f"{report['layers']} layers")
    for seed, r in report["seeds"].items():
        budget, one, three = r["recipe_3_epochs"], r["nerkit_1_epoch"], r["nerkit_3_epochs"]
        print(f"  seed {seed}: recipe 3 epochs {m(budget['high'])} "
              f"({budget['steps']} steps, {budget['padding_share']:.1%} padding)")
        print(f"           nerkit 1 epoch  {m(one['low'])} .. {m(one['high'])}, "
              f"3 epochs {m(three['low'])} .. {m(three['high'])} "
              f"(ratio {r['nerkit_3_epochs_ratio']:.3f}; probe {m(three['probe'])}; "
              f"dev scoring {m(three['dev_selection'] or 0)}, not counted)")
        print(f"           within the budget: {r['nerkit_steps_within_budget']} steps = "
              f"{r['nerkit_epochs_within_budget']:.2f} epochs "
              f"({r['nerkit_whole_epochs_within_budget']} whole; "
              f"{r['nerkit_whole_epochs_within_budget_counting_dev_scoring']} counting the dev "
              "scoring too)")
        e = r["nerkit_epoch_padded_pieces"]
        print(f"           one grouped epoch: {e['pieces']} pieces, padded {e['low']} .. "
              f"{e['high']} (exact bounds); {e['samples']} sampled orders "
              f"{e['sampled_min']} .. {e['sampled_max']} (median {e['sampled_median']})")


# ----------------------------------------------------------------------------- main


def run_row(path: str) -> dict[str, Any]:
    """A finished run as ``accuracy.py`` makes it a row: a nerkit model folder (or its
    ``eval_results.json``) or an ``hf_recipe.py --json`` file."""
    p = Path(path)
    accuracy_rows = _load_accuracy()
    if p.is_dir() or p.name == "eval_results.json":
        return accuracy_rows.nerkit_run(p, "counted")
    recipe = json.loads(p.read_text(encoding="utf-8"))
    if recipe.get("system") != "hf-recipe":
        raise ComputeError(f"{path}: neither a nerkit model folder nor an hf_recipe.py --json file")
    return {**accuracy_rows.hf_run(p, "counted"),
            "train_file": (recipe.get("files") or {}).get("train")}


def run_file(path: str, model: str, data_dir: str) -> Compute:
    """The count of one finished run (see :func:`run_row`)."""
    return row_compute(run_row(path), model, data_dir)


def run_columns(path: str, data_dir: str, model: str = "") -> dict[str, Any]:
    """The compute columns of one finished run, for tables that list runs (``ablation.py``):
    the count, its ratio to the recipe's 3 epochs with the run's seed (on a named corpus), the
    detail; ``None`` and a note where the run cannot be counted."""
    try:
        row = run_row(path)
        count = row_compute(row, model, data_dir)
        ratio = None
        if row.get("corpus"):
            here = row["model"] if Path(row["model"]).is_dir() else model
            budget = recipe_budget(row["corpus"], here, data_dir, row["seed"])
            ratio = round(count.high / budget.high, 4)
        return {"training_compute": count.high, "training_compute_ratio": ratio,
                "training_compute_detail": count.as_dict()}
    except (ComputeError, OSError, KeyError, TypeError, ValueError) as err:
        return {"training_compute": None, "training_compute_ratio": None,
                "training_compute_detail": {"note": f"not counted: {err}"}}


def _load_accuracy() -> Any:
    if "accuracy" in sys.modules:
        return sys.modules["accuracy"]
    spec = importlib.util.spec_from_file_location("accuracy", HERE / "accuracy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", help="encoder folder (default: what build-e5-small prints last)")
    p.add_argument("--data-dir", default=default_data_dir(),
                   help="folder holding conll2002/ ($NERKIT_DATA, else ../shared/data)")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("budget", help="the recipe's 3-epoch budget and nerkit's epochs in it")
    b.add_argument("--corpus", default="conll2002-es", choices=["conll2002-es", "conll2002-nl"])
    b.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    b.add_argument("--layers", type=int, help="layers the probe keeps (default: the choice "
                   "recorded in benchmarks/results/accuracy-<corpus>.json)")
    b.add_argument("--config", help="TrainConfig JSON overriding nerkit's defaults")
    b.add_argument("--samples", type=int, default=200,
                   help="sampled orders to set the exact bounds of one epoch against")
    b.add_argument("--json", help="also write the report here")
    a = sub.add_parser("annotate", help="add training_compute to every row of results files")
    a.add_argument("files", nargs="+")
    r = sub.add_parser("run", help="count one finished run (nerkit folder or recipe JSON)")
    r.add_argument("path")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Any:
    args = parse_args(argv)
    args.model = args.model or default_model()
    command = shlex.join(["python3", "benchmarks/compute.py",
                          *(sys.argv[1:] if argv is None else argv)])
    try:
        if args.command == "budget":
            report = budget_report(args)
            print_budget(report)
            if args.json:
                write_json(Path(args.json), {**report, "command": command})
            print(f"reproduce: {command}")
            return report
        if args.command == "annotate":
            for name in args.files:
                data = annotate_file(Path(name), args.model, args.data_dir, command)
                for row in data["training_compute"]["rows"]:
                    value = row["training_compute"]
                    print(f"{name}: {row['system']:9} seed {row['seed']} lr {row['lr']:g}: "
                          + ("not counted" if value is None else
                             f"{value / 1e6:.2f}M {UNIT}, {row['training_compute_ratio']:.3f} "
                             "x the recipe's 3 epochs"))
            return None
        count = run_file(args.path, args.model, args.data_dir)
        print(json.dumps(count.as_dict(), indent=2))
        return count
    except ComputeError as err:
        raise SystemExit(f"compute: {err}") from None


if __name__ == "__main__":
    main()

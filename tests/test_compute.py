"""The training-compute count (benchmarks/compute.py): by hand on tiny cases, against the batches
the Trainer really feeds the recipe and nerkit, and invariant where it should be."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import random
import sys
from itertools import permutations
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).parents[1]
WORDS = ("El presidente Felipe González viajó a Madrid . La empresa Telefónica de España firmó "
         "con la ONU Mundial Fútbol empieza en Barcelona Ana Pérez vive Sevilla y trabaja "
         "Iberia").split()


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compute() -> ModuleType:
    return _load("compute")


def _sentences(count: int, seed: int, longest: int = 12) -> list[list[tuple[str, str]]]:
    rng = random.Random(seed)
    return [
        [(w, "B-PER" if w[0].isupper() and rng.random() < 0.5 else "O")
         for w in rng.choices(WORDS, k=rng.randint(1, longest))]
        for _ in range(count)
    ]


def _write(path: Path, sentences: list[list[tuple[str, str]]], docstart_every: int = 0,
           middle: str | None = None) -> str:
    lines = []
    for i, sentence in enumerate(sentences):
        if docstart_every and i % docstart_every == 0:
            lines += ["-DOCSTART- -X- O", ""]
        lines += [f"{w} {middle} {t}" if middle else f"{w} {t}" for w, t in sentence] + [""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


# ----------------------------------------------------------------------------- by hand


def test_count_by_hand(compute: ModuleType) -> None:
    """Five inputs of 3, 5, 2, 7 and 1 pieces in this order, batches of 2, a 2-layer encoder."""
    lengths, order = [3, 5, 2, 7, 1], [0, 1, 2, 3, 4]
    # batches {3, 5} {2, 7} {1}: padded to 5, 7 and 1 pieces -> 2*5 + 2*7 + 1*1 = 25
    assert compute.batch_costs(lengths, order, 2) == [10, 14, 1]
    assert compute.total_steps(5, 2, epochs=2.0, max_steps=-1) == 6
    assert compute.total_steps(5, 2, epochs=1.5, max_steps=-1) == 5  # ceil(1.5 x 3)
    assert compute.total_steps(5, 2, epochs=3.0, max_steps=4) == 4
    # 1.5 epochs in that order: 25 + the first two batches again (10 + 14)
    assert compute.replayed_padded(lengths, 2, 5, lambda epoch: order) == 49
    count = compute.Compute(system="x", layers=2, examples=5, steps=3, epochs=1.0, pieces=18,
                            padded=(25, 25), probe=4 * 7)
    # forward 1 + backward 2 = 3 passes x 2 layers x 25 padded pieces, + the probe's 28
    assert count.high == count.low == 3 * 2 * 25 + 28 == 178
    detail = count.as_dict()
    assert detail["unit"] == "layer-pieces" and detail["exact"] is True
    assert detail["padding_share"] == pytest.approx(1 - 18 / 25, abs=1e-4)
    wide = compute.Compute(system="x", layers=2, examples=5, steps=3, epochs=1.0, pieces=18,
                           padded=(25, 31))
    assert (wide.low, wide.high, wide.exact) == (150, 186, False)
    assert wide.as_dict()["padding_share"] == [pytest.approx(1 - 18 / 25, abs=1e-4),
                                               pytest.approx(1 - 18 / 31, abs=1e-4)]


def test_recipe_order_is_seed_plus_epoch(compute: ModuleType) -> None:
    import torch

    first = compute.seedable_order(10, seed=42, epoch=0)
    assert sorted(first) == list(range(10))
    assert first == torch.randperm(10, generator=torch.Generator().manual_seed(42)).tolist()
    assert compute.seedable_order(10, 42, 1) == compute.seedable_order(10, 43, 0)


# ----------------------------------------------------------------------------- bounds


def test_grouped_bounds_hold_for_every_order(compute: ModuleType) -> None:
    """The length-grouped sampler's cost lies within the bounds for every order it draws, for
    whole epochs and for the first batches of one; the low bound is the true minimum."""
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    rng = random.Random(0)
    generator = torch.Generator()
    for case in range(24):
        batch = rng.choice((2, 3, 4))
        lengths = [rng.randint(1, 30) for _ in range(rng.randint(batch * 8, batch * 20))]
        per_epoch = compute.batches_per_epoch(len(lengths), batch)
        for batches in (1, per_epoch // 2, per_epoch):
            low, high = compute.grouped_bounds(lengths, batch, batches)
            for seed in range(60):
                generator.manual_seed(1000 * case + seed)
                order = get_length_grouped_indices(lengths, batch, generator=generator)
                cost = sum(compute.batch_costs(lengths, order, batch)[:batches])
                assert low <= cost <= high, (case, batches, seed)
    for _ in range(20):
        lengths = [rng.randint(1, 9) for _ in range(rng.randint(1, 6))]
        batch = rng.choice((1, 2, 3))
        cheapest = min(sum(compute.batch_costs(lengths, p, batch))
                       for p in permutations(range(len(lengths))))
        assert compute.grouped_bounds(lengths, batch, len(lengths))[0] == cheapest


# ----------------------------------------------------------------------------- the recipe


def _recording_collator(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Make every DataCollatorForTokenClassification record the shape of each batch it pads."""
    import transformers

    shapes: list[tuple[int, int]] = []

    class Recording(transformers.DataCollatorForTokenClassification):
        def __call__(self, features: Any, return_tensors: Any = None) -> Any:
            batch = super().__call__(features, return_tensors)
            shapes.append(tuple(batch["input_ids"].shape))
            return batch

    monkeypatch.setattr(transformers, "DataCollatorForTokenClassification", Recording)
    # nerkit's training module binds the name when it is imported
    import nerkit.training.train as training

    monkeypatch.setattr(training, "DataCollatorForTokenClassification", Recording)
    return shapes


def test_recipe_count_is_what_the_trainer_feeds(
    compute: ModuleType, tiny_encoder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hf_recipe.py really trained: every batch of every epoch, replayed exactly."""
    pytest.importorskip("seqeval", reason="the HF recipe scores with seqeval")
    hf_recipe = _load("hf_recipe")
    train = _write(tmp_path / "train.conll", _sentences(22, seed=1))
    dev = _write(tmp_path / "dev.conll", _sentences(4, seed=2))
    shapes = _recording_collator(monkeypatch)
    out = tmp_path / "hf.json"
    hf_recipe.main(["--model", str(tiny_encoder), "--train", train, "--dev", dev, "--test", dev,
                    "--epochs", "2", "--batch-size", "4", "--max-length", "10", "--seed", "5",
                    "--json", str(out)])
    settings = json.loads(out.read_text(encoding="utf-8"))["settings"]
    count = compute.recipe_compute(settings, None, str(tiny_encoder), str(tmp_path), train=train)
    assert count.steps == 12 and count.exact  # 22 sentences: 6 batches of 4 (one of 2) x 2
    fed = [rows * width for rows, width in shapes[: count.steps]]  # then dev/test predictions
    lengths = compute.recipe_lengths(train, str(tiny_encoder), 10)
    assert max(lengths) == 10  # some sentences were truncated
    replayed = [c for epoch in range(2) for c in compute.batch_costs(
        lengths, compute.seedable_order(len(lengths), 5, epoch), 4)]
    assert fed == replayed
    assert count.padded[0] == sum(fed)
    assert count.high == 3 * 2 * sum(fed)  # the tiny encoder has 2 layers
    assert compute.run_file(str(out), "unused", str(tmp_path)).high == count.high


def test_recipe_count_ignores_what_does_not_change_the_inputs(
    compute: ModuleType, tiny_encoder: Path, tmp_path: Path
) -> None:
    model = str(tiny_encoder)
    sentences = _sentences(40, seed=3)
    plain = _write(tmp_path / "plain.conll", sentences)
    settings = {"epochs": 2.0, "batch_size": 4, "max_length": 128, "seed": 7, "max_steps": -1,
                "lr": 5e-5, "eval_batch_size": 8}

    def count(train: str = plain, **changes: Any) -> int:
        return compute.recipe_compute({**settings, **changes}, None, model, str(tmp_path),
                                      train=train).high

    base = count()
    # other tags, an extra middle column, document boundaries: the same inputs
    other = [[(w, "B-LOC" if t != "O" else "O") for w, t in s] for s in sentences]
    assert count(_write(tmp_path / "tags.conll", other)) == base
    assert count(_write(tmp_path / "cols.conll", sentences, middle="NP")) == base
    assert count(_write(tmp_path / "docs.conll", sentences, docstart_every=7)) == base
    # settings that do not reach the inputs; a truncation limit no sentence reaches
    assert count(lr=1e-4, eval_batch_size=64) == base
    assert count(max_length=512) == base
    # two epochs are two epochs, however they are asked for
    assert count(epochs=1.0, max_steps=2 * compute.batches_per_epoch(40, 4)) == base
    # batches of one input are never padded: any seed, exactly 3 x layers x pieces x epochs
    lengths = compute.recipe_lengths(plain, model, 128)
    unpadded = 3 * 2 * sum(lengths) * 2
    assert {count(batch_size=1, seed=s) for s in (1, 2, 3)} == {unpadded}
    # while batches of four do depend on the order (the check above can fail)
    assert len({count(seed=s) for s in range(6)}) > 1
    # truncation does change the inputs
    assert count(max_length=6) < base


# ----------------------------------------------------------------------------- nerkit


def test_nerkit_count_is_what_training_feeds(
    compute: ModuleType, tiny_encoder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nerkit really trained (context, context dropout, length-grouped batches, the layer probe):
    the first epoch's batches replayed exactly, the whole run within the bounds, the probe's
    forward passes counted exactly."""
    import nerkit.training.train as training
    from nerkit.training.train import TrainConfig

    train = _write(tmp_path / "train.conll", _sentences(44, seed=4), docstart_every=15)
    dev = _write(tmp_path / "dev.conll", _sentences(5, seed=5))
    shapes = _recording_collator(monkeypatch)
    probe_shapes: list[tuple[int, int]] = []
    probe_layers = training.probe_layers

    def counting_probe(model: Any, *args: Any, **kwargs: Any) -> Any:
        hook = model.base_model.register_forward_pre_hook(
            lambda module, a, kw: probe_shapes.append(tuple(kw["input_ids"].shape)),
            with_kwargs=True)
        try:
            return probe_layers(model, *args, **kwargs)
        finally:
            hook.remove()

    monkeypatch.setattr(training, "probe_layers", counting_probe)
    config = TrainConfig(model=str(tiny_encoder), output_dir=str(tmp_path / "model"), train=train,
                         dev=dev, max_length=16, context=4, context_dropout=0.5, batch_size=4,
                         epochs=2.0, seed=3, learning_rate=1e-3)
    results = training.train(config)
    assert probe_shapes, "the layer probe did not run"

    accuracy = _load("accuracy")
    row = accuracy.nerkit_run(tmp_path / "model", "test")
    count = compute.row_compute(row, str(tiny_encoder), str(tmp_path))
    settings = {**row["settings"], "encoder_layers": results["encoder_layers"]}
    lengths = [len(w.input_ids) for w in compute.nerkit_windows(
        settings, str(tiny_encoder), str(tmp_path), "train")]
    per_epoch = compute.batches_per_epoch(len(lengths), 4)
    assert len(lengths) > 4 * max(len(lengths) // 16, 1)  # more than one megabatch
    assert count.steps == 2 * per_epoch == len(shapes)
    assert len({rows * width for rows, width in shapes}) > 1  # windows of several lengths
    fed = [rows * width for rows, width in shapes]
    first = compute.batch_costs(lengths, compute.grouped_first_order(lengths, 4, 3), 4)
    assert fed[:per_epoch] == first
    assert count.padded[0] <= sum(fed) <= count.padded[1]
    assert count.layers == results["encoder_layers"]
    windows = compute.nerkit_windows(settings, str(tiny_encoder), str(tmp_path), "train")
    assert sum(r * w for r, w in probe_shapes) == compute.probe_padded(windows)
    assert count.probe == 2 * compute.probe_padded(windows)  # all 2 layers, forward only
    assert count.dev_selection is not None and count.dev_selection > 0
    assert compute.run_file(str(tmp_path / "model"), "unused", str(tmp_path)).high == count.high


# ----------------------------------------------------------------------------- results rows


def test_annotate_adds_the_column_and_changes_nothing_else(
    compute: ModuleType, tiny_encoder: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    _write(data_dir / "conll2002" / "esp.train", _sentences(70, seed=6))
    model = str(tiny_encoder)
    recipe = {"lr": 5e-5, "seed": 42, "epochs": 3.0, "batch_size": 32, "max_length": 128,
              "max_steps": -1, "limit_train": None}
    nerkit = {"data": "conll2002-es", "max_length": 16, "context": 4, "context_dropout": 0.5,
              "batch_size": 32, "epochs": 5.0, "seed": 42, "max_steps": -1,
              "limit_train": None, "sampling": "group_by_length", "encoder_layers": 1,
              "encoder_layers_chosen_by": "layer probe", "eval_batch_size": 64}
    runs = [
        {"system": "hf-recipe", "corpus": "conll2002-es", "model": model, "seed": 42,
         "lr": 5e-5, "settings": recipe, "test_f1": 80.123456789},
        {"system": "nerkit", "corpus": "conll2002-es", "model": model, "seed": 42, "lr": 1e-4,
         "settings": nerkit, "test_f1": 85.0},
        {"system": "nerkit", "corpus": "conll2002-es", "model": model, "seed": 43, "lr": 1e-4,
         "settings": {**nerkit, "encoder_layers": "auto", "encoder_layers_chosen_by": None}},
        {"system": "hf-recipe", "corpus": "conll2002-es", "model": model, "seed": 44,
         "lr": 5e-5},
    ]
    original = {"corpus": "conll2002-es", "test_f1_gain": 1.53, "runs": runs}
    path = tmp_path / "accuracy.json"
    path.write_text(json.dumps(original, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o640)
    before = json.loads(path.read_text(encoding="utf-8"))
    data = compute.annotate_file(path, model, str(data_dir), "python3 benchmarks/compute.py")

    recipe_row, nerkit_row, auto_row, bare_row = data["runs"]
    # the recipe's own defaults with the row's seed are the budget: ratio 1
    assert recipe_row["training_compute"] == data["training_compute"]["budget"]["by_seed"][42]
    assert recipe_row["training_compute_ratio"] == 1.0
    assert recipe_row["training_compute_detail"]["exact"] is True
    # one layer of 2 over 5 epochs of windows of at most 16 pieces (+ the probe)
    assert nerkit_row["training_compute"] > 0
    assert nerkit_row["training_compute_ratio"] == pytest.approx(
        nerkit_row["training_compute"] / recipe_row["training_compute"], abs=1e-4)
    assert nerkit_row["training_compute_detail"]["probe"] > 0
    for row, why in ((auto_row, "probe's choice"), (bare_row, "no settings")):
        assert row["training_compute"] is None and row["training_compute_ratio"] is None
        assert why in row["training_compute_detail"]["note"]
    assert data["training_compute"]["unit"] == "layer-pieces"

    after = json.loads(path.read_text(encoding="utf-8"))
    added = {"training_compute", "training_compute_ratio", "training_compute_detail"}
    assert [{k: v for k, v in r.items() if k not in added} for r in after["runs"]] == \
        before["runs"]
    assert {k: v for k, v in after.items() if k not in ("runs", "training_compute")} == \
        {k: v for k, v in before.items() if k != "runs"}
    assert not list(tmp_path.glob(".accuracy.json.*"))  # no temporary file left behind
    assert path.stat().st_mode & 0o777 == 0o640  # the file keeps its mode


def test_missing_model_is_a_clear_error_not_a_download(compute: ModuleType,
                                                        tmp_path: Path) -> None:
    with pytest.raises(compute.ComputeError, match="config.json"):
        compute.recipe_compute({"epochs": 3.0, "batch_size": 32, "max_length": 128, "seed": 1},
                               "conll2002-es", str(tmp_path / "e5"), str(tmp_path))


def test_ablation_rows_carry_the_count(compute: ModuleType, tiny_model: Path,
                                       tmp_path: Path) -> None:
    """ablation.py's training rows get the column too (no ratio: trained on files, no corpus)."""
    report = _load("ablation").main(["--runs", f"tiny={tiny_model}",
                                     "--json", str(tmp_path / "ablation.json")])
    (row,) = report["training"]
    assert row["training_compute"] == compute.run_file(str(tiny_model), "", str(tmp_path)).high
    assert row["training_compute"] > 0 and row["training_compute_ratio"] is None
    missing = compute.run_columns(str(tmp_path / "nowhere.json"), str(tmp_path))
    assert missing["training_compute"] is None and "not counted" in \
        missing["training_compute_detail"]["note"]


def test_rdrop_counts_every_window_twice(compute: ModuleType, tiny_model: Path,
                                          tmp_path: Path) -> None:
    """--rdrop runs each batch twice: twice the training passes, the probe's once."""
    row = _load("accuracy").nerkit_run(tiny_model, "test")
    plain = compute.row_compute(row, "", str(tmp_path))
    doubled = compute.row_compute({**row, "settings": {**row["settings"], "rdrop": 1.0}}, "",
                                  str(tmp_path))
    assert plain.copies == 1 and doubled.copies == 2
    assert doubled.high - doubled.probe == 2 * (plain.high - plain.probe) > 0
    assert any("R-Drop" in note for note in doubled.notes)


def test_mention_replacement_copies_are_counted(
    compute: ModuleType, tiny_encoder: Path, tmp_path: Path
) -> None:
    """The count builds the windows training builds, the copies of --augment-mentions
    included."""
    from nerkit.training.config import TrainConfig
    from nerkit.training.data import prepare_data

    train = _write(tmp_path / "train.conll", _sentences(40, seed=6), docstart_every=10)
    config = TrainConfig(model=str(tiny_encoder), output_dir=str(tmp_path / "m"), train=train,
                         max_length=16, context=4, augment_mentions=0.5, seed=5)
    trained = prepare_data(config).windows
    settings = {**dataclasses.asdict(config), "data": None}
    counted = compute.nerkit_windows(settings, str(tiny_encoder), str(tmp_path), "train")
    assert [w.input_ids for w in counted] == [w.input_ids for w in trained]
    plain = compute.nerkit_windows({**settings, "augment_mentions": 0.0}, str(tiny_encoder),
                                   str(tmp_path), "train")
    assert len(plain) < len(counted)

"""Smoke tests of the accuracy benchmark: the HF recipe runs, counts truncation, and the
benchmark assembles a table from finished runs. Scores of these tiny runs mean nothing."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[1]
DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).parents[2] / "shared" / "data"
BENCHMARKS = ROOT / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hf_recipe() -> ModuleType:
    pytest.importorskip("seqeval", reason="the HF recipe scores with seqeval")
    return _load("hf_recipe")


def test_hf_recipe_smoke(tmp_path: Path, tiny_encoder: Path, hf_recipe: ModuleType) -> None:
    out = tmp_path / "hf.json"
    command = [
        sys.executable,
        str(BENCHMARKS / "hf_recipe.py"),
        "--model",
        str(tiny_encoder),
        "--train",
        str(DATA / "tiny.train"),
        "--dev",
        str(DATA / "tiny.dev"),
        "--test",
        str(DATA / "tiny.test"),
        "--max-steps",
        "2",
        "--batch-size",
        "2",
        "--max-length",
        "8",
        "--output-dir",
        str(tmp_path / "run"),
        "--json",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "as the recipe reports it" in done.stdout

    r = json.loads(out.read_text(encoding="utf-8"))
    for key in (
        "dev_f1",
        "test_f1",
        "dev_f1_full_gold",
        "test_f1_full_gold",
        "train_loss",
        "train_seconds",
        "total_seconds",
        "versions",
        "machine",
        "command",
        "date",
        "truncation",
        "labels",
        "settings",
    ):
        assert key in r, key
    assert r["steps"] == 2
    assert r["labels"] == sorted(r["labels"]) and "O" in r["labels"]
    assert r["settings"]["max_length"] == 8 and r["settings"]["model_kept"] == "last"
    for split in ("dev", "test"):
        for kind in ("reported", "full_gold"):
            scores = r[split][kind]
            assert 0 <= scores["f1"] <= 100
            assert set(scores["per_type"]) <= {"PER", "LOC", "ORG", "MISC"}
        # The full gold keeps every entity; the recipe's gold loses those cut off entirely.
        t = r["truncation"][split]
        assert r[split]["full_gold"]["support"] == t["entities"]
        assert r[split]["reported"]["support"] == t["entities"] - t["entities_lost"]

    # 8 pieces minus [CLS] and [SEP] is less than every train sentence.
    train = r["truncation"]["train"]
    assert train["sentences"] == 4 and train["sentences_truncated"] == 4
    assert 0 < train["words_lost"] < train["words"]
    lines = (tmp_path / "run" / "test_predictions.txt").read_text(encoding="utf-8").split("\n")
    assert lines[0].split()[:2] == ["Ana", "B-PER"]


def test_truncated_words_count_as_missed(hf_recipe: ModuleType) -> None:
    """The recipe's F1 ignores what truncation cut; the full-gold F1 counts it as missed."""
    s = hf_recipe.Sentence(["Ana", "vive", "en", "Sevilla"], ["B-PER", "O", "O", "B-LOC"], "x", 1)
    labels = ["B-LOC", "B-PER", "O"]
    # [CLS] An ##a vive [SEP]: "en" and "Sevilla" were cut.
    word_ids = [None, 0, 0, 1, None]
    encoded = hf_recipe.Encoded([{"labels": [-100, 1, -100, 2, -100]}], [word_ids])
    argmax = [[2, 1, 0, 2, 2]]  # B-PER on "Ana"'s first piece, O on "vive"
    scores, pred = hf_recipe.score_split([s], encoded, argmax, labels)
    assert pred == [["B-PER", "O", "O", "O"]]
    assert scores["reported"]["f1"] == 100.0 and scores["reported"]["support"] == 1
    assert scores["full_gold"]["recall"] == 50.0 and scores["full_gold"]["support"] == 2
    counts = hf_recipe.truncation_counts([s], [word_ids])
    assert counts["sentences_truncated"] == 1 and counts["words_lost"] == 2
    assert counts["entities_lost"] == 1 and counts["words_without_pieces"] == 0


def test_read_conll_drops_docstart(hf_recipe: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "ned.conll"
    path.write_text(
        "-DOCSTART- -DOCSTART- O\nDe Art O\nman N O\n\n-DOCSTART- -DOCSTART- O\nJan N B-PER\n",
        encoding="utf-8",
    )
    sentences = hf_recipe.read_conll(path)
    assert [s.words for s in sentences] == [["De", "man"], ["Jan"]]
    assert [s.line for s in sentences] == [2, 6]


def _scores(f1: float) -> dict:
    per_type = {"PER": {"f1": f1}, "LOC": {"f1": f1}}
    return {"f1": f1, "precision": f1, "recall": f1, "support": 10, "per_type": per_type}


def _hf_result(lr: float, seed: int, dev: float, test: float) -> dict:
    """A finished recipe run whose own ("reported") F1 is 1 point above the full-gold one."""
    return {
        "system": "hf-recipe",
        "corpus": "conll2002-es",
        "model": "e5",
        "settings": {
            "lr": lr,
            "seed": seed,
            "epochs": 3.0,
            "batch_size": 32,
            "max_length": 128,
            "max_steps": -1,
            "limit_train": None,
        },
        "dev": {"reported": _scores(dev + 1), "full_gold": _scores(dev)},
        "test": {"reported": _scores(test + 1), "full_gold": _scores(test)},
        "truncation": {},
        "train_loss": 0.3,
        "train_seconds": 600.0,
    }


def test_accuracy_assembles_reused_runs(tmp_path: Path, hf_recipe: ModuleType) -> None:
    """No training: the table, baseline (b) and the gain come from finished runs."""
    from nerkit.training.config import TrainConfig

    accuracy = _load("accuracy")
    reuse = []
    for lr, dev in ((5e-5, 70.0), (1e-4, 80.0)):
        path = tmp_path / f"hf-{lr:g}.json"
        path.write_text(json.dumps(_hf_result(lr, 42, dev, dev + 2.5)), encoding="utf-8")
        reuse.append(str(path))
    folder = tmp_path / "nerkit-42"
    folder.mkdir()
    config = TrainConfig(model="e5", output_dir=str(folder), data="conll2002-es", seed=42)
    (folder / "training_args.json").write_text(
        json.dumps({"nerkit": dataclasses.asdict(config)}), encoding="utf-8"
    )
    (folder / "eval_results.json").write_text(
        json.dumps(
            {
                "dev_f1": 85.0,
                "test_f1": 86.0,
                "train_seconds": 900.0,
                "train_loss": 0.2,
                "dev_per_type": {"PER": 85.0},
                "test_per_type": {"PER": 86.0},
            }
        ),
        encoding="utf-8",
    )
    reuse.append(str(folder))
    out = tmp_path / "accuracy.json"
    results = accuracy.main(
        [
            "--model",
            "e5",
            "--seeds",
            "42",
            "--hf-lrs",
            "5e-5",
            "1e-4",
            "--reuse",
            *reuse,
            "--skip-training",
            "--work-dir",
            str(tmp_path / "runs"),
            "--out",
            str(out),
        ]
    )
    assert results["hf_baseline"]["name"] == "b" and results["hf_baseline"]["lr"] == 1e-4
    assert results["test_f1_gain"] == pytest.approx(86.0 - 82.5)
    assert results["nerkit_test_f1_mean"] == 86.0 and results["nerkit_dev_f1_mean"] == 85.0
    assert results["test_f1_gain_vs_reported"] == pytest.approx(86.0 - 83.5)
    assert json.loads(out.read_text(encoding="utf-8"))["test_f1_gain"] == results["test_f1_gain"]
    assert "nerkit - HF (b)" in results["table"]

    # the recipe rows of that results file, reused as recorded, beside a nerkit run with its
    # own epochs (the recipe's 3 set the compute budget, not nerkit's epochs)
    longer = tmp_path / "nerkit-42-epochs4"
    longer.mkdir()
    (longer / "training_args.json").write_text(json.dumps(
        {"nerkit": dataclasses.asdict(dataclasses.replace(config, epochs=4.0))}), encoding="utf-8")
    (longer / "eval_results.json").write_text((folder / "eval_results.json").read_text())
    four = tmp_path / "four.json"
    four.write_text(json.dumps({"epochs": 4}), encoding="utf-8")
    again = accuracy.main(["--model", "e5", "--seeds", "42", "--hf-lrs", "5e-5", "1e-4",
                           "--nerkit-config", str(four), "--reuse", str(out), str(longer),
                           "--skip-training", "--out", str(tmp_path / "again.json")])
    assert again["hf_baseline"] == results["hf_baseline"]
    assert again["test_f1_gain"] == results["test_f1_gain"]
    assert again["nerkit_config"]["epochs"] == 4.0 and again["settings"]["epochs"] == 3.0
    assert {r["source"] for r in again["runs"] if r["system"] == "hf-recipe"} == {
        f"recorded in {out}"}
    assert again["nerkit_within_budget"] is False, "no encoder 'e5' here: nothing counted"
    with pytest.raises(SystemExit, match="epochs"):  # a 4-epoch run is not today's defaults
        accuracy.main(["--model", "e5", "--seeds", "42", "--hf-lrs", "5e-5", "1e-4",
                       "--reuse", str(out), str(longer), "--skip-training",
                       "--out", str(tmp_path / "refused.json")])

    with pytest.raises(SystemExit, match="epochs 3.0"):
        accuracy.main(
            [
                "--model",
                "e5",
                "--seeds",
                "42",
                "--epochs",
                "10",
                "--reuse",
                reuse[0],
                "--skip-training",
                "--out",
                str(out),
            ]
        )


def _nerkit_folder(folder: Path, seed: int, layers: int | str, test_f1: float,
                   probed: int | None = None) -> str:
    from nerkit.training.config import TrainConfig

    folder.mkdir()
    config = TrainConfig(model="e5", output_dir=str(folder), data="conll2002-es", seed=seed,
                         encoder_layers=layers)
    (folder / "training_args.json").write_text(
        json.dumps({"nerkit": dataclasses.asdict(config)}), encoding="utf-8"
    )
    results = {"dev_f1": test_f1 - 1, "test_f1": test_f1, "train_seconds": 900.0,
               "train_loss": 0.2, "dev_per_type": {"PER": 85.0}, "test_per_type": {"PER": 86.0}}
    if probed is not None:
        results["encoder_layers"] = probed
    (folder / "eval_results.json").write_text(json.dumps(results), encoding="utf-8")
    return str(folder)


def test_accuracy_probe_choice_and_uneven_seeds(tmp_path: Path) -> None:
    """A run given the probe's layer count explicitly counts as a defaults run; seeds may differ
    between systems with --skip-training, and the same-seed gain is reported next to the means."""
    accuracy = _load("accuracy")
    hf = tmp_path / "hf.json"
    hf.write_text(json.dumps(_hf_result(5e-5, 42, 80.0, 82.0)), encoding="utf-8")
    auto_43 = _nerkit_folder(tmp_path / "n43", 43, "auto", 87.0, probed=8)
    explicit_42 = _nerkit_folder(tmp_path / "n42", 42, 8, 85.0)
    common = ["--model", "e5", "--seeds", "42", "43", "--skip-training",
              "--out", str(tmp_path / "a.json")]
    results = accuracy.main([*common, "--reuse", str(hf), auto_43, explicit_42])
    assert results["test_f1_gain"] == pytest.approx(86.0 - 82.0)
    assert results["test_f1_gain_per_seed"] == {42: pytest.approx(3.0)}
    assert results["test_f1_gain_same_seeds"] == pytest.approx(3.0)
    by_seed = {r["seed"]: r for r in results["runs"] if r["system"] == "nerkit"}
    assert by_seed[43]["settings"]["encoder_layers_chosen_by"] == "layer probe"

    other = _nerkit_folder(tmp_path / "n44", 42, 6, 85.0)
    with pytest.raises(SystemExit, match="encoder_layers 6 \\(want 'auto'\\)"):
        accuracy.main([*common, "--reuse", str(hf), auto_43, other])
    with pytest.raises(SystemExit, match="no run of nerkit"):
        accuracy.main([*common, "--reuse", str(hf)])

    # a run from before --context existed (no such keys recorded) was trained without context:
    # it is not a run with today's defaults
    args_file = Path(explicit_42) / "training_args.json"
    settings = json.loads(args_file.read_text(encoding="utf-8"))
    for key in ("context", "context_dropout"):
        del settings["nerkit"][key]
    args_file.write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(SystemExit, match="context 0 \\(want 32\\)"):
        accuracy.main([*common, "--reuse", str(hf), auto_43, explicit_42])


def test_ablation_scores_a_model_on_its_own_corpus(tmp_path: Path) -> None:
    """Without --data, the prediction rows use the corpus the model was trained on."""
    ablation = _load("ablation")
    model = tmp_path / "nl-model"
    model.mkdir()
    (model / "training_args.json").write_text(
        json.dumps({"nerkit": {"data": "conll2002-nl"}}), encoding="utf-8"
    )
    assert ablation.resolve_data(None, str(model)) == "conll2002-nl"
    assert ablation.resolve_data("conll2002-es", str(model)) == "conll2002-es"
    assert ablation.resolve_data(None, None) is None
    (model / "training_args.json").write_text(json.dumps({"nerkit": {"data": None}}))
    with pytest.raises(SystemExit, match="pass --data"):
        ablation.resolve_data(None, str(model))


def test_ablation_prediction_rows(tmp_path: Path, tiny_model: Path) -> None:
    """Viterbi + windows is exactly what `nerkit evaluate` scores; truncation only loses words."""
    from nerkit.tagging.evaluate import evaluate_model

    ablation = _load("ablation")
    out = tmp_path / "ablation.json"
    lines = [line for line in (DATA / "tiny.test").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("-DOCSTART-")]
    test = tmp_path / "long.conll"  # the short test sentences, then all of them as one long one
    test.write_text((DATA / "tiny.test").read_text(encoding="utf-8") + "\n"
                    + "\n".join(lines * 3) + "\n", encoding="utf-8")
    report = ablation.main(["--model", str(tiny_model), "--data", str(test), "--splits", "test",
                            "--runs", f"tiny={tiny_model}", "--json", str(out)])
    rows = report["prediction"]["test"]
    expected = evaluate_model(tiny_model, test)["entity"]["micro"]["f1"]
    assert rows["viterbi+windows"]["f1"] == pytest.approx(expected)
    # max_length 16: the long sentence does not fit, and its cut words count as O
    assert rows["_truncation"]["sentences_cut"] == 1
    assert rows["_truncation"]["words_cut"] > 0
    # cutting can shorten or drop predicted entities (a shortened one may even match), never add
    cut, full = rows["viterbi+truncation"], rows["viterbi+windows"]
    assert cut["predicted"] <= full["predicted"] and cut["support"] == full["support"]
    assert report["training"][0]["settings"]["encoder_layers"].startswith("auto (")
    assert json.loads(out.read_text())["prediction"]["test"]["_truncation"] == rows["_truncation"]


def test_ablation_context_model_row(tmp_path: Path, tiny_context_model: Path) -> None:
    """A --context model gets a row for sentences read alone, scored like tag_sentences."""
    from nerkit.conll.corpus import read_column_file
    from nerkit.conll.metrics import score
    from nerkit.tagging.tagger import Tagger

    model = tiny_context_model
    report = _load("ablation").main(["--model", str(model), "--data", str(DATA / "tiny.dev"),
                                     "--splits", "test", "--json", str(tmp_path / "a.json"),
                                     "--runs", f"context={model}"])
    rows = report["prediction"]["test"]
    settings = report["training"][0]["settings"]
    assert (settings["context"], settings["context_dropout"]) == (8, 0.5)
    dev = read_column_file(DATA / "tiny.dev").sentences
    alone = Tagger.load(model).tag_sentences([list(s.words) for s in dev])
    expected = score([list(s.tags) for s in dev], alone)["micro"]["f1"]
    assert rows["viterbi+windows, no neighbours"]["f1"] == pytest.approx(expected)


def test_screening_compares_a_run_with_the_defaults_of_its_seed(
    tmp_path: Path, tiny_model: Path, tiny_encoder: Path
) -> None:
    """A finished run against an accuracy.py reference: gains, what changed, its command, its
    compute against the named corpus's budget, and its dev F1 at each evaluation."""
    if not (SHARED / "conll2002" / "esp.train").exists():
        pytest.skip("needs ../shared/data/conll2002 for the recipe's budget")
    screening = _load("screening")
    settings = json.loads((tiny_model / "training_args.json").read_text())["nerkit"]
    results = json.loads((tiny_model / "eval_results.json").read_text())
    reference = {"runs": [{"system": "nerkit", "seed": 42, "path": "ref",
                           "dev_f1": 10.0, "test_f1": 20.0, "training_compute_ratio": 0.5,
                           # as accuracy.py records a run: the layers the probe kept
                           "settings": {**settings, "max_steps": 2,
                                        "encoder_layers": results["encoder_layers"],
                                        "encoder_layers_chosen_by": "layer probe"}}]}
    ref_file = tmp_path / "accuracy.json"
    ref_file.write_text(json.dumps(reference), encoding="utf-8")
    out = tmp_path / "screening.json"
    report = screening.main(["--reference", str(ref_file), "--runs", f"four steps={tiny_model}",
                             "--model", str(tiny_encoder), "--data-dir", str(SHARED),
                             "--json", str(out)])
    row = report["rows"][0]
    assert row["changed_from_reference"] == {"max_steps": 4}
    assert row["dev_gain"] == pytest.approx(round(results["dev_f1"] - 10.0, 2))
    assert "--max-steps 4" in row["command"] and "--model" in row["command"]
    assert [e["step"] for e in row["dev_f1_per_evaluation"]] == [4]
    assert row["training_compute"] > 0 and 0 <= row["training_compute_ratio"] < 0.01
    assert json.loads(out.read_text())["rows"][0]["label"] == "four steps"

    # kept as recorded once its folder is gone, with its gains against a new reference run
    reference["runs"][0].update(path="new ref", dev_f1=11.0)
    ref_file.write_text(json.dumps(reference), encoding="utf-8")
    again = screening.main(["--reference", str(ref_file), "--keep", str(out), "--note", "n",
                            "--model", str(tiny_encoder), "--data-dir", str(SHARED),
                            "--json", str(out)])
    kept = again["rows"][0]
    assert kept["dev_f1"] == row["dev_f1"] and kept["command"] == row["command"]
    assert kept["dev_gain"] == pytest.approx(round(results["dev_f1"] - 11.0, 2))
    assert "changed_from_reference" not in kept, "worked out against the old reference"
    assert kept["source"].startswith(f"recorded in {out}") and again["notes"] == ["n"]
    with pytest.raises(SystemExit, match="conll2002-es"):
        screening.main(["--corpus", "conll2002-nl", "--reference", str(ref_file),
                        "--keep", str(out), "--model", str(tiny_encoder),
                        "--data-dir", str(SHARED), "--json", str(tmp_path / "nl.json")])


def test_screening_rescore_scores_a_run_on_other_data(tiny_model: Path) -> None:
    """--rescore replaces the scores a run's training wrote with fresh ones on the corpus asked
    for: read on its own test file for both splits, both equal the test score it wrote."""
    screening = _load("screening")
    results = json.loads((tiny_model / "eval_results.json").read_text())
    run = screening.nerkit_run(tiny_model, "screening")
    fresh = screening.rescore(run, tiny_model, str(DATA / "tiny.test"), str(SHARED))
    assert fresh["dev_f1"] == pytest.approx(results["test_f1"])
    assert fresh["test_f1"] == pytest.approx(results["test_f1"])
    assert set(fresh["dev_per_type"]) == set(run["test_per_type"])
    assert "--rescore" in fresh["scored_on"] and run["dev_f1"] == results["dev_f1"]


def test_averaging_sweep_scores_more_decays_along_one_run(
    tmp_path: Path, tiny_encoder: Path
) -> None:
    """The run keeps its own average; the others are scored at each evaluation from the epoch
    asked for, and a decay equal to the run's scores what the run scored."""
    sweep = _load("averaging_sweep")
    out = tmp_path / "run"
    flags = (f"--train {DATA / 'tiny.train'} --dev {DATA / 'tiny.dev'} --max-steps 6 "
             "--save-steps 3 --batch-size 2 --max-length 16 --lr 1e-2 --encoder-layers all "
             "--report-to none --ema-decay 0.5")
    report = sweep.main(["--model", str(tiny_encoder), "--output-dir", str(out),
                         "--train-args", flags, "--decays", "0.5", "0.9", "--from-epoch", "0",
                         "--json", str(tmp_path / "sweep.json")])
    steps = [e["step"] for e in report["run_dev_f1_per_evaluation"]]
    assert steps == [3, 6]
    assert [(s["step"], s["decay"]) for s in report["more_decays"]] == [
        (3, 0.5), (3, 0.9), (6, 0.5), (6, 0.9)]
    same = {s["step"]: s["dev_f1"] for s in report["more_decays"] if s["decay"] == 0.5}
    assert same == {e["step"]: e["dev_f1"] for e in report["run_dev_f1_per_evaluation"]}
    with pytest.raises(SystemExit, match="--ema-decay"):
        sweep.main(["--model", str(tiny_encoder), "--output-dir", str(tmp_path / "no"),
                    "--train-args", flags.replace("--ema-decay 0.5", "")])


def test_checkpoint_average_is_the_mean_of_the_last_checkpoints(
    tmp_path: Path, tiny_encoder: Path
) -> None:
    """The averaged model folder holds the mean of the last two checkpoints' weights, loads
    and tags like any model, and its dev F1 is reported beside the run's."""
    from safetensors.torch import load_file

    from nerkit.training.run_folder import checkpoint_step
    from nerkit.training.train import TrainConfig, train

    average = _load("checkpoint_average")
    run = tmp_path / "run"
    # dev = the training file: 40 steps learn it well enough to find entities (F1 > 0)
    train(TrainConfig(model=str(tiny_encoder), output_dir=str(run), train=str(DATA / "tiny.train"),
                      dev=str(DATA / "tiny.train"), max_steps=40, save_steps=10, batch_size=2,
                      learning_rate=1e-2, max_length=16, encoder_layers="all",
                      keep_checkpoints=True))
    folders = average.checkpoints(run / "checkpoints", 2)
    steps = [checkpoint_step(f) for f in folders]
    assert len(steps) == 2 and steps[0] < steps[1]
    report = average.main(["--run", str(run), "--data", str(DATA / "tiny.train"),
                           "--out", str(tmp_path / "avg"), "--json", str(tmp_path / "a.json")])
    assert set(report["f1"]) == {"dev"} and set(report["f1"]["dev"]) == {"run", "average"}
    recorded = json.loads((run / "eval_results.json").read_text())["dev_f1"]
    assert recorded > 1  # a run that finds entities, so that the scale (percent) shows
    assert report["f1"]["dev"]["run"] == pytest.approx(recorded, abs=0.01)  # scored as in training
    saved = load_file(str(tmp_path / "avg" / "model.safetensors"))
    first, second = (load_file(str(f / "model.safetensors")) for f in folders)
    name = next(k for k in saved if k.endswith("classifier.weight"))
    assert not first[name].equal(second[name])
    assert saved[name].allclose((first[name] + second[name]) / 2)
    with pytest.raises(SystemExit, match="--last must be 2"):
        average.main(["--run", str(run), "--data", "x", "--out", "y", "--last", "1"])
    empty = tmp_path / "empty"
    (empty / "checkpoints").mkdir(parents=True)
    with pytest.raises(SystemExit, match="averaging needs two or more"):
        average.checkpoints(empty, 2)


def test_device_runs_trains_a_plan_and_returns_its_small_files(
    tmp_path: Path, tiny_encoder: Path
) -> None:
    """The device runner's ``run`` step, on this machine's CPU: each run of the plan trained
    by ``nerkit train``, its scores and settings (not its weights) back in runs.tar.gz, and a
    run the time left cannot pay for listed as not started."""
    device_runs = _load("device_runs")
    plan = tmp_path / "plan.txt"
    flags = (f"--train {DATA / 'tiny.train'} --dev {DATA / 'tiny.dev'} "
             f"--test {DATA / 'tiny.test'} --max-steps 2 --batch-size 2 --max-length 16")
    plan.write_text(f"# a comment\ntwo-steps: {flags}  # and another\n", encoding="utf-8")
    out = tmp_path / "out"
    device_runs.main(["run", str(plan), "--out", str(out), "--model", str(tiny_encoder)])
    summary = json.loads((out / "summary.json").read_text())
    (row,) = summary["runs"]
    assert row["rc"] == 0 and row["label"] == "two-steps" and row["test_f1"] is not None
    with tarfile.open(out / "runs.tar.gz") as tar:
        names = set(tar.getnames())
        tar.extractall(tmp_path / "back", filter="data")
    assert {"two-steps/eval_results.json", "two-steps/training_args.json",
            "two-steps/train.log.tail"} <= names
    assert not any(n.endswith(".safetensors") for n in names)
    back = _load("accuracy").nerkit_run(tmp_path / "back" / "two-steps", "device")
    assert back["settings"]["max_steps"] == 2 and back["test_f1"] == row["test_f1"]

    device_runs.main(["run", str(plan), "--out", str(out), "--model", str(tiny_encoder),
                      "--budget-s", "0"])
    (skipped,) = json.loads((out / "summary.json").read_text())["runs"]
    assert skipped["rc"] is None and "not_started" in skipped


@pytest.mark.parametrize("line, message", [
    ("no colon here", "LABEL: nerkit train flags"),
    ("bad label!: --epochs 5", "LABEL: nerkit train flags"),
    ("a: --epochs 5\na: --epochs 6", "used twice"),
    ("a: --model x --epochs 5", "--model is set by the runner"),
    ("# nothing", "no runs"),
])
def test_device_runs_refuses_a_malformed_plan(tmp_path: Path, line: str, message: str) -> None:
    plan = tmp_path / "plan.txt"
    plan.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=re.escape(message)):
        _load("device_runs").read_plan(plan)

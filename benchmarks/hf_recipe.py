"""The Hugging Face token-classification recipe, as users run it, for side-by-side benchmarks.

This is our own re-implementation of what ``examples/pytorch/token-classification/run_ner.py``
does with its defaults, written with plain transformers + seqeval and no nerkit import, so the
baseline cannot quietly inherit nerkit's fixes:

- CoNLL column files (word in the first column, tag in the last, blank lines between sentences,
  ``-DOCSTART-`` lines dropped); labels are the sorted unique tags of the train split;
- ``AutoTokenizer`` + ``AutoModelForTokenClassification``; words tokenized with
  ``is_split_into_words=True, truncation=True, max_length=128``; the label on the first subword
  of each word and -100 on the others; ``DataCollatorForTokenClassification``;
- ``Trainer`` with its defaults (AdamW, linear decay, no warmup, weight decay 0), batch 32,
  3 epochs, lr 5e-5, seed 42, fp32; the LAST model is kept (no best-checkpoint selection);
- argmax decoding, seqeval ``classification_report`` in its default (conlleval-like) mode.

Two F1 scores are reported for dev and test:

``reported``
    What the recipe prints: like run_ner.py's ``compute_metrics``, gold is rebuilt from the
    label ids that survived truncation, so words cut at ``max_length`` vanish from both gold
    and predictions. This is the number users publish.
``full_gold``
    Scored against the full gold sentences; every word the model never saw (cut by truncation,
    or a word the tokenizer turned into no piece at all) is predicted ``O``. This is the score
    on the real test set, comparable with nerkit's.

Deviations from run_ner.py that do not change the results: no intermediate checkpoints
(``save_strategy="no"``), no reporting integrations, and the final model is saved only with
``--save-model``.

Example (one 3-epoch run takes about 40 minutes on 2 CPU cores)::

    python3 benchmarks/hf_recipe.py --model ~/.cache/shared-models/multilingual-e5-small \\
        --corpus conll2002-es --lr 5e-5 --seed 42 \\
        --output-dir benchmarks/runs/conll2002-es/hf-conll2002-es-lr5e-5-seed42 \\
        --json benchmarks/runs/conll2002-es/hf-conll2002-es-lr5e-5-seed42.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import env_info

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DOCSTART = "-DOCSTART-"
CORPUS_FILES = {
    "conll2002-es": ("conll2002", {"train": "esp.train", "dev": "esp.testa", "test": "esp.testb"}),
    "conll2002-nl": ("conll2002", {"train": "ned.train", "dev": "ned.testa", "test": "ned.testb"}),
}
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Sentence:
    """Words and tags of one sentence; ``line`` is the 1-based line of its first word."""

    words: list[str]
    tags: list[str]
    path: str
    line: int


def read_conll(path: str | os.PathLike[str]) -> list[Sentence]:
    """Read a CoNLL column file: word in the first column, tag in the last.

    Blank lines separate sentences; ``-DOCSTART-`` lines are dropped (and end the sentence in
    progress, as a document boundary; in CoNLL-2002 they always follow a blank line anyway).
    """
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    first = 0
    text = Path(path).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        cols = line.split()
        if not cols or cols[0] == DOCSTART:
            if words:
                sentences.append(Sentence(words, tags, str(path), first))
            words, tags = [], []
            continue
        if len(cols) < 2:
            raise ValueError(f"{path}:{number}: need a word and a tag column, found {line!r}")
        if not words:
            first = number
        words.append(cols[0])
        tags.append(cols[-1])
    if words:
        sentences.append(Sentence(words, tags, str(path), first))
    return sentences


def label_list(train: Sequence[Sentence]) -> list[str]:
    """Sorted unique tags of the train split, as run_ner.py's ``get_label_list``."""
    return sorted({tag for s in train for tag in s.tags})


@dataclass
class Encoded:
    """Model inputs of one split, plus each example's word ids to map predictions back."""

    features: list[dict[str, list[int]]]
    word_ids: list[list[int | None]]


def encode(
    tokenizer: Any, sentences: Sequence[Sentence], label2id: dict[str, int], max_length: int
) -> Encoded:
    """Tokenize as run_ner.py does: truncate at ``max_length``, label the first subword only."""
    for s in sentences:
        for i, tag in enumerate(s.tags):
            if tag not in label2id:
                # run_ner.py fails here with a bare KeyError.
                raise ValueError(
                    f"{s.path}:{s.line + i}: tag {tag!r} does not occur in the train split "
                    f"(labels: {', '.join(label2id)}); train on more data (--limit-train)"
                )
    batch = tokenizer(
        [s.words for s in sentences],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
    )
    features, all_word_ids = [], []
    for i, s in enumerate(sentences):
        word_ids = batch.word_ids(i)
        labels, previous = [], None
        for w in word_ids:
            if w is None or w == previous:
                labels.append(-100)
            else:
                labels.append(label2id[s.tags[w]])
            previous = w
        feature = {k: batch[k][i] for k in batch.keys()}
        feature["labels"] = labels
        features.append(feature)
        all_word_ids.append(word_ids)
    return Encoded(features, all_word_ids)


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """seqeval's (type, first word, last word) chunks, last inclusive."""
    from seqeval.metrics.sequence_labeling import get_entities

    return get_entities(list(tags))


def truncation_counts(sentences: Sequence[Sentence], word_ids: Sequence[Sequence[Any]]) -> dict:
    """Count what the model never sees: words cut by truncation, and words without a piece."""
    counts = {
        "sentences": len(sentences),
        "words": 0,
        "sentences_truncated": 0,
        "words_lost": 0,
        "words_without_pieces": 0,
        "entities": 0,
        "entities_lost": 0,
        "entities_cut": 0,
    }
    for s, ids in zip(sentences, word_ids, strict=True):
        seen = {w for w in ids if w is not None}
        last = max(seen, default=-1)
        n = len(s.words)
        counts["words"] += n
        if last < n - 1:
            counts["sentences_truncated"] += 1
            counts["words_lost"] += n - 1 - last
        counts["words_without_pieces"] += sum(1 for w in range(last + 1) if w not in seen)
        for _, start, end in entities(s.tags):
            counts["entities"] += 1
            if start > last:
                counts["entities_lost"] += 1
            elif end > last:
                counts["entities_cut"] += 1
    return counts


def seqeval_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, Any]:
    """Micro and per-type P/R/F1 in points (0..100), seqeval default (conlleval-like) mode."""
    from seqeval.metrics import classification_report

    report = classification_report(gold, pred, output_dict=True)
    micro = report["micro avg"]
    types = sorted(k for k in report if not k.endswith(" avg"))

    def points(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "precision": 100 * float(r["precision"]),
            "recall": 100 * float(r["recall"]),
            "f1": 100 * float(r["f1-score"]),
            "support": int(r["support"]),
        }

    return {**points(micro), "per_type": {t: points(report[t]) for t in types}}


def score_split(
    sentences: Sequence[Sentence], encoded: Encoded, argmax: Any, labels: Sequence[str]
) -> tuple[dict[str, Any], list[list[str]]]:
    """Both scores of one split from the per-piece argmax; returns them and full predictions."""
    reported_gold, reported_pred, full_pred = [], [], []
    for s, feature, ids, row in zip(
        sentences, encoded.features, encoded.word_ids, argmax, strict=True
    ):
        # run_ner.py's compute_metrics: keep the positions whose label is not -100.
        pairs = [
            (labels[p], labels[g])
            for p, g in zip(row, feature["labels"], strict=False)
            if g != -100
        ]
        reported_pred.append([p for p, _ in pairs])
        reported_gold.append([g for _, g in pairs])
        tags = ["O"] * len(s.words)
        previous = None
        for position, w in enumerate(ids):
            if w is not None and w != previous:
                tags[w] = labels[int(row[position])]
            previous = w
        full_pred.append(tags)
    scores = {
        "reported": seqeval_scores(reported_gold, reported_pred),
        "full_gold": seqeval_scores([list(s.tags) for s in sentences], full_pred),
    }
    return scores, full_pred


def write_predictions(path: Path, sentences: Sequence[Sentence], pred: list[list[str]]) -> None:
    """``word gold predicted`` per line, blank line between sentences (conlleval's input)."""
    with path.open("w", encoding="utf-8") as f:
        for s, tags in zip(sentences, pred, strict=True):
            for word, gold, guess in zip(s.words, s.tags, tags, strict=True):
                f.write(f"{word} {gold} {guess}\n")
            f.write("\n")


def versions() -> dict[str, str]:
    return env_info.versions(
        ("torch", "transformers", "tokenizers", "accelerate", "seqeval", "numpy")
    )


def machine() -> dict[str, Any]:
    info = env_info.machine()
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def default_data_dir() -> str:
    return os.environ.get("NERKIT_DATA") or str(PROJECT_ROOT.parent / "shared" / "data")


def split_files(args: argparse.Namespace) -> dict[str, str | None]:
    """The train/dev/test files: explicit ``--train/--dev/--test``, or those of ``--corpus``."""
    if args.train:
        return {"train": args.train, "dev": args.dev, "test": args.test}
    if args.dev or args.test:
        raise SystemExit("hf_recipe: --dev/--test need --train (or use --corpus alone)")
    folder, names = CORPUS_FILES[args.corpus]
    base = Path(args.data_dir) / folder
    files = {split: str(base / name) for split, name in names.items()}
    missing = [f for f in files.values() if not Path(f).exists()]
    if missing:
        raise SystemExit(
            f"hf_recipe: {missing[0]} not found; pass --data-dir (the folder holding "
            f"{folder}/) or set NERKIT_DATA"
        )
    return files


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train and evaluate the recipe; returns the results (also written to ``--json``)."""
    import numpy as np
    import torch
    from transformers import (
        AutoConfig,
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    started = time.time()  # after the imports, as nerkit's train_seconds
    files = split_files(args)
    data = {split: read_conll(path) if path else None for split, path in files.items()}
    assert data["train"] is not None
    if args.limit_train is not None:
        data["train"] = data["train"][: args.limit_train]
    labels = label_list(data["train"])
    label2id = {tag: i for i, tag in enumerate(labels)}

    set_seed(args.seed)  # before the model, so the new head's init depends on the seed only
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    if not tokenizer.is_fast:
        raise SystemExit(
            f"hf_recipe: {args.model} has a slow tokenizer; word_ids() needs a fast one"
        )
    config = AutoConfig.from_pretrained(
        args.model,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id=label2id,
        finetuning_task="ner",
    )
    model = AutoModelForTokenClassification.from_pretrained(args.model, config=config)

    encoded = {
        split: encode(tokenizer, sentences, label2id, args.max_length)
        for split, sentences in data.items()
        if sentences is not None
    }
    truncation = {
        split: truncation_counts(data[split], enc.word_ids) for split, enc in encoded.items()
    }

    def compute_metrics(prediction: Any) -> dict[str, float]:
        argmax = np.argmax(prediction.predictions, axis=2)
        gold, pred = [], []
        for row, ids in zip(argmax, prediction.label_ids, strict=True):
            gold.append([labels[g] for g in ids if g != -100])
            pred.append([labels[p] for p, g in zip(row, ids, strict=False) if g != -100])
        micro = seqeval_scores(gold, pred)
        return {"precision": micro["precision"], "recall": micro["recall"], "f1": micro["f1"]}

    out_dir = Path(args.output_dir) if args.output_dir else None
    scratch = tempfile.TemporaryDirectory(prefix="hf-recipe-") if out_dir is None else None
    trainer_dir = out_dir if out_dir is not None else Path(scratch.name)  # type: ignore[union-attr]
    eval_each_epoch = args.eval_each_epoch and "dev" in encoded
    training_args = TrainingArguments(
        output_dir=str(trainer_dir),
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.eval_batch_size,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        seed=args.seed,
        eval_strategy="epoch" if eval_each_epoch else "no",
        save_strategy="no",
        report_to="none",
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=encoded["train"].features,
        eval_dataset=encoded["dev"].features if "dev" in encoded else None,
        processing_class=tokenizer,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        compute_metrics=compute_metrics if eval_each_epoch else None,
    )
    train_output = trainer.train()
    train_seconds = time.time() - started

    results: dict[str, Any] = {
        "system": "hf-recipe",
        "corpus": None if args.train else args.corpus,
        "files": files,
        "model": str(args.model),
        "settings": {
            "lr": args.lr,
            "seed": args.seed,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "max_steps": args.max_steps,
            "limit_train": args.limit_train,
            "eval_batch_size": args.eval_batch_size,
            "optimizer": str(training_args.optim),
            "scheduler": str(training_args.lr_scheduler_type),
            "warmup_steps": training_args.warmup_steps,
            "weight_decay": training_args.weight_decay,
            "precision": "fp32",
            "decoding": "argmax",
            "model_kept": "last",
        },
        "labels": labels,
        "notes": {
            "reported": "F1 as run_ner.py computes it: gold rebuilt from the truncated label "
            "ids, so words cut at max_length are left out of gold and predictions",
            "full_gold": "F1 against the full gold sentences; words the model never saw "
            "(truncated, or without any piece) are predicted O",
            "f1_scale": "points (0..100), seqeval default mode (conlleval-like)",
        },
    }
    predictions_written = {}
    for split in ("dev", "test"):
        if split not in encoded:
            continue
        output = trainer.predict(encoded[split].features, metric_key_prefix=split)
        argmax = np.argmax(output.predictions, axis=2)
        scores, full_pred = score_split(data[split], encoded[split], argmax, labels)
        results[split] = scores
        results[f"{split}_f1"] = scores["reported"]["f1"]
        results[f"{split}_f1_full_gold"] = scores["full_gold"]["f1"]
        if out_dir is not None:
            path = out_dir.resolve() / f"{split}_predictions.txt"
            write_predictions(path, data[split], full_pred)
            predictions_written[split] = str(path)
    if out_dir is not None and args.save_model:
        trainer.save_model(str(out_dir))
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    results.update(
        {
            "truncation": truncation,
            "train_loss": train_output.training_loss,
            "last_logged_loss": losses[-1] if losses else None,
            "steps": trainer.state.global_step,
            "epochs_done": trainer.state.epoch,
            "train_seconds": round(train_seconds, 1),
            "train_loop_seconds": round(train_output.metrics["train_runtime"], 1),
            "total_seconds": round(time.time() - started, 1),
            "log_history": trainer.state.log_history,
            "predictions": predictions_written,
            "versions": versions(),
            "machine": {**machine(), "device": str(next(model.parameters()).device)},
            "torch_threads": torch.get_num_threads(),
            "command": shlex.join([sys.executable, *sys.argv]),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
    if scratch is not None:
        scratch.cleanup()
    return results


def summary(results: dict[str, Any]) -> str:
    s = results["settings"]
    where = results["corpus"] or results["files"]["train"]
    lines = [
        f"HF recipe on {where}: lr {s['lr']:g}, seed {s['seed']}, {s['epochs']:g} epochs, "
        f"batch {s['batch_size']}, max_length {s['max_length']}"
        + (f", max_steps {s['max_steps']}" if s["max_steps"] > 0 else "")
    ]
    for split in ("dev", "test"):
        if split in results:
            r = results[split]
            lines.append(
                f"  {split:4} F1 {r['reported']['f1']:6.2f} as the recipe reports it "
                f"(truncated gold); {r['full_gold']['f1']:6.2f} on the full gold sentences"
            )
    cut = ", ".join(
        f"{split} {t['sentences_truncated']}/{t['sentences']} sentences "
        f"({t['words_lost']} words, {t['entities_lost'] + t['entities_cut']} entities)"
        for split, t in results["truncation"].items()
    )
    lines.append(f"  cut at {s['max_length']} subwords: {cut}")
    lines.append(
        f"  train loss {results['train_loss']:.4f} ({results['steps']} steps), "
        f"train {results['train_seconds']:.0f} s, total {results['total_seconds']:.0f} s"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="The Hugging Face run_ner.py recipe (plain transformers + seqeval).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="encoder folder or hub id")
    p.add_argument(
        "--data-dir",
        default=default_data_dir(),
        help="folder holding conll2002/ ($NERKIT_DATA, else ../shared/data)",
    )
    p.add_argument(
        "--corpus",
        choices=sorted(CORPUS_FILES),
        default="conll2002-es",
        help="named corpus (ignored with --train)",
    )
    p.add_argument("--train", help="train column file (instead of --corpus)")
    p.add_argument("--dev", help="dev column file (with --train)")
    p.add_argument("--test", help="test column file (with --train)")
    p.add_argument("--lr", type=float, default=5e-5, help="learning rate")
    p.add_argument("--seed", type=int, default=42, help="random seed")
    p.add_argument("--epochs", type=float, default=3.0, help="training epochs")
    p.add_argument("--batch-size", type=int, default=32, help="training batch size")
    p.add_argument(
        "--eval-batch-size", type=int, default=8, help="evaluation batch size (Trainer default)"
    )
    p.add_argument("--max-length", type=int, default=128, help="truncate at this many subwords")
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps")
    p.add_argument("--limit-train", type=int, help="use the first N training sentences only")
    p.add_argument(
        "--eval-each-epoch",
        action="store_true",
        help="also score dev after each epoch (logged; the last model is kept)",
    )
    p.add_argument("--output-dir", help="write dev/test predictions (word gold predicted) here")
    p.add_argument(
        "--save-model", action="store_true", help="also save the final model in --output-dir"
    )
    p.add_argument("--json", help="write the results to this JSON file")
    args = p.parse_args(argv)
    if args.save_model and not args.output_dir:
        p.error("--save-model needs --output-dir")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    results = run(args)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(summary(results))
    if args.json:
        print(f"  wrote {args.json}")
    return results


if __name__ == "__main__":
    main()

"""Fine-tuning an encoder for NER: settings, data, the Trainer, reports.

Modules in the order a run uses them: :mod:`~nerkit.training.config` (``TrainConfig``, the
single source of ``nerkit train``'s flags; standard library only),
:mod:`~nerkit.training.ranks` (which process writes, under ``torchrun``),
:mod:`~nerkit.training.run_folder` (the output folder: refused, emptied or continued; the
finished model moved in whole), :mod:`~nerkit.training.data`,
:mod:`~nerkit.training.trainer` (the Hugging Face Trainer subclass and its parts),
:mod:`~nerkit.training.scoring` (dev F1 as ``nerkit evaluate`` computes it),
:mod:`~nerkit.training.reports` and :mod:`~nerkit.training.model_card`;
:mod:`~nerkit.training.train` runs them as stages. Nothing heavy is imported here.
"""

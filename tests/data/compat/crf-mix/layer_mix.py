"""A token classifier that reads a learned mix of the encoder's hidden layers (``--layer-mix``).

A plain ``*ForTokenClassification`` tags from the top layer only. Encoders trained for sentence
embeddings (e5) keep more token information in their middle layers (:mod:`nerkit.layer_probe`);
the probe answers that by cutting the top layers off, this model by letting training choose:
the classifier reads ``gamma * sum_i softmax(w)_i * h_i`` over every hidden state ``h_i``
(embeddings included), the scalar mix of ELMo, with ``w`` and ``gamma`` learned with the head.

Such a folder must not load as a plain token classifier: ``pipeline("ner")`` would then tag
from the top layer alone, silently. So its ``config.json`` has a model type of its own
(``nerkit_layer_mix``, the encoder's config nested under ``encoder``) and an ``auto_map`` to a
copy of this file, which ``save_pretrained`` puts next to the weights. nerkit loads such folders
with its installed code; plain transformers loads them with ``trust_remote_code=True`` and
refuses without it. That copy runs without nerkit, so this module imports only torch and
transformers, and registers nothing itself (:mod:`nerkit.model` registers it with the Auto
classes).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import TokenClassifierOutput


class LayerMixConfig(PretrainedConfig):
    """Labels and dropout of the classifier; the encoder's own config as a dict (``encoder``)."""

    model_type = "nerkit_layer_mix"

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        classifier_dropout: float | None = None,
        initializer_range: float = 0.02,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = dict(encoder or {})
        self.classifier_dropout = classifier_dropout
        self.initializer_range = initializer_range

    def encoder_config(self) -> PretrainedConfig:
        data = dict(self.encoder)
        if "model_type" not in data:
            raise ValueError("layer-mix config: the nested encoder config has no model_type")
        return AutoConfig.for_model(data.pop("model_type"), **data)


class ScalarMix(nn.Module):
    """``gamma * sum_i softmax(weights)_i * hidden[i]``; starts as the plain mean of the layers."""

    def __init__(self, layers: int) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(layers))
        self.gamma = nn.Parameter(torch.ones(1))

    def forward(self, hidden: tuple[torch.Tensor, ...] | list[torch.Tensor]) -> torch.Tensor:
        if len(hidden) != self.weights.numel():
            raise ValueError(
                f"layer mix over {self.weights.numel()} hidden states got {len(hidden)}"
            )
        share = torch.softmax(self.weights, dim=0)
        mixed = share[0] * hidden[0]
        for i in range(1, len(hidden)):
            mixed = mixed + share[i] * hidden[i]
        return self.gamma * mixed

    def shares(self) -> list[float]:
        """The weight of each hidden state (embeddings first), summing to 1."""
        return [round(float(x), 4) for x in torch.softmax(self.weights.detach(), dim=0)]


def _bare_encoder(config: PretrainedConfig) -> nn.Module:
    try:  # BERT-like encoders build a pooler unless told not to; the tagger never uses it
        return AutoModel.from_config(config, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_config(config)


class LayerMixForTokenClassification(PreTrainedModel):
    """Encoder, scalar mix of its hidden states, dropout, linear classifier."""

    config_class = LayerMixConfig
    base_model_prefix = "encoder"

    def __init__(self, config: LayerMixConfig) -> None:
        super().__init__(config)
        encoder_config = config.encoder_config()
        self.num_labels = config.num_labels
        self.encoder = _bare_encoder(encoder_config)
        self.layer_mix = ScalarMix(encoder_config.num_hidden_layers + 1)
        dropout = config.classifier_dropout
        if dropout is None:
            dropout = getattr(encoder_config, "hidden_dropout_prob", 0.1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(encoder_config.hidden_size, config.num_labels)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if module is self.classifier:
            module.weight.data.normal_(0.0, self.config.initializer_range)
            module.bias.data.zero_()
        elif isinstance(module, ScalarMix):
            module.weights.data.zero_()
            module.gamma.data.fill_(1.0)
        elif hasattr(self, "encoder"):
            self.encoder._init_weights(module)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> TokenClassifierOutput:
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        out = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=True,
            return_dict=True,
            **extra,
        )
        logits = self.classifier(self.dropout(self.layer_mix(out.hidden_states)))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(
                logits.view(-1, self.num_labels), labels.view(-1), ignore_index=-100
            )
        return TokenClassifierOutput(loss=loss, logits=logits)


def wrap_with_layer_mix(model: Any) -> LayerMixForTokenClassification:
    """A layer-mix classifier around the encoder of ``model`` (a ``*ForTokenClassification``).

    The encoder module itself is moved over, not copied: its pretrained weights, a layer cut
    made before, and frozen parameters all stay as they are. The classifier and the mix are new.
    """
    base = model.base_model
    config = LayerMixConfig(
        encoder=base.config.to_dict(),
        classifier_dropout=getattr(model.config, "classifier_dropout", None),
        initializer_range=getattr(model.config, "initializer_range", 0.02),
        id2label=dict(model.config.id2label),
        label2id=dict(model.config.label2id),
        pad_token_id=getattr(base.config, "pad_token_id", None),
    )
    mixed = LayerMixForTokenClassification(config)
    mixed.encoder = base
    return mixed.to(next(base.parameters()).device)

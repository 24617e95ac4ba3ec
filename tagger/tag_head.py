"""The musicnn tagger's last.fm tags beside a genre model that sits on the same frozen backbone.

The default genre model (and every model `genrenet learn` or a frozen-backbone retrain makes)
keeps the shipped MSD musicnn backbone as it is. That tagger's own output layer (200 -> 50
last.fm tags: "hard rock", "indie", "soul", "House", ...) reads the backbone's penultimate layer,
which the backbone computes for every window anyway, so the tags cost one small matrix product.
tagger.styles turns them into styles under the predicted genre.
"""

from __future__ import annotations

import torch
from torch import nn

TAGGERS = ("msd", "mtt")  # shipped taggers (tagger.models.musicnn.PRETRAINED) a backbone may match


class WithTags(nn.Module):
    """A MusicnnTransfer genre model and a tagger's output layer on one backbone pass:
    forward(x) -> (genre logits (batch, n_labels), tag logits (batch, n_tags))."""

    def __init__(self, model: nn.Module, tags: nn.Linear):
        super().__init__()
        self.model = model
        self.tags = tags

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rep = self.model.backbone(x)
        return self.model.head(rep[self.model.embedding]), self.tags(rep["penultimate"])


def tags_for(model: nn.Module) -> tuple[tuple[str, ...], WithTags] | None:
    """(tag labels, the model with the tags beside it) when `model` is a genre model whose whole
    backbone is a shipped tagger's, unchanged; None otherwise (other architectures, a fine-tuned
    backbone, a tagger file that is missing)."""
    from tagger.checkpoint import read_checkpoint
    from tagger.errors import ModelError
    from tagger.models.musicnn import MusicnnTransfer, pretrained_path

    if not isinstance(model, MusicnnTransfer) or model.fine_tune_from is not None:
        return None
    mine = model.backbone.state_dict()
    for name in TAGGERS:
        try:
            payload = read_checkpoint(pretrained_path(name))
        except ModelError:
            continue
        weights = payload["state_dict"]
        theirs = {k.removeprefix("backbone."): v for k, v in weights.items() if k.startswith("backbone.")}
        if theirs.keys() != mine.keys() or not all(torch.equal(mine[k], theirs[k]) for k in mine):
            continue
        layer = nn.Linear(weights["classifier.weight"].shape[1], weights["classifier.weight"].shape[0])
        layer.load_state_dict({"weight": weights["classifier.weight"], "bias": weights["classifier.bias"]})
        return tuple(payload["labels"]), WithTags(model, layer).eval()
    return None

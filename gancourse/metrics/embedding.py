"""What the course's feature networks share: turning images into features and predicted classes."""

from __future__ import annotations

import torch
import torch.nn as nn

from .samples import CHUNK


class Embeds(nn.Module):
    """A network with ``features(x)`` and a ``classifier`` (or None) embeds images in chunks of ``embed_batch``."""

    embed_batch = CHUNK
    classifier: nn.Module | None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(features, predicted class; zeros without a classifier) of float images in [-1, 1], on the CPU."""
        self.eval()
        device = next(self.parameters()).device
        feats, preds = [], []
        for chunk in images.split(batch_size or self.embed_batch):
            f = self.features(chunk.to(device, torch.float32))
            feats.append(f.cpu())
            preds.append(self.classifier(f).argmax(1).cpu() if self.classifier is not None
                         else torch.zeros(len(f), dtype=torch.long))
        return torch.cat(feats), torch.cat(preds)

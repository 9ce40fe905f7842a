"""Drawing ``n`` samples in chunks from one fixed seed: the same noise at every evaluation.

Every evaluator scores a generator on the same noise each time it is called, so its curve over training
moves because the generator changed, not because the noise did; chunks keep memory bounded. Anything with
``sample(n, labels=None, generator=None)`` can be drawn from: a recipe, or an exported generator wrapped in
:class:`gancourse.engine.sampling.GeneratorSampler`.
"""

from __future__ import annotations

import torch

EVAL_SEED = 4321  # the evaluators' noise seed
# Images per chunk when drawing and embedding: a chunk's activations then stay in a CPU's cache, which makes the
# same work faster than in larger chunks (docs/performance.md, "Figures behind code choices").
CHUNK = 100


@torch.no_grad()
def draw_samples(sampler, n: int, *, labels: torch.Tensor | None = None, seed: int = EVAL_SEED,
                 batch_size: int = CHUNK) -> torch.Tensor:
    """``n`` images (float, CPU) from ``sampler``, ``batch_size`` at a time, all noise from one seeded generator.

    ``labels`` (one per image) asks a conditional sampler for those classes; ``n`` is then ``len(labels)``.
    """
    if labels is not None:
        n = len(labels)
    g = torch.Generator().manual_seed(seed)
    chunks = []
    for start in range(0, n, batch_size):
        k = min(batch_size, n - start)
        if labels is None:
            chunks.append(sampler.sample(k, generator=g).cpu())
        else:
            chunks.append(sampler.sample(k, labels=labels[start:start + k], generator=g).cpu())
    return torch.cat(chunks)

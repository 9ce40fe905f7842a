"""What every recipe provides: one ``step(batch)`` that updates the networks, and its full state."""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, ClassVar

import torch
import torch.nn as nn

from ..data import Batch, ImageSet
from ..devices import autocast


class Recipe:
    """One GAN flavour: its networks, optimisers and the update rule of one training step.

    Subclasses set ``name`` and ``Config`` (a dataclass of knobs), build ``self.modules`` and
    ``self.optimizers`` (dicts by name), and implement ``step`` and ``sample``.
    """

    name: ClassVar[str] = "recipe"
    Config: ClassVar[type]
    conditional: bool = False
    # bfloat16 autocast on CPUs that have it (``devices.cpu_bf16_enabled``): only for recipes measured faster and
    # no worse in quality with it over 3 seeds (docs/performance.md); the others train in fp32 on every CPU
    cpu_bf16: ClassVar[bool] = False

    def __init__(self, config: Any, device: torch.device) -> None:
        self.config = config
        self.device = torch.device(device)
        self.modules: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.extra_state: dict[str, Any] = {}  # anything else the step carries (balancing statistics)

    @classmethod
    def config_for(cls, data: ImageSet, **overrides: Any) -> Any:
        """A config that fits ``data`` (size, channels, classes), with ``overrides`` applied and checked."""
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        unknown = set(overrides) - fields
        if unknown:
            raise TypeError(f"{cls.name} has no option {', '.join(sorted(unknown))}; "
                            f"its options: {', '.join(sorted(fields))}")
        base = {"image_size": data.size, "channels": data.channels}
        if "n_classes" in fields:
            base["n_classes"] = data.num_classes if cls.conditional else 0
        return cls.Config(**{k: v for k, v in base.items() if k in fields} | overrides)

    @classmethod
    def defaults_for(cls, device: torch.device, dataset: str) -> dict[str, Any]:
        """What a run of this recipe gets for the settings its caller left out, on ``device`` and ``dataset``:
        ``batch_size``, ``data_options`` and ``recipe_options``."""
        return {"batch_size": 64, "data_options": {}, "recipe_options": {}}

    def step(self, batch: Batch) -> dict[str, float]:
        raise NotImplementedError

    def autocast(self) -> contextlib.AbstractContextManager:
        """The mixed precision the training step runs under: bfloat16 on CUDA with ``config.amp``, and on a CPU
        with bfloat16 when the recipe's ``cpu_bf16`` says so; otherwise fp32."""
        return autocast(self.device, getattr(self.config, "amp", False), cpu=self.cpu_bf16)

    def update(self, name: str, loss: torch.Tensor) -> None:
        """One optimiser step of network ``name`` on ``loss``: clear its gradients, backpropagate, step."""
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        raise NotImplementedError

    def prepare(self, data: Any) -> None:
        """Called by ``fit`` once before training, with the training data (CycleGAN keeps preview images)."""

    def grid_columns(self, n: int) -> int:
        """How many of ``n`` fixed samples a row of the saved sample grid holds."""
        return max(1, int(math.sqrt(n)))

    def fixed_inputs(self, n: int, seed: int = 1234) -> dict[str, torch.Tensor]:
        """The inputs of the sample grids saved during training, identical at every step and on resume."""
        raise NotImplementedError

    def train(self, mode: bool = True) -> None:
        for module in self.modules.values():
            module.train(mode)

    def state_dict(self) -> dict[str, Any]:
        return {
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "extra": dict(self.extra_state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, m in self.modules.items():
            m.load_state_dict(state["modules"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        self.extra_state.update(state.get("extra", {}))

    def generator_export(self) -> dict[str, Any]:
        """What ``checkpoints.export_generator`` saves: enough to rebuild G and sample without the recipe."""
        g = self.modules["G"]
        return {"recipe": self.name, "class": type(g).__name__, "config": dict(g.config),
                "state_dict": g.state_dict()}

    def parameter_counts(self) -> dict[str, int]:
        return {k: sum(p.numel() for p in m.parameters()) for k, m in self.modules.items()}

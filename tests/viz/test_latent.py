"""Latent walks (gancourse.viz.latent) and the latent explorer widget."""

from __future__ import annotations

import pytest
import torch

from ..helpers import tiny_generator


def test_interpolation_strip_runs_between_the_two_seeds() -> None:
    from gancourse.viz.latent import generate, interpolation_strip, latent_for_seed, slerp

    g = tiny_generator()
    strip = interpolation_strip(g, seed_a=3, seed_b=5, steps=6)
    assert strip.shape == (6, 3, 16, 16)
    ends = generate(g, torch.cat([latent_for_seed(8, 3), latent_for_seed(8, 5)]))
    assert torch.allclose(strip[0], ends[0], atol=1e-5) and torch.allclose(strip[-1], ends[1], atol=1e-5)
    a, b = torch.randn(8) * 3, torch.randn(8) * 3
    middle = slerp(a, b, torch.tensor([0.5]))[0]
    assert abs(float(middle.norm()) - float((a.norm() + b.norm()) / 2)) < 0.25 * float(a.norm())


def test_latent_explorer_reacts_to_its_controls_and_falls_back_to_a_figure(monkeypatch) -> None:
    from gancourse.viz.frontend import live_frontend
    from gancourse.viz.widgets import LatentExplorer

    explorer = LatentExplorer(tiny_generator(), n_directions=3, images_per_seed=2)
    box = explorer.widget()
    controls = box.controls
    before = controls["image"].value
    assert before[:4] == b"\x89PNG" and len(controls["sliders"]) == 3
    controls["sliders"][1].value = 2.5
    moved = controls["image"].value
    assert moved != before
    controls["reset"].click()
    assert controls["image"].value == before
    controls["seed"].value = 7
    assert controls["image"].value != before
    assert not live_frontend()  # pytest has no live kernel
    figure = explorer.show(seed=1)
    assert figure.axes  # the static sweep
    with pytest.raises(ValueError, match="no latent input"):
        LatentExplorer(torch.nn.Linear(2, 2))

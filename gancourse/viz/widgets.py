"""Interactive views for notebooks, with a static fallback when nobody can move a slider.

Under JupyterLab, Jupyter, VS Code or Colab the widgets are live; under papermill, nbmake or a plain
script (:func:`~gancourse.viz.frontend.widgets_available` is False) each ``show()`` draws the equivalent
static figure instead, so an executed notebook still shows something meaningful. The widget objects themselves are plain
``ipywidgets`` and can be built and driven in tests without a browser.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from ..runs import RunDir
from .frontend import widgets_available
from .grids import grid_image
from .latent import direction_sweep, generate, latent_for_seed, random_directions
from .plots import sample_strip, show_images


def show_live_or_static(widget: Callable[[], Any], figure: Callable[[], Any], note: str):
    """Display ``widget()`` where a frontend can drive it; else print ``note`` and display ``figure()`` once."""
    from IPython.display import display

    if widgets_available():
        live = widget()
        display(live)
        return live
    print(f"(no widget frontend here: {note})")
    import matplotlib.pyplot as plt

    fig = figure()
    display(fig)
    plt.close(fig)
    return fig


def png_bytes(images: torch.Tensor, nrow: int | None = None, scale: int = 2) -> bytes:
    """A grid of float images in [-1, 1] as PNG bytes (for ``ipywidgets.Image``), upscaled ``scale`` times."""
    from PIL import Image

    grid = Image.fromarray(grid_image(images, nrow))
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    return buffer.getvalue()


class LatentExplorer:
    """Sliders that move a few images along ``n_directions`` latent directions, and a seed picker.

    ``images_per_seed`` images are drawn from consecutive seeds starting at the picked one; every slider
    adds ``value x direction`` to all their latents, so the same move can be compared on several images.
    """

    def __init__(self, generator: nn.Module, n_directions: int = 4, images_per_seed: int = 4, span: float = 3.0,
                 direction_seed: int = 0, label: int | None = None) -> None:
        if getattr(generator, "nz", None) is None:
            raise ValueError(f"{type(generator).__name__} has no latent input (nz): nothing to explore")
        self.generator, self.span, self.label = generator, span, label
        self.images_per_seed = images_per_seed
        self.directions = random_directions(generator.nz, n_directions, direction_seed)
        self._widget = None

    def latents(self, seed: int, offsets: list[float] | torch.Tensor | None = None) -> torch.Tensor:
        z = torch.cat([latent_for_seed(self.generator.nz, seed + i) for i in range(self.images_per_seed)])
        if offsets is not None:
            z = z + torch.as_tensor(offsets, dtype=z.dtype) @ self.directions
        return z

    def render(self, seed: int = 0, offsets: list[float] | torch.Tensor | None = None) -> torch.Tensor:
        return generate(self.generator, self.latents(seed, offsets), self.label)

    def sweep_figure(self, seed: int = 0, steps: int = 7):
        """The static view: for one image, each row moves along one direction from -span to +span."""
        images = direction_sweep(self.generator, self.directions, seed, self.span, steps, self.label)
        fig = show_images(images, nrow=steps, size=1.1 * steps,
                          title=f"seed {seed}: rows = latent directions, columns = -{self.span:g} ... +{self.span:g}")
        return fig

    def widget(self):
        """The live explorer as an ``ipywidgets`` box (built on first use)."""
        if self._widget is not None:
            return self._widget
        import ipywidgets as w

        seed = w.BoundedIntText(value=0, min=0, max=2**31 - 1, description="seed")
        sliders = [w.FloatSlider(value=0.0, min=-self.span, max=self.span, step=0.1, description=f"direction {i}",
                                 continuous_update=True) for i in range(len(self.directions))]
        reset = w.Button(description="reset sliders")
        image = w.Image(format="png")

        def redraw(_change=None) -> None:
            image.value = png_bytes(self.render(seed.value, [s.value for s in sliders]), nrow=self.images_per_seed)

        def zero(_button=None) -> None:
            for s in sliders:
                s.value = 0.0

        for control in (seed, *sliders):
            control.observe(redraw, names="value")
        reset.on_click(zero)
        redraw()
        self._widget = w.VBox([w.HBox([seed, reset]), *sliders, image])
        self._widget.controls = {"seed": seed, "sliders": sliders, "image": image, "reset": reset}
        return self._widget

    def show(self, seed: int = 0):
        """Display the live widget where a frontend can drive it, else the static sweep figure."""
        return show_live_or_static(self.widget, lambda: self.sweep_figure(seed),
                                   "showing the static version; open the notebook in Jupyter to drag sliders")


class SampleScrubber:
    """A slider over the fixed-noise sample grids a run saved: drag it to replay training step by step.

    Works on any run directory (``samples/step_*.png``), during or after training; the caption gives the
    step and, when an evaluation was logged at or before it, the latest FID.
    """

    def __init__(self, run) -> None:
        self.run = run if isinstance(run, RunDir) else RunDir(run)
        self.paths = self.run.sample_paths()
        if not self.paths:
            raise FileNotFoundError(f"{self.run.path} has no sample grids (samples/step_*.png): train it first")
        self.steps = [int(p.stem.split("_")[1]) for p in self.paths]
        self._widget = None

    def caption(self, index: int) -> str:
        step = self.steps[index]
        text = f"step {step} ({index + 1}/{len(self.steps)})"
        seen = [e for e in self.run.evaluations() if e["step"] <= step and "fid" in e["eval"]]
        if seen:
            text += f" | FID at step {seen[-1]['step']}: {seen[-1]['eval']['fid']:.2f}"
        return text

    def widget(self):
        """The live scrubber as an ``ipywidgets`` box (built on first use)."""
        if self._widget is not None:
            return self._widget
        import ipywidgets as w

        slider = w.IntSlider(value=len(self.paths) - 1, min=0, max=len(self.paths) - 1, description="sample grid",
                             continuous_update=True, readout=False)
        play = w.Play(value=slider.value, min=0, max=slider.max, interval=300)
        w.jslink((play, "value"), (slider, "value"))
        image = w.Image(format="png")
        caption = w.Label()

        def redraw(_change=None) -> None:
            image.value = self.paths[slider.value].read_bytes()
            caption.value = self.caption(slider.value)

        slider.observe(redraw, names="value")
        redraw()
        self._widget = w.VBox([w.HBox([play, slider, caption]), image])
        self._widget.controls = {"slider": slider, "play": play, "image": image, "caption": caption}
        return self._widget

    def show(self, count: int = 6):
        """The live widget where a frontend can drive it, else ``count`` evenly spaced grids side by side."""
        return show_live_or_static(self.widget, lambda: sample_strip(self.run, count=count),
                                   "showing evenly spaced sample grids; in Jupyter, drag the slider")

"""Notebook 05 (Quick Draw cGAN): a class picker, a dropdown of classes and a seed slider that redraw live.

Where no one can move a widget (papermill, nbmake, ``GANCOURSE_HEADLESS=1``, or ipywidgets missing) it
shows the static per-class grid instead, so an executed notebook still shows what the picker would.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..viz.frontend import widgets_available
from ..viz.plots import show_images
from .class_grids import draw_class, show_class_grid


def class_picker(source, class_names: Sequence[str], n: int = 16, max_seed: int = 999, static_per_class: int = 8):
    """Draw ``n`` images of the class chosen in a dropdown, from the noise chosen by a seed slider.

    ``source``: a conditional recipe (e.g. ``CGAN``), a ``GeneratorSampler`` or an exported generator.
    Returns the widget box, or (with no widget frontend) the matplotlib figure of the static grid.
    """
    names = list(class_names)
    if not widgets_available():
        print("(no widget frontend here: showing every class instead of the picker)")
        return show_class_grid(source, names, per_class=static_per_class,
                               title="class picker, static: one row per class")

    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    dropdown = widgets.Dropdown(options=[(name, k) for k, name in enumerate(names)], value=0, description="class")
    seed = widgets.IntSlider(value=0, min=0, max=max_seed, description="seed", continuous_update=False)
    output = widgets.Output()

    def redraw(*_) -> None:
        images = draw_class(source, dropdown.value, n, seed.value)
        with output:
            output.clear_output(wait=True)
            fig = show_images(images, title=f"{names[dropdown.value]} (seed {seed.value})", size=4)
            display(fig)
            plt.close(fig)

    dropdown.observe(redraw, names="value")
    seed.observe(redraw, names="value")
    box = widgets.VBox([widgets.HBox([dropdown, seed]), output])
    redraw()
    return box


def show_class_picker(source, class_names: Sequence[str], n: int = 16, max_seed: int = 999, static_per_class: int = 8):
    """Display the class picker in a notebook (or, with no widget frontend, its static grid, once) and return it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    shown = class_picker(source, class_names, n, max_seed, static_per_class)
    display(shown)
    if isinstance(shown, plt.Figure):
        plt.close(shown)  # displayed above; closing stops the inline backend from drawing it a second time
    return shown

"""Notebook 06 (Monet CycleGAN): choose a held-out image and see it translated both ways and back.

Live in JupyterLab or Colab (a slider over the images of each domain); where no one can move a widget
(papermill, nbmake, ``GANCOURSE_HEADLESS=1``) :meth:`TranslationPicker.show` draws the static table of
the first few images instead, so an executed notebook still shows what the picker would.
"""

from __future__ import annotations

import torch

from ..data import to_unit_range
from ..viz.widgets import png_bytes, show_live_or_static


class TranslationPicker:
    """For a picked image of either domain: the image, its translation, and the translation translated back.

    ``translate(images, direction)``: a CycleGAN recipe's ``translate``, or any function of that shape
    (e.g. over ``load_translators``). ``images``: uint8 held-out images per domain name.
    """

    def __init__(self, translate, images: dict[str, torch.Tensor]) -> None:
        if len(images) != 2:
            raise ValueError(f"a translation picker needs images of two domains, got {list(images)}")
        self.translate, self.images = translate, {k: torch.as_tensor(v) for k, v in images.items()}
        self.domains = list(self.images)
        self._widget = None

    @classmethod
    def from_recipe(cls, recipe, data) -> TranslationPicker:
        """From a CycleGAN recipe and an UnpairedSet (its preview, i.e. the test split, when it has one)."""
        preview = getattr(data, "preview", None)  # not `or`: an UnpairedSet has a length, so truthiness is size
        source = preview if preview is not None else data
        return cls(recipe.translate, {source.domains[0]: source.a.images, source.domains[1]: source.b.images})

    def row(self, domain: str, index: int) -> torch.Tensor:
        """(3, C, H, W) in [-1, 1]: the image, its translation into the other domain, and back."""
        if domain not in self.images:
            raise ValueError(f"unknown domain {domain!r}; choose one of {', '.join(self.domains)}")
        other = self.domains[1 - self.domains.index(domain)]
        count = len(self.images[domain])
        if not 0 <= index < count:
            raise ValueError(f"{domain} has images 0..{count - 1}, not {index}")
        x = to_unit_range(self.images[domain][index:index + 1])
        y = self.translate(x, f"{domain}2{other}")
        return torch.cat([x, y.cpu(), self.translate(y, f"{other}2{domain}").cpu()])

    def figure(self, per_domain: int = 3):
        """The static view: rows of (image, translation, reconstruction) for the first images of each domain."""
        import matplotlib.pyplot as plt

        rows = [(d, i) for d in reversed(self.domains) for i in range(min(per_domain, len(self.images[d])))]
        fig, axes = plt.subplots(len(rows), 3, figsize=(6.6, 2.2 * len(rows)), squeeze=False)
        for r, (domain, index) in enumerate(rows):
            other = self.domains[1 - self.domains.index(domain)]
            images = self.row(domain, index)
            titles = (f"{domain} #{index}", f"-> {other}", f"-> back to {domain}")
            for c, (image, title) in enumerate(zip(images, titles, strict=True)):
                axes[r, c].imshow(((image.permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy())
                axes[r, c].set_title(title, fontsize=9)
                axes[r, c].axis("off")
        fig.tight_layout()
        return fig

    def widget(self):
        """The live picker as an ``ipywidgets`` box (built on first use): a domain toggle and an image slider."""
        if self._widget is not None:
            return self._widget
        import ipywidgets as w

        start = self.domains[-1]  # photos first: photo -> Monet is the headline
        domain = w.ToggleButtons(options=list(reversed(self.domains)), value=start, description="start from")
        index = w.IntSlider(value=0, min=0, max=len(self.images[start]) - 1, description="image",
                            continuous_update=False)
        caption = w.Label()
        image = w.Image(format="png")

        def redraw(_change=None) -> None:
            index.max = len(self.images[domain.value]) - 1
            other = self.domains[1 - self.domains.index(domain.value)]
            image.value = png_bytes(self.row(domain.value, index.value), nrow=3)
            caption.value = f"{domain.value} #{index.value}  |  -> {other}  |  -> back to {domain.value}"

        domain.observe(redraw, names="value")
        index.observe(redraw, names="value")
        redraw()
        self._widget = w.VBox([w.HBox([domain, index]), caption, image])
        self._widget.controls = {"domain": domain, "index": index, "image": image, "caption": caption}
        return self._widget

    def show(self):
        """Display the live picker where a frontend can drive it, else the static table."""
        return show_live_or_static(self.widget, self.figure,
                                   "showing the static version; open the notebook in Jupyter to pick images")

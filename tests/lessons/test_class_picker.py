"""Notebook 05's class picker (gancourse.lessons.class_picker)."""

from gancourse.devices import seed_everything
from gancourse.lessons.class_picker import class_picker, show_class_picker
from gancourse.recipes import CGAN

from ..helpers import blob_images

DATA = blob_images(n=256, size=16)


SMALL = dict(nz=8, g_width=8, d_width=8)


def make(**options) -> CGAN:
    seed_everything(0)
    return CGAN(CGAN.config_for(DATA, **SMALL, **options))


def test_class_picker_falls_back_to_a_static_grid_without_a_widget_frontend(monkeypatch):
    monkeypatch.setenv("GANCOURSE_HEADLESS", "1")
    figure = class_picker(make(), DATA.class_names)
    assert len(figure.axes[0].get_yticklabels()) == 4  # one labelled row per class
    shown = show_class_picker(make(), DATA.class_names)
    assert len(shown.axes[0].get_yticklabels()) == 4

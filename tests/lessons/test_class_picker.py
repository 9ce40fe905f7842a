"""Notebook 05's class picker (gancourse.lessons.class_picker)."""

from gancourse.lessons.class_picker import class_picker, show_class_picker

from ..helpers import BLOBS as DATA
from ..helpers import tiny_cgan as make


def test_class_picker_falls_back_to_a_static_grid_without_a_widget_frontend(monkeypatch):
    monkeypatch.setenv("GANCOURSE_HEADLESS", "1")
    figure = class_picker(make(), DATA.class_names)
    assert len(figure.axes[0].get_yticklabels()) == 4  # one labelled row per class
    shown = show_class_picker(make(), DATA.class_names)
    assert len(shown.axes[0].get_yticklabels()) == 4

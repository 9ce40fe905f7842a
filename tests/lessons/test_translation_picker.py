"""Notebook 06's translation picker (gancourse.lessons.translation_picker)."""

from __future__ import annotations

import pytest

from ..helpers import toy_recipe, toy_unpaired


def test_translation_picker_builds_its_widget_and_static_view_without_a_frontend():
    import matplotlib.pyplot as plt

    from gancourse.lessons.translation_picker import TranslationPicker

    data = toy_unpaired()
    picker = TranslationPicker.from_recipe(toy_recipe(data), data)
    assert picker.row("photo", 4).shape == (3, 3, 32, 32)
    with pytest.raises(ValueError, match="images 0..3"):
        picker.row("art", 4)
    box = picker.widget()
    first = box.controls["image"].value
    box.controls["index"].value = 2
    assert box.controls["image"].value != first and "photo #2" in box.controls["caption"].value
    box.controls["domain"].value = "art"
    assert box.controls["index"].max == 3 and box.controls["caption"].value.startswith("art #")
    figure = picker.show()  # no frontend under pytest: the static table
    assert len(figure.axes) == 18
    plt.close(figure)

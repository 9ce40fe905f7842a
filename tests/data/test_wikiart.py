"""The wikiart dataset: artists as labels, a fixed held-out quarter, filters and errors (gancourse.data.wikiart)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gancourse.data import DatasetNotFound, load_dataset
from gancourse.data.wikiart import artist_of, is_held_out

from ..helpers import WIKIART_ARTISTS as ARTISTS


def test_wikiart_labels_artists_and_holds_out_a_fixed_quarter(wikiart_root: Path) -> None:
    train = load_dataset("wikiart", size=32)
    test = load_dataset("wikiart", "test", size=32)
    everything = load_dataset("wikiart", "all", size=32)
    assert train.class_names == sorted(ARTISTS) and train.images.shape[1:] == (3, 32, 32)
    assert len(train) + len(test) == len(everything) == sum(ARTISTS.values())
    names = sorted(f"{a}_painting-{i}.jpg" for a, n in ARTISTS.items() for i in range(n))
    assert len(test) == sum(is_held_out(n) for n in names) > 0
    counts = torch.bincount(everything.labels, minlength=3).tolist()
    assert counts == [ARTISTS[a] for a in sorted(ARTISTS)]
    assert artist_of("camille-pissarro_the-road_1872.jpg") == "camille-pissarro"


def test_wikiart_artist_filter_and_its_errors(wikiart_root: Path) -> None:
    only_bob = load_dataset("wikiart", "all", size=32, artist="bob-bb")
    assert len(only_bob) == ARTISTS["bob-bb"] and only_bob.class_names == ["bob-bb"]
    two = load_dataset("wikiart", "all", size=32, artist=["alice-aa", "carol-cc"])
    assert two.class_names == ["alice-aa", "carol-cc"] and len(two) == 16
    with pytest.raises(ValueError, match=r"no artist 'monet'.*alice-aa \(12\), bob-bb \(8\), carol-cc \(4\)"):
        load_dataset("wikiart", size=32, artist="monet")
    with pytest.raises(ValueError, match="no wikiart style 'Cubism'.*available: Baroque, Impressionism"):
        load_dataset("wikiart", style="Cubism")
    with pytest.raises(ValueError, match="size must be one of 32, 64, 128, 256"):
        load_dataset("wikiart", size=100)


def test_wikiart_missing_is_an_error_or_a_stand_in(tmp_data_root: Path) -> None:
    with pytest.raises(DatasetNotFound, match="wikiart/<style>"):
        load_dataset("wikiart", download=False)
    with pytest.warns(UserWarning, match="stand-in"):
        stand_in = load_dataset("wikiart", size=32, allow_stand_in=True)
    assert stand_in.is_stand_in and stand_in.images.shape[1:] == (3, 32, 32) and stand_in.num_classes == 3

import torch

from gancourse.metrics.cache import data_fingerprint, load_or_train

from ..helpers import blob_images


class Tiny(torch.nn.Module):
    def __init__(self, width: int = 2) -> None:
        super().__init__()
        self.config = {"width": width}
        self.layer = torch.nn.Linear(width, 1)


def test_the_fingerprint_changes_with_the_images_and_the_labels():
    data = blob_images(64)
    assert data_fingerprint(data) == data_fingerprint(blob_images(64))
    assert data_fingerprint(data) != data_fingerprint(blob_images(64, seed=1))
    relabelled = blob_images(64)
    relabelled.labels = (relabelled.labels + 1) % 4
    assert data_fingerprint(data) != data_fingerprint(relabelled)
    assert len(data_fingerprint(blob_images(5))) == 10  # fewer images than probes


def test_a_network_is_trained_once_then_read_back_with_its_accuracy(tmp_path):
    path = tmp_path / "nets" / "tiny.pt"
    trained = []

    def train():
        torch.manual_seed(len(trained))
        trained.append(Tiny(3))
        return trained[-1]

    first = load_or_train(path, Tiny, train, accuracy=lambda net: 0.75)
    again = load_or_train(path, Tiny, train, accuracy=lambda net: 0.0)
    assert len(trained) == 1 and path.is_file()
    assert first.accuracy == again.accuracy == 0.75
    assert not again.training and again.config == {"width": 3}
    assert torch.equal(first.layer.weight, again.layer.weight)
    assert load_or_train(tmp_path / "other.pt", Tiny, train).accuracy is None  # nothing to measure it on

import torch

from gancourse.metrics.samples import draw_samples


class Recorder:
    """A sampler that returns its noise and records the chunks it was asked for."""

    def __init__(self) -> None:
        self.calls = []

    def sample(self, n, labels=None, generator=None):
        self.calls.append((n, None if labels is None else labels.tolist()))
        return torch.randn(n, 2, generator=generator)


def test_the_same_seed_gives_the_same_samples_whatever_the_chunks():
    a, b = Recorder(), Recorder()
    x = draw_samples(a, 7, seed=5, batch_size=3)
    y = draw_samples(b, 7, seed=5, batch_size=7)
    assert torch.equal(x, y) and x.shape == (7, 2)
    assert [n for n, _ in a.calls] == [3, 3, 1] and [n for n, _ in b.calls] == [7]
    assert not torch.equal(x, draw_samples(Recorder(), 7, seed=6))


def test_labels_go_to_the_sampler_chunk_by_chunk_and_set_the_count():
    sampler = Recorder()
    out = draw_samples(sampler, 0, labels=torch.tensor([0, 0, 1, 1, 2]), batch_size=2)
    assert len(out) == 5
    assert sampler.calls == [(2, [0, 0]), (2, [1, 1]), (1, [2])]

"""Checkers of the networks module (28 px networks, minibatch std, the image pool): the wrong answers they
must reject, written as a student would."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from gancourse.course import exercises
from gancourse.course.exercises import solutions

from ..helpers import rejects, verdict


def test_network_checkers_name_the_mistakes(capsys):
    class NoTanh(solutions.Generator28):
        def forward(self, z):
            return self.net[:-1](z[:, :, None, None])

    class ThirtyTwo(solutions.Generator28):
        def forward(self, z):
            return F.interpolate(super().forward(z), size=32)

    assert not exercises.check_generator_module(NoTanh)
    assert "nn.Tanh()" in verdict(capsys)
    assert not exercises.check_generator_module(ThirtyTwo)
    assert "(16, 1, 28, 28)" in verdict(capsys)

    class WithSigmoid(solutions.Discriminator28):
        def forward(self, x):
            return torch.sigmoid(super().forward(x))

    class UnusedLayer(solutions.Discriminator28):
        def __init__(self):
            super().__init__()
            self.extra = nn.Linear(49, 1)

    class Column(solutions.Discriminator28):
        def forward(self, x):
            return super().forward(x)[:, None]

    for wrong, hint in ((WithSigmoid, "no nn.Sigmoid"), (UnusedLayer, "does not reach extra.weight"),
                        (Column, "shape (B,)")):
        rejects(capsys, exercises.check_discriminator_module, wrong, hint)


def test_minibatch_std_checker_names_the_mistakes(capsys):
    class Unbiased(solutions.MinibatchStd):
        def forward(self, x):
            b, c, h, w = x.shape
            g = min(self.group_size, b)
            std = (x.reshape(g, -1, c, h, w).var(dim=0) + 1e-8).sqrt().mean(dim=(1, 2, 3))
            return torch.cat([x, std.repeat(g)[:, None, None, None].expand(b, 1, h, w)], dim=1)

    class PerSample(solutions.MinibatchStd):
        def forward(self, x):
            std = x.flatten(1).std(dim=1, unbiased=False)
            return torch.cat([x, std[:, None, None, None].expand(x.shape[0], 1, *x.shape[2:])], dim=1)

    class StdOnly(solutions.MinibatchStd):
        def forward(self, x):
            return super().forward(x)[:, -1:]

    class Consecutive(solutions.MinibatchStd):  # groups of neighbours: also accepted
        def forward(self, x):
            b, c, h, w = x.shape
            g = min(self.group_size, b)
            std = (x.reshape(-1, g, c, h, w).var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
            return torch.cat([x, std.repeat_interleave(g)[:, None, None, None].expand(b, 1, h, w)], dim=1)

    for wrong, hint in ((Unbiased, "unbiased=False"), (PerSample, "across the samples"),
                        (StdOnly, "one extra channel")):
        rejects(capsys, exercises.check_minibatch_std, wrong, hint)
    assert exercises.check_minibatch_std(Consecutive)


def test_image_pool_checker_names_the_mistakes(capsys):
    from gancourse.recipes.cyclegan import ImagePool

    class PassThrough(ImagePool):
        def query(self, images):
            return images.detach()

    class NeverReplaces:  # returns stored images but keeps them
        def __init__(self, size):
            self.size, self.images = size, []

        def query(self, images):
            out = []
            for image in images.detach():
                if len(self.images) < self.size:
                    self.images.append(image)
                    out.append(image)
                elif torch.rand(()) < 0.5:
                    out.append(self.images[int(torch.randint(self.size, ()))])
                else:
                    out.append(image)
            return torch.stack(out) if self.size else images

    class NotDetached(ImagePool):
        def query(self, images):
            return super().query(images) + 0 * images

    assert not exercises.check_image_pool(PassThrough)
    assert "half of the time" in verdict(capsys)
    assert not exercises.check_image_pool(NeverReplaces)
    assert "came back twice" in verdict(capsys)
    assert not exercises.check_image_pool(NotDetached)
    assert "detached" in verdict(capsys)

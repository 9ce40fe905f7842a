import numpy as np
import torch
import torch.nn.functional as F

from gancourse import exercises
from gancourse.losses import NonSaturatingLoss, gradient_penalty
from gancourse.metrics import fid_from_features, kl_from_uniform


def test_checkers_accept_the_reference_solutions(capsys):
    assert exercises.check_generator_loss(NonSaturatingLoss().generator)
    assert exercises.check_discriminator_loss(NonSaturatingLoss().discriminator)
    assert exercises.check_gradient_penalty(gradient_penalty)
    assert exercises.check_kl_from_uniform(kl_from_uniform)
    assert exercises.check_fid(fid_from_features)
    assert exercises.check_cycle_loss(lambda x, y: (x - y).abs().mean())
    assert capsys.readouterr().out.count("PASS") == 6


def test_checkers_reject_wrong_answers_with_a_hint(capsys):
    assert not exercises.check_generator_loss(lambda f: -F.softplus(f).mean())  # the saturating loss
    assert "minimax" in capsys.readouterr().out
    assert not exercises.check_discriminator_loss(lambda r, f: NonSaturatingLoss().discriminator(f, r))
    assert "swapped" in capsys.readouterr().out

    def one_dim_penalty(critic, real, fake):  # the known bug: a norm over the last dimension only
        x = (0.5 * real + 0.5 * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        return ((grad.norm(2, dim=-1) - 1) ** 2).mean()

    assert not exercises.check_gradient_penalty(one_dim_penalty)
    assert "all of (C, H, W)" in capsys.readouterr().out
    assert not exercises.check_kl_from_uniform(lambda p, k: float(np.log(k)))
    assert not exercises.check_fid(lambda a, b: float(((a.mean(0) - b.mean(0)) ** 2).sum()))
    assert not exercises.check_cycle_loss(lambda x, y: ((x - y) ** 2).mean())
    assert "L1" in capsys.readouterr().out


def test_placeholders_and_crashes_fail_politely(capsys):
    def todo(*args):
        raise NotImplementedError

    assert not exercises.check_generator_loss(todo)
    assert "placeholder" in capsys.readouterr().out
    assert not exercises.check_fid(lambda a, b: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_per_class_accuracy_checker_accepts_the_reference_and_rejects_precision(capsys):
    from gancourse.metrics.conditional import conditional_accuracy

    assert exercises.check_per_class_accuracy(lambda p, r, k: conditional_accuracy(p, r, k)[1])
    assert "PASS" in capsys.readouterr().out

    def precision(predicted, requested, k):  # divides by the predictions instead of the requests
        confusion = conditional_accuracy(predicted, requested, k)[2]
        return np.diag(confusion) / np.maximum(confusion.sum(axis=0), 1)

    assert not exercises.check_per_class_accuracy(precision)
    assert "precision" in capsys.readouterr().out
    assert not exercises.check_per_class_accuracy(lambda p, r, k: (p == r).float().mean().repeat(k))
    assert "requested == c" in capsys.readouterr().out

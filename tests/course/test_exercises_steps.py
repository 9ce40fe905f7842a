"""Checkers of training steps (01, 04) and of CycleGAN's generator loss: compared update for update with the
reference, each named mistake replayed and recognised."""

import pytest
import torch

from gancourse.course import exercises
from gancourse.course.exercises import solutions


def verdict(capsys) -> str:
    return capsys.readouterr().out


class _Step(exercises.GANExercise):
    """A student's step, with the mistakes switched on by class attributes."""

    detach, zero_grad, d_first, g_sign, reuse_d_output = True, True, True, 1.0, False

    def step(self, batch):
        real = batch.images
        fake = self.G(self.noise(real.shape[0]))
        if not self.d_first:
            loss_g = self._update_g(fake)
        d_fake_for_g = self.D(fake) if self.reuse_d_output else None
        loss_d = self.loss.discriminator(self.D(real), self.D(fake.detach() if self.detach else fake))
        if self.zero_grad:
            self.optimizers["D"].zero_grad()
        loss_d.backward()
        self.optimizers["D"].step()
        if self.d_first:
            loss_g = self._update_g(fake, d_fake_for_g)
        return {"loss_d": loss_d.item(), "loss_g": loss_g}

    def _update_g(self, fake, d_fake=None):
        loss_g = self.g_sign * self.loss.generator(self.D(fake) if d_fake is None else d_fake)
        if self.zero_grad:
            self.optimizers["G"].zero_grad()
        loss_g.backward()
        self.optimizers["G"].step()
        return loss_g.item()


@pytest.mark.parametrize("mistake, hint", [
    (dict(detach=False), "fake.detach()"),
    (dict(zero_grad=False), "gradients accumulated across steps"),
    (dict(d_first=False), "G was updated against the old D"),
    (dict(g_sign=-1.0), "G's update goes the wrong way"),
    (dict(reuse_d_output=True), "before D's update"),
])
def test_gan_step_checker_names_each_mistake(capsys, mistake, hint):
    assert exercises.check_gan_step(_Step)
    assert "PASS" in verdict(capsys)
    assert not exercises.check_gan_step(type("Wrong", (_Step,), mistake))
    assert hint in verdict(capsys)


def test_gan_step_checker_accepts_fresh_noise_for_g_and_asks_for_self_noise(capsys):
    class FreshNoise(exercises.GANExercise):  # G's update on a second draw of G(z): as right as reusing the fakes
        def step(self, batch):
            b = batch.images.shape[0]
            loss_d = self.loss.discriminator(self.D(batch.images), self.D(self.G(self.noise(b)).detach()))
            self.optimizers["D"].zero_grad()
            loss_d.backward()
            self.optimizers["D"].step()
            loss_g = self.loss.generator(self.D(self.G(self.noise(b))))
            self.optimizers["G"].zero_grad()
            loss_g.backward()
            self.optimizers["G"].step()
            return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    assert exercises.check_gan_step(FreshNoise)
    assert "PASS" in verdict(capsys)

    class OwnRandn(exercises.GANExercise):
        def step(self, batch):
            fake = self.G(torch.randn(batch.images.shape[0], self.config.nz))
            loss_d = self.loss.discriminator(self.D(batch.images), self.D(fake.detach()))
            self.optimizers["D"].zero_grad()
            loss_d.backward()
            self.optimizers["D"].step()
            return {"loss_d": loss_d.item(), "loss_g": 0.0}

    assert not exercises.check_gan_step(OwnRandn)
    assert "self.noise(batch_size)" in verdict(capsys)


def test_gan_step_checker_sees_d_moving_g_and_accepts_the_packages_step(capsys):
    from gancourse.recipes import DCGAN

    class ZeroAtTop(exercises.GANExercise):  # both zero_grads first, no detach: D's loss leaks into G's update
        def step(self, batch):
            self.optimizers["D"].zero_grad()
            self.optimizers["G"].zero_grad()
            fake = self.G(self.noise(batch.images.shape[0]))
            loss_d = self.loss.discriminator(self.D(batch.images), self.D(fake))
            loss_d.backward(retain_graph=True)
            self.optimizers["D"].step()
            loss_g = self.loss.generator(self.D(fake))
            loss_g.backward()
            self.optimizers["G"].step()
            return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    assert not exercises.check_gan_step(ZeroAtTop)
    assert "D's update moved G's parameters" in verdict(capsys)
    assert exercises.check_gan_step(DCGAN)  # the package's own step is the same update
    assert "PASS" in verdict(capsys)


def _own_penalty(critic, real, fake):
    """A correct gradient penalty computed in the step itself, as exercise 4's my_gradient_penalty would be."""
    eps = torch.rand(real.shape[0], 1, 1, 1)
    x = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _critic_step(n_updates=0, zero=True, sign=1.0, weight=None, g_sign=1.0, penalty="self"):
    class Step(exercises.CriticExercise):
        def step(self, batch):
            real, c = batch.images, self.config
            for _ in range(n_updates or c.n_critic):
                fake = self.G(self.noise(real.shape[0])).detach()
                gap = self.D(fake).mean() - self.D(real).mean()
                if penalty == "self":
                    gp = self.penalty(real, fake)
                else:
                    gp = _own_penalty(self.D, real, fake) if penalty == "own" else 0.0
                loss_d = sign * gap + (c.gp_weight if weight is None else weight) * gp
                if zero:
                    self.optimizers["D"].zero_grad()
                loss_d.backward()
                self.optimizers["D"].step()
            loss_g = -g_sign * self.D(self.G(self.noise(real.shape[0]))).mean()
            self.optimizers["G"].zero_grad()
            loss_g.backward()
            self.optimizers["G"].step()
            return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}
    return Step


@pytest.mark.parametrize("mistake, hint", [
    (dict(n_updates=1), "n_critic updates"),
    (dict(zero=False), "inside the n_critic loop"),
    (dict(sign=-1.0), "critic's update goes the wrong way"),
    (dict(weight=1.0), "gp_weight"),
    (dict(g_sign=-1.0), "G's update goes the wrong way"),
    (dict(penalty="own"), "never called self.penalty(real, fake)"),  # computed without self.penalty: told so
    (dict(penalty="none"), "never called self.penalty(real, fake)"),
])
def test_critic_step_checker_names_each_mistake(capsys, mistake, hint):
    assert exercises.check_critic_step(_critic_step())
    assert "PASS" in verdict(capsys)
    assert not exercises.check_critic_step(_critic_step(**mistake))
    assert hint in verdict(capsys)


def test_cyclegan_generator_loss_matches_the_package_and_names_the_mistakes(capsys):
    from gancourse.recipes.cyclegan import CycleGAN, CycleGANConfig

    torch.manual_seed(0)
    recipe = CycleGAN(CycleGANConfig(image_size=16, ngf=4, n_blocks=1, ndf=4, d_layers=2, amp=False))
    a, b = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    ours = solutions.cyclegan_generator_loss(recipe.G_AB, recipe.G_BA, recipe.D_A, recipe.D_B, a, b, 10.0, 0.5)
    assert torch.allclose(ours, recipe.generator_losses(a, b)[0], rtol=1e-5)

    def loss(identity_weight=None, swap_d=False, identity=True):
        def fn(G_AB, G_BA, D_A, D_B, a, b, lc, li):
            fa, fb = G_BA(b), G_AB(a)
            da, db = (D_B, D_A) if swap_d else (D_A, D_B)
            adv = ((da(fa) - 1) ** 2).mean() + ((db(fb) - 1) ** 2).mean()
            cyc = (G_BA(fb) - a).abs().mean() + (G_AB(fa) - b).abs().mean()
            idt = (G_BA(a) - a).abs().mean() + (G_AB(b) - b).abs().mean()
            return adv + lc * cyc + ((li * lc if identity_weight is None else li) * idt if identity else 0)
        return fn

    assert exercises.check_cyclegan_generator_loss(loss())
    assert "PASS" in verdict(capsys)
    assert not exercises.check_cyclegan_generator_loss(loss(identity=False))
    assert "identity term is missing" in verdict(capsys)
    assert not exercises.check_cyclegan_generator_loss(loss(identity_weight="alone"))
    assert "lambda_identity x lambda_cycle" in verdict(capsys)
    assert not exercises.check_cyclegan_generator_loss(loss(swap_d=True))
    assert "D_A(G_BA(b))" in verdict(capsys)

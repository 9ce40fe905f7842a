"""The exercises' checkers: each accepts its reference solution and rejects the plausible wrong answers with the
hint that names them. The wrong answers are written the way a student would write them."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gancourse.course import exercises
from gancourse.course.exercises import solutions
from gancourse.losses import NonSaturatingLoss, gradient_penalty
from gancourse.metrics import fid_from_features, kl_from_uniform


def verdict(capsys) -> str:
    return capsys.readouterr().out


# -- the catalog and the solutions path -------------------------------------------------------------------------

def test_every_exercise_passes_its_reference_solution(capsys):
    results = exercises.check_references()
    assert results and all(results.values()), results
    assert len(results) >= 14
    assert {name.split()[0] for name in results} == {"01", "02", "03", "04", "05", "06", "07"}


def test_cli_lists_and_checks_the_references(capsys):
    from gancourse.cli import main

    assert main(["exercises"]) == 0
    assert "check_gan_step" in verdict(capsys)
    assert main(["exercises", "--check-reference", "--notebook", "07"]) == 0
    assert "1 of 1 reference solutions pass" in verdict(capsys)
    assert main(["exercises", "--notebook", "8"]) == 2
    assert "--notebook must be one of" in capsys.readouterr().err


def test_package_implementations_pass_too(capsys):
    from gancourse.models.dcgan import MinibatchStdDev
    from gancourse.recipes.cyclegan import ImagePool

    assert exercises.check_generator_loss(NonSaturatingLoss().generator)
    assert exercises.check_discriminator_loss(NonSaturatingLoss().discriminator)
    assert exercises.check_gradient_penalty(gradient_penalty)
    assert exercises.check_kl_from_uniform(kl_from_uniform)
    assert exercises.check_fid(fid_from_features)
    assert exercises.check_minibatch_std(MinibatchStdDev)
    assert exercises.check_image_pool(ImagePool)
    assert verdict(capsys).count("PASS") == 7


def test_placeholders_say_not_attempted_and_crashes_fail_politely(capsys):
    def todo(*args):
        raise NotImplementedError

    class TodoStep(exercises.GANExercise):
        def step(self, batch):
            raise NotImplementedError

    for checker in [c.checker for c in exercises.EXERCISES]:
        assert not checker(todo)
    assert not exercises.check_gan_step(TodoStep)
    out = verdict(capsys)
    assert out.count("NOT YET") == len(exercises.EXERCISES) + 1 and "FAIL" not in out and "Traceback" not in out
    assert not exercises.check_fid(lambda a, b: 1 / 0)
    assert "ZeroDivisionError" in verdict(capsys)


# -- notebook 01: losses, networks, the step -----------------------------------------------------------------

def test_loss_checkers_name_the_mistakes(capsys):
    assert not exercises.check_generator_loss(lambda f: -F.softplus(f).mean())  # the saturating loss
    assert "minimax" in verdict(capsys)
    assert not exercises.check_generator_loss(lambda f: -F.softplus(-f).mean())
    assert "sign is flipped" in verdict(capsys)
    assert not exercises.check_generator_loss(lambda f: F.softplus(-f))  # forgot .mean(): a hint, no traceback
    assert "average over the batch" in verdict(capsys)

    assert not exercises.check_discriminator_loss(lambda r, f: NonSaturatingLoss().discriminator(f, r))
    assert "swapped" in verdict(capsys)
    assert not exercises.check_discriminator_loss(lambda r, f: F.softplus(-r) + F.softplus(f))
    assert "average over the batch" in verdict(capsys)
    assert not exercises.check_discriminator_loss(lambda r, f: F.softplus(-r).mean())
    assert "only one of the two terms" in verdict(capsys)


def test_discriminator_loss_accepts_the_half_convention_and_says_so(capsys):
    def halved(real, fake):  # d2l / deeplearning.ai: the mean of the two BCE terms
        bce = F.binary_cross_entropy_with_logits
        return (bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))) / 2

    assert exercises.check_discriminator_loss(halved)
    assert "½ convention" in verdict(capsys)


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

    assert not exercises.check_discriminator_module(WithSigmoid)
    assert "no nn.Sigmoid" in verdict(capsys)
    assert not exercises.check_discriminator_module(UnusedLayer)
    assert "does not reach extra.weight" in verdict(capsys)
    assert not exercises.check_discriminator_module(Column)
    assert "shape (B,)" in verdict(capsys)


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


# -- notebook 02 ----------------------------------------------------------------------------------------------

def test_augment_checker_names_the_mistakes(capsys):
    def detached(x):
        return torch.as_tensor(np.roll(x.detach().numpy(), 1, axis=-1))

    def same_shift(x):  # every image two pixels to the right
        return F.pad(x, (2, 0, 0, 0))[..., :-2]

    def wraps(x):
        shifts = torch.randint(-2, 3, (x.shape[0], 2))
        return torch.stack([torch.roll(img, (int(dy), int(dx)), (1, 2))
                            for img, (dy, dx) in zip(x, shifts, strict=True)])

    assert not exercises.check_augment(detached)
    assert "no gradient flows back" in verdict(capsys)
    assert not exercises.check_augment(same_shift)
    assert "same shift" in verdict(capsys)
    assert not exercises.check_augment(wraps)
    assert "wraps the image around" in verdict(capsys)


def test_nearest_neighbour_checker_names_the_mistakes(capsys):
    assert not exercises.check_nearest_neighbours(lambda q, r: torch.cdist(q, r).argmax(1))
    assert "farthest" in verdict(capsys)
    assert not exercises.check_nearest_neighbours(lambda q, r: torch.cdist(q, r).argmin(0))
    assert "one index per query" in verdict(capsys)
    cosine = lambda q, r: (F.normalize(q, dim=1) @ F.normalize(r, dim=1).T).argmax(1)  # noqa: E731
    assert not exercises.check_nearest_neighbours(cosine)
    assert "cosine" in verdict(capsys)


# -- notebook 03 ----------------------------------------------------------------------------------------------

def test_kl_checker_names_the_mistakes(capsys):
    assert not exercises.check_kl_from_uniform(lambda p, k: float(np.log(k)))
    assert "p * log(p * K)" in verdict(capsys)
    assert not exercises.check_kl_from_uniform(lambda p, k: solutions.kl_from_uniform(p, k) / np.log(2))
    assert "bits" in verdict(capsys)


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

    assert not exercises.check_minibatch_std(Unbiased)
    assert "unbiased=False" in verdict(capsys)
    assert not exercises.check_minibatch_std(PerSample)
    assert "across the samples" in verdict(capsys)
    assert not exercises.check_minibatch_std(StdOnly)
    assert "one extra channel" in verdict(capsys)
    assert exercises.check_minibatch_std(Consecutive)


# -- notebook 04 ----------------------------------------------------------------------------------------------

def _penalty(where="between", per="sample", norm_dims=None, reduce=True):
    def penalty(critic, real, fake):
        shape = (real.shape[0], 1, 1, 1) if per == "sample" else real.shape
        eps = torch.rand(shape)
        x = {"between": eps * real + (1 - eps) * fake, "real": real, "fake": fake}[where].detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        norms = grad.norm(2, dim=norm_dims) if norm_dims is not None else grad.flatten(1).norm(2, dim=1)
        out = (norms - 1) ** 2
        return out.mean() if reduce else out
    return penalty


def test_gradient_penalty_checker_explains_interpolates_without_grad(capsys):
    def no_grad_interpolates(critic, real, fake):
        eps = torch.rand(real.shape[0], 1, 1, 1)
        x = eps * real + (1 - eps) * fake
        (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()

    assert not exercises.check_gradient_penalty(no_grad_interpolates)
    assert "requires_grad_(True)" in verdict(capsys)


@pytest.mark.parametrize("mistake, hint", [
    (dict(where="real"), "real images only"),
    (dict(where="fake"), "fakes only"),
    (dict(per="pixel"), "one eps per pixel"),
    (dict(norm_dims=-1), "all of (C, H, W)"),  # the published bug: a norm over the last dimension only
    (dict(norm_dims=1), "all of (C, H, W)"),
    (dict(reduce=False), "average over the batch"),
])
def test_gradient_penalty_checker_names_each_mistake(capsys, mistake, hint):
    assert exercises.check_gradient_penalty(_penalty())
    assert "PASS" in verdict(capsys)
    assert not exercises.check_gradient_penalty(_penalty(**mistake))
    assert hint in verdict(capsys)


def _critic_step(n_updates=0, zero=True, sign=1.0, weight=None, g_sign=1.0):
    class Step(exercises.CriticExercise):
        def step(self, batch):
            real, c = batch.images, self.config
            for _ in range(n_updates or c.n_critic):
                fake = self.G(self.noise(real.shape[0])).detach()
                gap = self.D(fake).mean() - self.D(real).mean()
                loss_d = sign * gap + (c.gp_weight if weight is None else weight) * self.penalty(real, fake)
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
])
def test_critic_step_checker_names_each_mistake(capsys, mistake, hint):
    assert exercises.check_critic_step(_critic_step())
    assert "PASS" in verdict(capsys)
    assert not exercises.check_critic_step(_critic_step(**mistake))
    assert hint in verdict(capsys)


# -- notebook 05 ----------------------------------------------------------------------------------------------

def test_per_class_accuracy_checker_rejects_precision(capsys):
    from gancourse.metrics.conditional import conditional_accuracy

    def precision(predicted, requested, k):  # divides by the predictions instead of the requests
        confusion = conditional_accuracy(predicted, requested, k)[2]
        return np.diag(confusion) / np.maximum(confusion.sum(axis=0), 1)

    assert not exercises.check_per_class_accuracy(precision)
    assert "precision" in verdict(capsys)
    assert not exercises.check_per_class_accuracy(lambda p, r, k: (p == r).float().mean().repeat(k))
    assert "requested == c" in verdict(capsys)


def test_label_input_checker_names_the_mistakes(capsys):
    assert not exercises.check_label_input(lambda z, y, emb: torch.cat([z, F.one_hot(y, emb.num_embeddings)], 1))
    assert "one-hot" in verdict(capsys)
    assert not exercises.check_label_input(lambda z, y, emb: torch.cat([emb(y), z], 1))
    assert "z comes first" in verdict(capsys)
    assert not exercises.check_label_input(lambda z, y, emb: torch.cat([z, emb(y).detach()], 1))
    assert "no gradient reaches the embedding" in verdict(capsys)


def test_label_input_plugs_into_the_conditional_generator():
    from gancourse.recipes import CGAN
    from gancourse.recipes.dcgan import GANConfig

    recipe = CGAN(GANConfig(image_size=16, n_classes=3, g_width=4, d_width=4, amp=False))
    z, labels = torch.randn(4, recipe.config.nz), torch.arange(4) % 3
    before = recipe.G.eval()(z, labels)
    exercises.with_label_input(recipe, solutions.label_input)
    assert torch.allclose(recipe.G.eval()(z, labels), before)


# -- notebook 06 ----------------------------------------------------------------------------------------------

def test_cycle_loss_checker_names_the_mistakes(capsys):
    assert not exercises.check_cycle_loss(lambda x, y: ((x - y) ** 2).mean())
    assert "L1" in verdict(capsys)
    assert not exercises.check_cycle_loss(lambda x, y: (x - y).abs())  # forgot .mean()
    assert "average over the batch" in verdict(capsys)
    assert not exercises.check_cycle_loss(lambda x, y: (x - y).abs().sum())
    assert "that is a sum" in verdict(capsys)


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


# -- notebook 07 ----------------------------------------------------------------------------------------------

def test_spearman_checker_names_the_mistakes(capsys):
    assert not exercises.check_spearman(lambda x, y: float(np.corrcoef(x, y)[0, 1]))
    assert "rank each variable first" in verdict(capsys)

    def ordinal(x, y):
        rank = lambda v: np.argsort(np.argsort(v, kind="stable"), kind="stable")  # noqa: E731
        return float(np.corrcoef(rank(x), rank(y))[0, 1])

    assert not exercises.check_spearman(ordinal)
    assert "average of their ranks" in verdict(capsys)


def test_fid_checker_rejects_means_only(capsys):
    assert not exercises.check_fid(lambda a, b: float(((a.mean(0) - b.mean(0)) ** 2).sum()))
    assert "covariance term" in verdict(capsys)
    assert not exercises.check_fid(lambda a, b: 0.0)
    assert "Tr(S_a" in verdict(capsys)


# -- a student's code trains through the course's loop ----------------------------------------------------------

def test_students_recipes_train_through_fit(tmp_path):
    from gancourse.data import ImageSet
    from gancourse.engine.training import Loop, fit
    from gancourse.recipes.cyclegan import CycleGANConfig
    from gancourse.recipes.dcgan import GANConfig
    from gancourse.recipes.wgan import WGANGPConfig

    from ..helpers import blob_images

    digits = blob_images(64, size=28)
    small = GANConfig(image_size=28, channels=1, nz=64, amp=False)
    runs = {
        "gan": solutions.GAN(small, G=solutions.Generator28(64, 8), D=solutions.Discriminator28(8)),
        "augmented": exercises.AugmentedGAN(small, augment=solutions.translate),
        "critic": solutions.WGANGP(WGANGPConfig(image_size=28, channels=1, g_width=8, d_width=8, n_critic=2,
                                                amp=False)),
    }
    for name, recipe in runs.items():
        result = fit(recipe, digits, tmp_path / name, Loop(steps=3, batch_size=8), progress=False)
        assert result.step == 3 and result.run.generator_path.is_file()
        assert np.isfinite(result.history[-1].get("loss_d", 0.0)) if result.history else True
    again = fit(runs["gan"], digits, tmp_path / "gan", Loop(steps=4, batch_size=8), progress=False)  # resumes
    assert again.step == 4

    from gancourse.data.unpaired import UnpairedSet

    paintings = ImageSet("a", blob_images(8, size=16, channels=3).images, None, [], "real")
    photos = ImageSet("b", blob_images(8, size=16, channels=3, seed=1).images, None, [], "real")
    pairs = UnpairedSet("toy", paintings, photos)
    config = CycleGANConfig(image_size=16, ngf=4, n_blocks=1, ndf=4, d_layers=2, amp=False, pool_size=2)
    recipe = exercises.CycleGANExercise(config, generator_loss=solutions.cyclegan_generator_loss, pool=solutions.Pool)
    result = fit(recipe, pairs, tmp_path / "cycle", Loop(steps=3, batch_size=1), progress=False)
    assert result.step == 3


def test_every_checker_is_called_from_its_notebook_on_a_placeholder():
    """The committed notebooks keep the stubs (students write them) and call each catalog checker."""
    import json
    from pathlib import Path

    notebooks = {p.name[:2]: p for p in (Path(__file__).resolve().parents[2] / "notebooks").glob("0*.ipynb")}
    for exercise in exercises.EXERCISES:
        cells = json.loads(notebooks[exercise.notebook].read_text())["cells"]
        call = f"{exercise.checker.__name__}("
        calls = [c for c in cells if c["cell_type"] == "code" and call in "".join(c["source"])]
        assert calls, f"notebook {exercise.notebook} never calls {exercise.checker.__name__}"
        assert all("raise NotImplementedError" in "".join(c["source"]) for c in calls), exercise.title

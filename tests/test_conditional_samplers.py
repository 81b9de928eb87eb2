"""DRS and DDLS per class for conditional GANs whose discriminator D(x, y) estimates log p_data(x | y)/p_g(x | y).

A 1-D toy with a known answer: class y's data is ``tanh(w + m_y)``, ``w ~ N(0, 1)``; the generator is
``G(z, y) = tanh(2z + m_y)``; the discriminator outputs the exact class-conditional log ratio (in atanh space the
Jacobians cancel): ``log N(u; m_y, 1) - log N(u; m_y, 4) = log 2 - 3 (u - m_y)² / 8``. Sampling class y by that
ratio must give back class y's data, and the wrong class's ratio must not.
"""

import math

import pytest
import torch
from torch import nn

import zoo
from tests.conftest import ks_distance_to_normal
from zoo.arguments import InvalidArgument
from zoo.sampling.langevin import ddls
from zoo.sampling.modes import SamplerNotApplicable, applicable_modes
from zoo.sampling.rejection import drs_for_model, drs_per_class

MEANS = torch.tensor([-1.5, 1.0])  # m_y of the two classes


class ExactConditionalRatio(nn.Module):
    """D(x, y) for inputs (B, 1 + K, 1, 1): the image and the one-hot label as constant channels."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        u = torch.atanh(inputs[:, 0].flatten().clamp(-1 + 1e-6, 1 - 1e-6))
        m = (inputs[:, 1:].flatten(1) * MEANS.to(inputs)).sum(1)
        return (math.log(2) - 3 * (u - m) ** 2 / 8)[:, None]


def _toy_cgan():
    model = zoo.create("cgan", image_shape=(1, 1, 1), latent_dim=1, num_classes=2, class_names=("left", "right"),
                       generator=lambda latent, shape: nn.Sequential(nn.Linear(latent, 1, bias=False), nn.Unflatten(1, shape)),
                       discriminator=lambda shape, out: ExactConditionalRatio())
    with torch.no_grad():
        model.generator.net[0].weight.copy_(torch.tensor([[2.0, *MEANS]]))  # [z, one-hot y] -> 2z + m_y
    return model.eval()


def _pre_tanh(images: torch.Tensor, unit_range: bool = True) -> torch.Tensor:
    """atanh of images in [0, 1] (what sample and DDLS return) or in [-1, 1] (``unit_range=False``: DRS's)."""
    x = images.flatten().double()
    return torch.atanh((x * 2 - 1 if unit_range else x).clamp(-1 + 1e-6, 1 - 1e-6))


def test_the_hooks_read_the_class_conditional_ratio_of_each_image_with_its_own_label():
    model = _toy_cgan()
    x, labels = torch.rand(64, 1, 1, 1) * 1.8 - 0.9, torch.randint(2, (64,))
    expected = math.log(2) - 3 * (torch.atanh(x.flatten()) - MEANS[labels]) ** 2 / 8
    torch.testing.assert_close(model.log_density_ratio(x, labels), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model.energy(x, labels), expected, atol=1e-5, rtol=1e-5)  # d = log p/q: p_t = p_data
    assert not torch.allclose(model.log_density_ratio(x, 1 - labels), expected)  # the label matters


def test_drs_per_class_gives_back_each_class_data_at_the_exact_rate():
    """Exact DRS (γ = 0) of class y accepts G(z, y) with probability p_data(x | y)/(M p_g(x | y)): the accepted
    atanh values are N(m_y, 1) (not the generator's N(m_y, 4)), at the rate 1/M = 1/2, each image of its own class."""
    torch.manual_seed(0)
    model = _toy_cgan()
    labels = torch.tensor([0, 1]).repeat_interleave(3000)[torch.randperm(6000)]
    images, samplers = drs_per_class(model, labels, torch.Generator().manual_seed(1), gamma_quantile=None,
                                     burn_in=40_000, batch_size=2000)
    critical = 1.95 / math.sqrt(3000)  # alpha = 0.001
    u = _pre_tanh(images, unit_range=False)
    for y in (0, 1):
        assert ks_distance_to_normal(u[labels == y] - MEANS[y].item()) < critical
        assert ks_distance_to_normal(u[labels == y] - MEANS[1 - y].item()) > 5 * critical  # not the other class
        assert 0.45 < samplers[y].acceptance_rate < 0.55
    proposals = _pre_tanh(model.sample(3000, labels=[1], seed=2))  # what DRS improves on: N(m_y, 4)
    assert ks_distance_to_normal(proposals - MEANS[1].item()) > 4 * critical


def test_ddls_within_a_class_reaches_that_class_data():
    """Langevin on E(z) = z²/2 - d(G(z, y), y) = 2z² + const targets z ~ N(0, 1/4), so 2z + m_y ~ N(m_y, 1)."""
    model = _toy_cgan()
    images, run = ddls(model, 3000, seed=0, labels=["right"])
    assert run.settled and not run.refused
    u = _pre_tanh(images) - MEANS[1].item()
    assert abs(u.mean().item()) < 0.1 and abs(u.std().item() - 1) < 0.1
    assert ks_distance_to_normal(u) < 1.95 / math.sqrt(3000) * 1.5  # the chains' finite run: a looser bound


def test_a_conditional_discriminator_is_read_with_labels_only():
    model = _toy_cgan()
    with pytest.raises(InvalidArgument, match=r"estimates log p_data\(x \| y\)/p_g\(x \| y\): give the images' labels"):
        model.log_density_ratio(torch.zeros(2, 1, 1, 1))
    with pytest.raises(ValueError, match="one class at a time: give the class"):
        drs_for_model(model)


def test_hinge_and_the_classifier_head_are_refused_per_class_with_their_reason():
    hinge = zoo.create("cgan_pd", image_shape=(1, 28, 28))
    classifier = zoo.create("acgan", image_shape=(1, 28, 28))
    for model, reason in ((hinge, r"hinge loss.*for any class"), (classifier, "source head judges the image alone")):
        assert model.density_samplers() == () and "drs" not in applicable_modes(model)
        for run in (lambda: drs_for_model(model, label=torch.tensor(1)),
                    lambda: ddls(model, 2, steps=2, labels=[1]),
                    lambda: model.log_density_ratio(torch.zeros(2, 1, 28, 28), torch.tensor([1, 2]))):
            with pytest.raises(SamplerNotApplicable, match=reason):
                run()
    # the projection discriminator under the logistic loss estimates the class-conditional ratio
    assert zoo.create("cgan_pd", image_shape=(1, 28, 28), loss="logistic").density_samplers() == ("drs", "ddls")


def test_conditional_gans_refuse_minibatch_discrimination_when_built():
    """It would read D's features of images without their labels (and make D's score batch-dependent)."""
    from zoo.core.adversarial import AdversarialTechniques

    with pytest.raises(InvalidArgument, match="neither feature_matching nor minibatch_kernels"):
        zoo.create("cgan", image_shape=(1, 28, 28), techniques=AdversarialTechniques(minibatch_kernels=8))

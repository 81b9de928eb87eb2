"""The YAML switches that give the papers' exact losses where zoo's defaults deviate: VEEGAN and α-GAN."""

import pytest
import torch
import torch.nn.functional as F

import zoo


def _twins(name: str, **switches):
    """The default model and one with ``switches``, with identical weights; a batch and its shared tensors."""
    torch.manual_seed(0)
    default = zoo.create(name, image_shape=(1, 28, 28)).eval()
    torch.manual_seed(0)
    switched = zoo.create(name, image_shape=(1, 28, 28), **switches).eval()
    torch.manual_seed(1)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    return default, switched, real, default.prepare(real, {"g", "e"})


def test_veegan_paper_form_drops_the_adversarial_term_on_f_and_weighs_the_z_error_by_one():
    """``L = E[D(G(z), z)] + λ_r E||z - F(G(z))||² - λ_a E[D(x, F(x))]``; the paper: λ_r = 1, λ_a = 0."""
    default, paper, real, shared = _twins("veegan", reconstruction_weight=1.0, adversarial_reconstructor=False)
    ours, theirs = default.generator_loss(real, shared), paper.generator_loss(real, shared)
    torch.testing.assert_close(theirs["loss"], theirs["ratio"] + theirs["z_error"])
    data_pairs = default.discriminator(real, default.encode(real)).float().mean()
    torch.testing.assert_close(ours["loss"], ours["ratio"] + 0.1 * ours["z_error"] - data_pairs)
    torch.testing.assert_close(ours["z_error"], theirs["z_error"])  # same nets: only the weights differ


def test_alpha_gan_paper_form_uses_minus_the_logit_and_the_summed_l1():
    """``a(D) = -log D/(1 - D) = -logit`` in G's and E's losses and ``||x - x̂||₁`` summed over pixels."""
    default, paper, real, shared = _twins("alpha_gan", adversarial_loss="log_ratio", l1_reduction="sum")
    ours, theirs = default.generator_loss(real, shared), paper.generator_loss(real, shared)
    torch.testing.assert_close(theirs["l1"], ours["l1"] * 28 * 28)
    logits = [default.discriminator(default.generate(shared[k])).float() for k in ("code", "z")]
    torch.testing.assert_close(theirs["adversarial"], -(logits[0].mean() + logits[1].mean()))
    torch.testing.assert_close(ours["adversarial"], sum(F.softplus(-lg).mean() for lg in logits))
    torch.testing.assert_close(theirs["loss"], 10 * theirs["l1"] + theirs["adversarial"])
    code_logits = default.code_discriminator(shared["code"]).float()
    torch.testing.assert_close(paper.encoder_loss(real, shared)["adversarial"], -code_logits.mean())
    torch.testing.assert_close(default.encoder_loss(real, shared)["adversarial"], F.softplus(-code_logits).mean())


@pytest.mark.parametrize(("switch", "match"), [({"adversarial_loss": "minimax"}, "non_saturating or log_ratio"),
                                               ({"l1_reduction": "max"}, "mean or sum")])
def test_alpha_gan_refuses_unknown_forms(switch, match):
    with pytest.raises(ValueError, match=match):
        zoo.create("alpha_gan", image_shape=(1, 28, 28), **switch)

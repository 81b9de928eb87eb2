"""The diversity score of Rosca et al. (1 - mean MS-SSIM of random pairs) and where it is offered."""

import pytest
import torch

import zoo
from tests.conftest import fashion_mnist, needs_fashion_mnist, synthetic_data
from zoo.callbacks import QualityMetrics
from zoo.metrics.diversity import KERNEL_SIZE, PAIRS, SETTINGS, SIGMA, diversity_score, noised, reference_diversity
from zoo.metrics.evaluation import evaluate
from zoo.metrics.quality import real_images


def test_identical_images_have_no_diversity():
    image = torch.rand(1, 1, 28, 28)
    assert diversity_score(image.expand(50, 1, 28, 28).clone()) == pytest.approx(0, abs=1e-5)
    assert diversity_score(torch.rand(50, 3, 32, 32)) > 0.5  # independent noise: hardly any shared structure


def _prototype_classes(n_per_class: int = 200, classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """A stand-in for a labelled image set: smooth class prototypes (28 px) with small per-image jitter."""
    generator = torch.Generator().manual_seed(0)
    coarse = torch.rand(classes, 1, 7, 7, generator=generator)
    prototypes = torch.nn.functional.interpolate(coarse, size=(28, 28), mode="bilinear", align_corners=False)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    jitter = 0.05 * torch.randn(len(labels), 1, 28, 28, generator=generator)
    return (prototypes[labels] + jitter).clamp(0, 1), labels


def _assert_between_one_class_and_noised(images: torch.Tensor, labels: torch.Tensor, one_class: int) -> None:
    references = reference_diversity(images)
    subset = diversity_score(images[labels == one_class])
    assert subset < references["diversity[test]"] < references["diversity[test+noise]"], (subset, references)


def test_synthetic_set_scores_between_one_class_and_its_noised_copy():
    images, labels = _prototype_classes()
    _assert_between_one_class_and_noised(images, labels, one_class=3)


@needs_fashion_mnist
def test_fashion_mnist_test_set_scores_between_one_class_and_noised_test_images():
    images, labels = real_images(fashion_mnist(batch_size=1000), "test", 5000)
    _assert_between_one_class_and_noised(images, labels, one_class=1)  # trousers: one shape


def test_bad_input_is_refused_with_the_reason():
    with pytest.raises(ValueError, match=">= 2 images"):
        diversity_score(torch.rand(1, 1, 28, 28))
    with pytest.raises(ValueError, match="too small"):
        diversity_score(torch.rand(10, 1, 12, 12))
    assert noised(torch.ones(4, 1, 28, 28)).max() <= 1


def test_evaluate_reports_diversity_with_its_references(tmp_path):
    model = zoo.create("vae", image_shape=(1, 28, 28))
    result = evaluate(model, synthetic_data(num_images=96), ("diversity",), n=32, split="test")
    for key in ("diversity", "diversity[test]", "diversity[test+noise]"):
        assert 0 <= result[key] <= 1, key


def test_quality_callback_offers_diversity_and_refuses_unknown_metrics():
    assert QualityMetrics(metrics=("fid", "diversity")).metrics == ("fid", "diversity")
    with pytest.raises(ValueError, match="choose from fid, kid, is, pr, diversity"):
        QualityMetrics(metrics=("nll",))


def test_ms_ssim_runs_the_window_it_documents():
    """SSIM is local: a changed pixel moves the SSIM map only within the window's half-width. torchmetrics sizes a
    Gaussian window from σ alone (σ = 1 runs 9 px whatever kernel_size says), so the width is measured here."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    assert KERNEL_SIZE == 5 and f"{KERNEL_SIZE}-px" in SETTINGS and f"{PAIRS} random pairs" in SETTINGS
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 0.5
    half = (KERNEL_SIZE - 1) // 2

    def centre_moves(offset: int) -> bool:
        y = x.clone()
        y[0, 0, 14, 14 + offset] += 0.5
        maps = [structural_similarity_index_measure(x, image, gaussian_kernel=True, sigma=SIGMA,
                                                    kernel_size=KERNEL_SIZE, data_range=1.0,
                                                    return_full_image=True)[1] for image in (x, y)]
        return bool((maps[0][0, 0, 14, 14] - maps[1][0, 0, 14, 14]).abs() > 1e-6)

    assert centre_moves(half) and not centre_moves(half + 1)

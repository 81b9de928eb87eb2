"""The shipped Fashion-MNIST classifier: accurate on the real test set, and a coverage count that can fail."""

import torch

from tests.conftest import fashion_mnist, needs_fashion_mnist
from zoo.metrics import class_histogram, classes_covered, load_classifier
from zoo.metrics.classifier import accuracy


def test_shipped_classifier_is_small_and_loads():
    classifier = load_classifier("fashion_mnist")
    assert classifier.test_accuracy > 0.85
    assert classifier(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@needs_fashion_mnist
def test_shipped_classifier_accuracy_on_real_test_set():
    data = fashion_mnist(batch_size=500)
    data.setup("test")
    assert accuracy(load_classifier("fashion_mnist"), data.test_dataloader()) > 0.85


@needs_fashion_mnist
def test_coverage_tells_real_images_from_one_class_and_from_noise():
    data = fashion_mnist(batch_size=1000)
    data.setup("test")
    images, labels = next(iter(data.test_dataloader()))
    classifier = load_classifier("fashion_mnist")
    assert classes_covered(images, classifier) == 10
    assert classes_covered(images[labels == 3], classifier, min_fraction=0.1) == 1
    assert class_histogram(images, classifier).sum() == len(images)
    assert classes_covered(torch.rand(500, 1, 28, 28) * 2 - 1, classifier) < 8

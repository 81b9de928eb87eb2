"""Feature extractors for FID, KID, Inception Score and precision/recall, each with the name reported beside its numbers.

FIDs are comparable only under the same extractor, resize, normalisation and sample counts, so every metric is
reported as ``fid[<extractor>]`` with the counts alongside. Extractors take images in [0, 1] (torchmetrics'
``normalize=True`` convention):

* ``fmnist-classifier``: the 128-d penultimate features (and 10 logits) of the Fashion-MNIST classifier that ships
  with zoo (1×28×28 input);
* ``classifier:PATH``: a classifier trained with ``zoo train-classifier`` (e.g. for MNIST);
* ``inception``: torchmetrics' standard InceptionV3 (2048-d pool features); needs ``torch-fidelity`` and a one-time
  download of its weights, so it is not available offline.
"""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from zoo.arguments import InvalidArgument, one_line
from zoo.metrics.classifier import load_classifier
from zoo.names import did_you_mean
from zoo.progress import progress

EXTRACTORS = ("fmnist-classifier", "inception", "classifier:PATH")


class ClassifierFeatures(nn.Module):
    """A zoo classifier's penultimate features (or logits), in float64, for images in [0, 1]."""

    def __init__(self, classifier: nn.Module, logits: bool = False) -> None:
        super().__init__()
        self.classifier = classifier.eval()
        self.logits = logits
        self.num_features = classifier.num_classes if logits else classifier.num_features

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        unit = images.float() / 255 if images.dtype == torch.uint8 else images.float()  # torchmetrics may send uint8
        x = unit * 2 - 1  # the classifier was trained on [-1, 1]
        out = self.classifier(x) if self.logits else self.classifier.features(x)
        return out.double()


@dataclass
class Extractor:
    """A named feature extractor: ``features`` for FID/KID/PR, ``logits`` for IS (None: IS unavailable)."""

    name: str
    features: nn.Module | None
    logits: nn.Module | None
    input_shape: tuple[int, int, int] | None  # None: any shape (resized by the extractor)


def get_extractor(name: str, image_shape: tuple[int, int, int]) -> Extractor:
    """The extractor called ``name`` for images of ``image_shape``; raises ValueError with the alternatives."""
    if is_classifier(name):
        classifier = extractor_classifier(name)
        if tuple(image_shape) != classifier.image_shape:
            raise ValueError(
                f"extractor {name} takes {classifier.image_shape} images, the model makes {tuple(image_shape)}; "
                "use --extractor inception, or train a classifier for this data with `zoo train-classifier`."
            )
        return Extractor(extractor_label(name), ClassifierFeatures(classifier), ClassifierFeatures(classifier, logits=True),
                         classifier.image_shape)
    check_extractor_name(name)
    check_inception()
    return Extractor("inception", None, None, None)  # torchmetrics builds InceptionV3 itself


def extractor_label(name: str) -> str:
    """How scores by extractor ``name`` are tagged (``fid[<label>]``): ``classifier:PATH`` by the file's stem."""
    return f"classifier:{Path(name.split(':', 1)[1]).stem}" if name.startswith("classifier:") else name


def check_extractor_name(name: str) -> None:
    """Refuse a name that is no extractor (see the module docstring), with the close ones."""
    if name not in EXTRACTORS[:2] and not name.startswith("classifier:"):
        raise ValueError(f"unknown extractor {name!r}; choose fmnist-classifier, classifier:PATH or inception."
                         f"{did_you_mean(name, EXTRACTORS)}")


def default_extractor(datamodule) -> str:
    """The data module's own (``fmnist-classifier`` for Fashion-MNIST, ``inception`` for the other datasets); for
    data that no shipped extractor knows (a user's image folder), refused with how to get one."""
    name = getattr(datamodule, "default_extractor", "inception")
    if name is None:
        raise no_extractor(datamodule, "--extractor")
    return name


def is_classifier(name: str) -> bool:
    """Whether extractor ``name`` is a classifier of the data (``fmnist-classifier``, ``classifier:PATH``), which
    sorts images into classes as well as giving features."""
    return name == "fmnist-classifier" or name.startswith("classifier:")


def extractor_classifier(name: str):
    """The classifier behind extractor ``name`` (:func:`is_classifier`): the shipped Fashion-MNIST one or the file
    of ``classifier:PATH``."""
    return load_classifier("fashion_mnist" if name == "fmnist-classifier" else name.split(":", 1)[1])


def check_classifier_extractor(name: str, metric: str, purpose: str) -> None:
    """Refuse an extractor ``name`` that is no classifier of the data for ``metric``, which needs one because it
    ``purpose`` (e.g. "sorts the samples"), naming the extractors that are."""
    if not is_classifier(name):
        raise InvalidArgument(f"{metric} {purpose} with a classifier of the data, and extractor {name} is none. Fix: "
                              "give --extractor fmnist-classifier (Fashion-MNIST) or classifier:PATH (a classifier "
                              "trained with `zoo train-classifier`).")


def three_channels(images: Tensor) -> Tensor:
    """Grey images repeated to RGB, for the Inception network."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class ExtractorUnavailable(InvalidArgument):
    """No extractor fits: Inception cannot be built here (torch-fidelity is missing, or its weights cannot be
    downloaded), or the data are a user's images that no shipped classifier knows."""


def inception_unavailable(error: Exception) -> ExtractorUnavailable:
    """The user error for an Inception network that could not be built because of ``error``."""
    return ExtractorUnavailable(
        f"the Inception extractor could not be built ({one_line(error)}): it needs torch-fidelity and, once, internet "
        "access to download its weights. Fix: `pip install torch-fidelity` and run once online, or use --extractor "
        "fmnist-classifier (Fashion-MNIST) or classifier:PATH (a classifier trained by `zoo train-classifier`)."
    )


def check_extractor_fits(name: str, datamodule, flag: str) -> None:
    """Refuse, before any work, an extractor (set by ``flag``) that cannot score ``datamodule``'s images: a
    classifier made for another image shape, or ``fmnist-classifier`` on data that no shipped extractor knows (its
    features and classes are Fashion-MNIST's, so scores of other images by it mean nothing)."""
    if name == "fmnist-classifier" and getattr(datamodule, "default_extractor", "inception") is None:
        raise no_extractor(datamodule, flag, given=name)
    if is_classifier(name):
        shape = extractor_classifier(name).image_shape
        if tuple(shape) != tuple(datamodule.image_shape):
            command = getattr(datamodule, "train_classifier_command", None)
            train = f"`{command('classifier.pt')}`" if command else "`zoo train-classifier`"
            raise ExtractorUnavailable(
                f"extractor {name} takes {tuple(shape)} images; the data are {tuple(datamodule.image_shape)}. Fix: "
                f"train a classifier at the data's size ({train}) and pass {flag} classifier:classifier.pt, or "
                f"{flag} inception.")


def no_extractor(datamodule, flag: str, given: str | None = None) -> ExtractorUnavailable:
    """The error for scoring data without an extractor that knows it, saying how to train one."""
    out = "classifier.pt"
    command = getattr(datamodule, "train_classifier_command", lambda out: f"zoo train-classifier --out {out}")(out)
    cause = (f"extractor {given} is Fashion-MNIST's classifier and cannot score" if given else
             "no feature extractor is given for")
    return ExtractorUnavailable(
        f"{cause} the images of the {datamodule.name} {getattr(datamodule, 'folder', '')}".rstrip() + ". Fix: train "
        f"a classifier on them (`{command}`) and pass {flag} classifier:{out}, or {flag} inception (needs "
        "torch-fidelity and, once, internet access).")


def check_inception() -> None:
    """Refuse the Inception extractor before any work where torch-fidelity, which builds it, is not installed."""
    try:
        import torch_fidelity  # noqa: F401
    except ImportError as error:
        raise inception_unavailable(error) from None


@torch.no_grad()
def extract(module: nn.Module, images: Tensor, batch_size: int = 500) -> Tensor:
    """Run ``module`` over ``images`` in batches; returns float64 features on the CPU."""
    chunks = images.split(batch_size)
    return torch.cat([module(chunk).cpu() for chunk in progress(chunks, "features", len(chunks))]).double()

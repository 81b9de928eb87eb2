"""A small CNN classifier per dataset, trained by zoo itself: a stated, reproducible feature extractor.

Used to check that samples spread over the classes (mode coverage) and, through its 128-d penultimate features,
as the ``*-classifier`` extractor of FID/KID where Inception weights cannot be downloaded.
Trained with ``zoo train-classifier``; the Fashion-MNIST weights ship with the package.
"""

from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from zoo.arguments import InvalidArgument, one_line

SHIPPED = {"fashion_mnist": "fashion_mnist_classifier.pt"}


class ClassifierUnavailable(InvalidArgument):
    """A classifier file is missing, or is not one saved by ``zoo train-classifier``."""


class ImageClassifier(nn.Module):
    """Three 3×3 conv blocks (32, 64, 128 channels), global average pooling, a linear head.

    Args:
        image_shape: (C, H, W) of the input, pixels in [-1, 1].
        num_classes: number of classes.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), num_classes: int = 10) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        blocks, width = [], image_shape[0]
        for out in (32, 64, 128):
            blocks += [nn.Conv2d(width, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            if out != 128:
                blocks.append(nn.MaxPool2d(2))
            width = out
        self.body = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (B, 128)
        self.head = nn.Linear(128, num_classes)
        self.num_features = 128

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def train_classifier(datamodule, epochs: int = 3, lr: float = 2e-3, seed: int = 0) -> tuple[ImageClassifier, float]:
    """Train on the data module's training split (Adam, one-cycle schedule); return the net and its test accuracy."""
    torch.manual_seed(seed)
    datamodule.setup("fit")
    datamodule.setup("test")
    model = ImageClassifier(datamodule.image_shape, datamodule.num_classes)
    fit_classifier(model, datamodule.train_dataloader(), epochs, lr)
    return model, accuracy(model, datamodule.test_dataloader())


def train_classifier_on(images: Tensor, labels: Tensor, num_classes: int, epochs: int = 3, lr: float = 2e-3,
                        seed: int = 0, batch_size: int = 128) -> ImageClassifier:
    """The same net and training as :func:`train_classifier`, on tensors: ``images`` (N, C, H, W) in [-1, 1] and
    int64 ``labels`` (N,), shuffled into batches of ``batch_size`` by a generator seeded with ``seed``."""
    torch.manual_seed(seed)
    model = ImageClassifier(tuple(images.shape[1:]), num_classes)
    batches = DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=True,
                         generator=torch.Generator().manual_seed(seed))
    return fit_classifier(model, batches, epochs, lr)


def fit_classifier(model: ImageClassifier, loader, epochs: int, lr: float) -> ImageClassifier:
    """Train ``model`` for ``epochs`` passes over ``loader`` (batches of images in [-1, 1] and class indices, with a
    length) by cross-entropy, Adam and a one-cycle schedule peaking at ``lr``; returned in eval mode."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=epochs * len(loader))
    model.train()
    for _ in range(epochs):
        for images, labels in loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, batches) -> tuple[Tensor, Tensor]:
    """The classes ``model`` predicts for every image of ``batches`` (pairs of images in [-1, 1] and labels), and
    the labels: two (N,) tensors on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    predicted, labels = [], []
    for images, batch_labels in batches:
        predicted.append(model(images.to(device).float()).argmax(1).cpu())
        labels.append(batch_labels.cpu())
    return torch.cat(predicted), torch.cat(labels)


def accuracy(model: nn.Module, loader) -> float:
    """The fraction of ``loader``'s images that ``model`` assigns to their label."""
    predicted, labels = predict(model, loader)
    return (predicted == labels).float().mean().item()


def class_accuracies(predicted: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Per class, the fraction of the images labelled with it that are predicted as it: (num_classes,) float64,
    NaN for a class without images."""
    correct = torch.bincount(labels[predicted == labels], minlength=num_classes).double()
    return correct / torch.bincount(labels, minlength=num_classes).double()


def save_classifier(model: ImageClassifier, path: str | Path, test_accuracy: float) -> None:
    """Save weights in float16 (the shipped file stays well under 1 MB) with the facts needed to rebuild the net."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(
        {"image_shape": model.image_shape, "num_classes": model.num_classes, "state_dict": state,
         "test_accuracy": test_accuracy},
        path,
    )


def load_classifier(name_or_path: str = "fashion_mnist") -> ImageClassifier:
    """The shipped classifier of a dataset (``"fashion_mnist"``) or one saved by ``zoo train-classifier``, in eval
    mode: input (B, C, H, W) in [-1, 1], output logits (B, num_classes)."""
    if name_or_path in SHIPPED:
        path = Path(str(resources.files("zoo.metrics") / "weights" / SHIPPED[name_or_path]))
    else:
        path = Path(name_or_path)
    train = f"train one with `zoo train-classifier --data fashion_mnist --out {path}`, or give the path of one"
    if not path.is_file():
        raise ClassifierUnavailable(f"no classifier file at {path}. Fix: {train}.")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = ImageClassifier(tuple(saved["image_shape"]), saved["num_classes"])
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state_dict"].items()})
    except Exception as error:  # not a torch file, truncated, or another kind of file
        raise ClassifierUnavailable(f"{path} is not a classifier saved by `zoo train-classifier` ({one_line(error)})."
                                    f" Fix: {train}.") from None
    model.test_accuracy = saved.get("test_accuracy")
    return model.eval()


@torch.no_grad()
def class_histogram(images: Tensor, classifier: nn.Module, batch_size: int = 500) -> Tensor:
    """How many of ``images`` (in [-1, 1]) the classifier assigns to each class. Shape (num_classes,)."""
    classifier.eval()
    device = next(classifier.parameters()).device
    counts = torch.zeros(classifier.num_classes, dtype=torch.long)
    for chunk in images.split(batch_size):
        predicted = classifier(chunk.to(device).float()).argmax(1).cpu()
        counts += torch.bincount(predicted, minlength=classifier.num_classes)
    return counts


def classes_covered(images: Tensor, classifier: nn.Module, min_fraction: float = 0.02) -> int:
    """Number of classes that receive at least ``min_fraction`` of the images: a mode-coverage count."""
    counts = class_histogram(images, classifier)
    return int((counts >= min_fraction * counts.sum()).sum())

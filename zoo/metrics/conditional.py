"""Metrics of class-conditional models: do the samples show the class asked for, does each class's sample
distribution match that class's data, and can the classes be learnt from the samples alone.

Every metric scores the same ``K · ceil(n / K)`` samples: ``ceil(n / K)`` asked for each of the K classes (labels
``0, 1, ..., K-1, 0, 1, ...``, so every batch covers the classes), drawn with seeds ``seed, seed + 1, ...`` per
batch of 500.

* ``accuracy``: the fraction of the samples asked for class y that the data's classifier assigns to y, overall and
  per class, as ACGAN's (Odena et al. 2017) and StudioGAN's classifier accuracy. Read it against ``accuracy_real``,
  the same classifier on as many real images of each class of the evaluated split (a model whose samples are real
  images of the class asked for scores about that), and against 1/K (samples that ignore the label).
* ``ifid``: intra-class FID (Miyato & Koyama 2018, "cGANs with projection discriminator"): per class y, the FID
  between the features of the samples asked for y and those of the real images of y in the evaluated split (at most
  as many as the samples per class), by the extractor and the torchmetrics computation of ``fid``; reported per class
  and as the mean over classes. A class with fewer than 2 real images has no FID and is refused before any sampling;
  one with fewer images than the extractor has feature dimensions (128 for the classifiers, 2048 for Inception) gets
  a singular covariance, so its FID is biased upward (the bias falls with the count): warned, and comparable only
  at the same counts.
* ``cas``: Classification Accuracy Score (Ravuri & Vinyals 2019, arXiv:1905.10887): zoo's small classifier
  (:class:`~zoo.metrics.classifier.ImageClassifier`) trained on the generated images and the labels they were asked
  for only, then scored on the real images of the evaluated split (``val`` or ``test``: the train split is where the
  reference learns). The reference ``cas_real`` is the same net trained with the same budget (images per class,
  epochs, batch size, seed) on real training images; ``cas_ratio = cas / cas_real`` (1: the samples teach the
  classes as well as real data). Per-class values show which classes the model fails to make learnable.

All three apply to models that take one class per image (``label_kind`` ``"class"``) and are refused, with the
reason and the models that take labels, for unconditional models and for models conditioned on several binary
attributes (CelebA) before any work.
"""

import math
import warnings

import torch
from torch import Tensor

from zoo.arguments import InvalidArgument
from zoo.metrics.classifier import class_accuracies, predict, train_classifier_on
from zoo.metrics.features import check_classifier_extractor, extractor_classifier
from zoo.metrics.quality import (CONDITIONAL_METRICS, QualityEvaluator, frechet_distance, generated_images,
                                split_batches)
from zoo.sampling.labels import models_with_labels

MINIMUM_PER_CLASS = {"accuracy": 1, "ifid": 2, "cas": 1}
"""The fewest samples per class each metric is defined for: a class's accuracy needs one, its FID a covariance."""
CAS_EPOCHS = 2
"""The default training budget of ``cas``: passes over the ``K · ceil(n / K)`` images. For 10 000 Fashion-MNIST
images both classifiers together train and test in about 45 s on one CPU core, and the real-data reference reaches
0.79 (the shipped classifier, 3 epochs over the whole training split: 0.89). CAS depends on the budget: compare
values made with the same ``--n`` and ``--cas-epochs`` (the ratio to the reference is the steadier number)."""
BATCH = 500


# --- what can be scored -----------------------------------------------------------------------------------------

def check_conditional(model, metrics: tuple[str, ...]) -> None:
    """Refuse the conditional ``metrics`` asked for when ``model`` takes no class labels, naming the reason, the
    models that take them and the fix."""
    asked = [m for m in metrics if m in CONDITIONAL_METRICS]
    if not asked:
        return
    name, listed = type(model).__name__, ", ".join(asked)
    fix = f"Fix: leave {listed} out of --metrics for this checkpoint"
    if not model.conditional:
        takers = ", ".join(models_with_labels()) or "none registered"
        raise InvalidArgument(f"{listed} score{'s' if len(asked) == 1 else ''} samples generated for a class asked "
                              f"for, and this {name} takes no class labels (num_classes 0: it is unconditional; "
                              f"models that take labels: {takers}). {fix}, or score a model trained with labels.")
    kind = model.label_kind
    if kind != "class":
        raise InvalidArgument(f"{listed} compare{'s' if len(asked) == 1 else ''} each sample with the one class it "
                              f"was asked for, and this {name} is conditioned on {model.num_classes} binary "
                              f"attributes at once (label_kind {kind!r}, as CelebA's), not on one class per image. "
                              f"{fix}.")


def check_conditional_request(model, datamodule, metrics: tuple[str, ...], n: int, split: str,
                              extractor: str | None) -> None:
    """Every refusal of the conditional ``metrics`` that needs no data read, before any work: a model without
    class labels, too few samples per class, data with other classes than the model's, ``cas`` scored on the
    split its reference learns from, and for ``accuracy`` an extractor that is no classifier of the model's
    classes."""
    asked = tuple(m for m in metrics if m in CONDITIONAL_METRICS)
    if not asked:
        return
    check_conditional(model, asked)
    classes = model.num_classes
    short = {m: MINIMUM_PER_CLASS[m] * classes for m in asked if MINIMUM_PER_CLASS[m] * classes > n}
    if short:
        needs = ", ".join(f"{metric} needs at least {count}" for metric, count in short.items())
        raise InvalidArgument(f"--n {n} is too few images for {classes} classes ({needs}: "
                              f"{', '.join(f'{MINIMUM_PER_CLASS[m]} per class' for m in short)}). Fix: give --n "
                              f"{max(short.values())} or more (thousands for comparable values).")
    data_classes = getattr(datamodule, "num_classes", classes)
    if data_classes != classes:
        raise InvalidArgument(f"the model takes {classes} classes and its data ({datamodule.name}) has "
                              f"{data_classes}, so the data's labels do not name the model's classes. Fix: evaluate "
                              "on the data the model was trained on (leave --data-dir out, or point it at that data).")
    if "cas" in asked and split == "train":
        raise InvalidArgument("cas scores classifiers on real images they never saw, and its reference learns from "
                              "the train split. Fix: give --split test (or val).")
    if "accuracy" in asked:
        check_classifier_extractor(extractor, "accuracy", "sorts the samples into the data's classes")
        classifier = extractor_classifier(extractor)
        if classifier.num_classes != classes:
            raise InvalidArgument(f"accuracy sorts the samples with the classifier of extractor {extractor}, which "
                                  f"knows {classifier.num_classes} classes, and the model takes {classes}. Fix: give "
                                  "--extractor classifier:PATH with a classifier of the model's data (`zoo "
                                  "train-classifier`).")


# --- the samples and the real images they are compared with -------------------------------------------------------

def balanced_labels(num_classes: int, per_class: int) -> Tensor:
    """``per_class`` labels of each class, cycling ``0, 1, ..., K-1, 0, ...``: (K · per_class,) int64."""
    return torch.arange(num_classes).repeat(per_class)


def images_per_class(n: int, num_classes: int) -> int:
    """How many samples each class gets out of ``n`` (rounded up, as ``code_accuracy`` does)."""
    return math.ceil(n / num_classes)


def conditional_samples(model, per_class: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``per_class`` samples of each of ``model``'s classes, in [0, 1], and the labels they were asked for."""
    labels = balanced_labels(model.num_classes, per_class)
    return generated_images(model, len(labels), seed, BATCH, labels=labels), labels


def real_images_by_class(datamodule, split: str, per_class: int, num_classes: int) -> tuple[Tensor, Tensor]:
    """The first ``per_class`` images (in [0, 1]) of each class of a split, in the split's order (all of a class
    that has fewer), and their labels."""
    counts = torch.zeros(num_classes, dtype=torch.long)
    kept_images, kept_labels = [], []
    for images, labels in split_batches(datamodule, split):
        for klass in range(num_classes):
            index = (labels == klass).nonzero().flatten()[: per_class - int(counts[klass])]
            counts[klass] += len(index)
            kept_images.append(images[index])
            kept_labels.append(labels[index])
        if bool((counts >= per_class).all()):
            break
    return ((torch.cat(kept_images) + 1) / 2).clamp(0, 1), torch.cat(kept_labels)


def by_class_name(values: Tensor, class_names) -> dict:
    """Per-class values (a tensor: counts stay integers) keyed by the classes' names, as the JSON lines report them."""
    return dict(zip(map(str, class_names), values.tolist()))


# --- the three metrics ---------------------------------------------------------------------------------------------

def sample_accuracy(classifier: torch.nn.Module, images: Tensor, labels: Tensor) -> tuple[float, Tensor]:
    """The fraction of ``images`` (in [0, 1]) that ``classifier`` assigns to their ``labels``, and per class
    ((num_classes,), NaN for a class without images)."""
    predicted, labels = predict(classifier, zip((images * 2 - 1).split(BATCH), labels.split(BATCH)))
    return (predicted == labels).double().mean().item(), class_accuracies(predicted, labels, classifier.num_classes)


def intra_fid(real_features: Tensor, real_labels: Tensor, fake_features: Tensor, fake_labels: Tensor,
              num_classes: int) -> Tensor:
    """Per class, the FID between the real and the generated features of that class: (num_classes,) float64."""
    return torch.tensor([frechet_distance(real_features[real_labels == k], fake_features[fake_labels == k])
                         for k in range(num_classes)], dtype=torch.float64)


def classification_accuracy_score(fake: Tensor, fake_labels: Tensor, real: Tensor, real_labels: Tensor, test_batches,
                                  num_classes: int, epochs: int = CAS_EPOCHS, seed: int = 0) -> dict:
    """CAS (Ravuri & Vinyals 2019): one classifier trained on the generated images ``fake`` (in [0, 1]) with the
    labels they were asked for, one on the real images ``real`` with theirs, by the same training (``epochs``,
    ``seed``); both scored on ``test_batches`` (images in [-1, 1], labels). Returns ``cas``, ``cas_real``,
    ``cas_ratio`` and ``cas_per_class`` ((num_classes,) tensor)."""
    scores = {}
    for key, images, labels in (("cas", fake, fake_labels), ("cas_real", real, real_labels)):
        classifier = train_classifier_on(images * 2 - 1, labels, num_classes, epochs=epochs, seed=seed)
        predicted, truth = predict(classifier, test_batches)
        scores[key] = (predicted == truth).double().mean().item()
        if key == "cas":
            scores["cas_per_class"] = class_accuracies(predicted, truth, num_classes)
    ratio = scores["cas"] / scores["cas_real"] if scores["cas_real"] > 0 else math.nan
    return {**scores, "cas_ratio": ratio}


def warn_small_classes(counts: Tensor, class_names, dimensions: int, what: str) -> None:
    """Warn that the intra-class FIDs of the classes with fewer than ``dimensions`` images are biased upward."""
    small = [f"{name} ({int(count)})" for name, count in zip(class_names, counts) if count < dimensions]
    if len(small) == len(counts) and len(set(counts.tolist())) == 1:
        small = [f"every class ({int(counts[0])} each)"]
    if small:
        warnings.warn(f"ifid: {what} of {', '.join(small)} are fewer than the extractor's {dimensions} feature "
                      "dimensions, so their covariances are singular and their FIDs biased upward; compare them only "
                      "at the same counts (more images per class: a larger --n, or a larger split).", stacklevel=3)


def conditional_scores(model, datamodule, metrics: tuple[str, ...], n: int, split: str = "test",
                       extractor: str | None = "fmnist-classifier", seed: int = 0,
                       cas_epochs: int = CAS_EPOCHS) -> dict:
    """The conditional ``metrics`` (:data:`CONDITIONAL_METRICS`) of ``model`` on ``K · ceil(n / K)`` samples
    against ``split``, keyed as :mod:`zoo.metrics.quality` keys its scores (the extractor's tag on what it
    measured), with the counts they were made from."""
    asked = tuple(m for m in metrics if m in CONDITIONAL_METRICS)
    check_conditional_request(model, datamodule, asked, n, split, extractor)
    classes, names = model.num_classes, tuple(model.class_names)
    per_class = images_per_class(n, classes)
    result: dict = {"images_per_class": per_class}
    evaluator = None
    if {"accuracy", "ifid"} & set(asked):
        real, real_labels = real_images_by_class(datamodule, split, per_class, classes)
        counts = torch.bincount(real_labels, minlength=classes)
        if "ifid" in asked and bool((counts < 2).any()):
            missing = ", ".join(f"{name} ({int(c)})" for name, c in zip(names, counts) if c < 2)
            raise InvalidArgument(f"ifid needs at least 2 real images of every class in the {split} split, and "
                                  f"{missing} ha{'s' if (counts < 2).sum() == 1 else 've'} fewer. Fix: give another "
                                  "--split, or leave ifid out of --metrics.")
        evaluator = QualityEvaluator(real, extractor)
    model.eval()
    fake, fake_labels = conditional_samples(model, per_class, seed)
    tag = f"[{evaluator.name}]" if evaluator is not None else ""
    if "accuracy" in asked:
        classifier = evaluator.extractor.logits.classifier
        overall, per = sample_accuracy(classifier, fake, fake_labels)
        result.update({f"accuracy{tag}": overall, f"accuracy_per_class{tag}": by_class_name(per, names),
                       f"accuracy_real{tag}": sample_accuracy(classifier, real, real_labels)[0]})
    if "ifid" in asked:
        real_features, fake_features = evaluator.real_features(), evaluator.features(fake)
        warn_small_classes(torch.minimum(counts, torch.tensor(per_class)), names, real_features.shape[1],
                           "the real or generated images")
        per = intra_fid(real_features, real_labels, fake_features, fake_labels, classes)
        result.update({f"ifid{tag}": per.mean().item(), f"ifid_per_class{tag}": by_class_name(per, names),
                       "ifid_real_images": by_class_name(counts, names)})
    if "cas" in asked:
        real_train, real_train_labels = real_images_by_class(datamodule, "train", per_class, classes)
        scores = classification_accuracy_score(fake, fake_labels, real_train, real_train_labels,
                                               split_batches(datamodule, split), classes, cas_epochs, seed)
        result.update(cas=scores["cas"], cas_real=scores["cas_real"], cas_ratio=scores["cas_ratio"],
                      cas_per_class=by_class_name(scores["cas_per_class"], names), cas_epochs=cas_epochs,
                      cas_real_train_images=len(real_train_labels))
    return result

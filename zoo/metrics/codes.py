"""How well a categorical latent code, learned without labels, matches the data's classes (Chen et al. 2016, §7,
read MNIST's digit classes off InfoGAN's 10-way code with 5% error; here the code is scored on the samples it makes).

For each value of the code, images are generated with that value and everything else drawn from the prior; a
classifier of the data sorts them into a table ``counts[value, class]``. The code is read as a clustering of the
samples, and, as for unsupervised clustering accuracy, the score is the accuracy of the best one-to-one
assignment of code values to classes: ``max_π Σ_v counts[v, π(v)] / Σ counts`` (1.0: each value makes one class
of its own; about 1/K: the code says nothing about the class).

The assignment is exact, by dynamic programming over the subsets of the smaller side (``2^s · s · l`` steps for an
``s × l`` table: about 10⁵ for ten values and ten classes). SciPy's Hungarian solver
(``scipy.optimize.linear_sum_assignment``) would do the same, but SciPy is not a dependency of zoo or of the
packages it declares, so a fresh install would not have it.
"""

import math

import torch
from torch import Tensor

from zoo.arguments import InvalidArgument
from zoo.metrics.classifier import class_histogram
from zoo.metrics.features import check_classifier_extractor, get_extractor
from zoo.progress import progress
from zoo.sampling.modes import models_with_codes

MAX_SMALLER_SIDE = 16
"""The assignment's subsets are ``2^s`` for the smaller side s of the table: 16 is 65 536, a second or so."""
BATCH = 500


def best_assignment(counts: Tensor) -> tuple[list[int | None], int]:
    """The one-to-one assignment of rows (code values) to columns (classes) that maximises the matched counts of
    ``counts`` (values, classes): ``(the class of each value, None for the values left over where there are more
    values than classes; the matched total)``. Exact, for tables whose smaller side is at most
    :data:`MAX_SMALLER_SIDE`."""
    table = counts.long().tolist()
    values, classes = len(table), len(table[0]) if table else 0
    if min(values, classes) > MAX_SMALLER_SIDE:
        raise ValueError(f"an exact assignment of {values} code values to {classes} classes is too large (the smaller "
                         f"side may be at most {MAX_SMALLER_SIDE})")
    transposed = values > classes  # walk the larger side, keep the used subset of the smaller side
    if transposed:
        table = [list(column) for column in zip(*table)]
    small, large = len(table), len(table[0]) if table else 0
    best = {0: (0, ())}  # used rows of the small side -> (matched total, (column, row) pairs)
    for column in range(large):
        step = dict(best)  # the column left unmatched
        for used, (total, pairs) in best.items():
            for row in range(small):
                if not used >> row & 1:
                    key, candidate = used | 1 << row, total + table[row][column]
                    if candidate > step.get(key, (-1,))[0]:
                        step[key] = (candidate, pairs + ((column, row),))
        best = step
    total, pairs = max(best.values(), key=lambda entry: entry[0])
    assignment: list[int | None] = [None] * values
    for column, row in pairs:
        value, klass = (column, row) if transposed else (row, column)
        assignment[value] = klass
    free = iter(sorted(set(range(classes)) - set(assignment)))  # pairs that add 0 complete the matching
    assignment = [klass if klass is not None else next(free, None) for klass in assignment]
    return assignment, total


def has_categorical_code(model) -> bool:
    """Whether ``model`` has a categorical latent code (InfoGAN's), which ``code_accuracy`` can match to classes."""
    codes = model.latent_codes()
    return codes is not None and codes.categorical > 0


def check_code_accuracy(model) -> None:
    """Refuse ``code_accuracy`` for a model without a categorical code, naming the reason and the fix."""
    name = type(model).__name__
    codes = model.latent_codes()
    fix = "Fix: leave code_accuracy out of --metrics for this checkpoint."
    if codes is None:
        raise InvalidArgument(f"code_accuracy matches a categorical latent code to the data's classes, and {name} has "
                              f"no latent codes (models with codes: {', '.join(models_with_codes())}). {fix}")
    if codes.categorical == 0:
        raise InvalidArgument(f"code_accuracy matches a categorical latent code to the data's classes, and this {name} "
                              "has none (categorical_dim 0, continuous codes only). " + fix)


def check_code_extractor(extractor: str) -> None:
    """Refuse an extractor that is no classifier for ``code_accuracy``, which sorts samples into classes."""
    check_classifier_extractor(extractor, "code_accuracy", "sorts the samples")


@torch.no_grad()
def code_class_counts(model, classifier: torch.nn.Module, code: int, per_value: int, seed: int = 0) -> Tensor:
    """``counts[value, class]`` (K, classes): how many of ``per_value`` images made with categorical code ``code``
    set to each value (the rest of the latent from the prior, seeds ``seed + value``) the classifier (images in
    [-1, 1] to logits; ``num_classes``) puts in each class."""
    codes = model.latent_codes()
    rows = []
    for value in progress(range(codes.categorical_dim), f"code {code}: {per_value} images per value",
                          codes.categorical_dim):
        generator = torch.Generator().manual_seed(seed + value)
        counts = torch.zeros(classifier.num_classes, dtype=torch.long)
        for start in range(0, per_value, BATCH):
            noise, categorical, continuous = codes.split(codes.sample(min(BATCH, per_value - start), generator))
            categorical[:, code] = value
            images = model.sample(len(noise), z=codes.join(noise, categorical, continuous))
            counts += class_histogram(images * 2 - 1, classifier)
        rows.append(counts)
    return torch.stack(rows)


def code_accuracy(model, classifier: torch.nn.Module, n: int, seed: int = 0) -> dict:
    """The best one-to-one assignment's accuracy of each categorical code of ``model`` on ``n`` samples (``n / K``
    per value, rounded up) sorted by ``classifier``: ``code_accuracy`` (the best code's), ``code_assignment`` (the
    class of each of its values), ``code_images_per_value``, and with several codes ``code_index`` (the best) and
    ``code_accuracies`` (each code's)."""
    check_code_accuracy(model)
    codes = model.latent_codes()
    per_value = math.ceil(n / codes.categorical_dim)
    model.eval()
    scores = []
    for code in range(codes.categorical):
        counts = code_class_counts(model, classifier, code, per_value, seed)
        assignment, matched = best_assignment(counts)
        scores.append((matched / counts.sum().item(), assignment))
    index = max(range(len(scores)), key=lambda i: scores[i][0])
    result = {"code_accuracy": scores[index][0], "code_assignment": scores[index][1],
              "code_images_per_value": per_value}
    if len(scores) > 1:
        result.update(code_index=index, code_accuracies=[round(score, 6) for score, _ in scores])
    return result


def code_scores(model, extractor: str, n: int, seed: int = 0) -> dict:
    """:func:`code_accuracy` with the classifier of ``extractor``, its scores tagged by the extractor as every other
    score is (``code_accuracy[fmnist-classifier]``, ...)."""
    check_code_accuracy(model)
    check_code_extractor(extractor)
    features = get_extractor(extractor, tuple(model.image_shape))
    scores = code_accuracy(model, features.logits.classifier, n, seed)
    tagged = ("code_accuracy", "code_assignment", "code_accuracies")
    return {f"{key}[{features.name}]" if key in tagged else key: value for key, value in scores.items()}

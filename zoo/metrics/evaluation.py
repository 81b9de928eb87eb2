"""``zoo evaluate``'s one entry point: every requested metric of a model, unconditional and class-conditional
(:mod:`zoo.metrics.quality`, :mod:`zoo.metrics.conditional`, :mod:`zoo.metrics.codes`, the IWAE bound), with how
the numbers were made."""

import torch

from zoo.metrics.codes import check_code_accuracy, check_code_extractor, code_scores
from zoo.metrics.conditional import check_conditional_request, conditional_scores
from zoo.metrics.diversity import reference_diversity
from zoo.metrics.likelihood import bits_per_dim, importance_sampled_nll, supports_nll
from zoo.metrics.quality import (CONDITIONAL_METRICS, QualityEvaluator, _json_number, check_metrics,
                                 check_split_size, generated_images, real_images)
from zoo.progress import progress


def evaluate(
    model,
    datamodule,
    metrics: tuple[str, ...] = ("fid", "kid", "is", "pr"),
    n: int = 10_000,
    split: str = "test",
    extractor: str = "fmnist-classifier",
    seed: int = 0,
    nll_k: int = 1000,
    nll_images: int = 1000,
    cas_epochs: int | None = None,
) -> dict:
    """Every requested metric of ``model`` against ``n`` images of ``split``, plus how the numbers were made
    (``cas_epochs``: the training budget of ``cas``, None for :data:`zoo.metrics.conditional.CAS_EPOCHS`)."""
    check_metrics(metrics)
    if "code_accuracy" in metrics:  # before any work: a model with a categorical code, a classifier to sort by
        check_code_accuracy(model)
        check_code_extractor(extractor)
    check_conditional_request(model, datamodule, metrics, n, split, extractor)  # a class-conditional model, ...
    model.eval()
    real, real_labels = real_images(datamodule, split, n)
    check_split_size(len(real), n, split)
    result: dict = {"model": type(model).__name__, "iteration": getattr(model, "iteration", None), "split": split,
                    "n_real": len(real), "seed": seed}
    sample_metrics = tuple(m for m in metrics if m not in ("nll", "code_accuracy", *CONDITIONAL_METRICS))
    if sample_metrics:
        torch.manual_seed(seed)
        evaluator = QualityEvaluator(real, extractor)
        fake = generated_images(model, n, seed)
        result.update(extractor=evaluator.name, n_generated=len(fake))
        result.update(evaluator.score(fake, sample_metrics))
        if "diversity" in metrics:  # the values it is read against: too low is mode collapse, too high noise
            result.update(reference_diversity(real, split))
    if "code_accuracy" in metrics:  # n samples spread over the code's values, sorted by the extractor's classifier
        result.update(code_scores(model, extractor, n, seed))
    if set(CONDITIONAL_METRICS) & set(metrics):  # K·ceil(n/K) samples asked for the classes in turn
        budget = {} if cas_epochs is None else {"cas_epochs": cas_epochs}
        result.update(conditional_scores(model, datamodule, metrics, n, split, extractor, seed, **budget))
    if "nll" in metrics:
        if not supports_nll(model):
            result["nll"] = None  # no tractable likelihood: stated, not estimated
        else:
            torch.manual_seed(seed)
            images = real[:nll_images] * 2 - 1
            chunks = images.split(50)
            conditional = getattr(model, "conditional", False)  # then -log p(x | y), with the images' labels
            labels = real_labels[:nll_images].split(50) if conditional else [None] * len(chunks)
            nll = torch.cat([importance_sampled_nll(model, chunk, nll_k, labels=y)
                             for chunk, y in zip(progress(chunks, "IWAE bound", len(chunks)), labels)]).mean()
            result.update(nll_nats=float(nll), nll_bits_per_dim=bits_per_dim(nll, tuple(real.shape[1:])),
                          nll_k=nll_k, nll_images=len(images))
    return {k: _json_number(v) for k, v in result.items()}

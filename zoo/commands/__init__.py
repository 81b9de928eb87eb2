"""zoo's own subcommands beside Lightning's fit/validate/test/predict: one module each, with ``HELP`` and ``run``."""

from zoo.commands import evaluate, fit_prior, list_models, publish, pull, sample, train_classifier

COMMANDS = {
    "list": list_models,
    "sample": sample,
    "evaluate": evaluate,
    "fit-prior": fit_prior,
    "train-classifier": train_classifier,
    "pull": pull,
    "publish": publish,
}

"""The metrics of class-conditional models (``accuracy``, ``ifid``, ``cas``): on stand-in models whose samples are
real images of the class asked for (each metric at its best: accuracy near the classifier's on real images, a
small intra-class FID, CAS near its real-data reference) or of any class (accuracy and CAS near chance), and every
refusal before any work, through ``zoo evaluate`` in a real process for an unconditional model."""

import json

import pytest
import torch

import zoo
from datamodules import SyntheticDataModule
from tests.conftest import fashion_mnist, needs_fashion_mnist, run_in_process
from tests.faults import finish, start
from zoo.arguments import InvalidArgument
from zoo.metrics.classifier import save_classifier, train_classifier_on
from zoo.metrics.conditional import (balanced_labels, check_conditional, check_conditional_request,
                                     real_images_by_class)
from zoo.metrics.evaluation import evaluate
from zoo.metrics.quality import real_images

pytestmark = pytest.mark.usefixtures("one_thread")

SHAPE = (1, 16, 16)


class ClassBank:
    """A stand-in class-conditional model (the API of issue 33: ``num_classes``, ``class_names``, ``conditional``,
    ``label_kind``, ``sample(n, z, seed, labels)``): its sample for class y is an image of class y drawn from
    ``images`` (in [0, 1]), or with ``ignore_labels`` an image of any class."""

    conditional = True
    label_kind = "class"
    iteration = None

    def __init__(self, images, labels, class_names, ignore_labels: bool = False) -> None:
        self.images, self.labels, self.class_names = images, labels, tuple(class_names)
        self.num_classes, self.image_shape = len(class_names), tuple(images.shape[1:])
        self.ignore_labels = ignore_labels
        self.asked = []  # the labels of every sample call

    def eval(self):
        return self

    def sample(self, n, z=None, seed=None, labels=None):
        generator = torch.Generator().manual_seed(seed or 0)
        labels = torch.randint(self.num_classes, (n,), generator=generator) if labels is None else labels
        assert labels.dtype == torch.int64 and labels.shape == (n,)
        self.asked.append(labels)
        if self.ignore_labels:
            return self.images[torch.randint(len(self.images), (n,), generator=generator)]
        pools = [(self.labels == k).nonzero().flatten() for k in range(self.num_classes)]
        return self.images[torch.stack([pools[y][torch.randint(len(pools[y]), (), generator=generator)]
                                        for y in labels.tolist()])]


@pytest.fixture(scope="module")
def bars(tmp_path_factory):
    """Synthetic bars (10 classes, 16 px), a classifier of them trained here (saved as ``classifier:PATH``), and
    the two stand-in models drawing from the training split."""
    torch.set_num_threads(1)
    data = SyntheticDataModule(shape=SHAPE, num_images=1000, num_test_images=400, val_size=50, batch_size=100)
    images, labels = real_images(data, "train", 900)
    path = tmp_path_factory.mktemp("bars") / "bars.pt"
    save_classifier(train_classifier_on(images * 2 - 1, labels, 10, epochs=3), path, test_accuracy=0.0)
    faithful = ClassBank(images, labels, data.class_names)
    ignoring = ClassBank(images, labels, data.class_names, ignore_labels=True)
    return data, f"classifier:{path}", faithful, ignoring


def _scores(model, data, extractor, n=300, metrics=("accuracy", "ifid", "cas")):
    with pytest.warns(UserWarning, match=r"ifid: .* every class \(30 each\) are fewer than the extractor's 128"):
        return evaluate(model, data, metrics, n, "test", extractor, seed=0, cas_epochs=8)


def test_samples_of_the_class_asked_for_score_like_real_images_and_samples_that_ignore_it_like_chance(bars):
    data, extractor, faithful, ignoring = bars
    faithful.asked.clear()
    good, bad = _scores(faithful, data, extractor), _scores(ignoring, data, extractor)
    tag = "[classifier:bars]"
    for result in (good, bad):  # balanced: 30 asked for each class, 0, 1, ..., 9, 0, ... so every batch has each
        assert result["images_per_class"] == 30 and result["cas_real_train_images"] == 300
        assert set(result[f"accuracy_per_class{tag}"]) == set(data.class_names)
        assert result["ifid_real_images"] == dict.fromkeys(data.class_names, 30)
        assert result[f"accuracy_real{tag}"] == good[f"accuracy_real{tag}"] > 0.8  # the classifier's ceiling
    assert torch.equal(torch.cat(faithful.asked), balanced_labels(10, 30))
    # accuracy: the classifier's own on real images of the class, against chance (0.1)
    assert good[f"accuracy{tag}"] == pytest.approx(good[f"accuracy_real{tag}"], abs=0.08)
    assert bad[f"accuracy{tag}"] < 0.2
    # intra-class FID: per class and the mean of the classes
    assert good[f"ifid{tag}"] == pytest.approx(sum(good[f"ifid_per_class{tag}"].values()) / 10, abs=1e-5)
    assert good[f"ifid{tag}"] < 0.05 * bad[f"ifid{tag}"]
    assert max(good[f"ifid_per_class{tag}"].values()) < min(bad[f"ifid_per_class{tag}"].values())
    # CAS: a classifier learnt from the samples does as well as one learnt from real images, or at chance
    assert good["cas_real"] == bad["cas_real"] > 0.8 and good["cas_epochs"] == 8
    assert good["cas_ratio"] > 0.9 and good["cas_ratio"] == pytest.approx(good["cas"] / good["cas_real"], abs=1e-5)
    assert bad["cas"] < 0.25 and bad["cas_ratio"] < 0.3
    assert json.loads(json.dumps(good)) == good
    again = evaluate(faithful, data, ("accuracy",), 300, "test", extractor, seed=0)  # reproducible
    assert again[f"accuracy_per_class{tag}"] == good[f"accuracy_per_class{tag}"]


def test_real_images_by_class_takes_the_first_of_each_class_in_the_split_s_order(bars):
    data = bars[0]
    everything, labels = real_images(data, "test", 400)
    images, kept = real_images_by_class(data, "test", 5, 10)
    assert torch.equal(torch.bincount(kept, minlength=10), torch.full((10,), 5))
    for klass in range(10):
        assert torch.equal(images[kept == klass], everything[labels == klass][:5])
    few = SyntheticDataModule(shape=SHAPE, num_images=100, num_test_images=12, val_size=10, batch_size=4)
    _, kept = real_images_by_class(few, "test", 50, 10)  # all of a class that has fewer
    assert len(kept) == 12


def test_zoo_evaluate_prints_the_per_class_scores_in_its_json_line(bars, monkeypatch, tmp_path):
    """The command's wiring, with a stand-in model in place of a checkpoint: the flags reach the metrics and the
    per-class values come out named by class."""
    data, extractor, faithful, _ = bars
    monkeypatch.setattr("zoo.checkpoint.load", lambda path: faithful)
    monkeypatch.setattr("zoo.checkpoint.load_datamodule", lambda path, **overrides: data)
    out = tmp_path / "scores.jsonl"
    code, err = run_in_process(["evaluate", "--ckpt", "bank.ckpt", "--metrics", "accuracy,cas", "--n", "100",
                                "--extractor", extractor, "--cas-epochs", "1", "--out", str(out)])
    assert code == 0, err
    line = json.loads(out.read_text())
    assert line["checkpoint"] == "bank.ckpt" and line["images_per_class"] == 10 and line["cas_epochs"] == 1
    assert line["accuracy_per_class[classifier:bars]"].keys() == set(data.class_names)
    assert 0 <= line["cas"] <= 1 and "ifid[classifier:bars]" not in line


def test_zoo_evaluate_scores_a_trained_cgan_checkpoint(tmp_path):
    """A registered conditional model end to end: a checkpoint of a tiny cGAN (2 steps on synthetic bars) scored by
    ``zoo evaluate`` with its own data rebuilt from the checkpoint; its samples are asked for each class in turn."""
    from tests.conftest import synthetic_data, tiny_trainer

    data = synthetic_data()
    small = {"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}}
    model = zoo.create("cgan", image_shape=(1, 28, 28), num_classes=10, class_names=data.class_names,
                       generator=small, discriminator={**small, "class_path": "zoo.nets.DCGANDiscriminator"})
    trainer = tiny_trainer(tmp_path, max_steps=2)
    trainer.fit(model, datamodule=data)
    trainer.save_checkpoint(tmp_path / "cgan.ckpt")
    with pytest.warns(UserWarning, match=r"ifid: .* every class \(4 each\)"):
        code, out = run_in_process(["evaluate", "--ckpt", str(tmp_path / "cgan.ckpt"), "--metrics",
                                    "accuracy,ifid,cas", "--n", "40", "--extractor", "fmnist-classifier",
                                    "--cas-epochs", "1"], with_stdout=True)
    assert code == 0, out
    line = json.loads(out.strip().splitlines()[-1])
    assert line["model"] == "CGAN" and line["images_per_class"] == 4 and line["cas_real_train_images"] == 40
    assert list(line["ifid_per_class[fmnist-classifier]"]) == list(data.class_names)
    assert all(0 <= line[key] <= 1 for key in ("accuracy[fmnist-classifier]", "cas", "cas_real"))


def test_nll_of_a_conditional_vae_is_the_bound_on_log_p_x_given_the_images_labels():
    """``zoo evaluate``'s nll hands a conditional model the real images' labels: -log p(x | y) (Sohn et al. 2015)."""
    from tests.conftest import synthetic_data
    from zoo.metrics.likelihood import importance_sampled_nll

    data = synthetic_data()
    model = zoo.create("cvae", image_shape=(1, 28, 28), num_classes=10, class_names=data.class_names, latent_dim=4)
    result = evaluate(model, data, ("nll",), 16, "test", "fmnist-classifier", nll_k=5, nll_images=8)
    images, labels = real_images(data, "test", 8)
    torch.manual_seed(0)
    expected = importance_sampled_nll(model, images * 2 - 1, 5, labels=labels).mean().item()
    assert result["nll_nats"] == pytest.approx(expected, rel=1e-5) and result["nll_images"] == 8


# --- refusals, before any work -------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["accuracy", "ifid", "cas"])
def test_unconditional_and_attribute_models_are_refused_with_the_reason(metric):
    with pytest.raises(InvalidArgument, match=rf"^{metric} scores samples generated for a class asked for, and this "
                                              r"DCGAN takes no class labels \(num_classes 0: it is unconditional; "
                                              r"models that take labels: .*\)\. Fix: leave "):
        check_conditional(zoo.create("dcgan"), (metric, "fid"))
    attributes = zoo.create("cgan", image_shape=(3, 64, 64), num_classes=40, label_kind="attributes")  # CelebA's
    with pytest.raises(InvalidArgument, match=r"this CGAN is conditioned on 40 binary attributes at once \(label_kind "
                                              r"'attributes', as CelebA's\), not on one class per image"):
        check_conditional(attributes, (metric,))
    check_conditional(zoo.create("dcgan"), ("fid", "kid"))  # nothing conditional asked: nothing refused


@pytest.mark.parametrize("metrics, n, split, extractor, says", [
    (("ifid",), 19, "test", None, r"--n 19 is too few images for 10 classes \(ifid needs at least 20"),
    (("accuracy", "cas"), 9, "test", None, r"accuracy needs at least 10, cas needs at least 10"),
    (("cas",), 100, "train", None, r"cas scores classifiers on real images they never saw.*--split test"),
    (("accuracy",), 100, "test", "inception", r"accuracy sorts the samples .* extractor inception is none"),
])
def test_requests_that_cannot_be_scored_are_refused(bars, metrics, n, split, extractor, says):
    data, own, faithful, _ = bars
    with pytest.raises(InvalidArgument, match=says):
        check_conditional_request(faithful, data, metrics, n, split, extractor or own)


def test_a_classifier_or_data_of_other_classes_than_the_model_s_is_refused(bars):
    _, extractor, faithful, _ = bars
    three = ClassBank(faithful.images, faithful.labels % 3, ["a", "b", "c"])
    three_data = type("Data", (), {"num_classes": 3, "name": "three classes"})()
    with pytest.raises(InvalidArgument, match=r"classifier of extractor fmnist-classifier, which knows 10 classes, "
                                              r"and the model takes 3"):
        check_conditional_request(three, three_data, ("accuracy",), 100, "test", "fmnist-classifier")
    celeba = type("Data", (), {"num_classes": 40, "name": "CelebA"})()
    with pytest.raises(InvalidArgument, match=r"takes 10 classes and its data \(CelebA\) has 40"):
        check_conditional_request(faithful, celeba, ("ifid",), 100, "test", extractor)


def test_ifid_is_refused_for_a_class_with_fewer_than_2_real_images_before_any_sample(bars):
    _, extractor, faithful, _ = bars
    data = SyntheticDataModule(shape=SHAPE, num_images=100, num_test_images=25, val_size=10, batch_size=5)
    assert torch.bincount(real_images(data, "test", 25)[1], minlength=10).tolist()[1:3] == [1, 0]
    model = ClassBank(faithful.images, faithful.labels, faithful.class_names)
    with pytest.raises(InvalidArgument, match=r"ifid needs at least 2 real images of every class in the test split, "
                                              r"and horizontal_2 \(1\), horizontal_3 \(0\), vertical_5 \(1\) "
                                              r"have fewer"):
        evaluate(model, data, ("ifid",), 20, "test", extractor)
    assert model.asked == []


def test_zoo_evaluate_refuses_an_unconditional_model_in_a_real_process(tmp_path):
    """A registered unconditional model, saved without its data: the refusal comes before the data are rebuilt or
    an image is drawn, and names every conditional metric asked for."""
    model = zoo.create("dcgan", latent_dim=8)
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}, tmp_path / "dcgan.ckpt")
    process = start(["evaluate", "--ckpt", "dcgan.ckpt", "--metrics", "fid,accuracy,ifid,cas", "--n", "100"],
                    tmp_path, env={"OMP_NUM_THREADS": "1"})
    code, output = finish(process, timeout=60)
    assert code == 1, output
    assert ("zoo: error: accuracy, ifid, cas score samples generated for a class asked for, and this DCGAN takes no "
            "class labels (num_classes 0: it is unconditional; models that take labels:") in output
    listed = output.split("models that take labels: ")[1].split(")")[0].split(", ")
    assert {"cgan", "acgan", "cvae"} <= set(listed) and "dcgan" not in listed
    assert "leave accuracy, ifid, cas out of --metrics" in output and "Traceback" not in output


# --- the real data and the shipped classifier ----------------------------------------------------------------------

@needs_fashion_mnist
def test_on_fashion_mnist_the_shipped_classifier_scores_faithful_samples_like_real_images():
    data = fashion_mnist(batch_size=1000)
    images, labels = real_images(data, "train", 2000)
    faithful = ClassBank(images, labels, data.class_names)
    ignoring = ClassBank(images, labels, data.class_names, ignore_labels=True)
    tag = "[fmnist-classifier]"
    with pytest.warns(UserWarning, match=r"every class \(100 each\) are fewer than the extractor's 128 feature"):
        good = evaluate(faithful, data, ("accuracy", "ifid"), 1000, "test", "fmnist-classifier")
        bad = evaluate(ignoring, data, ("accuracy", "ifid"), 1000, "test", "fmnist-classifier")
    assert good["images_per_class"] == 100 and good[f"accuracy_real{tag}"] > 0.85
    assert good[f"accuracy{tag}"] == pytest.approx(good[f"accuracy_real{tag}"], abs=0.05)
    assert bad[f"accuracy{tag}"] < 0.2
    assert good[f"ifid{tag}"] < 0.1 * bad[f"ifid{tag}"]
    names = list(good[f"accuracy_per_class{tag}"])
    assert names == list(data.class_names) and "Sneaker" in names

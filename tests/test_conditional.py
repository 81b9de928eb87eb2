"""Class-conditional models: the labels' path through the shared loop, the conditioning API, the nets' and losses'
closed forms, the data's labels linked into the model, CelebA's attribute selection and the class grid.

Unconditional models must not change: a run of each gives the numbers recorded from the code before labels went
through the loop.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch import seed_everything
from torch import nn

import zoo
from tests import tiny_datasets
from tests.conftest import REPO, synthetic_data, tiny_trainer
from tests.test_resume import CASES as RESUME_CASES
from zoo.core.conditioning import LabelMismatch, LabelSpace
from zoo.losses.conditional import class_nll, label_accuracy
from zoo.losses.gan import gan_discriminator_loss
from zoo.nets.conditional import (ConditionalBatchNorm, ConditionalBatchNorm2d, LabelChannels, LabelConcat,
                                  ProjectionDiscriminator)
from zoo.sampling.classes import class_grid, class_grid_inputs
from zoo.sampling.labels import LabelsNotAccepted, UnknownLabel, models_with_labels, resolve_labels
from zoo.sampling.latent import interpolation_strips
from zoo.sampling.modes import applicable_modes

pytestmark = pytest.mark.usefixtures("one_thread")

CONDITIONAL = ["cgan", "acgan", "cgan_pd", "cvae"]
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SMALL = {  # 8-channel nets: the API tests need no capacity
    "cgan": dict(generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
                 discriminator={"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}}),
    "cvae": dict(encoder={"class_path": "zoo.nets.ConvEncoder", "init_args": {"base_channels": 8}},
                 decoder={"class_path": "zoo.nets.ConvDecoder", "init_args": {"base_channels": 8}}),
}
SMALL["acgan"] = SMALL["cgan"]
SMALL["cgan_pd"] = dict(generator=SMALL["cgan"]["generator"],
                        discriminator={"class_path": "zoo.nets.UnnormalisedDCGANDiscriminator",
                                       "init_args": {"base_channels": 8}})


def _model(name: str, **kwargs):
    return zoo.create(name, image_shape=(1, 28, 28), **{**SMALL[name], **kwargs})


# --- unconditional models are unchanged ------------------------------------------------------------------------------

UNCONDITIONAL_RUNS = {  # sum of |every float tensor of the state dict| and of 4 samples, from the code before labels
    "gan": (39697.9260390997, 1497.8994713425636),
    "dcgan": (1389.041159113729, 1564.373386502266),
    "vae": (3548.622562585488, 1745.1878766417503),
    "infogan": (1222.7635411425317, 1556.955226868391),
}


@pytest.mark.parametrize("name", list(UNCONDITIONAL_RUNS))
def test_unconditional_models_train_exactly_as_before_labels_went_through_the_loop(name, tmp_path):
    """6 iterations with validation (D dropout, noise, codes: every random draw) give the weights and samples the
    code before this change gave (recorded then; a moved random stream or a changed update would change them in the
    leading digits, floating-point noise of another CPU in the last ones)."""
    seed_everything(0)
    model = zoo.create(name, image_shape=(1, 28, 28), **RESUME_CASES.get(name, {}))
    assert not model.conditional and model.num_classes == 0 and model.class_names == ()
    trainer = tiny_trainer(tmp_path, max_steps=model.optimizer_steps(6), max_epochs=-1, limit_val_batches=1)
    trainer.fit(model, datamodule=synthetic_data())
    weights = sum(float(v.double().abs().sum()) for v in model.state_dict().values() if v.is_floating_point())
    samples = float(model.sample(4, seed=0).double().sum())
    assert (weights, samples) == pytest.approx(UNCONDITIONAL_RUNS[name], rel=1e-6)


def test_the_models_that_take_labels_are_the_conditional_ones():
    assert models_with_labels() == sorted(CONDITIONAL, key=lambda n: (zoo.get_model(n).family, n))
    for entry in zoo.list_models():
        model = zoo.create(entry.name, image_shape=(1, 28, 28))
        assert model.conditional == (entry.name in CONDITIONAL)
        labels = torch.tensor([3, 1])
        condition = model.batch_condition((torch.zeros(2, 1, 28, 28), labels))
        assert condition == () if not model.conditional else condition[0] is labels


# --- the conditioning API --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CONDITIONAL)
def test_sample_takes_labels_by_index_name_and_tensor(name):
    model = _model(name, class_names=list(FASHION))
    assert (model.num_classes, model.class_names, model.label_kind, model.conditional) == (10, FASHION, "class", True)
    by_index = model.sample(4, seed=1, labels=[7, 7, 0, 9])
    assert by_index.shape == (4, 1, 28, 28) and 0 <= by_index.min() <= by_index.max() <= 1
    assert torch.equal(by_index, model.sample(4, seed=1, labels=["sneaker", "SNEAKER", "t-shirt/top", "Ankle boot"]))
    assert torch.equal(by_index, model.sample(4, seed=1, labels=torch.tensor([7, 7, 0, 9])))
    assert torch.equal(model.sample(3, seed=1, labels="Sneaker"), model.sample(3, seed=1, labels=[7, 7, 7]))
    assert torch.equal(model.sample(3, seed=1, labels=7), model.sample(3, seed=1, labels="7"))  # digits: an index


def test_labels_change_the_samples_and_default_labels_are_uniform():
    model = _model("cvae")  # its decoder sees the one-hot label from the start
    z = torch.randn(1, model.latent_dim).expand(10, -1)
    images = model.sample(10, z=z, labels=torch.arange(10))
    assert all((images[i] - images[0]).abs().max() > 1e-4 for i in range(1, 10))
    drawn = resolve_labels(model, None, 20_000, torch.Generator().manual_seed(0))
    counts = torch.bincount(drawn, minlength=10).double()
    assert ((counts - 2000).abs() < 5 * math.sqrt(2000 * 0.9)).all(), counts  # within 5 standard deviations
    # the default is drawn from sample()'s seed: reproducible, and another seed draws other classes
    assert torch.equal(model.sample(8, seed=3), model.sample(8, seed=3))


def test_misspelt_or_unknown_labels_are_refused_naming_the_closest():
    model = _model("cgan", class_names=list(FASHION))
    with pytest.raises(UnknownLabel, match=r"no class 'snaeker'\. Did you mean 'Sneaker'\?.*Sandal"):
        model.sample(2, labels="snaeker")
    with pytest.raises(UnknownLabel, match="index 10 is out of range: CGAN has 10 classes"):
        model.sample(2, labels=[1, 10])
    with pytest.raises(UnknownLabel, match="3 class labels for 2 images"):
        model.sample(2, labels=[1, 2, 3])
    with pytest.raises(UnknownLabel, match="integer class indices"):
        model.sample(2, labels=torch.tensor([0.5, 1.0]))


@pytest.mark.parametrize("name", ["dcgan", "vae", "infogan"])
def test_an_unconditional_model_refuses_labels_naming_the_models_that_take_them(name):
    model = zoo.create(name, image_shape=(1, 28, 28))
    with pytest.raises(LabelsNotAccepted, match=f"{type(model).__name__} is an unconditional model") as error:
        model.sample(2, labels=[0, 1])
    assert all(other in str(error.value) for other in CONDITIONAL)
    with pytest.raises(LabelsNotAccepted):
        class_grid(model)
    assert "classes" not in applicable_modes(model)


def test_attribute_models_take_name_lists_and_vectors_and_draw_at_training_frequencies(tmp_path):
    names = ["horizontal", "slot_1", "slot_2", "slot_3", "slot_4", "slot_5"]
    model = _model("cgan", num_classes=6, class_names=names, label_kind="attributes")
    assert model.label_kind == "attributes" and model.class_names == tuple(names)
    vectors = torch.tensor([[1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1]])
    by_vector = model.sample(2, seed=0, labels=vectors)
    assert torch.equal(by_vector, model.sample(2, seed=0, labels=[["Horizontal", "slot_2"], ["SLOT_5"]]))
    assert torch.equal(model.sample(2, seed=0, labels=["horizontal", "slot_2"]),
                       model.sample(2, seed=0, labels=vectors[:1].expand(2, -1)))
    with pytest.raises(UnknownLabel, match="no attribute 'slot_9'"):
        model.sample(1, labels=["slot_9"])
    with pytest.raises(UnknownLabel, match="0/1 vectors over the model's 6 attributes"):
        model.sample(1, labels=torch.ones(1, 5))
    torch.testing.assert_close(model.attribute_frequencies(), torch.full((6,), 0.5))  # before training
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=3)
    data = synthetic_data(attributes=True)
    trainer.fit(model, datamodule=data)
    assert model.labels_seen.item() == 3 * 16  # 3 batches of 16
    frequencies = model.attribute_frequencies()
    assert 0.2 < frequencies[0] < 0.8 and torch.isclose(frequencies[1:].sum(), torch.tensor(1.0))  # one slot each
    drawn = resolve_labels(model, None, 20_000, torch.Generator().manual_seed(0)).double().mean(0)
    torch.testing.assert_close(drawn, frequencies.double(), atol=0.02, rtol=0)


def test_label_space_checks_its_arguments():
    assert LabelSpace.of(None, None, None) == LabelSpace(10, tuple("0123456789"), "class")
    assert LabelSpace.of(None, ["a", "b", "c"], "class").num_classes == 3
    for args, match in [((1, None, "class"), "integer >= 2"), ((3, ["a", "b"], "class"), "2 names for num_classes 3"),
                        ((2, ["a", "A"], "class"), "without regard to case"), ((2, None, "atributes"), "attributes")]:
        with pytest.raises(ValueError, match=match):
            LabelSpace.of(*args)


# --- the nets' and losses' closed forms ------------------------------------------------------------------------------

class Outputs(nn.Module):
    """A stand-in discriminator whose "images" are its outputs: D(x, y) = x flattened."""

    def forward(self, x, labels=None):
        return x.flatten(1)


def test_acgan_class_terms_are_the_papers_log_likelihoods():
    """D minimises -(L_S + L_C) and G -(L_C) plus its non-saturating source loss, with λ = class_weight."""
    torch.manual_seed(0)
    model = _model("acgan", class_weight=0.5)
    model.discriminator = Outputs()
    real, fake = torch.randn(4, 11, 1, 1), torch.randn(4, 11, 1, 1)
    labels = torch.tensor([0, 3, 9, 3])
    log_p = lambda out: F.log_softmax(out.flatten(1)[:, 1:], dim=1)[torch.arange(4), labels]  # noqa: E731
    source = gan_discriminator_loss(real.flatten(1)[:, :1], fake.flatten(1)[:, :1])
    d = model.discriminator_loss(real, {"fake": fake, "labels": labels})
    torch.testing.assert_close(d["class_nll_real"], -log_p(real).mean())
    torch.testing.assert_close(d["loss"], source - 0.5 * (log_p(real).mean() + log_p(fake).mean()))
    g = model.generator_loss(real, {"fake": fake, "labels": labels})
    torch.testing.assert_close(g["loss"], F.softplus(-fake.flatten(1)[:, 0]).mean() - 0.5 * log_p(fake).mean())
    # attributes: one Bernoulli per attribute, the log-likelihood summed over them
    logits, attributes = torch.tensor([[2.0, -1.0]]), torch.tensor([[1, 0]])
    expected = -(F.logsigmoid(torch.tensor(2.0)) + F.logsigmoid(torch.tensor(1.0)))
    torch.testing.assert_close(class_nll(logits, attributes), expected)
    assert label_accuracy(logits, attributes) == 1 and label_accuracy(logits, torch.tensor([1])) == 0


class Features(nn.Module):
    """φ(x) = x flattened, and a linear head ψ."""

    def __init__(self, image_shape, out_features):
        super().__init__()
        self.head = nn.Linear(math.prod(image_shape), out_features)

    def features(self, x):
        return x.flatten(1)

    def forward(self, x):
        return self.head(self.features(x))


def test_projection_discriminator_is_psi_plus_the_inner_product_with_the_class_embedding():
    net = ProjectionDiscriminator((1, 1, 3), 1, Features, num_classes=2)
    V = torch.tensor([[1.0, -1.0], [2.0, 0.0], [0.0, 3.0]])  # (F, K): class c's embedding is V[:, c]
    with torch.no_grad():
        net.net.head.weight.copy_(torch.tensor([[0.5, 0.0, -0.5]]))
        net.net.head.bias.fill_(0.25)
        net.embed.weight.copy_(V)
    phi = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]])
    scores = net(phi.view(2, 1, 1, 3), torch.tensor([0, 1]))
    psi = phi @ torch.tensor([0.5, 0.0, -0.5]) + 0.25
    torch.testing.assert_close(scores.flatten(), psi + torch.stack([phi[0] @ V[:, 0], phi[1] @ V[:, 1]]))
    attributes = net(phi[:1].view(1, 1, 1, 3), torch.tensor([[1, 1]]))  # both on: the sum of both embeddings
    torch.testing.assert_close(attributes.flatten(), psi[:1] + phi[0] @ (V[:, 0] + V[:, 1]))


def test_conditional_batch_norm_is_a_per_class_affine_map_of_the_normalised_input():
    torch.manual_seed(0)
    layer = ConditionalBatchNorm2d(2, num_classes=3)
    gain, bias = torch.tensor([[0.5, 0.0, -1.0], [1.0, 2.0, 0.0]]), torch.tensor([[1.0, 0.0, 2.0], [0.0, -1.0, 0.5]])
    with torch.no_grad():
        layer.gain.weight.copy_(gain)
        layer.bias.weight.copy_(bias)
    h, labels = torch.randn(4, 2, 3, 3), torch.tensor([0, 2, 1, 2])
    layer.labels = labels
    mean, var = h.mean((0, 2, 3), keepdim=True), h.var((0, 2, 3), unbiased=False, keepdim=True)
    normalised = (h - mean) / torch.sqrt(var + layer.norm.eps)
    expected = normalised * (1 + gain.T[labels])[:, :, None, None] + bias.T[labels][:, :, None, None]
    torch.testing.assert_close(layer(h), expected)
    layer.labels = None
    with pytest.raises(RuntimeError, match="needs labels"):
        layer(h)


def test_conditional_batch_norm_replaces_every_batch_norm_and_starts_as_plain_batch_norm():
    from zoo.nets import DCGANGenerator, ResNetGenerator

    for factory in (DCGANGenerator, ResNetGenerator):
        net = ConditionalBatchNorm(16, (1, 28, 28), factory, num_classes=10)
        assert not any(type(m) is nn.BatchNorm2d and m.affine for m in net.modules())
        assert sum(isinstance(m, ConditionalBatchNorm2d) for m in net.modules()) >= 2
        z = torch.randn(3, 16)
        torch.testing.assert_close(net(z, torch.tensor([0, 1, 2])), net(z, torch.tensor([5, 5, 9])))  # γ = 1, β = 0
        assert all(m.labels is None for m in net.modules() if isinstance(m, ConditionalBatchNorm2d))
    with pytest.raises(ValueError, match="no batch norm"):
        ConditionalBatchNorm(16, (1, 28, 28), lambda d, s: DCGANGenerator(d, s, norm="layer"), num_classes=10)


class Recorder(nn.Module):
    def __init__(self, *args):
        super().__init__()
        self.args, self.seen = args, None

    def forward(self, x):
        self.seen = x
        return x.flatten(1)[:, :1]


def test_labels_reach_the_nets_as_concatenated_one_hot_or_multi_hot_vectors():
    concat = LabelConcat(3, (1, 28, 28), Recorder, num_classes=4)
    assert concat.net.args == (7, (1, 28, 28))
    concat(torch.zeros(2, 3), torch.tensor([1, 3]))
    torch.testing.assert_close(concat.net.seen[:, 3:], torch.tensor([[0.0, 1, 0, 0], [0, 0, 0, 1]]))
    channels = LabelChannels((1, 5, 5), 1, Recorder, num_classes=3)
    assert channels.net.args == ((4, 5, 5), 1)
    channels(torch.zeros(2, 1, 5, 5), torch.tensor([[1, 0, 1], [0, 1, 0]]))
    torch.testing.assert_close(channels.net.seen[:, 1:], torch.tensor([[1.0, 0, 1], [0, 1, 0]])[:, :, None, None]
                               .expand(-1, -1, 5, 5))


# --- labels from the data --------------------------------------------------------------------------------------------

def test_a_model_built_for_other_labels_than_the_data_is_refused_before_training(tmp_path):
    model = _model("cgan")  # 10 classes
    with pytest.raises(LabelMismatch, match="built for 10 classes, but the data .* have 6 binary attributes"):
        tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=1).fit(model,
                                                                         datamodule=synthetic_data(attributes=True))
    loader = synthetic_data(attributes=True)
    loader.setup("fit")
    with pytest.raises(LabelMismatch, match=r"takes int64 class indices of shape \(B,\), but a batch's labels are"):
        tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=1).fit(model, loader.train_dataloader())


def test_zoo_fit_links_the_datas_labels_into_conditional_models_only(tmp_path, monkeypatch):
    from zoo.cli import ZooCLI
    from zoo.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    base = ["--data=SyntheticDataModule", "--trainer.logger=false"]
    cgan, cvae, dcgan = (str(REPO / "configs" / f"{name}_fashion_mnist.yaml") for name in ("cgan", "cvae", "dcgan"))
    cli = ZooCLI(args=["--config", cgan, *base], run=False)
    assert (cli.model.num_classes, cli.model.class_names, cli.model.label_kind) == \
        (10, cli.datamodule.class_names, "class")
    cli = ZooCLI(args=["--config", cvae, *base, "--data.init_args.attributes=true"], run=False)
    assert (cli.model.num_classes, cli.model.label_kind) == (6, "attributes")
    assert cli.model.class_names == cli.datamodule.class_names
    same = ZooCLI(args=["--config", cgan, *base, "--model.init_args.num_classes=10"], run=False)
    assert same.model.num_classes == 10
    with pytest.raises(ConfigError, match="num_classes 5 .the data's: 10.*leave them out"):
        ZooCLI(args=["--config", cgan, *base, "--model.init_args.num_classes=5"], run=False)
    with pytest.raises(ConfigError, match="label_kind 'class' .the data's: 'attributes'"):
        ZooCLI(args=["--config", cgan, *base, "--data.init_args.attributes=true",
                     "--model.init_args.label_kind=class"], run=False)
    plain = ZooCLI(args=["--config", dcgan, *base], run=False)  # declares no labels: no link
    assert not plain.model.conditional and "num_classes" not in plain.model.hparams


def test_celeba_conditions_on_the_attributes_a_config_chooses(tmp_path, monkeypatch):
    from datamodules import CelebADataModule

    _, attrs = tiny_datasets.write_celeba(tmp_path)
    tiny_datasets.patch_celeba_md5s(monkeypatch, tmp_path / "celeba")
    for cache in (False, True):
        data = CelebADataModule(data_dir=str(tmp_path), batch_size=2, download=False, cache=cache,
                                attributes=["smiling", "Male", "EYEGLASSES"])
        assert data.class_names == ("Smiling", "Male", "Eyeglasses") and data.num_classes == 3
        assert data.label_kind == "attributes"
        data.prepare_data()
        labels = torch.cat([batch[1] for batch in data.test_dataloader()])
        columns = [tiny_datasets.ATTRIBUTES.index(name) for name in data.class_names]
        assert labels.dtype == torch.int64 and torch.equal(labels, torch.from_numpy(attrs[6:, columns]).long())
    assert CelebADataModule(data_dir=str(tmp_path), download=False).num_classes == 40  # all by default
    with pytest.raises(ValueError, match=r"no attribute 'Smilng'\. Did you mean 'Smiling'\?"):
        CelebADataModule(data_dir=str(tmp_path), attributes=["Male", "Smilng"])
    with pytest.raises(ValueError, match="'male' is listed twice"):
        CelebADataModule(data_dir=str(tmp_path), attributes=["Male", "male"])
    model = zoo.create("cgan", image_shape=data.image_shape, num_classes=3, class_names=list(data.class_names),
                       label_kind="attributes", **SMALL["cgan"])
    tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=1).fit(model, datamodule=data)
    assert model.labels_seen.item() == 2
    assert model.sample(2, seed=0, labels=[["male", "smiling"], []]).shape == (2, 3, 64, 64)


# --- the class grid, strips within a class, the grids of training ----------------------------------------------------

def test_class_grid_draws_each_class_from_the_same_noise_down_each_column():
    model = _model("cgan", class_names=list(FASHION))
    z, labels = class_grid_inputs(model, columns=3, generator=torch.Generator().manual_seed(0))
    assert z.shape == (30, model.latent_dim) and labels.tolist() == [c for c in range(10) for _ in range(3)]
    assert all(torch.equal(z[r * 3:(r + 1) * 3], z[:3]) for r in range(10))
    images = class_grid(model, columns=3, seed=0)
    assert images.shape == (30, 1, 28, 28)
    torch.testing.assert_close(images[21:24], model.sample(3, z=z[:3], labels="sneaker"))
    attributes = _model("cgan", num_classes=4, label_kind="attributes")
    assert class_grid_inputs(attributes, 2)[1].tolist() == [row for row in torch.eye(4, dtype=torch.long).tolist()
                                                            for _ in range(2)]
    assert "classes" in applicable_modes(model) and "arithmetic" not in applicable_modes(_model("cvae"))


def test_interpolation_strips_of_a_conditional_model_stay_within_a_class():
    model = _model("cgan", class_names=list(FASHION))
    strips = interpolation_strips(model, rows=2, steps=4, seed=0, labels="bag")
    generator = torch.Generator().manual_seed(0)
    from zoo.sampling.latent import slerp

    a, b = model.sample_latent(2, generator), model.sample_latent(2, generator)
    path = slerp(a, b, torch.linspace(0, 1, 4)).flatten(0, 1)
    torch.testing.assert_close(strips, model.sample(8, z=path, labels="Bag"))


def test_training_writes_a_class_grid_for_a_conditional_model(tmp_path, monkeypatch):
    from zoo.cli import main

    monkeypatch.chdir(tmp_path)
    main(["fit", "--model=CGAN", "--model.init_args.generator=zoo.nets.DCGANGenerator",
          "--model.init_args.generator.init_args.base_channels=8",
          "--model.init_args.discriminator=zoo.nets.DCGANDiscriminator",
          "--model.init_args.discriminator.init_args.base_channels=8", "--data=SyntheticDataModule",
          "--data.init_args.num_images=48", "--data.init_args.val_size=16", "--data.init_args.batch_size=8",
          "--trainer.max_steps=4", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
          "--trainer.default_root_dir=run"])
    images = sorted(p.name for p in tmp_path.rglob("*.png"))
    assert images == ["classes_final.png", "interpolation_final.png", "samples_final.png"]
    from PIL import Image

    grid = Image.open(next(tmp_path.rglob("classes_final.png")))
    assert grid.size == (8 * 30 + 2, 10 * 30 + 2)  # 8 columns, a row per class
    model = zoo.load(next(tmp_path.rglob("last.ckpt")))
    assert model.class_names == tuple(f"{d}_{i}" for d in ("horizontal", "vertical") for i in range(1, 6))
    assert model.sample(2, labels="vertical_3").shape == (2, 1, 28, 28)


def test_cvae_bounds_log_p_x_given_y_and_reconstructs_with_the_labels():
    from zoo.metrics.likelihood import importance_sampled_nll, mean_nelbo

    torch.manual_seed(0)
    model = _model("cvae").eval()
    x, labels = torch.rand(3, 1, 28, 28) * 2 - 1, torch.tensor([1, 2, 3])
    assert model.reconstruct(x, labels).shape == x.shape
    nll = importance_sampled_nll(model, x, k=64, labels=labels)
    assert nll.shape == (3,) and torch.isfinite(nll).all()
    assert nll.mean() <= mean_nelbo(model, x, labels=labels) + 1.0  # the IWAE bound is no looser than the ELBO
    with pytest.raises(ValueError, match="give the images' labels"):
        importance_sampled_nll(model, x, k=4)


def test_cvae_trains_reconstructs_with_the_images_labels_and_refuses_class_arithmetic(tmp_path, monkeypatch):
    from tests.conftest import run_in_process
    from zoo.cli import main

    monkeypatch.chdir(tmp_path)
    main(["fit", "--model=CVAE", "--model.init_args.encoder=zoo.nets.ConvEncoder",
          "--model.init_args.encoder.init_args.base_channels=8", "--model.init_args.decoder=zoo.nets.ConvDecoder",
          "--model.init_args.decoder.init_args.base_channels=8", "--data=SyntheticDataModule",
          "--data.init_args.num_images=48", "--data.init_args.val_size=16", "--data.init_args.batch_size=8",
          "--trainer.max_steps=3", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
          "--trainer.default_root_dir=run"])
    images = sorted(p.name for p in tmp_path.rglob("*.png"))
    assert images == ["classes_final.png", "interpolation_final.png", "reconstructions_final.png",
                      "samples_final.png"]
    checkpoint = str(next(tmp_path.rglob("last.ckpt")))
    code, out = run_in_process(["sample", "--ckpt", checkpoint, "--mode", "reconstruct", "--n", "8", "--out",
                                "recon.png"], with_stdout=True)
    assert code == 0 and "wrote 16 images (reconstruct) of CVAE" in out
    code, out = run_in_process(["sample", "--ckpt", checkpoint, "--mode", "arithmetic", "--out", "a.png"])
    assert code == 1 and "arithmetic does not apply to CVAE: its code leaves out the class" in out
    assert not (tmp_path / "a.png").exists()

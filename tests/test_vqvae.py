"""VQ-VAE and its PixelCNN prior: quantisation, the straight-through gradient, the EMA codebook and dead-code
restarts against hand computations; the PixelCNN's causality by autograd; the two training stages, resume across
their boundary, sampling and the sampling modes it refuses."""

import json

import pytest
import torch
from lightning.pytorch import Callback, seed_everything

import zoo
from tests.conftest import fashion_mnist, needs_fashion_mnist, run_in_process, synthetic_data, tiny_trainer
from zoo.arguments import InvalidArgument
from zoo.losses.vector_quantization import codebook_loss, commitment_loss, perplexity, straight_through
from zoo.metrics.likelihood import NoLikelihood
from zoo.models.vqvae import VQVAE
from zoo.nets.pixelcnn import GatedPixelCNN
from zoo.nets.quantizer import VectorQuantizer, ema_codebook_update, nearest_codes
from zoo.sampling.latent import interpolation_strips, latent_arithmetic
from zoo.sampling.modes import SamplerNotApplicable, applicable_modes

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(
    codebook_size=16, embedding_dim=4, dead_after=2,
    encoder={"class_path": "zoo.nets.vqvae.VQEncoder", "init_args": {"hidden_channels": 8, "residual_channels": 4}},
    decoder={"class_path": "zoo.nets.vqvae.VQDecoder", "init_args": {"hidden_channels": 8, "residual_channels": 4}},
    prior={"class_path": "zoo.nets.pixelcnn.GatedPixelCNN", "init_args": {"channels": 8, "layers": 3,
                                                                          "head_channels": 16}},
)


def _tiny(**overrides):
    return zoo.create("vqvae", image_shape=(1, 28, 28), **{**TINY, **overrides})


# --- quantisation and its gradient ---------------------------------------------------------------------------------

def test_straight_through_passes_the_decoder_inputs_gradient_to_the_encoder_unchanged():
    torch.manual_seed(0)
    z_e = torch.randn(2, 4, 3, 3, requires_grad=True)
    z_q = torch.randn(2, 4, 3, 3)
    decoder = torch.nn.Conv2d(4, 2, 3)
    st = straight_through(z_e, z_q)
    st.retain_grad()
    torch.testing.assert_close(st, z_q)  # the forward value is z_q (up to rounding of z_e + (z_q - z_e))
    decoder(st).pow(2).sum().backward()
    assert torch.equal(z_e.grad, st.grad)  # d loss / d z_e is exactly the gradient at the decoder's input
    direct = z_q.clone().requires_grad_(True)  # d loss / d z_q with z_q itself as the decoder's input
    decoder(direct).pow(2).sum().backward()
    torch.testing.assert_close(z_e.grad, direct.grad)


def test_codebook_and_commitment_terms_send_their_gradients_to_one_side_each():
    z_e = torch.randn(2, 4, 3, 3, requires_grad=True)
    e = torch.randn(2, 4, 3, 3, requires_grad=True)
    codebook_loss(z_e, e).backward()
    assert z_e.grad is None and e.grad is not None
    e.grad = None
    commitment_loss(z_e, e).backward()
    assert e.grad is None
    # ||z_e - e||² summed over the grid and D, averaged over the batch
    assert commitment_loss(z_e, e).item() == pytest.approx((z_e - e).pow(2).sum().item() / 2, rel=1e-5)


def test_nearest_code_assignment_matches_brute_force():
    torch.manual_seed(0)
    z, codebook = torch.randn(500, 8), torch.randn(32, 8)
    brute = (z.double()[:, None] - codebook.double()[None]).pow(2).sum(-1).argmin(1)  # every distance, in float64
    assert torch.equal(nearest_codes(z, codebook), brute)
    quantizer = VectorQuantizer(32, 8)
    quantizer.codebook.copy_(codebook)
    grid = z[:18].view(2, 3, 3, 8).permute(0, 3, 1, 2)  # (B, D, h, w)
    z_q, indices = quantizer.quantize(grid)
    assert torch.equal(indices.flatten(), brute[:18])
    assert torch.equal(z_q.permute(0, 2, 3, 1).reshape(-1, 8), codebook[brute[:18]])


def test_perplexity_counts_the_codes_in_use():
    assert perplexity(torch.tensor([3, 3, 3, 3]), 8).item() == pytest.approx(1.0)
    assert perplexity(torch.tensor([0, 1, 2, 3]), 8).item() == pytest.approx(4.0)


def test_ema_update_matches_a_hand_computation():
    codebook = torch.tensor([[0.0, 0.0], [10.0, 10.0], [0.0, 1.0]])
    z = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    indices = torch.tensor([0, 0, 2])
    decay, eps = 0.5, 1e-5
    # N = 0.5·[1, 1, 1] + 0.5·[2, 0, 1];  m_0 = 0.5·(0, 0) + 0.5·(4, 0);  m_1 = 0.5·(10, 10);  m_2 = 0.5·(0, 1) + 0.5·(0, 2)
    counts = [1.5, 0.5, 1.0]
    sums = [[2.0, 0.0], [5.0, 5.0], [0.0, 1.5]]
    n = sum(counts)
    smoothed = [(c + eps) / (n + 3 * eps) * n for c in counts]
    expected = torch.tensor([[s / smoothed[k] for s in sums[k]] for k in range(3)])

    size, total, new = ema_codebook_update(torch.ones(3), codebook.clone(), z, indices, decay, eps)
    torch.testing.assert_close(size, torch.tensor(counts))
    torch.testing.assert_close(total, torch.tensor(sums))
    torch.testing.assert_close(new, expected)

    quantizer = VectorQuantizer(3, 2, "ema", decay, eps, dead_after=0)  # the module applies the same step
    quantizer.codebook.copy_(codebook)
    quantizer.code_sum.copy_(codebook)
    assert quantizer.update(z.view(1, 3, 1, 2).permute(0, 3, 1, 2), indices.view(1, 1, 3)) == 0
    torch.testing.assert_close(quantizer.codebook, expected)


@pytest.mark.parametrize("rule", ["ema", "loss"])
def test_dead_codes_restart_from_encoder_outputs_of_the_batch_deterministically(rule):
    def run(seed):
        torch.manual_seed(seed)
        quantizer = VectorQuantizer(4, 2, rule, dead_after=2)
        quantizer.codebook.data.copy_(torch.tensor([[0.0, 0.0], [9.0, 9.0], [-9.0, 9.0], [9.0, -9.0]]))
        if rule == "ema":
            quantizer.code_sum.copy_(quantizer.codebook)
        z = torch.randn(1, 2, 4, 4) * 0.1  # every vector near code 0
        z_q, indices = quantizer.quantize(z)
        assert (indices == 0).all()
        assert quantizer.update(z, indices) == 0  # unused for one step: not dead yet
        assert quantizer.dead_codes(indices).tolist() == [False, True, True, True]
        assert quantizer.update(z, indices) == 3
        return quantizer, z.permute(0, 2, 3, 1).reshape(-1, 2)

    quantizer, candidates = run(0)
    for k in (1, 2, 3):  # each restarted code is one of the batch's encoder outputs
        assert (quantizer.codebook[k] == candidates).all(1).any()
    assert len({tuple(quantizer.codebook[k].tolist()) for k in (1, 2, 3)}) == 3  # distinct rows
    assert quantizer.unused_for.tolist() == [0, 0, 0, 0]
    if rule == "ema":
        assert quantizer.cluster_size[1:].tolist() == [1.0, 1.0, 1.0]
        torch.testing.assert_close(quantizer.code_sum[1:], quantizer.codebook[1:])
    assert torch.equal(run(0)[0].codebook, quantizer.codebook)  # the same seed restarts the same way
    assert not torch.equal(run(1)[0].codebook[1:], quantizer.codebook[1:])


# --- the PixelCNN prior --------------------------------------------------------------------------------------------

def test_pixelcnn_output_depends_on_every_earlier_code_and_on_no_later_one():
    """The gradient of position i's logits w.r.t. the embedded input at position j is zero for j >= i (raster
    order) and non-zero for every j < i: causal, and with no blind spot (the original PixelCNN misses the area up and
    to the right of the current pixel)."""
    torch.manual_seed(0)
    h, w = 5, 5
    net = GatedPixelCNN(num_codes=6, channels=8, layers=6, kernel_size=3, head_channels=16)
    x = net.embed(torch.randint(6, (2, h, w))).detach().requires_grad_(True)
    logits = net.forward_embedded(x)
    for i in range(h):
        for j in range(w):
            (grad,) = torch.autograd.grad(logits[0, :, i, j].sum(), x, retain_graph=True)
            reach = grad[0].abs().sum(0)  # (h, w)
            assert grad[1].abs().sum() == 0  # another image of the batch
            before = torch.arange(h * w).view(h, w) < i * w + j
            assert (reach[~before] == 0).all(), f"({i}, {j}) sees a later position or itself"
            assert (reach[before] > 0).all(), f"({i}, {j}) is blind to {(~(reach > 0) & before).nonzero().tolist()}"


def test_pixelcnn_draws_by_inverting_each_conditional_cdf():
    torch.manual_seed(0)
    net = GatedPixelCNN(num_codes=5, channels=8, layers=2, head_channels=8).eval()
    u = torch.rand(3, 2, 3)
    codes = net.sample(u)
    assert codes.shape == (3, 2, 3) and torch.equal(codes, net.sample(u))
    probabilities = torch.softmax(net(codes), 1)  # the conditionals the draw used (the codes before each are fixed)
    cdf = probabilities.cumsum(1)
    k = codes[:, None]
    below = torch.where(k > 0, cdf.gather(1, (k - 1).clamp_min(0)), torch.zeros_like(u[:, None]))
    assert ((below <= u[:, None] + 1e-6) & (u[:, None] < cdf.gather(1, k) + 1e-6)).all()
    assert (net.sample(torch.zeros(1, 2, 3)) == 0).all()


# --- the model: stages, sampling, resume, refusals ------------------------------------------------------------------

class Snapshots(Callback):
    """Encoder, codebook and prior weights after every training batch."""

    def __init__(self) -> None:
        self.states = []
        self.logged: set[str] = set()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.logged |= set(trainer.logged_metrics)
        self.states.append({name: torch.cat([p.detach().flatten().clone() for p in net.parameters()] +
                                            [b.detach().float().flatten().clone() for b in net.buffers()])
                            for name, net in (("encoder", pl_module.encoder), ("decoder", pl_module.decoder),
                                              ("codebook", pl_module.quantizer), ("prior", pl_module.prior))})


@pytest.mark.parametrize("prior_start", [3, 0.5])
def test_the_vqvae_trains_before_prior_start_and_only_the_prior_after(prior_start, tmp_path):
    seed_everything(0)
    model = _tiny(prior_start=prior_start)
    assert model.optimizer_steps(6) == 6  # one optimiser step per iteration in either stage
    snapshots = Snapshots()
    trainer = tiny_trainer(tmp_path, max_steps=6, max_epochs=-1, callbacks=[snapshots], log_every_n_steps=1)
    trainer.fit(model, datamodule=synthetic_data())
    assert int(model.prior_start_iteration) == (-1 if prior_start == 3 else 3)
    assert [model.in_second_stage(i) for i in range(6)] == [False] * 3 + [True] * 3
    states = snapshots.states
    for i in range(1, 6):
        moved = {name for name in states[i] if not torch.equal(states[i][name], states[i - 1][name])}
        assert moved == ({"encoder", "decoder", "codebook"} if i < 3 else {"prior"}), (i, moved)
    assert {"train/vqvae/perplexity", "train/vqvae/dead_codes", "train/prior/bits_per_code"} <= snapshots.logged
    terms = tiny_trainer(tmp_path, limit_val_batches=1.0).validate(model, synthetic_data(), verbose=False)[0]
    assert {"val/recon", "val/recon_mse", "val/commitment", "val/perplexity", "val/prior_bits_per_code"} <= set(terms)


def test_a_fractional_prior_start_needs_a_run_of_known_length(tmp_path):
    model = _tiny(prior_start=0.5)
    trainer = tiny_trainer(tmp_path, max_steps=-1, max_epochs=-1, limit_train_batches=1)
    with pytest.raises(InvalidArgument, match="fraction of training.*max_steps"):
        trainer.fit(model, datamodule=synthetic_data())


def test_samples_are_reproducible_by_seed_and_in_the_unit_range():
    torch.manual_seed(0)
    model = _tiny()
    first = model.sample(5, seed=3)
    assert first.shape == (5, 1, 28, 28) and 0 <= first.min() <= first.max() <= 1
    assert torch.equal(first, model.sample(5, seed=3))
    assert not torch.equal(first, model.sample(5, seed=4))
    z = model.sample_latent(5, torch.Generator().manual_seed(3))
    assert z.shape == (5, 49) and 0 <= z.min() and z.max() < 1
    assert torch.equal(model.sample(5, z=z), first)  # the latent is the uniforms the prior draws its codes at
    codes = model.encode(torch.rand(2, 1, 28, 28) * 2 - 1)
    assert codes.shape == (2, 7, 7) and codes.dtype == torch.long
    with pytest.raises(InvalidArgument, match=r"latents \(n, 49\).*decode_codes"):
        model.sample(2, z=torch.rand(2, 10))


def _fit(tmp_path, iterations, resume_from=None, save_to=None):
    seed_everything(0)
    model = _tiny(prior_start=6)  # dead_after=2: restarts draw from the global RNG in stage 1
    trainer = tiny_trainer(tmp_path, max_steps=model.optimizer_steps(iterations), max_epochs=-1)
    trainer.fit(model, datamodule=synthetic_data(), ckpt_path=resume_from)
    assert model.iteration == iterations
    if save_to:
        trainer.save_checkpoint(save_to)
    return model, trainer


@pytest.mark.parametrize("stop", [4, 9])  # stopped in stage 1 and in stage 2
def test_a_resumed_run_continues_bit_for_bit_across_the_stage_boundary(stop, tmp_path):
    straight, straight_trainer = _fit(tmp_path / "a", 12)
    _fit(tmp_path / "b", stop, save_to=tmp_path / "stop.ckpt")
    resumed, resumed_trainer = _fit(tmp_path / "c", 12, resume_from=tmp_path / "stop.ckpt")
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), f"{key} differs after resume"
    assert len(straight_trainer.optimizers) == len(resumed_trainer.optimizers) == 2
    for a, b in zip(straight_trainer.optimizers, resumed_trainer.optimizers):
        assert len(a.state) == len(b.state) > 0
        for pa, pb in zip(a.state.values(), b.state.values()):
            assert all(torch.equal(pa[k], pb[k]) for k in pa if torch.is_tensor(pa[k]))
    assert straight.sample(4, seed=0).equal(resumed.sample(4, seed=0))


def test_the_negative_elbo_is_the_bernoulli_cost_plus_minus_log_prior_of_the_codes_by_brute_force():
    torch.manual_seed(0)
    model = _tiny().eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    terms = model.elbo_terms(x)
    codes = model.encode(x)
    log_p = torch.log_softmax(model.prior(codes).float(), dim=1)  # (B, K, 7, 7)
    minus_log_prior = -sum(log_p[b, codes[b, i, j], i, j] for b in range(3) for i in range(7) for j in range(7)) / 3
    logits = model.decoder(model.quantizer.lookup(codes)).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, (x + 1) / 2, reduction="sum") / 3
    torch.testing.assert_close(terms["kl"], minus_log_prior, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(terms["recon"], bce, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(terms["nelbo"], bce + minus_log_prior, rtol=1e-5, atol=1e-3)
    with pytest.raises(NoLikelihood, match="reconstruction 'squared' has no -ELBO.*reconstruction: bernoulli"):
        _tiny(reconstruction="squared").elbo_terms(x)


def test_a_float16_release_is_checked_on_the_decoder_and_prior_outputs_not_on_drawn_codes(tmp_path):
    """Rounding the weights moves the PixelCNN's probabilities a little, and a little is enough to flip a drawn
    code (and every later one of its grid), so zoo publish compares what the weights compute continuously."""
    from zoo.cli import main

    model, _ = _fit(tmp_path / "run", 12, save_to=tmp_path / "run.ckpt")
    probe = model.rounding_probe(8, seed=0)
    assert probe.shape == (8, 28 * 28 + 16 * 49) and 0 <= probe.min() and probe.max() <= 1
    assert torch.equal(probe, model.rounding_probe(8, seed=0)) and model.training
    probabilities = probe[:, 28 * 28:].view(8, 16, 7, 7)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(8, 7, 7))  # p(k | k_<i) over the 16 codes
    with torch.no_grad():  # the probe sees the prior: a nudge to its weights moves it, slightly
        for parameter in model.prior.parameters():
            parameter.mul_(1.001)
    moved = (model.rounding_probe(8, seed=0) - probe)[:, 28 * 28:].abs().max().item()
    assert 0 < moved < 0.02
    main(["publish", "--ckpt", str(tmp_path / "run.ckpt"), "--which", "last", "--name", "tiny_vq", "--out",
          str(tmp_path / "release"), "--metrics", "none", "--weights-dtype", "float16"])
    training = json.loads((tmp_path / "release" / "tiny_vq.entry.json").read_text())["tiny_vq"]["training"]
    assert training["rounding_probe"] == VQVAE.ROUNDING_PROBE and 0 < training["largest_sample_difference"] < 0.02
    assert f"{VQVAE.ROUNDING_PROBE} within" in (tmp_path / "release" / "tiny_vq.md").read_text()
    released = zoo.load(tmp_path / "release" / "tiny_vq.ckpt")
    assert released.sample(4, seed=1).shape == (4, 1, 28, 28)


def test_interpolation_and_latent_arithmetic_are_refused_with_the_reason(tmp_path):
    model = _tiny()
    assert applicable_modes(model) == ("plain", "reconstruct", "neighbours")
    with pytest.raises(SamplerNotApplicable, match="interpolate does not apply to VQVAE: its latent is the uniform "
                                                   "noise.*modes that apply: plain, reconstruct, neighbours"):
        interpolation_strips(model, 2, 3)
    images, labels = torch.rand(6, 1, 28, 28) * 2 - 1, torch.tensor([0, 0, 1, 1, 2, 2])
    with pytest.raises(SamplerNotApplicable, match="arithmetic does not apply to VQVAE: its codes are indices"):
        latent_arithmetic(model, images, labels, 0, 1, 2)

    trainer = tiny_trainer(tmp_path, max_steps=1)
    trainer.fit(model, datamodule=synthetic_data())
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    for mode in ("interpolate", "arithmetic"):
        code, stderr = run_in_process(["sample", "--ckpt", str(tmp_path / "m.ckpt"), "--mode", mode,
                                       "--out", str(tmp_path / f"{mode}.png")])
        assert code != 0 and f"{mode} does not apply to VQVAE" in stderr and "Traceback" not in stderr, stderr
    code, stderr = run_in_process(["sample", "--ckpt", str(tmp_path / "m.ckpt"), "--n", "4",
                                   "--out", str(tmp_path / "plain.png")])
    assert code == 0 and (tmp_path / "plain.png").is_file(), stderr


@pytest.mark.parametrize("arguments, message", [
    ({"codebook_size": 0}, "codebook_size must be >= 1, got 0"),
    ({"commitment": -0.1}, "commitment must be >= 0, got -0.1"),
    ({"decay": 1.0}, r"decay must be in \[0, 1\), got 1.0"),
    ({"codebook": "kmeans"}, "unknown codebook update 'kmeans'; choose one of"),
    ({"prior_start": 0}, "prior_start must be > 0"),
    ({"prior_start": 2.5}, "prior_start from 1 on counts iterations and must be a whole number"),
])
def test_bad_arguments_are_refused_naming_the_argument(arguments, message):
    with pytest.raises(InvalidArgument, match=message):
        _tiny(**arguments)


# --- learning on real data -----------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.ci
@needs_fashion_mnist
def test_reconstruction_falls_and_codes_are_used_on_fashion_mnist(tmp_path):
    seed_everything(0)
    data = fashion_mnist(batch_size=32, train_subset=3200, val_size=256)
    model = zoo.create("vqvae", codebook_size=32, embedding_dim=8, dead_after=20, prior_start=100, prior_optimizer={
                           "class_path": "torch.optim.Adam", "init_args": {"lr": 3e-3}},
                       encoder={"class_path": "zoo.nets.vqvae.VQEncoder", "init_args": {"hidden_channels": 32}},
                       decoder={"class_path": "zoo.nets.vqvae.VQDecoder", "init_args": {"hidden_channels": 32}},
                       prior={"class_path": "zoo.nets.pixelcnn.GatedPixelCNN",
                              "init_args": {"channels": 16, "layers": 4, "head_channels": 32}},
                       optimizer={"class_path": "torch.optim.Adam", "init_args": {"lr": 1e-3}})
    validate = lambda: tiny_trainer(tmp_path, limit_val_batches=1.0).validate(model, data, verbose=False)[0]  # noqa: E731
    before = validate()
    tiny_trainer(tmp_path, max_steps=100, max_epochs=-1).fit(model, datamodule=data)  # stage 1
    trained = validate()
    assert trained["val/recon"] < 0.6 * before["val/recon"], (before, trained)
    assert trained["val/perplexity"] > 8, trained  # dead codes were restarted: many codes carry the images
    tiny_trainer(tmp_path, max_steps=60, max_epochs=-1).fit(model, datamodule=data)  # stage 2 goes on from 100
    after = validate()
    assert after["val/recon"] == trained["val/recon"]  # the prior's stage leaves encoder, codes and decoder alone
    assert after["val/prior_bits_per_code"] < trained["val/prior_bits_per_code"] - 0.25, (trained, after)

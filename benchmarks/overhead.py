"""Steps per second of zoo's DCGAN (Lightning, manual optimisation) against a hand-written PyTorch loop.

Both train the same nets (DCGAN-28, base 64 channels) on the same Fashion-MNIST batches (64 images) with the same
algorithm: one generated batch per iteration, a D step on it detached, a G step through the updated D with D's
parameters frozen. Runs alternate (zoo, plain, zoo, plain, ...) so machine load hits both alike; the first
iterations of every run are warm-up and not timed. Target: zoo / plain >= 0.97.

    python benchmarks/overhead.py [--iterations 150] [--rounds 3] [--precision 32|bf16-mixed]
"""

import argparse
import statistics
import time

import lightning as L
import torch
import torch.nn.functional as F

import zoo
from datamodules import FashionMNISTDataModule

WARMUP = 10


class IterationTimer(L.Callback):
    """Times training batches after the warm-up ones."""

    def __init__(self) -> None:
        self.start = self.end = None
        self.timed = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if pl_module.iteration == WARMUP:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.iteration > WARMUP:
            self.end, self.timed = time.perf_counter(), pl_module.iteration - WARMUP


def zoo_run(data, iterations: int, precision: str) -> float:
    torch.manual_seed(0)
    model = zoo.create("dcgan", image_shape=data.image_shape)
    timer = IterationTimer()
    trainer = L.Trainer(
        accelerator="cpu", max_steps=2 * (iterations + WARMUP), precision=precision, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
        callbacks=[timer],
    )
    trainer.fit(model, datamodule=data)
    return timer.timed / (timer.end - timer.start)


def plain_run(data, iterations: int, precision: str) -> float:
    torch.manual_seed(0)
    model = zoo.create("dcgan", image_shape=data.image_shape)  # the same nets, used as plain modules
    generator, discriminator = model.generator, model.discriminator
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    data.setup("fit")
    batches = iter(_forever(data.train_dataloader()))
    for step in range(iterations + WARMUP):
        if step == WARMUP:
            start = time.perf_counter()
        real = next(batches)[0]
        with autocast:
            fake = torch.tanh(generator(torch.randn(real.shape[0], 100)))
            real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
            d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
                F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        discriminator.requires_grad_(False)
        with autocast:
            logits = discriminator(fake)
            g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        discriminator.requires_grad_(True)
    return iterations / (time.perf_counter() - start)


def _forever(loader):
    while True:
        yield from loader


def loader_throughput(data, seconds: float = 2.0) -> float:
    data.setup("fit")
    count, start = 0, time.perf_counter()
    for images, _ in _forever(data.train_dataloader()):
        count += images.shape[0]
        if time.perf_counter() - start > seconds:
            return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision", default="32", choices=["32", "bf16-mixed"])
    args = parser.parse_args()
    data = FashionMNISTDataModule(batch_size=64)
    zoo_rates, plain_rates = [], []
    for round_ in range(args.rounds):
        zoo_rates.append(zoo_run(data, args.iterations, args.precision))
        plain_rates.append(plain_run(data, args.iterations, args.precision))
        print(f"round {round_ + 1}: zoo {zoo_rates[-1]:.2f} it/s, plain PyTorch {plain_rates[-1]:.2f} it/s", flush=True)
    zoo_rate, plain_rate = statistics.median(zoo_rates), statistics.median(plain_rates)
    print(f"\nDCGAN-28, batch 64, precision {args.precision}, {torch.get_num_threads()} threads, "
          f"{args.iterations} timed iterations x {args.rounds} rounds (medians)")
    print(f"zoo (Lightning):  {zoo_rate:8.2f} iterations/s")
    print(f"plain PyTorch:    {plain_rate:8.2f} iterations/s")
    print(f"ratio zoo/plain:  {zoo_rate / plain_rate:8.3f}   (target >= 0.97)")
    supply = loader_throughput(data)
    print(f"data module:      {supply:10.0f} images/s supplied vs {zoo_rate * 64:.0f} images/s consumed "
          f"({supply / (zoo_rate * 64):.0f}x headroom)")


if __name__ == "__main__":
    main()

"""Steps per second of zoo's DCGAN (Lightning, manual optimisation) against a hand-written PyTorch loop.

Both train the same nets (DCGAN-28, base 64 channels) on the same Fashion-MNIST batches (64 images) with the same
algorithm: one generated batch per iteration, a D step on it detached, a G step through the updated D with D's
parameters frozen. Runs alternate (zoo, plain, zoo, plain, ...) so machine load hits both alike; the first
iterations of every run are warm-up and not timed, and each rate is one over the median time of a batch (data
loading included). Target: zoo / plain >= 0.97.

    python benchmarks/overhead.py [--iterations 150] [--rounds 5] [--precision 32|bf16-mixed]
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
    """Records the wall time of every training batch after the warm-up ones (start of one batch to the next)."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.durations: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        now = time.perf_counter()
        if self.last is not None and pl_module.iteration > WARMUP:
            self.durations.append(now - self.last)
        self.last = now


def zoo_run(data, iterations: int, precision: str) -> list[float]:
    torch.manual_seed(0)
    model = zoo.create("dcgan", image_shape=data.image_shape)
    timer = IterationTimer()
    trainer = L.Trainer(
        accelerator="cpu", max_steps=2 * (iterations + WARMUP + 1), precision=precision, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
        callbacks=[timer],
    )
    trainer.fit(model, datamodule=data)
    return timer.durations


def plain_run(data, iterations: int, precision: str) -> list[float]:
    torch.manual_seed(0)
    model = zoo.create("dcgan", image_shape=data.image_shape)  # the same nets, used as plain modules
    generator, discriminator = model.generator, model.discriminator
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    data.setup("fit")
    batches = iter(_forever(data.train_dataloader()))
    durations, last = [], None
    for step in range(iterations + WARMUP + 1):
        now = time.perf_counter()
        if step > WARMUP:
            durations.append(now - last)
        last = now
        if step == iterations + WARMUP:
            break
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
    return durations


def _rate(durations: list[float]) -> float:
    """Iterations per second from the median batch time: robust to the passing load of a shared machine, which
    moves a mean over a whole run by more than the few per cent this benchmark resolves."""
    return 1.0 / statistics.median(durations)


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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--precision", default="32", choices=["32", "bf16-mixed"])
    args = parser.parse_args()
    data = FashionMNISTDataModule(batch_size=64)
    zoo_times, plain_times = [], []
    for round_ in range(args.rounds):
        zoo_times += zoo_run(data, args.iterations, args.precision)
        plain_times += plain_run(data, args.iterations, args.precision)
        print(f"round {round_ + 1}: zoo {_rate(zoo_times):.2f} it/s, plain PyTorch {_rate(plain_times):.2f} it/s "
              "(medians so far)", flush=True)
    zoo_rate, plain_rate = _rate(zoo_times), _rate(plain_times)
    print(f"\nDCGAN-28, batch 64, precision {args.precision}, {torch.get_num_threads()} threads, "
          f"{args.iterations} timed iterations x {args.rounds} rounds (1 / median iteration time)")
    print(f"zoo (Lightning):  {zoo_rate:8.2f} iterations/s")
    print(f"plain PyTorch:    {plain_rate:8.2f} iterations/s")
    print(f"ratio zoo/plain:  {zoo_rate / plain_rate:8.3f}   (target >= 0.97)")
    supply = loader_throughput(data)
    print(f"data module:      {supply:10.0f} images/s supplied vs {zoo_rate * 64:.0f} images/s consumed "
          f"({supply / (zoo_rate * 64):.0f}x headroom)")


if __name__ == "__main__":
    main()

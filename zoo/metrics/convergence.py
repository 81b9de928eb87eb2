"""When a published model counts as trained to convergence: read off the run's own quality curve.

The rule (zoo's, written down for every published checkpoint): a run has converged when the **last fifth** of its
iterations improved the best FID by less than **5 %**::

    improvement = (best FID before 0.8 T - best FID from 0.8 T on) / best FID before 0.8 T  <  0.05

with T the run's last iteration and the FID the one :class:`~zoo.callbacks.QualityMetrics` logs during training
(``val/fid[fmnist-classifier]``: 1000 samples against 1000 validation images on the shipped classifier, so values
are biased upwards but comparable over the run). A curve with fewer than ``MIN_POINTS`` points, or none in the last
fifth, cannot show convergence and is reported as such.
"""

import csv
import math
from dataclasses import dataclass
from pathlib import Path

TAIL = 0.2  # the last fifth of the run
TOLERANCE = 0.05  # less than 5 % better in the tail: converged
MIN_POINTS = 4
RULE = (f"converged when the last {TAIL:.0%} of the iterations improved the best logged FID by less than "
        f"{TOLERANCE:.0%}")


@dataclass(frozen=True)
class Convergence:
    """The verdict on one quality curve (``points``: (iteration, FID) pairs in iteration order)."""

    metric: str
    points: tuple[tuple[int, float], ...]
    improvement: float | None  # relative improvement of the best FID in the tail; None: the curve is too short
    converged: bool

    def summary(self) -> dict:
        """What a model card and the registry entry record."""
        best = min(self.points, key=lambda p: p[1]) if self.points else None
        return {
            "rule": RULE,
            "metric": self.metric,
            "points": len(self.points),
            "first": _point(self.points[0]) if self.points else None,
            "best": _point(best) if best else None,
            "last": _point(self.points[-1]) if self.points else None,
            "tail_improvement": None if self.improvement is None else round(self.improvement, 4),
            "converged": self.converged,
        }


def _point(point: tuple[int, float]) -> dict:
    return {"iteration": point[0], "fid": round(point[1], 4)}


def judge(points: list[tuple[int, float]], metric: str = "val/fid[fmnist-classifier]") -> Convergence:
    """Apply the rule to ``points`` ((iteration, FID) pairs, any order)."""
    points = sorted((int(i), float(v)) for i, v in points if math.isfinite(float(v)))
    if len(points) < MIN_POINTS:
        return Convergence(metric, tuple(points), None, False)
    cut = points[-1][0] * (1 - TAIL)
    before = [v for i, v in points if i < cut]
    tail = [v for i, v in points if i >= cut]
    if not before or not tail:
        return Convergence(metric, tuple(points), None, False)
    improvement = (min(before) - min(tail)) / min(before)
    return Convergence(metric, tuple(points), improvement, improvement < TOLERANCE)


def quality_curve(metrics_csv: str | Path, metric: str = "val/fid[fmnist-classifier]") -> list[tuple[int, float]]:
    """The (iteration, value) points of ``metric`` in a run's ``metrics.csv`` (Lightning's CSV logger; zoo logs
    quality at ``step`` = training iteration). A resumed run's repeated iterations keep their last value."""
    values: dict[int, float] = {}
    with open(metrics_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get(metric):
                values[int(row["step"])] = float(row[metric])
    return sorted(values.items())


def run_convergence(run_folder: str | Path, metric: str = "val/fid[fmnist-classifier]") -> Convergence | None:
    """The verdict for a ``zoo fit`` run folder (the one holding ``metrics.csv``); None when it logged no curve."""
    path = Path(run_folder) / "metrics.csv"
    return logs_convergence([path], metric) if path.is_file() else None


def logs_convergence(logs: list[str | Path], metric: str = "val/fid[fmnist-classifier]") -> Convergence | None:
    """The verdict for one run logged in several ``metrics.csv`` files, in order (a run resumed with ``--ckpt_path``
    logs each leg in a new version folder; a later leg's value replaces an earlier one at the same iteration)."""
    points: dict[int, float] = {}
    for log in logs:
        points.update(quality_curve(log, metric))
    return judge(list(points.items()), metric) if points else None

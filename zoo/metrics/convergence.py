"""What a run's own quality curve did, read off its logged FID: still improving, converged, or peaked.

The rule (zoo's, written down for every published checkpoint), with T the run's last iteration and "best" the
lowest FID of a stretch of the curve::

    improvement = (best before 0.8 T - best from 0.8 T on) / best before 0.8 T

- **improving** (not converged) when ``improvement >= 5 %``: the last fifth still beat the earlier best clearly;
- **peaked** when ``improvement <= -5 %``: even the best of the last fifth is more than 5 % worse than the earlier
  best, so training went past its peak; the published weights are the peak's (``best.ckpt``) and the verdict
  reports the later decline, ``(last FID - best FID) / best FID``;
- **converged** otherwise: a flat tail, within 5 % of the best either way;
- **too short** with fewer than ``MIN_POINTS`` points, or fewer than ``MIN_TAIL_POINTS`` in the last fifth.

The FID is the one :class:`~zoo.callbacks.QualityMetrics` logs during training (``val/fid[fmnist-classifier]``: 1000
samples against 1000 validation images on the shipped classifier, biased upwards but comparable over the run).
Why at least 8 points with 2 in the tail: one evaluation of 1000 samples moves by a few percent from seed to seed,
as much as the tolerance, so no verdict may rest on a single point of the tail; and with evenly spaced evaluations
8 points are the fewest that leave 2 in the last fifth while the head still shows the curve's descent (start plus
5 evaluations). A 4-point curve (a 3-epoch demo) is no evidence either way.
"""

import csv
import math
from dataclasses import dataclass
from pathlib import Path

TAIL = 0.2  # the last fifth of the run
TOLERANCE = 0.05  # within 5 % of the earlier best, either way: converged
MIN_POINTS = 8
MIN_TAIL_POINTS = 2
IMPROVING, CONVERGED, PEAKED, TOO_SHORT = "improving", "converged", "peaked", "too short"
PUBLISHABLE = (CONVERGED, PEAKED)  # training is over: a flat tail, or a peak kept by best.ckpt
RULE = (f"over the last {TAIL:.0%} of the iterations the best logged FID improved by {TOLERANCE:.0%} or more: "
        f"improving; got worse by more than {TOLERANCE:.0%}: peaked (published at the best); otherwise converged; "
        f"at least {MIN_POINTS} points, {MIN_TAIL_POINTS} in the last {TAIL:.0%}")


@dataclass(frozen=True)
class Convergence:
    """The verdict on one quality curve (``points``: (iteration, FID) pairs in iteration order)."""

    metric: str
    points: tuple[tuple[int, float], ...]
    improvement: float | None  # relative improvement of the best FID in the tail; None: the curve is too short
    verdict: str

    @property
    def converged(self) -> bool:
        """A flat tail (not a peak, not still improving)."""
        return self.verdict == CONVERGED

    @property
    def publishable(self) -> bool:
        """Training is over: converged, or peaked (the best weights are then the ones to publish)."""
        return self.verdict in PUBLISHABLE

    @property
    def best(self) -> tuple[int, float] | None:
        """The (iteration, FID) of the lowest FID of the curve (the earliest, on a tie)."""
        return min(self.points, key=lambda p: p[1]) if self.points else None

    @property
    def decline(self) -> float | None:
        """How much worse the last point is than the best, relative to the best (0 when the last is the best)."""
        if not self.points:
            return None
        best = self.best[1]
        return (self.points[-1][1] - best) / best if best > 0 else 0.0

    def explain(self) -> str:
        """One phrase for a card, a table or a progress line."""
        return explain(self.summary())

    def summary(self) -> dict:
        """What a model card and the registry entry record."""
        return {
            "rule": RULE,
            "metric": self.metric,
            "points": len(self.points),
            "first": _point(self.points[0]) if self.points else None,
            "best": _point(self.best) if self.points else None,
            "last": _point(self.points[-1]) if self.points else None,
            "tail_improvement": None if self.improvement is None else round(self.improvement, 4),
            "decline": None if self.decline is None else round(self.decline, 4),
            "verdict": self.verdict,
            "converged": self.converged,
        }


def verdict_of(summary: dict) -> str:
    """The verdict of a recorded :meth:`Convergence.summary`; summaries written before verdicts had names are judged
    again from their tail improvement and point count (the same rule, minus the tail's point count)."""
    if summary.get("verdict"):
        return summary["verdict"]
    gain = summary.get("tail_improvement")
    if gain is None or summary.get("points", 0) < MIN_POINTS:
        return TOO_SHORT
    return IMPROVING if gain >= TOLERANCE else PEAKED if gain <= -TOLERANCE else CONVERGED


def explain(summary: dict) -> str:
    """The verdict of a recorded summary in one phrase, with the numbers behind it."""
    verdict, gain = verdict_of(summary), summary.get("tail_improvement")
    best, last = summary.get("best") or {}, summary.get("last") or {}
    if verdict == TOO_SHORT:
        return (f"too short to judge ({summary.get('points', 0)} points; the rule needs {MIN_POINTS}, "
                f"{MIN_TAIL_POINTS} in the last fifth)")
    if verdict == IMPROVING:
        return f"still improving: the last fifth improved the best FID by {gain:.1%}"
    if verdict == PEAKED:
        decline = (last["fid"] - best["fid"]) / best["fid"] if best.get("fid") else 0.0
        return (f"peaked at iteration {best['iteration']}: the best of the last fifth was {-gain:.1%} worse than the "
                f"best FID, the last point {decline:.1%} worse")
    return (f"converged: the last fifth improved the best FID by {gain:.1%}" if gain > 0
            else f"converged: the last fifth stayed within {-gain:.1%} of the best FID")


def _point(point: tuple[int, float]) -> dict:
    return {"iteration": point[0], "fid": round(point[1], 4)}


def judge(points: list[tuple[int, float]], metric: str = "val/fid[fmnist-classifier]") -> Convergence:
    """Apply the rule to ``points`` ((iteration, FID) pairs, any order; non-finite values are left out)."""
    points = sorted((int(i), float(v)) for i, v in points if math.isfinite(float(v)))
    if len(points) < MIN_POINTS:
        return Convergence(metric, tuple(points), None, TOO_SHORT)
    cut = points[-1][0] * (1 - TAIL)
    before = [v for i, v in points if i < cut]
    tail = [v for i, v in points if i >= cut]
    if not before or len(tail) < MIN_TAIL_POINTS:
        return Convergence(metric, tuple(points), None, TOO_SHORT)
    improvement = (min(before) - min(tail)) / min(before)
    verdict = IMPROVING if improvement >= TOLERANCE else PEAKED if improvement <= -TOLERANCE else CONVERGED
    return Convergence(metric, tuple(points), improvement, verdict)


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

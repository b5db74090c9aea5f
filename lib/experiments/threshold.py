"""The stopping threshold, derived rather than chosen.

An 8-bit output is the pipeline's value rounded to the nearest gray level. A prediction off by e changes that
level only for a target lying within |e| of a rounding boundary (k + 0.5)/255, on the side the error points to. If
the pipeline's values fall evenly between levels, a share ~2t of its pixels lies within t of a boundary (measured:
:func:`boundary_table`), so a pixel off by e < 1 level lands on a wrong level with probability ~e, and the share of
wrong 8-bit pixels is ~ the mean error in gray levels (:func:`rounding_check`). Training lowers that share until the
error reaches the floor of float32 arithmetic; from there on the 8-bit output stops changing (by less than one
pixel in 100,000 over the rest of a run). The threshold this
module derives from one run's history (:func:`costs`, :func:`derived_tolerance`) is the loosest at which it has.
"""

import math

import pandas as pd
import torch

from lib.core import metrics
from lib.core.stopping import first_firing, tolerance_costs

DISTANCES = (0.5, 0.1, 0.03, 0.01, 0.001)  # gray levels from a rounding boundary
TOLERANCES = (0.1, 0.03, 0.01, 0.005, 0.003, 0.001)  # tolerance rules whose cost is read off a run
PLATEAU_PCT = 0.001  # "stopped changing": the rest of the run moves the wrong share by less than 1 pixel in 100,000


def boundary_table(targets: torch.Tensor, distances=DISTANCES) -> pd.DataFrame:
    """The share of the pipeline's pixels within each distance of a rounding boundary, beside 2t."""
    return pd.DataFrame([
        {"within (gray levels)": t, "pixels (%)": 100 * metrics.boundary_share(targets, t), "2t (%)": 200 * t}
        for t in distances
    ])  # fmt: skip


def rounding_check(runs: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """The argument against measurement: for each run (label -> (mean error in gray levels, measured share of pixels
    at a wrong 8-bit level in percent)) the share it predicts, the mean error (below one level)."""
    return pd.DataFrame([
        {"run": label, "mean error (gray levels)": mae, "predicted wrong 8-bit (%)": 100 * min(mae, 1.0),
         "measured wrong 8-bit (%)": wrong}
        for label, (mae, wrong) in runs.items() if math.isfinite(mae)
    ])  # fmt: skip


def costs(history: list[dict], tolerances=TOLERANCES) -> pd.DataFrame:
    """What each rule would have cost on one run and left wrong: the mean rule, each tolerance rule, and the run's
    last epoch (the whole budget): epoch, images seen, seconds, and the share of validation pixels at a wrong
    8-bit level then."""
    mean = first_firing(history, "mean")
    last = history[-1]
    rows = [
        {"rule": "mean (the baseline recipe's)", "epoch": mean and mean["epoch"], "images": mean and mean["images"],
         "seconds": mean and mean["seconds"], "wrong_level_pct": mean and 100 * (1 - mean["val_exact8"])},
        *({"rule": f"tolerance {c['tolerance_gray']:g}", **{k: c[k] for k in ("epoch", "images", "seconds",
                                                                               "wrong_level_pct")}}
          for c in tolerance_costs(history, list(tolerances))),
        {"rule": "whole budget", "epoch": last["epoch"], "images": last["images"], "seconds": last["seconds"],
         "wrong_level_pct": 100 * (1 - last["val_exact8"])},
    ]  # fmt: skip
    return pd.DataFrame(rows)


def derived_tolerance(history: list[dict], tolerances=TOLERANCES) -> float | None:
    """The loosest tolerance whose rule, in this run, fires with a wrong 8-bit share less than :data:`PLATEAU_PCT`
    (percentage points) above the share at the run's last epoch: where the 8-bit output has stopped changing, the
    rest of the budget changing fewer than one pixel in 100,000. None when none has."""
    floor = 100 * (1 - history[-1]["val_exact8"])
    met = [c for c in tolerance_costs(history, list(tolerances)) if c["epoch"] is not None]
    plateau = [c["tolerance_gray"] for c in met if c["wrong_level_pct"] - floor < PLATEAU_PCT]
    return max(plateau) if plateau else None

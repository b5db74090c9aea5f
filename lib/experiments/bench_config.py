"""What a benchmark run takes: its configuration, the images and the models it times."""

from dataclasses import dataclass, field
from pathlib import Path

import torch

from lib import paths
from lib.core import banded, constants, data, models, spec
from lib.core.pipeline import TARGET_SPEC
from lib.experiments.routes import BANDED, ORACLES, UNTRAINED


@dataclass
class BenchConfig:
    """What the benchmark sweeps; the defaults are the report's full configuration."""

    n_images: int = 10_000  # test images transformed per timed run
    repeats: int = 5  # timed runs per row timed in rounds (median and quartiles reported)
    dataloader_repeats: int = 3  # timed runs per DataLoader row (one after another)
    warmup: int = 1  # untimed runs first
    batch_sizes: list[int] = field(default_factory=lambda: [1, 16, 64, 256, 1024])  # DataLoader batch sizes
    small_batch: int = 1  # DataLoader batch sizes up to this one run on small_batch_images images ...
    small_batch_images: int = 1_000  # ... and their time is scaled to n_images
    # a GPU runs the pipeline image by image on this many images, its time scaled to n_images: a Python loop of a few
    # small kernel launches an image takes the same time for each image, and every round would run it all again
    gpu_loop_images: int = 1_000
    num_workers: list[int] = field(default_factory=lambda: [0, 2])  # DataLoader worker processes
    # the model swept through the DataLoader over batch size, workers and pin_memory (its untrained stand-in on a
    # machine without saved models); the others go through it once, at the largest batch size without workers (each
    # configuration starts its worker processes anew, and the sweep's cost is the loader's). "" or a model not timed:
    # every model is swept
    loader_model: str = "separable"
    pin_memory: list[bool] = field(default_factory=lambda: [False, True])  # DataLoader pinning (GPU rows only)
    chunk_sizes: list[int] = field(default_factory=lambda: [256, 1024, 10_000])  # fast-path slices
    devices: list[str] = field(default_factory=lambda: ["cpu", "cuda"])  # cuda rows only where available
    # untimed runs of a route right before each of its timed runs in rounds: torch's OpenMP workers spin for
    # several ms after each parallel operation, sharing the cores with the next route (on the 2-core machine the
    # fused loop took 9.5 ms right after the pipeline on uint8, 5.3 ms after one run of itself)
    lead_in: int = 1
    slow_s: float = 3.0  # a DataLoader configuration whose warm-up takes longer gets timing.SLOW_REPEATS runs
    compile: bool = True  # also time the fast path through torch.compile (left out where it fails)
    pipeline: str = constants.TARGET  # the pipeline the models reproduce (lib.core.spec); Pillow rows: the target's

    def __post_init__(self) -> None:
        spec.parse(self.pipeline)  # a clear error for a bad pipeline before any work
        sizes = {"batch_sizes": self.batch_sizes, "chunk_sizes": self.chunk_sizes}
        runs = (self.n_images, self.repeats, self.dataloader_repeats, self.small_batch_images, self.gpu_loop_images)
        if min(runs) < 1 or self.warmup < 0:
            raise ValueError("need n_images, repeats, dataloader_repeats, small_batch_images, gpu_loop_images >= 1 "
                             f"and warmup >= 0; got {', '.join(map(str, runs))} and {self.warmup}")  # fmt: skip
        for name, values in sizes.items():
            if not values or min(values) < 1:
                raise ValueError(f"{name} must be a non-empty list of sizes >= 1, got {values}")
        if self.lead_in < 0:
            raise ValueError(f"lead_in is a number of untimed runs >= 0, got {self.lead_in}")
        if not self.num_workers or min(self.num_workers) < 0:
            raise ValueError(f"num_workers must be a non-empty list of counts >= 0, got {self.num_workers}")
        unknown = set(self.devices) - {"cpu", "cuda"}
        if not self.devices or unknown:
            raise ValueError(f"devices must be among 'cpu' and 'cuda', got {self.devices}")

    @property
    def transform(self) -> spec.Spec:
        """The pipeline, parsed (once per text: lib.core.spec.parse keeps it)."""
        return spec.parse(self.pipeline)

    @property
    def is_target(self) -> bool:
        """Whether the pipeline is the assignment's target pipeline (the Pillow baseline reproduces only that one)."""
        return self.transform.steps == TARGET_SPEC.steps

    def images_timed(self, batch_size: int) -> int:
        """Images one timed run of a DataLoader row of this batch size goes through."""
        return min(self.n_images, self.small_batch_images) if batch_size <= self.small_batch else self.n_images

    def loop_images(self, device: str) -> int:
        """Images one timed run of the pipeline image by image goes through on ``device``: all on the CPU (the
        baseline), at most ``gpu_loop_images`` elsewhere."""
        return self.n_images if device == "cpu" else min(self.n_images, self.gpu_loop_images)

    def loader_swept(self, names) -> set[str]:
        """Which of the models ``names`` the DataLoader sweeps over every configuration (see ``loader_model``)."""
        swept = {n for n in names if self.loader_model and n.removesuffix(UNTRAINED) == self.loader_model}
        return swept or set(names)

    def live_devices(self) -> list[str]:
        """The devices asked for that this machine has: cuda only where a GPU is present."""
        return [d for d in self.devices if d == "cpu" or (d == "cuda" and torch.cuda.is_available())]


def load_images(data_dir: str | Path | None, n: int) -> tuple[torch.Tensor, str]:
    """``n`` uint8 test images (N, 3, 32, 32); uniform noise when no data set is found (timing does
    not depend on pixel values, and a GPU machine may have no copy of the data)."""
    if data_dir is not None and data.detect(paths.resolve(data_dir)) is not None:
        split = data.load_split(data_dir, "test")
        if len(split.images) < n:
            raise ValueError(f"asked for {n} images, the test split has {len(split.images)}")
        return split.images[:n], f"{split.source}: {paths.shown(data_dir)}"
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen), "synthetic uniform noise"


def load_models(models_dir: str | Path, names: list[str] | None = None) -> dict[str, torch.nn.Module]:
    """The saved models ``names`` (every ``*.pt`` when None) in ``models_dir``, by file stem, in eval mode
    and frozen: parameters that require gradients made the separable model's products 1.3-1.5x slower
    even under inference mode. Timing does not depend on the weights, so runs of one architecture with
    other weights need not be timed twice; ``routes.model_label`` says which architecture each file holds."""
    folder = Path(paths.resolve(models_dir))
    files = [folder / f"{n}.pt" for n in names] if names is not None else sorted(folder.glob("*.pt"))
    missing = [f.name for f in files if not f.is_file()]
    if not files or missing:
        raise FileNotFoundError(
            f"no saved models {missing or ''} in {paths.shown(folder)}; run notebooks/01_train.ipynb (make train) first"
        )
    return {f.stem: models.load(f).requires_grad_(False) for f in files}


def fresh_models(
    names: tuple[str, ...] = ("dense", "separable", "banded", "exact"),
    out_shape: tuple[int, int, int] = constants.OUT_SHAPE,
) -> dict[str, torch.nn.Module]:
    """Newly built models of each architecture, labelled "(untrained)" where they are: timing does not
    depend on the weights, so a machine without trained files can still time every architecture. For
    another output shape than the target pipeline's, all but the exact operator (the target pipeline's).
    ``banded`` is built on its default band (its support is fitted from data; timing does not depend on it)."""
    target = out_shape == constants.OUT_SHAPE
    config = {} if target else {"out_shape": out_shape}
    kept = names if target else tuple(n for n in names if n not in ORACLES)
    nets = {name: models.build(name, **config).eval().requires_grad_(False) for name in kept}
    return {name if name in ORACLES else f"{name}{UNTRAINED}": net for name, net in nets.items()}


def with_banded(nets: dict[str, torch.nn.Module], source: str) -> dict[str, torch.nn.Module]:
    """``nets`` and, as ``banded`` (``banded (trained)`` in tables), the model ``source`` of them kept on its support
    (``lib.core.banded``, with the tolerance of a trained map): the banded form built from the final model, whose
    rows in the benchmark carry its own fidelity."""
    if source not in nets:
        raise KeyError(f"no model {source!r} to keep on its support; the models are {', '.join(nets)}")
    band = banded.from_separable(nets[source], banded.TRAINED_SUPPORT_TOL).eval().requires_grad_(False)
    return nets | {BANDED: band}

"""The front page's sentences (``notebooks/00_report.ipynb``), built from the numbers ``lib.report.front``
reads out of one run's results files, as functions a test can check against those files."""

from lib.core import models
from lib.core.metrics import percent
from lib.experiments import threshold
from lib.report import train_text
from lib.report.front import (
    FINAL_RUN,
    RECIPE_RUN,
    Results,
    cpu_speed,
    fidelity,
    median_ms,
    suite_outcome,
)
from lib.report.scaling_text import verdicts
from lib.report.ship_text import verdicts as ship_verdicts

# how each training route and loss reads in a sentence ("trained by ... on ...")
OPTIMIZER_WORDS = {
    "moments": "L-BFGS on the training images' second moments", "lbfgs": "L-BFGS", "adam": "Adam", "sgd": "SGD",
    "closed_form": "its closed-form least-squares solution",
}  # fmt: skip
LOSS_NAMES = {"range_sse": "the baseline recipe's loss", "sse": "the summed squared error",
              "mse": "the mean squared error", "l1": "the summed absolute error"}  # fmt: skip


def _g(v: float, digits: int = 2) -> str:
    return f"{v:.{digits}g}"


def gpu_sentence(res: Results) -> str:
    """What the report says about the GPU, the same on the front page and in SUMMARY.md: the device and date of the
    rows shown, or that none was measured."""
    env = res.bench_summary.environment
    if env.gpu:
        return f"GPU: {env.gpu}, measured in this run ({(env.date or '')[:10]}, torch {env.torch_version})."
    if res.gpu_env is None:
        return "GPU: none measured (no GPU in this run, none recorded)."
    g = res.gpu_env
    trained = any(r.model in (FINAL_RUN, RECIPE_RUN) for r in res.gpu)  # a saved run's weights, not a stand-in
    return (
        f"GPU: rows recorded on an {g.gpu} on {(g.date or '')[:10]} (torch {g.torch_version}, "
        f"{'the trained weights' if trained else 'untrained weights of the same shapes: times only'}); not re-measured "
        "since."
    )


def opening(res: Results) -> str:
    """The front page's opening, three sentences: the final model, how exact, how much faster."""
    f, r = fidelity(res.final), fidelity(res.recipe)
    kept = res.final.history[res.final.epochs - 1] if len(res.final.history) >= res.final.epochs else {}
    seen = f", {kept['images']:,} images seen" if "images" in kept else ""
    text = [
        f"**The final model is `{res.final.model}`**, {res.final.n_params:,} parameters "
        f"({models.REGISTRY[res.final.model].words}), trained from a random start by "
        f"{OPTIMIZER_WORDS.get(res.final.optimizer, res.final.optimizer)} on "
        f"{LOSS_NAMES.get(res.final.config.get('loss'), res.final.loss_minimised)} until every validation pixel was "
        f"within {res.final.tolerance_gray:g} gray levels (the rule fired at epoch {res.final.epochs}{seen}, "
        f"{res.final.train_seconds:.0f} s).",
        f"On the {f['n_test']:,} CIFAR-10 test images it is at most **{_g(f['test_max_gray'])} gray levels** from the "
        f"target pipeline, with {percent(f['test_exact8_pct'])}% of pixels on the pipeline's own 8-bit value; the "
        f"baseline recipe is {_g(r['test_max_gray'], 3)} gray levels off ({percent(r['test_exact8_pct'])}%).",
    ]
    speed = cpu_speed(res)
    if speed is not None:
        env, t, user = res.bench_summary.environment, speed["transform"], speed["user"]
        text.append(
            f"Run by the engine a user imports (`{t['route'].split(',')[0]}` through `LearnedTransform`), it turns the "
            f"test images into the pipeline's output in **{median_ms(t['ms'])} ms** on the CPU "
            f"({env.cpu or 'unknown'}, {env.cpu_vector or '?'}, {env.torch_threads or '?'} threads), "
            f"**{t['x baseline']}** the pipeline image by image ({median_ms(speed['loop']['ms'])} ms)"
            + (f" against {user['x baseline']} for the fastest route a user would take ({median_ms(user['ms'])} ms)"
               if user else "")
            + ". " + gpu_sentence(res)
        )  # fmt: skip
    return " ".join(text)


def design_text(res: Results) -> str:
    """Why this design, in a few sentences, from 02's table."""
    rows = {d["model"]: d for d in res.designs}
    conv = rows.get("conv5 (closed form)")
    flip = f" (`conv5`'s best kernel stays {_g(conv['test_mae_gray'])} gray levels off on average)" if conv else ""
    return (
        "Every step of the target pipeline is linear, so the pipeline is exactly Y = R (w . X) C^T and a linear "
        "network of that shape can *be* it. Convolutions that downsample see only a small window and cannot move a "
        f"pixel across the image as the flips do{flip}; the minimal design (1x1 conv + Linear) and a large fully "
        "connected model hold the pipeline but spend a 784x1024 matrix on it; `separable` keeps the pipeline's "
        "structure and no more, and `banded` keeps only the entries the resize's filter uses. Each design's best "
        "below is its least-squares optimum (`closed form`) where it has one, else its Adam run "
        "([02_architectures](02_architectures.html))."
    )


def loss_text(rows: list[dict]) -> str:
    """The loss study in a few sentences: one optimizer and budget for every loss, which met the rule."""
    if not rows:
        return "The loss study has no rows."
    met = [r for r in rows if str(r["stopped_by"]).endswith("_rule")]
    missed = [r for r in rows if r not in met]
    text = (
        f"The final run repeated with each other loss, nothing else changed (design, random start, Adam, schedule, "
        f"images, at most {max(int(r['epochs']) for r in rows)} epochs): "
        + "; ".join(f"`{r['run']}` met the rule at epoch {int(r['epochs'])}" for r in met)
        + "".join(f"; `{r['run']}` did not ({_g(r['test_max_gray'])} gray levels at worst)" for r in missed)
        + ". The out-of-range weight acts only on predictions outside [0, 1], few after the first epochs; at 10 it "
        "slows the run, which 02 traces to Adam's step sizes ([02_architectures](02_architectures.html), losses)."
    )
    return text


def stopping_text(res: Results) -> str:
    """The stopping rule: its derived threshold, what the rules cost on the final run, and overfitting."""
    costs = threshold.costs(res.final.history).set_index("rule")
    derived = threshold.derived_tolerance(res.final.history)
    mean = costs.loc["mean (the baseline recipe's)"]
    stopped = (
        f"would have stopped the final run at epoch {mean['epoch']:.0f} with {mean['wrong_level_pct']:.3g}% of "
        "validation pixels wrong"
        if mean["epoch"] == mean["epoch"]  # NaN: never met
        else "would not have stopped the final run"
    )
    text = (
        "An 8-bit image rounds to the nearest gray level, so a pixel off by e < 1 level lands on a wrong level with "
        "probability about e: the share of wrong 8-bit pixels is about the mean error in gray levels. The "
        f"baseline recipe's mean rule (below half a level on average) {stopped}. "
    )
    if derived is not None:
        d = costs.loc[f"tolerance {derived:g}"]
        text += (
            f"The threshold is the loosest at which the 8-bit output has stopped changing on the final run, "
            f"**{derived:g} gray levels** for the largest error (epoch {d['epoch']:.0f}, {d['wrong_level_pct']:.3g}% "
            f"wrong, against {costs.loc['whole budget', 'wrong_level_pct']:.3g}% after the whole budget). "
        )
    gap = train_text.gap_text(res.final.fidelity)
    text += (
        "An epoch is one pass over the training images. "
        + (gap + " " if gap else "")
        + "A linear map with the pipeline's structure has nothing to overfit "
        "([01_train_separable](01_train_separable.html), [02_architectures](02_architectures.html))."
    )
    return text


def beyond_text(res: Results) -> str:
    """Exact fits, other images, other pipelines, in a few lines."""
    closed = next((d for d in res.designs if d["model"] == f"{FINAL_RUN} (closed form)"), None)
    lines = []
    if closed is not None:
        lines.append(
            f"- **Exact fits.** The model is linear, so its least-squares optimum has a closed form: "
            f"`{FINAL_RUN}` fitted that way is {_g(closed['test_max_gray'])} gray levels off at worst in "
            f"{closed['seconds']:.1f} s ([02_architectures](02_architectures.html))."
        )
    f = fidelity(res.final)
    if f["synthetic_max_gray"] is not None:
        lines.append(
            f"- **Images unlike CIFAR-10.** On {f['n_families']} synthetic families (noise, smooth fields, blocks, "
            f"gradients, constant colours, 0/1 extremes) never seen in training, the final model is at most "
            f"{_g(f['synthetic_max_gray'])} gray levels off (family `{f['worst_family']}`): it learned the pipeline, "
            "not the photographs ([01_train_separable](01_train_separable.html))."
        )
    by_pipe: dict[str, list[dict]] = {}
    for row in res.pipelines:
        by_pipe.setdefault(row["pipeline"], []).append(row)
    if by_pipe:
        ok = [p for p, rows in by_pipe.items() if min(r["test_max_gray"] for r in rows) < 0.5]
        missed = [p for p in by_pipe if p not in ok]
        lines.append(
            f"- **Other pipelines.** Of {len(by_pipe)} pipelines named by a string, a small model reproduces "
            f"{len(ok)} within half a gray level on every test pixel"
            + (f"; none does for {', '.join(f'`{p}`' for p in missed)}, and the page says why" if missed else "")
            + " ([04_pipelines](04_pipelines.html))."
        )
    if res.scaling:
        lines.append(_sizes(res.scaling))
    if res.onnx:
        lines.append(_shipped(res.onnx))
    if res.suite:
        lines.append(_your_pipeline(res.suite))
    return "\n".join(lines)


def _your_pipeline(rows: list[dict]) -> str:
    """06's suite of real pipelines in one line: what was accepted, how close, how fast; what was refused."""
    found = suite_outcome(rows)
    done, refused = found["done"], found["refused"]
    speed = "{:.1f}x-{:.1f}x".format(*found["speedups"]) if done else "-"
    families = ", ".join(f"`{f}`" for f in dict.fromkeys(r["family"] for r in done))
    return (f"- **Your pipeline, as it is.** `LearnedTransform.fit(pipeline)` took {len(done)} of {len(rows)} real "
            f"pipelines ({families}), {len(found['within'])} within their tolerance on photographs and noise, {speed} "
            f"the fastest user route; refused: {', '.join(refused) or 'none'} ([06_ship](06_ship.html)).")  # fmt: skip


def _shipped(rows: list[dict]) -> str:
    """The ONNX checks in one line: how close the learned graphs are, and how fast against the pipeline's export."""
    found = ship_verdicts(rows)
    each = []
    for v in found:
        text = f"{v['pipeline']}: within {_g(v['worst_gray'])} gray levels (the worst graph: `{v['worst']}`)"
        if v["speedup"] is not None:
            text += f", {v['speedup']:.1f}x the pipeline's own export in ONNX Runtime"
        each.append(text)
    return (
        "- **Shipped.** `lib.core.transform.LearnedTransform` takes uint8 or float images in a `DataLoader` or at the "
        "head of a model; exported to ONNX as plain products with a dynamic batch, the learned graphs run in ONNX "
        "Runtime "
        f"({'; '.join(each)}) ([06_ship](06_ship.html))."
    )


def _sizes(rows: list[dict]) -> str:
    """The scaling study in one line: the fastest learned route against the fastest user route at each side."""
    labels = {r["route"]: r["label"] for r in rows}
    found = verdicts(rows)
    each = "; ".join(f"{v['side']}: {v['speedup']:.1f}x ({labels[v['fastest_learned']]})" for v in found)
    lost = [v["side"] for v in found if v["speedup"] < 1]
    return (
        f"- **Other sizes.** The target's steps on RGB images of side {found[0]['side']} to {found[-1]['side']} "
        f"(resized to half): the fastest learned route against the fastest route a user would take, {each}"
        + (f"; the user's route wins at {', '.join(map(str, lost))}" if lost else "")
        + " ([05_scaling](05_scaling.html))."
    )

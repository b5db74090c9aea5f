"""The front page's sentences (``notebooks/00_report.ipynb``), built from the numbers ``lib.report.front``
reads out of one run's results files, as functions a test can check against those files."""

from lib.core.metrics import percent
from lib.report.front import (
    FINAL_RUN,
    MINIMAL,
    Results,
    design_rows,
    fidelity,
    final_fastest,
    minimal_fastest,
    suite_outcome,
)
from lib.report.records import TrainRecord
from lib.report.scaling_text import verdicts
from lib.report.ship_text import verdicts as ship_verdicts

# how each training route reads in a sentence ("Trained by ...")
OPTIMIZER_WORDS = {
    "moments": "L-BFGS on the training images' second moments", "lbfgs": "L-BFGS", "adam": "Adam", "sgd": "SGD",
    "closed_form": "its closed-form least-squares solution",
}  # fmt: skip


def _g(v: float, digits: int = 2) -> str:
    return f"{v:.{digits}g}"


def opening(res: Results) -> str:
    """The first paragraph: the final model, how exact, how fast, on which machine."""
    f, r = fidelity(res.final), fidelity(res.recipe)
    fastest = final_fastest(res.bench)
    env = res.bench_summary.environment
    text = (
        f"**The final model is `{res.final.model}`**: a 1x1 convolution that mixes the three colour channels "
        f"into one, then two 28x32 matrices that act on the rows and on the columns (Y = A G B^T), "
        f"{res.final.n_params:,} parameters against the {res.recipe.n_params:,} of the assignment's design. "
        f"Trained by {OPTIMIZER_WORDS.get(res.final.optimizer, res.final.optimizer)} on the summed squared "
        f"error until every validation pixel is "
        f"within {res.final.tolerance_gray:g} gray levels (it stopped by the "
        f"{res.final.stopped_by.replace('_', ' ')} after {res.final.epochs} epochs), it is at most "
        f"**{_g(f['test_max_gray'])} gray levels** from the target pipeline on the {f['n_test']:,} CIFAR-10 "
        f"test images ({percent(f['test_exact8_pct'])}% of pixels on the pipeline's own 8-bit value)"
    )
    if f["synthetic_max_gray"] is not None:
        text += f" and at most {_g(f['synthetic_max_gray'])} on {f['n_families']} families of images unlike photographs"
    text += (
        f". The assignment's recipe, for comparison, is {_g(r['test_max_gray'], 3)} gray levels off at its worst test "
        f"pixel ({percent(r['test_exact8_pct'])}% exact)."
    )
    if fastest is not None:
        text += (
            f" On the CPU ({env.cpu or 'unknown'}, {env.cpu_vector or 'vector width not recorded'}, "
            f"{env.torch_threads or '?'} threads) it transforms {fastest['n_images']:,} images in "
            f"**{fastest['ms']:.3g} ms** ({fastest['how']}), {fastest['x baseline']:.0f}x faster than the target "
            f"pipeline applied image by image and {fastest['x fastest user route']:.1f}x faster than the fastest "
            f"route a user would take instead."
        )
    text += _minimal(res)
    return text


def _minimal(res: Results) -> str:
    """The minimal design's sentence: its size from 02, its time and fidelity from 03 (empty where not timed)."""
    fastest = minimal_fastest(res.bench)
    if fastest is None:
        return ""
    params = next((d["params"] for d in design_rows(res.designs, MINIMAL)), None)
    size = f", {params:,} parameters" if params else ""
    return (
        f" Kept on its support (the 2 or 3 entries of each matrix row that the resize uses: `{MINIMAL}`{size}, the "
        f"minimal design), it takes **{fastest['ms']:.3g} ms** ({fastest['how']}), "
        f"{fastest['x fastest user route']:.1f}x faster than the fastest route a user would take instead, at most "
        f"{_g(fastest['max error (gray)'])} gray levels from the target pipeline on the same images."
    )


def loss_text(rows: list[dict], final: TrainRecord) -> str:
    """What the losses reach with one budget, from the loss study's rows of the final model's design."""
    if not rows:
        return "The loss study has no rows for the final model's design."
    worst = max(rows, key=lambda r: r["test_max_gray"])
    best = min(rows, key=lambda r: r["test_max_gray"])
    reached = [r["loss"] for r in rows if str(r["stopped_by"]).endswith("_rule")]
    text = (
        f"With the same start, images and budget for every loss ({rows[0]['optimizer']}: "
        f"{', '.join(str(r['loss']) for r in rows)}), the largest test error ranges from {_g(best['test_max_gray'])} "
        f"gray levels (`{best['loss']}`) to {_g(worst['test_max_gray'])} (`{worst['loss']}`); "
        f"{len(reached)} of {len(rows)} losses reached the stopping rule ({', '.join(reached) or 'none'}). "
        "Every one of them is smallest at the pipeline itself; those that stop short stall on their own shape "
        "(02 gives each loss's value there)."
    )
    text += (
        f" The final model minimises `{final.loss_minimised}`: a model that equals the pipeline never leaves "
        "[0, 1] on images in [0, 1], so there the assignment's out-of-range weight multiplies nothing and its "
        "loss *is* the summed squared error."
    )
    return text


def stopping_text(final: TrainRecord, recipe: TrainRecord) -> str:
    """The rule, why, and where it fired in the final run and in the assignment's recipe."""
    h = final.history
    fired = final.reached_rule
    last = h[-1]
    worst = max(last["val_max_gray"], last.get("held_out_max_gray", 0.0))
    text = f"The final run checked its rule after every epoch ({final.config['lbfgs_iters']} L-BFGS iterations); " + (
        f"it fired at epoch {last['epoch']}, when the worst validation or held-out pixel was {_g(worst)} gray "
        f"levels off (threshold {final.tolerance_gray:g}), after {last['seconds']:.0f} s."
        if fired
        else f"it did **not** fire: the run ended by {final.stopped_by} at epoch {last['epoch']}, worst "
        f"pixel {_g(worst)} gray levels off (threshold {final.tolerance_gray:g})."
    )
    rh = recipe.history[-1]
    text += (
        f" The assignment's recipe stopped by its {recipe.stopping} rule ({recipe.stopped_by}) at epoch "
        f"{rh['epoch']}, with a mean validation error of {_g(rh['val_mae_gray'])} gray levels but a worst pixel "
        f"{_g(rh['val_max_gray'], 3)} gray levels off: the mean rule bounds the average, not the model."
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
            f"- **Other pipelines.** Of {len(by_pipe)} pipelines named by a string, a minimal model reproduces "
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


def conclusion(res: Results) -> str:
    """The three headline numbers: how exact, how much faster, on which machine."""
    f = fidelity(res.final)
    fastest = final_fastest(res.bench)
    env = res.bench_summary.environment
    worst = max(v for v in (f["test_max_gray"], f["synthetic_max_gray"]) if v is not None)
    text = [f"1. **How exact:** at most {_g(worst)} gray levels from the target pipeline on every test and synthetic "
            f"pixel ({percent(f['test_exact8_pct'])}% of test pixels on its 8-bit value)."]  # fmt: skip
    if fastest is not None:
        text.append(
            f"2. **How much faster:** {fastest['x baseline']:.0f}x the target pipeline image by image and "
            f"{fastest['x fastest user route']:.1f}x the fastest route a user would take instead, "
            f"{fastest['ms']:.3g} ms for {fastest['n_images']:,} images ({fastest['how']})."
        )
        minimal = minimal_fastest(res.bench)
        if minimal is not None:
            text[-1] += (f" Kept on its support (`{MINIMAL}`): {minimal['ms']:.3g} ms, "
                         f"{minimal['x fastest user route']:.1f}x the fastest user route.")  # fmt: skip
    text.append(
        f"3. **On which machine:** {env.cpu or 'unknown CPU'} ({env.cpu_vector or '?'}, "
        f"{env.torch_threads or '?'} threads), torch {env.torch_version or '?'}; "
        + ("GPU: " + (f"recorded on {res.gpu_env.gpu} on {res.gpu_env.date[:10]}." if res.gpu_env else
                      "not measured (no GPU in this run, none recorded).") if env.gpu is None else
           f"GPU: {env.gpu}.")
    )  # fmt: skip
    return "\n".join(text)

"""The scaling study's conclusions in words, from its rows (``lib.experiments.scaling``, or ``results/scaling.csv``
read with numbers): which route wins at each side, by how much, and how the learned models' costs grow."""


def verdicts(rows: list[dict]) -> list[dict]:
    """Per side: the fastest user route and the fastest learned route, and how many times faster the learned one
    is (below 1: the user route wins), with the time of reading the float input once."""
    out = []
    for side in sorted({r["side"] for r in rows}):
        at = [r for r in rows if r["side"] == side]
        user = min((r for r in at if r["user"]), key=lambda r: r["seconds"])
        learned = min((r for r in at if r["learned"]), key=lambda r: r["seconds"])
        floor = next(r for r in at if r["route"] == "read_input")
        out.append({"side": side, "fastest_user": user["route"], "user_us": user["us_per_image"],
                    "fastest_learned": learned["route"], "learned_us": learned["us_per_image"],
                    "speedup": user["seconds"] / learned["seconds"], "floor_us": floor["us_per_image"],
                    "over_floor": learned["seconds"] / floor["seconds"]})  # fmt: skip
    return out


def _growth(rows: list[dict], route: str, key: str) -> tuple[int, int, float]:
    """(first side, last side, how many times ``key`` grew between them) for ``route``."""
    mine = sorted((r for r in rows if r["route"] == route), key=lambda r: r["side"])
    return mine[0]["side"], mine[-1]["side"], mine[-1][key] / mine[0][key]


def side_table(rows: list[dict], labels: dict[str, str]) -> list[dict]:
    """One row per side (:func:`verdicts`): the fastest user and learned routes with their µs an image and the ratio,
    the learned models' worst pixel on photographs and noise, their numbers and the closed form's fit seconds."""
    out = []
    for v in verdicts(rows):
        at = {r["route"]: r for r in rows if r["side"] == v["side"]}
        learned = [r for r in at.values() if r["learned"]]
        worst = max(max(r["photo_max_gray"], r["noise_max_gray"]) for r in learned)
        sep, band = at["separable"], at["banded"]
        out.append({
            "input": f"{v['side']}x{v['side']}", "fastest user route (µs)": f"{labels[v['fastest_user']]} "
            f"({v['user_us']:.3g})", "fastest learned route (µs)": f"{labels[v['fastest_learned']]} "
            f"({v['learned_us']:.3g})", "speedup": f"{v['speedup']:.1f}x", "learned, worst (gray)": f"{worst:.2g}",
            "numbers: banded, separable": f"{int(band['params']):,}, {int(sep['params']):,}",
            "fit": f"{band['fit_s']:.2f} s",
        })  # fmt: skip
    return out


def against_benchmark(rows: list[dict], out_at_32: tuple[int, int, int], target_out: tuple[int, int, int]) -> str:
    """Why the ratios at side 32 are not 03's: there the family's output is ``out_at_32``, not the target's
    ``target_out``, and it times fewer images than 03's 10,000 ("" where 32 was not studied)."""
    first = next((r for r in rows if r["side"] == 32), None)
    if first is None:
        return ""
    (_, h, w), (_, fh, fw) = target_out, out_at_32
    return (f"At 32 this family resizes to {fh}x{fw}, not to the target's {h}x{w}, and times {first['n_images']:,} "
            f"images: its ratios there are not 03's, which times the target pipeline on all 10,000 test images at "
            f"its best batch size.")  # fmt: skip


def summary(rows: list[dict], labels: dict[str, str]) -> str:
    """Markdown: how each learned model's arithmetic and time grew against the fastest user routes', where a learned
    route loses to the fastest user route, and whether a learned route wins at every side (per side:
    :func:`side_table`)."""
    lines, found = [], verdicts(rows)
    for route in ("separable", "banded"):
        s0, s1, flops = _growth(rows, route, "mflops")
        _, _, time = _growth(rows, route, "us_per_image")
        area = (s1 / s0) ** 2
        lines.append(
            f"- {labels[route]}: from {s0} to {s1} pixels a side (the area {area:.0f}x), its arithmetic per image "
            f"grew {flops:.0f}x and its time per image {time:.0f}x."
        )
    for route in sorted({v["fastest_user"] for v in found}):
        s0, s1, time = _growth(rows, route, "us_per_image")
        lines.append(f"- {labels[route]}: its time per image grew {time:.0f}x from {s0} to {s1}.")
    user_s = {v["side"]: v["user_us"] for v in found}
    for route in dict.fromkeys(r["route"] for r in rows if r["learned"]):
        lost = [(r["side"], user_s[r["side"]] / r["us_per_image"]) for r in rows
                if r["route"] == route and r["us_per_image"] > user_s[r["side"]]]  # fmt: skip
        if lost:
            where = ", ".join(f"{side} ({ratio:.2f}x)" for side, ratio in lost)
            lines.append(f"- {labels[route]} loses to the fastest user route at {where}.")
    losses = [v["side"] for v in found if v["speedup"] < 1]
    lines.append("")
    if losses:
        lines.append(f"The learned routes lose at {', '.join(map(str, losses))} pixels a side (numbers above).")
    else:
        lines.append("At every side studied, a learned route is the fastest.")
    return "\n".join(lines)

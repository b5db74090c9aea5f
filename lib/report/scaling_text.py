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


def summary(rows: list[dict], labels: dict[str, str]) -> str:
    """Markdown: one line per side (:func:`verdicts`), then the growth of each learned model's arithmetic and
    time against the fastest user routes'."""
    lines, found = [], verdicts(rows)
    for v in found:
        faster = v["speedup"] >= 1
        lines.append(
            f"- **{v['side']}x{v['side']}**: fastest user route {labels[v['fastest_user']]}, "
            f"{v['user_us']:.3g} µs an image; fastest learned route {labels[v['fastest_learned']]}, "
            f"{v['learned_us']:.3g} µs: **{v['speedup']:.2f}x** "
            + ("faster" if faster else "(the user route wins)")
            + f"; {v['over_floor']:.1f}x the time of reading the float input once ({v['floor_us']:.3g} µs)."
        )
    lines.append("")
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

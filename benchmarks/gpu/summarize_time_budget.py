#!/usr/bin/env python3
"""Figures and a plot from benchmarks/gpu/time_budget_gpu.py's runs (docs/gpu-results.md).

Usage: python3 benchmarks/gpu/summarize_time_budget.py PLANS.csv RUNS.csv [RUNS.csv ...]
           [--workload long_context] [--frontier] [--svg PATH] [--json PATH]
Joins eval_time_budget's plans with the measured runs: a request completes under a policy at
budget T when its run at the policy's kept-token count took at most T seconds on the GPU (Kill:
a late request is dropped). Per T and policy it prints completion, completion among the
requests alpha_max (0.95) finishes in time on the GPU, mean alpha among the completed and mean
alpha overall; then the targets of issue 8 (a) and how far the measured times were from the
simulated ones eval_time_budget planned against. With --frontier (plans from eval_time_budget
--frontier, runs from time_budget_gpu.py --frontier) it also prints the frontier table that
eval_time_budget prints, from the GPU's times: each operating point (timebill_k3, rtlm_q0.70)
over every (request, budget) pair, the two completion-against-mean-alpha frontiers, the oracle
over the runs (per pair, the least alpha among the request's runs that finished in T) and
whether rtlm's frontier is at or above TimeBill's (docs/time-budget.md, "The frontier").
"""
import argparse
import collections
import csv
import json
import math
import statistics

COLORS = {"vanilla": "#7f7f7f", "fixed_0.25": "#c7c7c7", "fixed_0.5": "#aec7e8",
          "fixed_0.75": "#9edae5", "fixed_0.95": "#17becf", "timebill": "#d62728",
          "rtlm": "#1f77b4"}


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def figures(plans, measured):
    """{(T, policy): dict} over the requests every plan of which has a run, and the per-T
    feasible share."""
    missing = {int(r["request"]) for r in plans
               if (int(r["request"]), int(r["kept_tokens"])) not in measured}
    by_budget = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in plans:
        key = (int(r["request"]), int(r["kept_tokens"]))
        if key[0] not in missing:
            by_budget[float(r["budget_s"])][r["policy"]].append(
                (int(r["request"]), float(r["alpha"]), measured[key]))
    out, feasible_share = {}, {}
    for budget, policies in sorted(by_budget.items()):
        fewest = {j: t for j, _, t in policies["fixed_0.95"]}
        feasible = {j for j, t in fewest.items() if t <= budget}
        feasible_share[budget] = len(feasible) / len(fewest)
        for name, rows in policies.items():
            done = [(j, a) for j, a, t in rows if t <= budget]
            among = [j for j, _ in done if j in feasible]
            out[(budget, name)] = dict(
                requests=len(rows), completion=len(done) / len(rows),
                completion_feasible=len(among) / len(feasible) if feasible else math.nan,
                mean_alpha_completed=statistics.mean(a for _, a in done) if done else math.nan,
                mean_alpha=statistics.mean(a for _, a, _ in rows))
    return out, feasible_share


def is_frontier_point(policy):
    """True for the frontier's operating points in a plans file: timebill_k3, rtlm_q0.70."""
    return policy.startswith("timebill_k") or policy.startswith("rtlm_q")


def policy_order(name):
    """Sort key: the fixed policies in COLORS' order, then the frontier points by parameter."""
    if name in COLORS:
        return (0, list(COLORS).index(name), name)
    family, _, label = name.partition("_")
    try:
        value = float(label[1:].split("_")[0])
    except ValueError:
        value = math.inf
    return (1 if family == "timebill" else 2, value, name)


def pareto_frontier(points):
    """The upper-left Pareto frontier of (completion, mean alpha) points: those no other point
    matches or beats on both; by completion, ascending."""
    out = []
    for c, a in sorted(points, key=lambda p: (-p[0], p[1])):
        if not out or a < out[-1][1]:
            out.append((c, a))
    return out[::-1]


def compare_frontiers(rtlm_frontier, timebill_frontier):
    """rtlm's frontier is at or above TimeBill's when every TimeBill point is matched by an rtlm
    point completing at least as much at no more mean alpha (no interpolation). Returns
    (dominates, worst alpha excess, least completion margin, TimeBill's worst point)."""
    worst, worst_point, margin = -math.inf, None, math.inf
    for c, a in timebill_frontier:
        least = min((ra for rc, ra in rtlm_frontier if rc >= c), default=math.inf)
        if least - a > worst:
            worst, worst_point = least - a, (c, a)
        most = max((rc for rc, ra in rtlm_frontier if ra <= a), default=0.0)
        margin = min(margin, most - c)
    return worst <= 0, worst, margin, worst_point


def frontier(plans, measured):
    """The frontier section from GPU times, over the requests every plan of which has a run:
    {point: dict(completion, completion_feasible, mean_alpha, per_budget)} for the frontier points
    and for vanilla, the oracle over the runs, and the comparisons."""
    missing = {int(r["request"]) for r in plans
               if (int(r["request"]), int(r["kept_tokens"])) not in measured}
    plans = [r for r in plans if int(r["request"]) not in missing]
    budgets = sorted({float(r["budget_s"]) for r in plans})
    requests = sorted({int(r["request"]) for r in plans})
    lengths = {int(r["request"]): int(r["prompt_tokens"]) for r in plans}
    fewest = {(float(r["budget_s"]), int(r["request"])): int(r["kept_tokens"])
              for r in plans if r["policy"] == "fixed_0.95"}
    # The least alpha among each request's measured runs that finished within T.
    runs = collections.defaultdict(list)
    for (j, kept), t in measured.items():
        if j in lengths:
            runs[j].append((1 - kept / lengths[j], t))
    pairs = len(requests) * len(budgets)
    feasible = {(b, j) for (b, j), kept in fewest.items() if measured[(j, kept)] <= b}
    points = collections.defaultdict(lambda: dict(done=0, done_feasible=0, alpha=0.0,
                                                  done_at=collections.Counter(),
                                                  alpha_at=collections.Counter()))
    for r in plans:
        name = r["policy"]
        if not is_frontier_point(name) and name != "vanilla":
            continue
        b, j = float(r["budget_s"]), int(r["request"])
        p = points[name]
        done = measured[(j, int(r["kept_tokens"]))] <= b
        p["done"] += done
        p["done_feasible"] += done and (b, j) in feasible
        p["alpha"] += float(r["alpha"])
        p["done_at"][b] += done
        p["alpha_at"][b] += float(r["alpha"])
    if not any(is_frontier_point(name) for name in points):
        raise SystemExit("--frontier: the plans have no frontier points with runs (timebill_k*, "
                         "rtlm_q*): plan with eval_time_budget --frontier, run time_budget_gpu.py "
                         "--frontier")
    oracle = dict(done=0, done_feasible=0, alpha=0.0)
    for b in budgets:
        for j in requests:
            finished = [a for a, t in runs[j] if t <= b]
            if finished:
                oracle["done"] += 1
                oracle["done_feasible"] += (b, j) in feasible
                oracle["alpha"] += max(0.0, min(finished))
    table = {}
    for name, p in list(points.items()) + [("oracle_over_runs", oracle)]:
        table[name] = dict(
            completion=p["done"] / pairs,
            completion_feasible=p["done_feasible"] / len(feasible) if feasible else math.nan,
            mean_alpha=p["alpha"] / pairs)
    per_budget = {name: {b: (p["done_at"][b] / len(requests), p["alpha_at"][b] / len(requests))
                         for b in budgets} for name, p in points.items()}
    vanilla = table["vanilla"]["completion"] if "vanilla" in table else None

    def family(prefix, budget=None):
        return [(per_budget[n][budget] if budget is not None else
                 (table[n]["completion"], table[n]["mean_alpha"]))
                for n in points if n.startswith(prefix)]

    comparisons = {}
    for mode in ("points_alone", "with_vanilla"):
        if mode == "with_vanilla" and vanilla is None:
            continue
        def extra(budget=None):
            if mode == "points_alone":
                return []
            return [(per_budget["vanilla"][budget][0], 0.0) if budget is not None
                    else (vanilla, 0.0)]
        whole = compare_frontiers(pareto_frontier(family("rtlm_q") + extra()),
                                  pareto_frontier(family("timebill_k") + extra()))
        missed = [b for b in budgets if not compare_frontiers(
            pareto_frontier(family("rtlm_q", b) + extra(b)),
            pareto_frontier(family("timebill_k", b) + extra(b)))[0]]
        comparisons[mode] = dict(dominates=whole[0], worst_alpha_excess=whole[1],
                                 least_completion_margin=whole[2], worst_point=whole[3],
                                 budgets_dominated=len(budgets) - len(missed), missed=missed)
    return dict(table=table, requests=len(requests), budgets=len(budgets),
                timebill=pareto_frontier(family("timebill_k")),
                rtlm=pareto_frontier(family("rtlm_q")), comparisons=comparisons)


def print_frontier(f):
    """Prints the frontier section as eval_time_budget does; returns its flat JSON figures."""
    print(f"\nFrontier: {f['requests']} requests x {f['budgets']} budgets; completion: the share "
          "of (request, budget) pairs finished within T on the GPU; alpha: the mean over all")
    print(f"  {'point':<18} {'complete':>9} {'cmp|feas':>9} {'alpha':>9} {'frontier':>8}")
    flat = {"frontier.requests": f["requests"], "frontier.budgets": f["budgets"]}
    for name in sorted(f["table"], key=policy_order):
        row = f["table"][name]
        on = f["timebill"] if name.startswith("timebill_k") else f["rtlm"]
        mark = "*" if is_frontier_point(name) and (row["completion"], row["mean_alpha"]) in on \
            else ""
        print(f"  {name:<18} {row['completion']:9.4f} {row['completion_feasible']:9.4f} "
              f"{row['mean_alpha']:9.4f} {mark:>8}")
        family, _, label = name.partition("_")
        key = f"frontier.{family}.{label}" if is_frontier_point(name) else f"frontier.{name}"
        flat.update({f"{key}.{k}": v for k, v in row.items()})
        if is_frontier_point(name):
            flat[f"{key}.on_frontier"] = 1 if mark else 0

    def text(points):
        return ", ".join(f"{c:.4f} / {a:.4f}" for c, a in points)

    print(f"  TimeBill's frontier (completion / mean alpha): {text(f['timebill'])}")
    print(f"  rtlm's frontier:                               {text(f['rtlm'])}")
    for mode, c in f["comparisons"].items():
        what = mode.replace("_", " ")
        if c["dominates"]:
            verdict = ("rtlm's frontier is at or above TimeBill's at every completion level "
                       f"TimeBill reaches (least completion margin "
                       f"{c['least_completion_margin']:+.4f})")
        else:
            tc, ta = c["worst_point"]
            need = (f"rtlm needs {ta + c['worst_alpha_excess']:.4f}"
                    if math.isfinite(c["worst_alpha_excess"])
                    else "no rtlm point completes as much")
            verdict = (f"rtlm's frontier is NOT at or above TimeBill's: TimeBill completes {tc:.4f}"
                       f" at mean alpha {ta:.4f}, {need}")
        missed = ", ".join(f"{b:.3f}" for b in c["missed"])
        print(f"  {what}: {verdict}; within each budget: at {c['budgets_dominated']} of "
              f"{f['budgets']}" + (f" (not at T = {missed} s)" if missed else ""))
        prefix = "frontier." if mode == "points_alone" else "frontier.with_vanilla."
        flat[("frontier.dominates" if mode == "points_alone"
              else "frontier.dominates_with_vanilla")] = 1 if c["dominates"] else 0
        for k in ("worst_alpha_excess", "least_completion_margin", "budgets_dominated"):
            flat[prefix + k] = c[k]
    # JSON has no infinity or NaN: a figure without a value is null, as in eval_time_budget's.
    return {k: (v if math.isfinite(v) else None) for k, v in flat.items()}


def svg(table, path, title):
    budgets = sorted({b for b, _ in table})
    names = [p for p in COLORS if any((b, p) in table for b in budgets)]
    w, h, left, top, gap, right, bottom = 980, 420, 60, 50, 70, 150, 55
    pw = (w - left - right - gap) / 2
    ph = h - top - bottom
    xmax = max(budgets) * 1.05
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="22" font-size="15">{title}</text>']
    for panel, (key, label) in enumerate((("completion", "completion (finished within T)"),
                                          ("mean_alpha", "mean alpha (evicted share)"))):
        x0 = left + panel * (pw + gap)
        xs = lambda x: x0 + pw * x / xmax  # noqa: E731
        ys = lambda y: top + ph * (1 - y)  # noqa: E731
        out.append(f'<text x="{x0}" y="{top - 8}">{label}</text>')
        for k in range(6):
            y = k / 5
            out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{ys(y):.1f}" y2="{ys(y):.1f}" '
                       'stroke="#ddd"/>')
            out.append(f'<text x="{x0 - 6}" y="{ys(y) + 4:.1f}" text-anchor="end">{y:.1f}</text>')
        step = 10 ** math.floor(math.log10(xmax / 2))
        x = 0.0
        while x <= xmax:
            out.append(f'<text x="{xs(x):.1f}" y="{top + ph + 18}" text-anchor="middle">'
                       f'{x:g}</text>')
            x += step
        out.append(f'<text x="{x0 + pw / 2}" y="{h - 15}" text-anchor="middle">budget T (s)'
                   '</text>')
        out.append(f'<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" '
                   'stroke="#444"/>')
        for name in names:
            pts = [(b, table[(b, name)][key]) for b in budgets if (b, name) in table]
            d = " ".join(f"{xs(b):.1f},{ys(v):.1f}" for b, v in pts)
            width = 2.5 if name in ("rtlm", "timebill") else 1.5
            out.append(f'<polyline points="{d}" fill="none" stroke="{COLORS[name]}" '
                       f'stroke-width="{width}"/>')
    for k, name in enumerate(names):
        y = top + 16 + 20 * k
        lx = w - right + 15
        out.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{y}" y2="{y}" stroke="{COLORS[name]}" '
                   'stroke-width="2.5"/>')
        out.append(f'<text x="{lx + 30}" y="{y + 4}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("plans")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--workload", default="long_context")
    ap.add_argument("--policies", default="vanilla,fixed_0.5,fixed_0.95,timebill,rtlm")
    ap.add_argument("--frontier", action="store_true",
                    help="also print the frontier of TimeBill's k and rtlm's bound coverage from "
                    "the runs of the plans' frontier points (timebill_k*, rtlm_q*)")
    ap.add_argument("--svg")
    ap.add_argument("--json")
    args = ap.parse_args()
    runs = [r for p in args.runs for r in read(p) if r["workload"] == args.workload]
    measured = {(int(r["request"]), int(r["kept_tokens"])): float(r["total_s"]) for r in runs}
    policies = set(args.policies.split(","))
    ran = {j for j, _ in measured}
    every_plan = [r for r in read(args.plans) if r["workload"] == args.workload and
                  int(r["request"]) in ran]
    plans = [r for r in every_plan if r["policy"] in policies]
    table, feasible = figures(plans, measured)
    complete = collections.defaultdict(lambda: True)
    for r in plans:
        complete[int(r["request"])] &= (int(r["request"]), int(r["kept_tokens"])) in measured
    requests = sorted(j for j, ok in complete.items() if ok)
    print(f"{args.workload}: {len(requests)} requests, {len(runs)} GPU runs")
    print(f"{'T (s)':>7} {'feas.':>6} {'policy':<11} {'complete':>9} {'cmp|feas':>9} "
          f"{'alpha|cmp':>10} {'alpha':>7}")
    for (budget, name), f in sorted(table.items(), key=lambda kv: (kv[0][0],
                                                                    policy_order(kv[0][1]))):
        print(f"{budget:7.3f} {feasible[budget]:6.3f} {name:<11} {f['completion']:9.4f} "
              f"{f['completion_feasible']:9.4f} {f['mean_alpha_completed']:10.4f} "
              f"{f['mean_alpha']:7.4f}")

    # Issue 8 (a): rtlm completes >= 99% wherever alpha_max makes a request feasible, with a
    # lower mean alpha than TimeBill.
    budgets = sorted(feasible)
    rtlm_feasible = min(table[(b, "rtlm")]["completion_feasible"] for b in budgets
                        if feasible[b] > 0)
    gap = min(table[(b, "rtlm")]["completion"] - table[(b, "timebill")]["completion"]
              for b in budgets)
    rtlm_alpha = statistics.mean(table[(b, "rtlm")]["mean_alpha"] for b in budgets)
    timebill_alpha = statistics.mean(table[(b, "timebill")]["mean_alpha"] for b in budgets)
    simulated = {(int(r["request"]), int(r["kept_tokens"])): float(r["simulated_s"])
                 for r in plans}
    errors = [(measured[k] - simulated[k]) / simulated[k] for k in measured if k in simulated]
    selection = [float(r["selection_s"]) for r in runs if int(r["kept_tokens"]) <
                 int(r["prompt_tokens"])]
    print(f"\nrtlm's least completion among alpha_max-feasible requests: {rtlm_feasible:.4f}")
    print(f"rtlm completion minus TimeBill's, least over budgets: {gap:+.4f}")
    print(f"mean alpha over budgets: rtlm {rtlm_alpha:.4f}, TimeBill {timebill_alpha:.4f}")
    print(f"measured against simulated request time: mean {100 * statistics.mean(errors):+.2f}%, "
          f"MAPE {100 * statistics.mean(abs(e) for e in errors):.2f}%")
    if selection:
        print(f"SnapKV scoring + selection + gather per evicted run: median "
              f"{1e3 * statistics.median(selection):.1f} ms, max {1e3 * max(selection):.1f} ms")
    frontier_flat = {}
    if args.frontier:
        wanted = policies | {"fixed_0.95", "vanilla"}
        frontier_flat = print_frontier(frontier(
            [r for r in every_plan if r["policy"] in wanted or is_frontier_point(r["policy"])],
            measured))
    if args.json:
        flat = {f"T={b:.3f}.{name}.{k}": v for (b, name), f in table.items() for k, v in f.items()}
        flat.update({f"T={b:.3f}.feasible_fraction": v for b, v in feasible.items()})
        flat.update({"summary.requests": len(requests),
                     "summary.rtlm_min_completion_feasible": rtlm_feasible,
                     "summary.rtlm_minus_timebill_completion_min": gap,
                     "summary.rtlm_mean_alpha": rtlm_alpha,
                     "summary.timebill_mean_alpha": timebill_alpha,
                     "summary.measured_vs_simulated_mape": statistics.mean(abs(e) for e in errors)})
        flat.update(frontier_flat)
        with open(args.json, "w") as f:
            json.dump(flat, f, indent=1, sort_keys=True)
    if args.svg:
        svg(table, args.svg, f"Time-budgeted single-stream runs on an H200 ({args.workload}, "
            f"{len(requests)} requests)")
        print(f"wrote {args.svg}")


if __name__ == "__main__":
    main()

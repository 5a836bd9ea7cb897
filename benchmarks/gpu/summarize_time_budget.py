#!/usr/bin/env python3
"""Figures and a plot from benchmarks/gpu/time_budget_gpu.py's runs (docs/gpu-results.md).

Usage: python3 benchmarks/gpu/summarize_time_budget.py PLANS.csv RUNS.csv [RUNS.csv ...]
           [--workload long_context] [--svg PATH] [--json PATH]
Joins eval_time_budget's plans with the measured runs: a request completes under a policy at
budget T when its run at the policy's kept-token count took at most T seconds on the GPU (Kill:
a late request is dropped). Per T and policy it prints completion, completion among the
requests alpha_max (0.95) finishes in time on the GPU, mean alpha among the completed and mean
alpha overall; then the targets of issue 8 (a) and how far the measured times were from the
simulated ones eval_time_budget planned against.
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
    ap.add_argument("--svg")
    ap.add_argument("--json")
    args = ap.parse_args()
    runs = [r for p in args.runs for r in read(p) if r["workload"] == args.workload]
    measured = {(int(r["request"]), int(r["kept_tokens"])): float(r["total_s"]) for r in runs}
    policies = set(args.policies.split(","))
    ran = {j for j, _ in measured}
    plans = [r for r in read(args.plans) if r["workload"] == args.workload and
             r["policy"] in policies and int(r["request"]) in ran]
    table, feasible = figures(plans, measured)
    complete = collections.defaultdict(lambda: True)
    for r in plans:
        complete[int(r["request"])] &= (int(r["request"]), int(r["kept_tokens"])) in measured
    requests = sorted(j for j, ok in complete.items() if ok)
    print(f"{args.workload}: {len(requests)} requests, {len(runs)} GPU runs")
    print(f"{'T (s)':>7} {'feas.':>6} {'policy':<11} {'complete':>9} {'cmp|feas':>9} "
          f"{'alpha|cmp':>10} {'alpha':>7}")
    for (budget, name), f in sorted(table.items(), key=lambda kv: (kv[0][0], list(COLORS).index(
            kv[0][1]))):
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
    if args.json:
        flat = {f"T={b:.3f}.{name}.{k}": v for (b, name), f in table.items() for k, v in f.items()}
        flat.update({f"T={b:.3f}.feasible_fraction": v for b, v in feasible.items()})
        flat.update({"summary.requests": len(requests),
                     "summary.rtlm_min_completion_feasible": rtlm_feasible,
                     "summary.rtlm_minus_timebill_completion_min": gap,
                     "summary.rtlm_mean_alpha": rtlm_alpha,
                     "summary.timebill_mean_alpha": timebill_alpha,
                     "summary.measured_vs_simulated_mape": statistics.mean(abs(e) for e in errors)})
        with open(args.json, "w") as f:
            json.dump(flat, f, indent=1, sort_keys=True)
    if args.svg:
        svg(table, args.svg, f"Time-budgeted single-stream runs on an H200 ({args.workload}, "
            f"{len(requests)} requests)")
        print(f"wrote {args.svg}")


if __name__ == "__main__":
    main()

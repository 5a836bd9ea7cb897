#!/usr/bin/env python3
"""Figures and a plot from examples/gpu_host.py's output (docs/gpu-results.md).

Usage: python3 benchmarks/gpu/summarize_served_stream.py DIR [--svg PATH] [--profile CSV]
Reads DIR/served_stream.csv and DIR/steps.csv; prints, per run (a policy's pass over the
stream), mean and p99 latency of finished requests, deadline-miss rate (refused requests count
as misses), live step-time MAPE (the scheduler's planned step time, after its online
correction, against the GPU's), the scheduler's time per step against the step's GPU time, the
sequences per step (weighted by GPU time: the batch a request ran in), and the GPU's pace (the
median of measured over base time of the steps with no prefill: how fast the GPU ran that run's
decodes against the profile); writes a latency CDF as SVG. Where the policies ran in several
rounds, it also compares each policy with FCFS round by round, and the runs by their position in
the round. Output of older runs, which has no run column, counts each policy as one run.

Where the steps carry their parts' base times (gpu_host.py logs them) and the rtlm module is
importable, it also replays each policy's logged steps through rtlm.OnlineStepCorrection twice,
each step timed as a whole and with its prefills timed apart, so the two ways of learning are
compared on the very same steps. The base estimator is fitted to --profile (default:
DIR/profile.csv), the profile the run's scheduler was fitted to.
"""
import argparse
import collections
import csv
import math
import os
import statistics

try:  # for the replay only
    import rtlm
except ImportError:
    rtlm = None

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def cdf_svg(series, path, title):
    w, h, left, top, right, bottom = 780, 440, 70, 40, 250, 55
    pw, ph = w - left - right, h - top - bottom
    xmax = max(max(v) for v in series.values())
    xs = lambda x: left + pw * x / xmax  # noqa: E731
    ys = lambda y: top + ph * (1 - y)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="22" font-size="15">{title}</text>']
    for k in range(6):
        y = k / 5
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{ys(y):.1f}" y2="{ys(y):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{ys(y) + 4:.1f}" text-anchor="end">{y:.1f}</text>')
    step = 10 ** math.floor(math.log10(xmax / 2))
    x = 0.0
    while x <= xmax:
        out.append(f'<line x1="{xs(x):.1f}" x2="{xs(x):.1f}" y1="{top}" y2="{top + ph}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{xs(x):.1f}" y="{top + ph + 16}" text-anchor="middle">{x:g}</text>')
        x += step * (2 if xmax / step > 10 else 1)
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
               'stroke="#444"/>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 12}" text-anchor="middle">'
               'end-to-end latency (s), finished requests</text>')
    out.append(f'<text transform="translate(16,{top + ph / 2}) rotate(-90)" '
               'text-anchor="middle">fraction of requests</text>')
    for i, (name, values) in enumerate(series.items()):
        v = sorted(values)
        pts = " ".join(f"{xs(x):.1f},{ys((k + 1) / len(v)):.1f}" for k, x in enumerate(v))
        color = COLORS[i % len(COLORS)]
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>')
        ly = top + 14 + 18 * i
        out.append(f'<line x1="{left + pw + 12}" x2="{left + pw + 32}" y1="{ly}" y2="{ly}" '
                   f'stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{left + pw + 38}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def step_mape(steps):
    """Mean absolute percentage error of the planned step times against the measured ones."""
    return 100 * statistics.mean(abs(float(s["predicted"]) - float(s["measured"])) /
                                 float(s["measured"]) for s in steps) if steps else float("nan")


def replayed_mape(steps, estimator, split):
    """(all steps, steps with a prefill) MAPE of the plans an online correction of `estimator`
    makes over these logged steps, learning from each: with the prefills' own time or without."""
    correction = rtlm.OnlineStepCorrection(estimator)
    errors, prefill_errors = [], []
    for s in steps:
        base_prefill, prefills = float(s["base_prefill"]), int(s["prefills"])
        base_decode, measured = float(s["base_decode"]), float(s["measured"])
        error = abs(correction.planned(base_prefill, prefills, base_decode) / measured - 1)
        errors.append(error)
        if prefills:
            prefill_errors.append(error)
        correction.observe_step(base_prefill, prefills, base_decode, measured,
                                float(s["measured_prefill"]) if split and prefills else None)
    return 100 * statistics.mean(errors), 100 * statistics.mean(prefill_errors)


def runs_of(rows):
    """{(run, policy): rows}, in the order run. Rows with no run column (older output) get one
    run per policy, numbered in order of appearance."""
    runs, numbers = {}, {}
    for r in rows:
        number = int(r["run"]) if r.get("run") not in (None, "") else \
            numbers.setdefault(r["policy"], len(numbers))
        runs.setdefault((number, r["policy"]), []).append(r)
    return dict(sorted(runs.items()))


def decode_pace(steps):
    """Median measured over base time of the steps with no prefill; NaN where not logged."""
    ratios = [float(s["measured"]) / float(s["base_decode"]) for s in steps
              if "base_decode" in s and int(s["prefills"]) == 0 and float(s["base_decode"]) > 0]
    return statistics.median(ratios) if ratios else float("nan")


def compare_rounds(runs, means):
    """Each policy against FCFS in the same round, and mean latency by position in the round.
    Only the policies every round ran count (not, say, a one-off run at the end of a call)."""
    rounds = collections.defaultdict(list)  # round -> [(policy, mean)], in the order run
    for key, rs in runs.items():
        rounds[int(rs[0].get("round") or 0)].append((key[1], means[key]))
    common = set.intersection(*({p for p, _ in ps} for ps in rounds.values()))
    fcfs = "first_come_first_served"
    if len(rounds) < 2 or fcfs not in common:
        return
    ordered = [[(p, m) for p, m in ps if p in common] for _, ps in sorted(rounds.items())]
    print(f"\n{len(rounds)} rounds; mean latency over FCFS's in the same round, and its "
          "geometric mean over the rounds:")
    for policy, _ in ordered[0]:
        if policy == fcfs:
            continue
        ratios = [dict(ps)[policy] / dict(ps)[fcfs] for ps in ordered]
        geo = math.exp(statistics.mean(math.log(x) for x in ratios))
        print(f"{policy:<28} " + " ".join(f"{x:6.3f}" for x in ratios) + f"   geomean {geo:.3f}")
    by_position = collections.defaultdict(list)
    for ps in ordered:
        for position, (_, mean) in enumerate(ps):
            by_position[position].append(mean)
    print("mean latency by position in the round (every policy): " + ", ".join(
        f"{p + 1}: {statistics.mean(v):.3f} s" for p, v in sorted(by_position.items())))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--svg")
    ap.add_argument("--profile", help="the profile the run's estimator was fitted to "
                    "(default: DIR/profile.csv)")
    args = ap.parse_args()
    runs = runs_of(read(os.path.join(args.dir, "served_stream.csv")))
    steps = read(os.path.join(args.dir, "steps.csv"))
    step_by = runs_of(steps)
    print(f"{'run':>3} {'policy':<28} {'n':>4} {'mean s':>8} {'p99 s':>8} {'miss':>7} "
          f"{'refused':>8} {'step MAPE':>10} {'sched/GPU':>10} {'seqs/step':>10} {'pace':>6}")
    latencies, means = collections.defaultdict(list), {}
    for key, rs in runs.items():
        number, policy = key
        done = sorted(float(r["latency"]) for r in rs if r["outcome"] == "finished")
        latencies[policy] += done
        means[key] = statistics.mean(done)
        miss = 1 - sum(r["on_time"] == "True" for r in rs) / len(rs)
        refused = sum(r["outcome"] == "rejected" for r in rs)
        ss = step_by[key]
        gpu = sum(float(s["measured"]) for s in ss)
        overhead = sum(float(s["host_seconds"]) for s in ss) / gpu
        # Sequences a step computed, weighted by its GPU time: the batch a request ran in.
        batch = sum(int(s["computed"]) * float(s["measured"]) for s in ss) / gpu
        p99 = done[math.ceil(0.99 * len(done)) - 1]
        print(f"{number:>3} {policy:<28} {len(rs):>4} {means[key]:8.3f} {p99:8.3f} {miss:7.4f} "
              f"{refused:>8} {step_mape(ss):9.2f}% {100 * overhead:9.3f}% {batch:10.1f} "
              f"{decode_pace(ss):6.3f}")
    compare_rounds(runs, means)
    # Steps with a prefill against steps without: by the host's prefill_tokens column where the
    # run wrote one, else by measured time (a prefill of a few hundred tokens or more takes a
    # step past 15 ms on an H200).
    by_prefill = steps and "prefill_tokens" in steps[0]
    label = "steps with a prefill" if by_prefill else "steps of 15 ms or more"
    print(f"\nlive step-time MAPE, {label} against the others:")
    for (number, policy), ss in step_by.items():
        long, short = [], []
        for s in ss:
            prefilled = (int(s["prefill_tokens"]) > 0 if by_prefill
                         else float(s["measured"]) >= 0.015)
            (long if prefilled else short).append(s)
        # How far the prefill steps ran from their plans: measured over planned, less 1.
        off = sorted(float(s["measured"]) / float(s["predicted"]) - 1 for s in long)
        spread = ", ".join(f"{100 * off[round(q * (len(off) - 1))]:+.0f}%"
                           for q in (0.05, 0.5, 0.95)) if off else "none"
        print(f"{number:>3} {policy:<28} {len(long):>5} steps {step_mape(long):6.2f}%   "
              f"{len(short):>5} steps {step_mape(short):6.2f}%   measured/planned - 1 of the "
              f"first, 5/50/95%: {spread}")
    profile = args.profile or os.path.join(args.dir, "profile.csv")
    if rtlm is not None and steps and "base_prefill" in steps[0] and os.path.exists(profile):
        estimator = rtlm.fit_estimator(profile)
        print(f"\nthe same steps replayed through rtlm.OnlineStepCorrection (estimator fitted "
              f"to {profile}), MAPE of all steps / of steps with a prefill:")
        print(f"{'run':>3} {'policy':<28} {'each step timed whole':>24} "
              f"{'prefills timed apart':>24}")
        for (number, policy), ss in step_by.items():
            whole = replayed_mape(ss, estimator, split=False)
            split = replayed_mape(ss, estimator, split=True)
            print(f"{number:>3} {policy:<28} {whole[0]:10.2f}% / {whole[1]:6.2f}% "
                  f"{split[0]:14.2f}% / {split[1]:6.2f}%")
    if args.svg:
        cdf_svg(latencies, args.svg, "Served stream on an H200: latency CDF per policy")
        print(f"wrote {args.svg}")


if __name__ == "__main__":
    main()

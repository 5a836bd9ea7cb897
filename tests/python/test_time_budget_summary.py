# Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
"""benchmarks/gpu/summarize_time_budget.py --frontier: the frontier table, on hand-made plans."""

import contextlib
import csv
import importlib.util
import io
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
PLAN_FIELDS = ["workload", "request", "prompt_tokens", "output_tokens", "budget_s", "policy",
               "alpha", "kept_tokens", "simulated_s"]
RUN_FIELDS = ["workload", "request", "prompt_tokens", "output_tokens", "kept_tokens",
              "prefill_s", "selection_s", "decode_s", "total_s"]
# Request 0 (100 prompt tokens) finishes within T = 1 s only when it evicts (kept 50 or 5);
# request 1 finishes without.
RUNS = {(0, 100): 2.0, (0, 50): 0.9, (0, 5): 0.5, (1, 100): 0.8, (1, 5): 0.7}


def load_summary():
    path = os.path.join(ROOT, "benchmarks", "gpu", "summarize_time_budget.py")
    spec = importlib.util.spec_from_file_location("summarize_time_budget", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(folder, kept_by_policy):
    """plans.csv and runs.csv in `folder`: each policy's kept tokens for requests 0 and 1."""
    plans, runs = folder / "plans.csv", folder / "runs.csv"
    with open(plans, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(PLAN_FIELDS)
        for policy, kept in kept_by_policy.items():
            for j, k in enumerate(kept):
                w.writerow(["long_context", j, 100, 10, "1.000000", policy, 1 - k / 100, k,
                            RUNS[(j, k)]])
    with open(runs, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(RUN_FIELDS)
        for (j, k), t in RUNS.items():
            w.writerow(["long_context", j, 100, 10, k, 0.1, 0.0, t - 0.1, t])
    return str(plans), str(runs)


def summarize(module, args, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["summarize_time_budget.py", *args])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main()
    return out.getvalue()


BASE = {"vanilla": (100, 100), "fixed_0.95": (5, 5), "timebill": (5, 5), "rtlm": (50, 100),
        "timebill_k1": (100, 100), "timebill_k5": (5, 5)}


def test_rtlm_dominates_when_it_matches_every_timebill_point(tmp_path, monkeypatch):
    # TimeBill: k1 0.5 at alpha 0, k5 1.0 at 0.95. rtlm: q0.50 1.0 at 0.25, q0.90 0.5 at 0.
    plans, runs = write(tmp_path, {**BASE, "rtlm_q0.50": (50, 100), "rtlm_q0.90": (100, 100)})
    out = summarize(load_summary(), [plans, runs, "--frontier", "--json",
                                     str(tmp_path / "s.json")], monkeypatch)
    assert "points alone: rtlm's frontier is at or above TimeBill's" in out
    flat = json.load(open(tmp_path / "s.json"))
    assert flat["frontier.timebill.k5.completion"] == 1.0
    assert flat["frontier.timebill.k5.mean_alpha"] == 0.95
    assert flat["frontier.rtlm.q0.50.completion"] == 1.0
    assert flat["frontier.rtlm.q0.50.mean_alpha"] == 0.25
    assert flat["frontier.rtlm.q0.50.on_frontier"] == 1
    assert flat["frontier.timebill.k1.on_frontier"] == 1
    assert flat["frontier.dominates"] == 1
    assert flat["frontier.least_completion_margin"] == 0
    assert flat["frontier.worst_alpha_excess"] == 0
    # The oracle over the runs: request 0 at its least finishing alpha (0.5), request 1 at 0.
    assert flat["frontier.oracle_over_runs.completion"] == 1.0
    assert flat["frontier.oracle_over_runs.mean_alpha"] == 0.25
    # The issue-8 table is still there, and the points sort after the fixed policies.
    assert out.index("fixed_0.95") < out.index("timebill_k1") < out.index("timebill_k5") < \
        out.index("rtlm_q0.50")


def test_strict_comparison_fails_where_only_vanilla_matches(tmp_path, monkeypatch):
    # rtlm's only point, 1.0 at 0.25, does not match TimeBill's k1 (0.5 at alpha 0): it fails
    # on the points alone, and passes once both frontiers have vanilla's point.
    plans, runs = write(tmp_path, {**BASE, "rtlm_q0.50": (50, 100), "rtlm_q0.90": (50, 100)})
    out = summarize(load_summary(), [plans, runs, "--frontier", "--json",
                                     str(tmp_path / "s.json")], monkeypatch)
    assert "points alone: rtlm's frontier is NOT at or above TimeBill's: TimeBill completes " \
        "0.5000 at mean alpha 0.0000, rtlm needs 0.2500" in out
    flat = json.load(open(tmp_path / "s.json"))
    assert flat["frontier.dominates"] == 0
    assert flat["frontier.worst_alpha_excess"] == 0.25
    assert flat["frontier.least_completion_margin"] == -0.5
    assert flat["frontier.budgets_dominated"] == 0
    assert flat["frontier.dominates_with_vanilla"] == 1
    assert flat["frontier.with_vanilla.budgets_dominated"] == 1


def test_pareto_frontier_keeps_the_upper_left_points():
    m = load_summary()
    points = [(0.5, 0.0), (0.5, 0.1), (0.7, 0.2), (0.6, 0.3), (0.9, 0.5), (0.9, 0.4)]
    assert m.pareto_frontier(points) == [(0.5, 0.0), (0.7, 0.2), (0.9, 0.4)]
    # rtlm never completes 0.9 (excess infinite); at alpha 0.4 it completes 0.8, 0.1 short.
    dominates, excess, margin, worst = m.compare_frontiers([(0.8, 0.1)], [(0.9, 0.4)])
    assert (dominates, excess, worst) == (False, float("inf"), (0.9, 0.4))
    assert abs(margin + 0.1) < 1e-12


def test_without_frontier_points_the_frontier_is_refused(tmp_path, monkeypatch):
    plans, runs = write(tmp_path, {k: v for k, v in BASE.items() if "_k" not in k})
    try:
        summarize(load_summary(), [plans, runs, "--frontier"], monkeypatch)
    except SystemExit as e:
        assert "no frontier points" in str(e)
    else:
        raise AssertionError("--frontier without frontier points should stop")

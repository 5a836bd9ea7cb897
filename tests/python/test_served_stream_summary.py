# Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
"""benchmarks/gpu/summarize_served_stream.py: runs, rounds and paces, on hand-made logs."""

import contextlib
import csv
import importlib.util
import io
import os
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
FCFS, UAP = "first_come_first_served", "uncertainty_aware_priority"


def load_summary():
    path = os.path.join(ROOT, "benchmarks", "gpu", "summarize_served_stream.py")
    spec = importlib.util.spec_from_file_location("summarize_served_stream", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


def step(policy, run, measured, base_decode, prefills=0, **extra):
    return dict(policy=policy, **run, computed=4, predicted=measured, measured=measured,
                host_seconds=1e-5, base_prefill=0.0, base_decode=base_decode, prefills=prefills,
                prefill_tokens=100 * prefills, measured_prefill=0.0, **extra)


def summarize(module, folder, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["summarize_served_stream.py", str(folder)])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main()
    return out.getvalue()


def test_rounds_compare_each_policy_with_fcfs_in_its_own_round(tmp_path, monkeypatch):
    # Round 0: FCFS first (mean 2 s), then UAP (1 s); round 1: UAP first (3 s), then FCFS (6 s).
    # A one-off run at the end (as --whole-step-timing makes) is in no other round: left out.
    order = [(FCFS, 0, 2.0), (UAP, 0, 1.0), (UAP, 1, 3.0), (FCFS, 1, 6.0),
             (FCFS + ":whole_step_timing", 1, 100.0)]
    requests, steps = [], []
    for number, (policy, r, mean) in enumerate(order):
        run = dict(run=number, round=r)
        for i, latency in enumerate((mean - 0.5, mean + 0.5)):
            requests.append(dict(policy=policy, **run, id=i, outcome="finished", latency=latency,
                                 on_time=True))
        # Decode-only steps at 1.1, 1.2 and 1.3 of their base (median 1.2); a prefill step at 9x
        # that the pace must leave out.
        steps += [step(policy, run, 0.01 * x, 0.01) for x in (1.1, 1.3, 1.2)]
        steps.append(step(policy, run, 0.09, 0.01, prefills=1))
    write(tmp_path / "served_stream.csv", requests)
    write(tmp_path / "steps.csv", steps)
    text = summarize(load_summary(), tmp_path, monkeypatch)
    assert "uncertainty_aware_priority    0.500  0.500   geomean 0.500" in text
    # Position 1 held FCFS's 2 s and UAP's 3 s; position 2 UAP's 1 s and FCFS's 6 s.
    assert "1: 2.500 s, 2: 3.500 s" in text
    rows = [r for r in map(str.split, text.splitlines()) if len(r) == 11 and r[0].isdigit()]
    assert [(r[0], r[1], r[3], r[10]) for r in rows] == [
        ("0", FCFS, "2.000", "1.200"), ("1", UAP, "1.000", "1.200"),
        ("2", UAP, "3.000", "1.200"), ("3", FCFS, "6.000", "1.200"),
        ("4", FCFS + ":whole_step_timing", "100.000", "1.200")]


def test_output_without_a_run_column_counts_each_policy_as_one_run():
    module = load_summary()
    rows = [dict(policy=FCFS, id=0), dict(policy=UAP, id=0), dict(policy=FCFS, id=1)]
    runs = module.runs_of(rows)
    assert list(runs) == [(0, FCFS), (1, UAP)]
    assert [r["id"] for r in runs[(0, FCFS)]] == [0, 1]


def test_the_pace_is_nan_where_the_steps_carry_no_base_times():
    module = load_summary()
    pace = module.decode_pace([dict(policy=FCFS, measured="0.01", prefills="0")])
    assert pace != pace

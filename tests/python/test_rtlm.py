# Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
"""rtlm's Python bindings: each part called as a research prototype would call it."""

import os

import pytest

import rtlm

DATA = os.environ.get("RTLM_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "..",
                                                     "benchmarks", "data"))
PROFILE = os.path.join(DATA, "profiles", "h100_llama-3.1-8b.csv")


@pytest.fixture(scope="module")
def estimator():
    return rtlm.fit_estimator(PROFILE, "llama-3.1-8b")


def test_errors_are_value_errors_that_name_the_field():
    assert issubclass(rtlm.Error, ValueError)
    with pytest.raises(rtlm.Error, match="model.*no-such-model"):
        rtlm.fit_estimator(PROFILE, "no-such-model")
    with pytest.raises(rtlm.Error, match="SchedulerConfig.policy"):
        rtlm.SchedulerConfig(policy="fastest_first")
    with pytest.raises(rtlm.Error, match="alpha_max"):
        rtlm.SchedulerConfig(alpha_max=1.5)
    with pytest.raises(rtlm.Error, match="priority_preemption_margin = -1"):
        rtlm.SchedulerConfig(priority_preemption_margin=-1.0)


def test_scheduler_config_takes_vllms_kv_rules():
    config = rtlm.SchedulerConfig(kv_rule="on_demand", admit_after_preemption=False)
    assert config.kv_rule == "on_demand" and not config.admit_after_preemption
    assert rtlm.SchedulerConfig().kv_rule == "predicted_bound"
    assert rtlm.SchedulerConfig().admit_after_preemption
    with pytest.raises(rtlm.Error, match="SchedulerConfig.kv_rule = lazy"):
        rtlm.SchedulerConfig(kv_rule="lazy")
    rtlm.SchedulerConfig(policy="shortest_remaining_work")


def test_scheduler_config_takes_the_distribution_policies_without_aging():
    config = rtlm.SchedulerConfig(policy="gittins_index", aging=False)
    assert config.policy == "gittins_index" and not config.aging
    assert rtlm.SchedulerConfig(policy="tail_inflated_expectation").aging
    with pytest.raises(rtlm.Error, match="gittins_index, tail_inflated_expectation"):
        rtlm.SchedulerConfig(policy="gittins")


def test_capabilities_declare_kv_blocks_and_tokens_per_outcome():
    plain = rtlm.Capabilities(kv_capacity=1000)
    assert plain.kv_block_size == 1 and plain.max_tokens_per_outcome == 1
    paged = rtlm.Capabilities(kv_capacity=1000, kv_block_size=16, max_tokens_per_outcome=4)
    assert paged.kv_block_size == 16 and paged.max_tokens_per_outcome == 4
    with pytest.raises(rtlm.Error, match=r"kv_block_size = 2000: must be in \[1, kv_capacity"):
        rtlm.Capabilities(kv_capacity=1000, kv_block_size=2000)
    with pytest.raises(rtlm.Error, match="max_tokens_per_outcome = 0"):
        rtlm.Capabilities(kv_capacity=1000, max_tokens_per_outcome=0)


def test_the_estimator_times_prefills_and_decode_steps(estimator):
    # The fitted H100 model: a 1,024-token prefill takes ~28 ms; a lone decode step ~7 ms; a
    # batch of 64 costs more than one sequence, and the 0.99 bound lies above the estimate.
    assert 0.020 < estimator.prefill_time(1024) < 0.035
    assert 0.005 < estimator.decode_time([512]) < 0.009
    assert estimator.decode_time([512] * 64) > estimator.decode_time([512])
    assert estimator.decode_upper_bound([512], 0.99) >= estimator.decode_time([512])
    assert estimator.prefill_time(2048, 1024) > 0
    # A negative length is an error naming the argument, not a time.
    with pytest.raises(rtlm.Error, match=r"new_tokens = -5: must be in \[0, 2\^40\]"):
        estimator.prefill_time(-5)
    with pytest.raises(rtlm.Error, match="cached_tokens = -1"):
        estimator.prefill_upper_bound(16, -1)
    with pytest.raises(rtlm.Error, match=r"kv_lengths\[1\] = -100"):
        estimator.decode_time([512, -100])
    with pytest.raises(rtlm.Error, match=r"kv_lengths\[0\] = -1"):
        estimator.decode_upper_bound([-1], 0.99)


def test_the_solver_finds_the_least_eviction_that_fits(estimator):
    solver = rtlm.TimeBudgetSolver(estimator, max_tokens=8192)
    loose = solver.solve(prompt_tokens=4096, length_bound=100, budget=10.0)
    assert loose.feasible and loose.alpha == 0.0 and loose.kept_tokens == 4096
    # Halfway between the worst case keeping everything and the one evicting alpha_max.
    most = solver.solve(prompt_tokens=4096, length_bound=100, budget=0.0)
    assert most.alpha == 0.95 and most.worst_case < loose.worst_case
    budget = (loose.worst_case + most.worst_case) / 2
    tight = solver.solve(prompt_tokens=4096, length_bound=100, budget=budget)
    assert tight.feasible and 0.0 < tight.alpha < 0.95
    assert tight.worst_case <= budget
    hopeless = solver.solve(prompt_tokens=4096, length_bound=100, budget=0.01)
    assert not hopeless.feasible and hopeless.shortfall == "prefill_too_long"
    with pytest.raises(rtlm.Error, match="budget"):
        solver.solve(prompt_tokens=10, length_bound=10, budget=float("nan"))


class CountingBackend(rtlm.Backend):
    """Generates one token per computed sequence; each request ends after `lengths[id]` tokens."""

    def __init__(self, lengths, fail_steps=0, can_chunk_prefill=True, **caps):
        super().__init__(rtlm.Capabilities(kv_capacity=100_000,
                                           can_chunk_prefill=can_chunk_prefill,
                                           can_preempt_recompute=True, **caps))
        self.lengths = lengths
        self.made = {}
        self.fail_steps = fail_steps
        self.plans = []

    def run_step(self, plan):
        return rtlm.StepResult(self.compute(plan), step_time=0.01)

    def compute(self, plan):
        """The plan's outcomes, in plan order."""
        self.plans.append(plan)
        if self.fail_steps > 0:
            self.fail_steps -= 1
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        outcomes = []
        for p in plan.prefills:
            made = self.made.get(p.id, 0) + (1 if p.final_chunk else 0)
            self.made[p.id] = made
            outcomes.append((p.id, 1 if p.final_chunk else 0, made >= self.lengths[p.id]))
        for d in plan.decodes:
            made = self.made[d.id] + 1
            self.made[d.id] = made
            outcomes.append((d.id, 1, made >= self.lengths[d.id]))
        return outcomes


def run(scheduler, backend_index, until=1000):
    now = 0.0
    for _ in range(until):
        report = scheduler.step(backend_index, now)
        assert report.status == "ok", report.error
        now += report.measured
        if scheduler.live_requests == 0 and report.computed == 0:
            break
    return now


def test_the_scheduler_drives_a_python_backend_in_policy_order(estimator):
    events = []
    scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(policy="shortest_predicted_first"))
    backend = CountingBackend({1: 3, 2: 40, 3: 2}, max_batch_size=1)
    b = scheduler.add_backend(backend, estimator)
    scheduler.set_observer(lambda kind, rid, reason, be, at: events.append((kind, rid)))
    assert scheduler.submit(1, prompt_tokens=16)  # takes the batch of one
    scheduler.step(b, 0.0)
    assert scheduler.submit(2, prompt_tokens=16, predicted=rtlm.LengthEstimate(40, 60))
    assert scheduler.submit(3, prompt_tokens=16, predicted=rtlm.LengthEstimate(2, 4))
    run(scheduler, b)
    admitted = [rid for kind, rid in events if kind == "admitted"]
    finished = [rid for kind, rid in events if kind == "finished"]
    assert admitted == [1, 3, 2]  # the shorter prediction first
    assert sorted(finished) == [1, 2, 3]
    assert backend.made == {1: 3, 2: 40, 3: 2}
    assert (scheduler.waiting(b), scheduler.running(b), scheduler.swapped_out(b)) == (0, 0, 0)
    for by_index in (scheduler.waiting, scheduler.running, scheduler.swapped_out,
                     scheduler.reserved_kv, lambda i: scheduler.step(i, 1.0),
                     lambda i: scheduler.plan_step(i, 1.0)):
        with pytest.raises(rtlm.Error, match="backend = 1: is not a backend"):
            by_index(1)


def test_admission_at_the_current_pace_is_a_config_flag():
    assert not rtlm.SchedulerConfig().admission_at_current_pace
    assert rtlm.SchedulerConfig(admission_at_current_pace=True).admission_at_current_pace


def test_preemption_for_priority_lets_a_shorter_request_through(estimator):
    events = []
    config = rtlm.SchedulerConfig(policy="shortest_predicted_remaining",
                                  preempt_for_priority=True)
    assert config.preempt_for_priority
    scheduler = rtlm.Scheduler(config)
    backend = CountingBackend({1: 40, 2: 2}, max_batch_size=1)
    b = scheduler.add_backend(backend, estimator)
    scheduler.set_observer(lambda kind, rid, reason, be, at: events.append((kind, rid)))
    assert scheduler.submit(1, prompt_tokens=16, predicted=rtlm.LengthEstimate(500, 1000))
    scheduler.step(b, 0.0)
    assert scheduler.submit(2, prompt_tokens=16, predicted=rtlm.LengthEstimate(2, 4))
    run(scheduler, b)
    assert ("preempted", 1) in events  # recomputed: this backend cannot swap
    assert [rid for kind, rid in events if kind == "finished"] == [2, 1]
    assert backend.made == {1: 40, 2: 2}


def test_a_backend_without_chunking_gets_a_long_prompt_beside_its_decodes(estimator):
    # The scheduler's budget is 64 tokens and the backend sets none: the 100-token prompt runs
    # whole in the next step, beside the two decodes, instead of waiting for them to finish.
    scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(policy="first_come_first_served",
                                                    max_step_tokens=64))
    backend = CountingBackend({1: 30, 2: 30, 3: 5}, can_chunk_prefill=False)
    b = scheduler.add_backend(backend, estimator)
    assert scheduler.submit(1, prompt_tokens=16) and scheduler.submit(2, prompt_tokens=16)
    scheduler.step(b, 0.0)
    assert scheduler.submit(3, prompt_tokens=100)
    scheduler.step(b, 0.01)
    plan = backend.plans[-1]
    assert sorted(d.id for d in plan.decodes) == [1, 2]
    assert [(p.id, p.new_tokens) for p in plan.prefills] == [(3, 100)]
    run(scheduler, b)
    assert backend.made == {1: 30, 2: 30, 3: 5}


class SplitTimingBackend(CountingBackend):
    """Reports its prefills' own time with every step that has prefills."""

    def __init__(self, lengths, prefill_time):
        super().__init__(lengths)
        self.prefill_time = prefill_time

    def run_step(self, plan):
        return rtlm.StepResult(self.compute(plan), step_time=0.01,
                               prefill_time=self.prefill_time if plan.prefills else None)


def test_a_step_may_time_its_prefills_apart_but_not_past_the_step(estimator):
    scheduler = rtlm.Scheduler()
    b = scheduler.add_backend(SplitTimingBackend({1: 3}, prefill_time=0.004), estimator)
    assert scheduler.submit(1, prompt_tokens=8)
    run(scheduler, b)
    bad = rtlm.Scheduler()
    b = bad.add_backend(SplitTimingBackend({1: 3}, prefill_time=0.02), estimator)
    assert bad.submit(1, prompt_tokens=8)
    report = bad.step(b, 0.0)
    assert report.status == "invalid_result"
    assert report.error == "prefill_time is longer than step_time"


def test_the_online_correction_replays_steps_both_ways(estimator):
    base_prefill, base_decode = estimator.prefill_time(300), estimator.decode_time([100, 200])
    whole = rtlm.OnlineStepCorrection(estimator, weight=1.0)
    assert whole.observe_step(base_prefill, 1, base_decode, 1.5 * (base_prefill + base_decode))
    assert whole.prefill_scale == pytest.approx(1.5) and whole.decode_factor == pytest.approx(1.5)
    assert whole.prefill_offset == 0.0
    assert whole.planned(base_prefill, 1, base_decode) == pytest.approx(
        1.5 * (base_prefill + base_decode))
    # Timed apart: the decodes ran as planned, so only the prefill model moves.
    split = rtlm.OnlineStepCorrection(estimator, weight=1.0)
    assert split.observe_step(base_prefill, 1, base_decode, 2 * base_prefill + base_decode,
                              measured_prefill=2 * base_prefill)
    assert split.decode_factor == pytest.approx(1.0)
    assert split.planned(base_prefill, 1, 0.0) == pytest.approx(2 * base_prefill, rel=1e-2)
    assert not split.observe_step(base_prefill, 1, base_decode, float("nan"))


def test_a_step_report_carries_the_plans_base_times(estimator):
    scheduler = rtlm.Scheduler()
    backend = CountingBackend({1: 3})
    b = scheduler.add_backend(backend, estimator)
    assert scheduler.submit(1, prompt_tokens=64)
    report = scheduler.step(b, 0.0)  # the prefill
    assert report.base_prefill == pytest.approx(estimator.prefill_time(64))
    assert report.base_decode == 0.0
    report = scheduler.step(b, report.measured)  # its first decode
    assert report.base_prefill == 0.0
    kv = [d.kv_length for d in backend.plans[-1].decodes]
    assert report.base_decode == pytest.approx(estimator.decode_time(kv))


def test_a_backend_that_raises_fails_its_step_not_the_scheduler(estimator):
    scheduler = rtlm.Scheduler()
    backend = CountingBackend({7: 2}, fail_steps=1)
    b = scheduler.add_backend(backend, estimator)
    assert scheduler.submit(7, prompt_tokens=8)
    report = scheduler.step(b, 0.0)
    assert report.status == "backend_failure"
    assert "illegal memory access" in report.error
    assert report.affected == [7]
    run(scheduler, b)  # retried, then finished
    assert backend.made[7] == 2


def test_completing_a_step_that_was_not_planned_is_reported(estimator):
    scheduler = rtlm.Scheduler()
    backend = CountingBackend({5: 2})
    b = scheduler.add_backend(backend, estimator)
    assert scheduler.submit(5, prompt_tokens=8)
    report = scheduler.complete_step(b, rtlm.StepResult([], step_time=0.0), 0.0)
    assert report.status == "invalid_result"
    assert report.error == ("no step in flight on this backend "
                            "(complete_step() without plan_step())")
    run(scheduler, b)  # nothing was lost
    assert backend.made[5] == 2


def test_bad_requests_are_errors_and_a_full_intake_says_so(estimator):
    scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(max_requests=4))
    with pytest.raises(rtlm.Error, match="request.max_new_tokens"):
        scheduler.submit(1, prompt_tokens=8, max_new_tokens=0)
    with pytest.raises(rtlm.Error, match="deadline"):
        scheduler.submit(1, prompt_tokens=8, deadline=float("nan"))
    accepted = [scheduler.submit(i, prompt_tokens=8) for i in range(10)]
    assert accepted[:4] == [True] * 4 and not all(accepted)


def test_a_tight_deadline_gets_an_eviction(estimator):
    scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(policy="earliest_deadline_first"))
    backend = CountingBackend({1: 50}, can_evict_kv=True)
    b = scheduler.add_backend(backend, estimator)
    alone = estimator.prefill_time(8000) + 49 * estimator.decode_time([8000])
    assert scheduler.submit(1, prompt_tokens=8000, deadline=0.8 * alone,
                            predicted=rtlm.LengthEstimate(50, 50))
    scheduler.step(b, 0.0)
    assert 0.0 < scheduler.eviction_ratio(1) <= 0.9
    run(scheduler, b)
    evictions = [e for plan in backend.plans for e in plan.evictions]
    assert len(evictions) == 1 and evictions[0].id == 1 and evictions[0].kept_tokens < 8000


def test_scheduler_config_takes_slo_classes_relegation_and_tenants():
    default = rtlm.SchedulerConfig()
    assert default.slo_classes == [] and default.relegation == "off"
    assert not default.tpot_budget and default.tpot_headroom == 0.9
    assert default.min_prefill_tokens == 2048
    assert default.tenants == 0 and default.tenant_weights == []
    assert (default.prefill_weight, default.decode_weight) == (1.0, 2.0)
    config = rtlm.SchedulerConfig(
        slo_classes=[rtlm.SloClass("chat", ttft=0.5, tpot=0.05, sheddable=True),
                     {"name": "batch", "time_budget": 60.0}],
        relegation="shed_sheddable", tpot_budget=True, tpot_headroom=0.8, min_prefill_tokens=128,
        tenants=3, tenant_weights=[1.0, 2.0, 0.5], prefill_weight=0.5, decode_weight=4.0)
    chat, batch = config.slo_classes
    assert (chat.name, chat.ttft, chat.tpot, chat.time_budget, chat.sheddable) == (
        "chat", 0.5, 0.05, None, True)
    assert (batch.name, batch.ttft, batch.tpot, batch.time_budget, batch.sheddable) == (
        "batch", None, None, 60.0, False)
    assert config.relegation == "shed_sheddable"
    assert config.tpot_budget and config.tpot_headroom == 0.8 and config.min_prefill_tokens == 128
    assert config.tenants == 3 and config.tenant_weights == [1.0, 2.0, 0.5]
    assert (config.prefill_weight, config.decode_weight) == (0.5, 4.0)
    assert rtlm.SchedulerConfig(relegation="demote").relegation == "demote"


def test_slo_and_fairness_config_errors_name_the_field():
    bad = [
        (dict(relegation="drop"),
         "SchedulerConfig.relegation = drop: must be off, demote or shed_sheddable"),
        (dict(slo_classes=[{"name": "a"}, rtlm.SloClass("b", tpot=0.0)]),
         r"scheduler_config.slo.classes\[1\].tpot = 0: must be in \(0, 1e9\] seconds"),
        (dict(slo_classes=[rtlm.SloClass("a", ttft=float("nan"))]),
         r"scheduler_config.slo.classes\[0\].ttft = nan"),
        (dict(slo_classes=[{"name": "a", "time_budget": -1.0}]),
         r"scheduler_config.slo.classes\[0\].time_budget = -1"),
        (dict(slo_classes=[{"name": "a"}, {"name": "a"}]),
         r"scheduler_config.slo.classes\[1\].name = a: must differ"),
        (dict(slo_classes=[{"name": ""}]), r"scheduler_config.slo.classes\[0\].name = :"),
        (dict(slo_classes=[{"ttft": 1.0}]), r"SchedulerConfig.slo_classes\[0\].name = None"),
        (dict(slo_classes=[{"name": "a", "deadline": 1.0}]),
         r"SchedulerConfig.slo_classes\[0\] = deadline: is not a field of an SLO class"),
        (dict(slo_classes=["a"]), r"SchedulerConfig.slo_classes\[0\] = 'a'"),
        (dict(slo_classes=[{"name": "a", "tpot": "fast"}]),
         r"SchedulerConfig.slo_classes\[0\].tpot = 'fast'"),
        (dict(tpot_headroom=0.0), r"scheduler_config.slo.tpot_headroom = 0: must be in \(0, 1\]"),
        (dict(min_prefill_tokens=-1), "scheduler_config.slo.min_prefill_tokens = -1"),
        (dict(tenants=65), r"scheduler_config.fairness.tenants = 65: must be in 0..64"),
        (dict(tenants=-1), "scheduler_config.fairness.tenants = -1"),
        (dict(tenants=2, tenant_weights=[1.0]),
         "scheduler_config.fairness.tenant_weights = 1: must be empty or hold one weight per"),
        (dict(tenants=2, tenant_weights=[1.0, 0.0]),
         r"scheduler_config.fairness.tenant_weights\[1\] = 0: must be finite and > 0"),
        (dict(prefill_weight=float("inf")), "scheduler_config.fairness.prefill_weight = inf"),
        (dict(decode_weight=-1.0), "scheduler_config.fairness.decode_weight = -1"),
    ]
    for kwargs, message in bad:
        with pytest.raises(rtlm.Error, match=message):
            rtlm.SchedulerConfig(**kwargs)


def test_submit_checks_slo_targets_classes_and_tenants(estimator):
    scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(slo_classes=[{"name": "chat"},
                                                                 {"name": "batch"}], tenants=2))
    events = []
    scheduler.set_observer(lambda kind, rid, reason, be, at: events.append((kind, rid, reason)))
    bad = [
        (dict(tpot_target=0.0), r"request.tpot_target = 0: must be in \(0, 1e9\] seconds"),
        (dict(tpot_target=float("nan")), "request.tpot_target = nan"),
        (dict(ttft_target=float("nan")), r"request.ttft_target = nan: must be in \(0, 1e9\]"),
        (dict(ttft_target=-0.5), "request.ttft_target = -0.5"),
        (dict(ttft_target=2e9), "request.ttft_target = 2000000000"),
        (dict(slo_class="gold"),
         r"request.slo_class = gold: is not one of SchedulerConfig.slo_classes \(chat, batch\)"),
        (dict(tenant=2), r"request.tenant = 2: must be below scheduler_config.fairness.tenants "
                         r"\(2\)"),
        (dict(tenant=-1), r"request.tenant = -1: must be in \[0, 2\^32\)"),
    ]
    for kwargs, message in bad:
        with pytest.raises(rtlm.Error, match=message):
            scheduler.submit(1, prompt_tokens=8, **kwargs)
    with pytest.raises(rtlm.Error, match="request.slo_class = chat: names no class"):
        rtlm.Scheduler().submit(1, prompt_tokens=8, slo_class="chat")
    assert rtlm.Scheduler().submit(1, prompt_tokens=8, tenant=7)  # without fairness, any tenant
    # Nothing refused above was queued: id 1 is free, and only the valid request runs.
    assert scheduler.submit(1, prompt_tokens=8, ttft_target=1.0, tpot_target=0.05,
                            slo_class="batch", tenant=1)
    b = scheduler.add_backend(CountingBackend({1: 2}), estimator)
    run(scheduler, b)
    assert events == [("queued", 1, "none"), ("admitted", 1, "none"), ("finished", 1, "none")]


def slo_run(estimator, relegation):
    """Four requests under a class whose TTFT target (1 ns) no prefill meets: `chat` sheddable,
    `standard` not; request 3 is a chat request with its own, loose target; 4 has no class."""
    config = rtlm.SchedulerConfig(
        slo_classes=[{"name": "chat", "ttft": 1e-9, "sheddable": True},
                     rtlm.SloClass("standard", ttft=1e-9)],
        relegation=relegation)
    scheduler = rtlm.Scheduler(config)
    backend = CountingBackend({1: 3, 2: 3, 3: 3, 4: 3})
    b = scheduler.add_backend(backend, estimator)
    events = []
    scheduler.set_observer(lambda kind, rid, reason, be, at: events.append((kind, rid, reason)))
    assert scheduler.submit(1, prompt_tokens=64, slo_class="chat")
    assert scheduler.submit(2, prompt_tokens=64, slo_class="standard")
    assert scheduler.submit(3, prompt_tokens=64, slo_class="chat", ttft_target=10.0)
    assert scheduler.submit(4, prompt_tokens=64)
    run(scheduler, b)
    return events, backend.made


def test_relegation_sheds_or_demotes_what_cannot_meet_its_ttft(estimator):
    events, made = slo_run(estimator, "off")
    assert [e for e in events if e[0] in ("rejected", "relegated")] == []
    assert [rid for kind, rid, _ in events if kind == "admitted"] == [1, 2, 3, 4]
    assert made == {1: 3, 2: 3, 3: 3, 4: 3}
    # demote: the class's 1 ns target applies to 1 and 2 (3 sets its own), which are relegated
    # and queued behind the requests that can still meet their objectives.
    events, made = slo_run(estimator, "demote")
    assert [e for e in events if e[0] != "finished"] == [
        ("queued", 1, "none"), ("relegated", 1, "slo_unattainable"),
        ("queued", 2, "none"), ("relegated", 2, "slo_unattainable"),
        ("queued", 3, "none"), ("queued", 4, "none"),
        ("admitted", 3, "none"), ("admitted", 4, "none"),
        ("admitted", 1, "none"), ("admitted", 2, "none")]
    assert made == {1: 3, 2: 3, 3: 3, 4: 3}
    # shed_sheddable: the sheddable chat request is refused; the standard one is demoted.
    events, made = slo_run(estimator, "shed_sheddable")
    assert [e for e in events if e[0] != "finished"] == [
        ("rejected", 1, "slo_unattainable"),
        ("queued", 2, "none"), ("relegated", 2, "slo_unattainable"),
        ("queued", 3, "none"), ("queued", 4, "none"),
        ("admitted", 3, "none"), ("admitted", 4, "none"), ("admitted", 2, "none")]
    assert made == {2: 3, 3: 3, 4: 3}


def test_a_classs_time_budget_is_the_default(estimator):
    scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(
        admission="reject", slo_classes=[{"name": "batch", "time_budget": 1e-6}]))
    b = scheduler.add_backend(CountingBackend({1: 3, 2: 3}), estimator)
    events = []
    scheduler.set_observer(lambda kind, rid, reason, be, at: events.append((kind, rid, reason)))
    assert scheduler.submit(1, prompt_tokens=64, slo_class="batch")  # 1 us: no prefill fits
    assert scheduler.submit(2, prompt_tokens=64, slo_class="batch", time_budget=100.0)
    run(scheduler, b)
    assert events == [("rejected", 1, "prefill_too_long"), ("queued", 2, "none"),
                      ("admitted", 2, "none"), ("finished", 2, "none")]


def test_a_tpot_budget_chunks_prefills_to_the_running_tpot_target(estimator):
    # Request 1 decodes with a 20 ms TPOT target while an 8,000-token prompt arrives: without
    # the budget its chunks fill the step (2,047 tokens beside the decode, ~64 ms); with it the
    # first chunk's step is planned within 0.9 x 20 ms (later chunks, which attend to the ones
    # before, are sized as if they did not) and no chunk is below min_prefill_tokens.
    for tpot_budget in (False, True):
        scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(
            policy="first_come_first_served", tpot_budget=tpot_budget, min_prefill_tokens=64))
        backend = CountingBackend({1: 50, 2: 3})
        b = scheduler.add_backend(backend, estimator)
        assert scheduler.submit(1, prompt_tokens=16, tpot_target=0.02)
        now = scheduler.step(b, 0.0).measured
        assert scheduler.submit(2, prompt_tokens=8000)
        for step in range(3):
            report = scheduler.step(b, now)
            now += report.measured
            chunk = [p.new_tokens for p in backend.plans[-1].prefills]
            assert [d.id for d in backend.plans[-1].decodes] == [1]
            if not tpot_budget:
                assert chunk == [2047] and report.predicted > 0.02
                continue
            assert len(chunk) == 1 and 64 <= chunk[0] < 2047
            if step == 0:
                assert report.predicted <= 0.9 * 0.02


def tenant_order(estimator, **fairness):
    """The admission order of four tenant-0 requests (1 taking the batch of one first) and three
    tenant-1 requests submitted after it, under first come, first served."""
    scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(policy="first_come_first_served", **fairness))
    b = scheduler.add_backend(CountingBackend({i: 5 for i in range(1, 8)}, max_batch_size=1),
                              estimator)
    admitted = []
    scheduler.set_observer(
        lambda kind, rid, reason, be, at: admitted.append(rid) if kind == "admitted" else None)
    tenanted = fairness.get("tenants", 0) > 0
    for i in (1, 2, 3, 4):
        assert scheduler.submit(i, prompt_tokens=16, tenant=0)
    scheduler.step(b, 0.0)
    for i in (5, 6, 7):
        assert scheduler.submit(i, prompt_tokens=16, tenant=1 if tenanted else 0)
    run(scheduler, b)
    return admitted


def test_tenant_fairness_interleaves_tenants_by_their_weights(estimator):
    assert tenant_order(estimator) == [1, 2, 3, 4, 5, 6, 7]  # fairness off: arrival order
    assert tenant_order(estimator, tenants=2) == [1, 5, 2, 6, 3, 7, 4]  # equal shares
    # Tenant 1 weighs 100 times tenant 0: it is served until it has nothing left.
    assert tenant_order(estimator, tenants=2, tenant_weights=[1.0, 100.0]) == [1, 5, 6, 7, 2, 3, 4]
    # Service that costs nothing leaves every counter at 0: arrival order again.
    assert tenant_order(estimator, tenants=2, prefill_weight=0.0,
                        decode_weight=0.0) == [1, 2, 3, 4, 5, 6, 7]


def test_snapkv_selects_from_probabilities_or_from_window_scores():
    import numpy as np  # the README installs python3-numpy; arrays cross as numpy
    # One head, length 8, window 2 (the hand case of tests/budget/kv_selection_test.cpp):
    # window sums 6 5 0 9 0 0 over the prefix; kernel 1 and 4 kept keep 0, 3 and the window.
    p = np.array([[3, 2, 0, 5, 0, 0, 6, 0], [3, 3, 0, 4, 0, 0, 2, 4]], dtype=np.float32) / 16
    kept = rtlm.select_snapkv(p, 1, 1, kept=4, window=2, kernel=1)
    assert kept.dtype == np.int64 and kept.tolist() == [[0, 3, 6, 7]]
    scores = p.sum(axis=0, keepdims=True)
    assert rtlm.select_snapkv_from_window_scores(scores, 1, 1, kept=4, window=2,
                                                 kernel=1).tolist() == [[0, 3, 6, 7]]
    # GQA: 4 query heads over 2 KV heads give one row per KV head; a ratio works too.
    rng = np.random.default_rng(0)
    probs = rng.random((4 * 3, 40), dtype=np.float32)
    by_kv = rtlm.select_snapkv(probs, 4, 2, alpha=0.5, window=3)
    assert by_kv.shape == (2, 20)
    sums = probs.reshape(4, 3, 40).sum(axis=1)
    assert (rtlm.select_snapkv_from_window_scores(sums, 4, 2, alpha=0.5, window=3) == by_kv).all()
    with pytest.raises(rtlm.Error, match="alpha"):
        rtlm.select_snapkv(p, 1, 1, window=2)  # neither alpha nor kept
    with pytest.raises(rtlm.Error, match="window_probabilities.rows"):
        rtlm.select_snapkv(p, 2, 1, kept=4, window=2)
    with pytest.raises(rtlm.Error, match="pooling"):
        rtlm.select_snapkv(p, 1, 1, kept=4, window=2, pooling="min")


def test_length_predictors_learn_from_text():
    predictor = rtlm.LengthPredictor("regressor", coverage=0.9)
    prompts = ["Write a long essay about the sea."] * 20 + ["Say yes or no."] * 20
    lengths = [600] * 20 + [3] * 20
    predictor.fit(prompts, lengths)
    long, short = predictor.predict(prompts[0]), predictor.predict(prompts[-1])
    assert long.mean > 4 * short.mean
    assert long.upper_bound >= long.mean and long.coverage == 0.9
    predictor.learn("Say yes or no.", 2)
    with pytest.raises(rtlm.Error, match="LengthPredictor.kind"):
        rtlm.LengthPredictor("oracle")


def test_length_predictor_bound_is_calibrated_by_grouped_cross_fitting():
    prompts = [f"Write {n} sentences about topic {n}." for n in range(60)] * 2  # every prompt twice
    lengths = [20 + 15 * (n % 20) for n in range(60)] * 2
    predictor = rtlm.LengthPredictor("regressor", coverage=0.9)
    assert not predictor.calibrated  # before fit: the predictor's own quantile
    predictor.fit(prompts, lengths)
    assert predictor.calibrated and predictor.calibration_scores == 120
    e = predictor.predict(prompts[0])
    assert e.upper_bound >= e.mean and e.coverage == 0.9
    assert predictor.level == pytest.approx(0.9, abs=0.02)
    before = predictor.predict(prompts[0]).upper_bound
    for p, n in zip(prompts[:30], lengths[:30]):
        predictor.learn(p, 10 * n)  # the answers grow: the adaptive bound moves up
    assert predictor.predict(prompts[0]).upper_bound > before
    with pytest.raises(rtlm.Error, match="LengthPredictor.fit groups"):
        predictor.fit(prompts, lengths, groups=[1, 2])
    predictor.fit(prompts[:4], lengths[:4])  # 4 distinct prompts: 4 folds
    assert predictor.calibration_scores == 4 and not predictor.calibrated  # too few for 90%
    predictor.fit(["Say yes or no."] * 5, [3] * 5)  # one prompt: nothing to cross-fit
    assert not predictor.calibrated
    with pytest.raises(rtlm.Error, match="cross_validate.folds = 5"):
        rtlm.cross_validate_length(prompts[:4], lengths[:4])
    folds = rtlm.cross_validate_length(prompts, lengths)["fold"]
    assert all(folds[i] == folds[i + 60] for i in range(60))  # copies share a fold


def _eval_length_predictor():
    """The eval_length_predictor built beside this module (build/benchmarks), or None."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(rtlm.__file__)))
    path = os.environ.get("RTLM_EVAL_LENGTH_PREDICTOR",
                          os.path.join(build, "benchmarks", "eval_length_predictor"))
    return path if os.path.exists(path) else None


def test_python_and_cpp_length_predictors_give_the_same_figures(tmp_path):
    binary = _eval_length_predictor()
    if binary is None:
        pytest.skip("eval_length_predictor was not built (RTLM_BUILD_BENCHMARKS=OFF)")
    import subprocess
    source = os.path.join(DATA, "alpaca_eval")
    with open(os.path.join(source, "instructions.tsv"), encoding="utf-8") as f:
        header, *rows = f.read().splitlines()
    rows = rows[:80]
    keys = {r.split("\t")[0] for r in rows}
    model = "Meta-Llama-3-8B-Instruct"
    with open(os.path.join(source, "token_lengths.csv"), encoding="utf-8") as f:
        columns, *lines = f.read().splitlines()
    names = columns.split(",")
    g, out, key = names.index("generator"), names.index("output_tokens"), \
        names.index("instruction_sha1")
    picked = [l for l in lines if l.split(",")[g] == model and l.split(",")[key] in keys]
    (tmp_path / "instructions.tsv").write_text("\n".join([header] + rows) + "\n",
                                               encoding="utf-8")
    (tmp_path / "token_lengths.csv").write_text("\n".join([columns] + picked) + "\n",
                                                encoding="utf-8")
    errors = tmp_path / "errors.csv"
    subprocess.run([binary, "--data", str(tmp_path), "--no-shift", "--errors", str(errors)],
                   check=True, capture_output=True)
    cpp = [l.split(",") for l in errors.read_text().splitlines()[1:]]

    def unescape(text):
        out, i = [], 0
        while i < len(text):
            if text[i] == "\\":
                out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[text[i + 1]])
                i += 2
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    text = {r.split("\t")[0]: unescape(r.split("\t")[2]) for r in rows}
    prompts = [text[l.split(",")[key]] for l in picked]
    lengths = [int(l.split(",")[out]) for l in picked]
    groups = [int(l.split(",")[key], 16) for l in picked]
    py = rtlm.cross_validate_length(prompts, lengths, groups=groups)
    assert len(cpp) == len(prompts) == len(picked)
    for row, mean, bound, unc, n in zip(cpp, py["mean"], py["upper_bound"], py["uncertainty"],
                                        lengths):
        assert row[0] == model and int(row[1]) == n
        assert float(row[2]) == pytest.approx(mean, abs=0.006)
        assert int(row[3]) == bound
        assert float(row[4]) == pytest.approx(unc, abs=6e-5)


def test_the_simulator_replays_a_trace(estimator, tmp_path):
    path = tmp_path / "trace.csv"
    rows = ["timestamp_ms,input_length,output_length"]
    rows += [f"{i * 200},{200 + 10 * i},{20 + i}" for i in range(50)]
    path.write_text("\n".join(rows) + "\n")
    trace = rtlm.load_trace(str(path))
    assert len(trace) == 50 and trace.span == pytest.approx(9.8)
    caps = rtlm.Capabilities(kv_capacity=100_000, max_batch_size=16, max_step_tokens=2048,
                             can_chunk_prefill=True, can_preempt_recompute=True)
    m = rtlm.simulate(trace, estimator, caps, deadline_slack=5.0,
                      predict=lambda i, prompt, out: rtlm.LengthEstimate(out, out))
    assert m.requests == 50 and m.finished + m.rejected == 50
    assert 0 < m.mean_latency <= m.p99_latency
    assert m.preemptions == 0  # the KV holds every request at once
    with pytest.raises(rtlm.Error, match="swap_seconds_per_token"):
        rtlm.simulate(trace, estimator, caps, swap_seconds_per_token=-1.0)
    with pytest.raises(rtlm.Error,
                       match=r"trace request 0: request.predicted_length.bound_coverage = 1"):
        rtlm.simulate(trace, estimator, caps,
                      predict=lambda i, prompt, out: rtlm.LengthEstimate(out, out, coverage=1.0))
    assert 0.0 <= m.deadline_miss_rate <= 1.0
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp_ms,input_length,output_length\n0,10,x\n")
    with pytest.raises(rtlm.Error, match="bad.csv:2"):
        rtlm.load_trace(str(bad))


def test_trace_rows_and_the_length_noise_model(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("timestamp_ms,input_length,output_length\n0,100,50\n500,200,7\n")
    rows = rtlm.trace_requests(rtlm.load_trace(str(path)))
    assert [(r.arrival, r.prompt_tokens, r.output_tokens) for r in rows] == [(0.0, 100, 50),
                                                                           (0.5, 200, 7)]
    noise = rtlm.load_length_errors(os.path.join(DATA, "length_errors", "alpaca_eval_cv.csv"),
                                    "Meta-Llama-3-8B-Instruct")
    a, b = noise.predict(300, key=1), noise.predict(300, key=1)
    assert a.mean == b.mean and a.upper_bound >= 1  # the same key, the same prediction
    assert "Meta-Llama-3-8B-Instruct" in noise.describe()
    with pytest.raises(rtlm.Error, match="no-such-model"):
        rtlm.load_length_errors(os.path.join(DATA, "length_errors", "alpaca_eval_cv.csv"),
                                "no-such-model")

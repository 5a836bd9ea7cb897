# Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
"""What the bindings guarantee a Python host that misbehaves or is interrupted: one call at a
time into a scheduler (rtlm.UsageError), exceptions from callbacks raised where the host sees
them, cyclic garbage collection, the GIL released while simulating, times checked before they
become nanoseconds, and length predictors that shrug off corrupt lengths."""

import gc
import os
import sys
import threading
import time
import weakref

import pytest

import rtlm

DATA = os.environ.get("RTLM_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "..",
                                                     "benchmarks", "data"))
PROFILE = os.path.join(DATA, "profiles", "h100_llama-3.1-8b.csv")

# The end of a request's life, as the observer sees it.
ENDS = ("finished", "rejected", "cancelled", "failed")


@pytest.fixture(scope="module")
def estimator():
    return rtlm.fit_estimator(PROFILE, "llama-3.1-8b")


class CountingBackend(rtlm.Backend):
    """One token per computed sequence; request `id` ends after `lengths[id]` tokens. `hook`,
    when set, runs at the start of every step (and may raise)."""

    def __init__(self, lengths, kv_capacity=100_000, hook=None):
        super().__init__(rtlm.Capabilities(kv_capacity=kv_capacity, can_chunk_prefill=True,
                                           can_preempt_recompute=True))
        self.lengths = lengths
        self.made = {}
        self.hook = hook
        self.steps = 0

    def run_step(self, plan):
        self.steps += 1
        if self.hook is not None:
            self.hook(plan)
        outcomes = []
        for p in plan.prefills:
            made = self.made.get(p.id, 0) + (1 if p.final_chunk else 0)
            self.made[p.id] = made
            outcomes.append((p.id, 1 if p.final_chunk else 0, made >= self.lengths[p.id]))
        for d in plan.decodes:
            made = self.made[d.id] + 1
            self.made[d.id] = made
            outcomes.append((d.id, 1, made >= self.lengths[d.id]))
        return rtlm.StepResult(outcomes, step_time=0.001)


def run(scheduler, b, now=0.0, until=2000):
    for _ in range(until):
        report = scheduler.step(b, now)
        assert report.status == "ok", report.error
        now += report.measured
        if scheduler.live_requests == 0 and report.computed == 0:
            break
    return now


def test_usage_error_is_a_runtime_error():
    assert issubclass(rtlm.UsageError, RuntimeError)
    assert not issubclass(rtlm.UsageError, rtlm.Error)


# ---- one call at a time -------------------------------------------------------------------------

def test_threads_stepping_one_scheduler_get_usage_error_and_corrupt_nothing(estimator):
    # Needs the scheduler's single-entry guard. The backend sleeps (releasing the GIL) inside
    # every step, so the other threads' steps arrive while one is inside: they must be refused,
    # and every request must still end exactly once.
    n = 200
    lengths = {i: 2 + i % 7 for i in range(n)}
    ended = {}
    lock = threading.Lock()

    def on_event(kind, rid, reason, backend, at):
        if kind in ENDS:
            with lock:
                ended[rid] = ended.get(rid, 0) + 1

    backend = CountingBackend(lengths, kv_capacity=4_000, hook=lambda plan: time.sleep(0.0005))
    scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(policy="first_come_first_served"))
    b = scheduler.add_backend(backend, estimator)
    scheduler.set_observer(on_event)
    for i in range(n):
        assert scheduler.submit(i, prompt_tokens=16 + i % 50)
    refused = [0] * 4
    errors = []
    start = time.monotonic()

    def drive(k):
        try:
            while len(ended) < n and time.monotonic() - start < 60:
                try:
                    scheduler.step(b, time.monotonic() - start)
                except rtlm.UsageError as e:
                    assert "another thread" in str(e)
                    refused[k] += 1
        except BaseException as e:  # pylint: disable=broad-except
            errors.append(e)

    threads = [threading.Thread(target=drive, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(refused) > 0  # the calls did overlap
    assert ended == {i: 1 for i in range(n)}
    assert backend.made == lengths
    assert scheduler.live_requests == 0
    assert (scheduler.waiting(b), scheduler.running(b), scheduler.reserved_kv(b)) == (0, 0, 0)


def test_an_observer_that_calls_its_scheduler_back_gets_usage_error(estimator):
    # Needs the scheduler's single-entry guard.
    backend = CountingBackend({1: 3})
    scheduler = rtlm.Scheduler()
    b = scheduler.add_backend(backend, estimator)
    calls = {"step": lambda at: scheduler.step(b, at),
             "plan_step": lambda at: scheduler.plan_step(b, at),
             "set_observer": lambda at: scheduler.set_observer(None)}
    for name, call in calls.items():
        def on_event(kind, rid, reason, backend_index, at, call=call):
            if kind == "admitted":
                call(at)

        scheduler.set_observer(on_event)
        assert scheduler.submit(1, prompt_tokens=8)
        # Raised inside the observer, kept, and raised here once the step has returned.
        with pytest.raises(rtlm.UsageError, match="inside another call"):
            scheduler.step(b, 0.0)
        scheduler.set_observer(None)
        run(scheduler, b)  # the scheduler is consistent: the request still finishes
        assert backend.made[1] == 3, name
        backend.made.clear()


def test_a_backend_that_calls_its_scheduler_back_gets_usage_error(estimator):
    # Needs the scheduler's single-entry guard. The step fails (the backend raised) and the
    # UsageError reaches the host; the failed step is retried.
    scheduler = rtlm.Scheduler()
    seen = []

    def reenter(plan):
        if not seen:
            try:
                scheduler.plan_step(0, 0.0)
            except rtlm.UsageError as e:
                seen.append(e)
                raise

    backend = CountingBackend({4: 2}, hook=reenter)
    b = scheduler.add_backend(backend, estimator)
    assert scheduler.submit(4, prompt_tokens=8)
    with pytest.raises(rtlm.UsageError, match="inside another call"):
        scheduler.step(b, 0.0)
    assert len(seen) == 1
    run(scheduler, b)
    assert backend.made[4] == 2


# ---- exceptions raised in callbacks ---------------------------------------------------------------

def test_an_observer_exception_is_raised_from_the_scheduler_call(estimator, monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    backend = CountingBackend({1: 2, 2: 2})
    scheduler = rtlm.Scheduler()
    b = scheduler.add_backend(backend, estimator)

    def on_event(kind, rid, reason, backend_index, at):
        raise ValueError(f"observer saw {kind} {rid}")

    scheduler.set_observer(on_event)
    assert scheduler.submit(1, prompt_tokens=8) and scheduler.submit(2, prompt_tokens=8)
    # The step queues and admits both: the first event's exception is raised, the later ones
    # are reported as unraisable.
    with pytest.raises(ValueError, match="observer saw queued"):
        scheduler.step(b, 0.0)
    assert len(unraisable) >= 3
    assert all(isinstance(u.exc_value, ValueError) for u in unraisable)
    scheduler.set_observer(None)
    run(scheduler, b, now=0.01)
    assert backend.made == {1: 2, 2: 2}


@pytest.mark.parametrize("fatal", [KeyboardInterrupt, SystemExit, MemoryError])
def test_signals_and_fatal_errors_in_a_backend_reach_the_host(estimator, fatal):
    raised = []

    def interrupt(plan):
        if not raised:
            raised.append(fatal)
            raise fatal()

    backend = CountingBackend({3: 2}, hook=interrupt)
    scheduler = rtlm.Scheduler()
    b = scheduler.add_backend(backend, estimator)
    assert scheduler.submit(3, prompt_tokens=8)
    with pytest.raises(fatal):
        scheduler.step(b, 0.0)
    run(scheduler, b)  # that step failed; the retry finishes the request
    assert backend.made[3] == 2


@pytest.mark.parametrize("fatal", [KeyboardInterrupt, SystemExit, MemoryError])
def test_signals_and_fatal_errors_in_an_observer_reach_the_host(estimator, fatal):
    backend = CountingBackend({3: 2})
    scheduler = rtlm.Scheduler()
    b = scheduler.add_backend(backend, estimator)

    def on_event(kind, rid, reason, backend_index, at):
        if kind == "admitted":
            raise fatal()

    scheduler.set_observer(on_event)
    assert scheduler.submit(3, prompt_tokens=8)
    with pytest.raises(fatal):
        scheduler.step(b, 0.0)
    scheduler.set_observer(None)
    run(scheduler, b, now=0.01)
    assert backend.made[3] == 2


def test_an_ordinary_exception_in_a_backend_still_fails_only_its_step(estimator):
    def fail_once(plan, failed=[]):  # pylint: disable=dangerous-default-value
        if not failed:
            failed.append(True)
            raise RuntimeError("CUDA error: out of memory")

    backend = CountingBackend({3: 2}, hook=fail_once)
    scheduler = rtlm.Scheduler()
    b = scheduler.add_backend(backend, estimator)
    assert scheduler.submit(3, prompt_tokens=8)
    report = scheduler.step(b, 0.0)
    assert report.status == "backend_failure" and "out of memory" in report.error
    run(scheduler, b)
    assert backend.made[3] == 2


# ---- garbage collection -------------------------------------------------------------------------

def test_a_scheduler_its_backend_and_observer_keep_alive_is_collected(estimator):
    gc.collect()
    scheduler = rtlm.Scheduler()
    backend = CountingBackend({1: 2})
    backend.scheduler = scheduler  # the cycle: scheduler -> backend -> scheduler
    b = scheduler.add_backend(backend, estimator)
    scheduler.set_observer(lambda *event: scheduler)  # and through the observer
    assert scheduler.submit(1, prompt_tokens=8)
    run(scheduler, b)
    refs = weakref.ref(scheduler), weakref.ref(backend)
    del scheduler, backend
    gc.collect()
    assert refs[0]() is None and refs[1]() is None


# ---- the GIL while simulating ---------------------------------------------------------------------

def test_simulate_lets_other_threads_run(estimator, tmp_path):
    path = tmp_path / "trace.csv"
    rows = ["timestamp_ms,input_length,output_length"]
    rows += [f"{i * 20},{200 + i % 300},{50 + i % 200}" for i in range(40_000)]
    path.write_text("\n".join(rows) + "\n")
    whole = rtlm.load_trace(str(path))
    caps = rtlm.Capabilities(kv_capacity=200_000, max_batch_size=64, max_step_tokens=2048,
                             can_chunk_prefill=True, can_preempt_recompute=True)
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        while not ticks:
            time.sleep(0.001)
        # Longer runs until one lasts 0.2 s (a fast build simulates 3,000 requests in 20 ms).
        seconds = 50.0
        while True:
            trace = whole.first_seconds(seconds)
            start = time.perf_counter()
            m = rtlm.simulate(trace, estimator, caps)
            end = time.perf_counter()
            if end - start > 0.2 or seconds >= whole.span:
                break
            seconds *= 4
    finally:
        stop.set()
        ticker.join()
    assert m.requests == len(trace) and end - start > 0.2
    # With the GIL held for the run, the ticker could not tick between its start and its end
    # (only a switch interval, 5 ms, at either edge); released, it ticks about once a ms.
    inside = [t for t in ticks if start + 0.02 < t < end - 0.02]
    assert len(inside) >= 0.2 * (end - start - 0.04) / 0.001


# ---- times --------------------------------------------------------------------------------------

def test_times_are_checked_before_they_become_nanoseconds(estimator):
    scheduler = rtlm.Scheduler()
    b = scheduler.add_backend(CountingBackend({1: 2}), estimator)
    bad_times = {
        "arrival": [1e12, 4.1e9, -1.0, float("nan"), float("inf")],
        "deadline": [1e300, float("-inf"), float("nan")],
    }
    for field, values in bad_times.items():
        for v in values:
            with pytest.raises(rtlm.Error, match=rf"^rtlm: {field} = .*: must be a finite time "
                                                 r"in \[0, 4e9\] seconds$"):
                scheduler.submit(1, prompt_tokens=8, **{field: v})
    with pytest.raises(rtlm.Error, match=r"arrival = 1000000000000: must be a finite time"):
        scheduler.submit(1, prompt_tokens=8, arrival=1e12)
    for v in (1e10, -0.5, float("nan"), float("inf")):
        with pytest.raises(rtlm.Error, match=r"^rtlm: time_budget = .*: must be a finite duration "
                                             r"in \[0, 1e9\] seconds$"):
            scheduler.submit(1, prompt_tokens=8, time_budget=v)
    for call in (lambda now: scheduler.step(b, now), lambda now: scheduler.plan_step(b, now),
                 lambda now: scheduler.complete_step(b, rtlm.StepResult([], 0.0), now)):
        for v in (1e300, 4.000001e9, float("nan"), float("inf"), -1.0):
            with pytest.raises(rtlm.Error, match=r"^rtlm: now = .*: must be a finite time"):
                call(v)
    with pytest.raises(rtlm.Error, match=r"now = 1e\+300"):
        scheduler.step(b, 1e300)
    # The bounds themselves are times and durations.
    assert scheduler.submit(1, prompt_tokens=8, arrival=0.0, deadline=4e9, time_budget=1e9)
    assert scheduler.step(b, 4e9).status == "ok"


# ---- learning lengths ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_a_length_predictor_refuses_corrupt_lengths_and_shrugs_off_outliers(kind):
    prompts = [f"Write a story about cat number {i}." for i in range(60)]
    prompts += [f"Say yes or no, question {i}." for i in range(60)]
    lengths = [231 + i % 7 for i in range(60)] + [5 + i % 3 for i in range(60)]
    predictor = rtlm.LengthPredictor(kind)
    predictor.fit(prompts, lengths)
    story, short = prompts[7], prompts[-1]
    before, before_short = predictor.predict(story).mean, predictor.predict(short).mean

    with pytest.raises(rtlm.Error,
                       match=r"LengthPredictor.learn length = 4611686018427387904: must be in "
                             r"\[0, 2\^24\]"):
        predictor.learn(story, 2**62)
    with pytest.raises(rtlm.Error, match="length = -1"):
        predictor.learn(story, -1)
    assert predictor.predict(story).mean == before  # refused: nothing moved

    # The longest legal length is an outlier: taken in, clipped, and it moves predictions only a
    # bounded amount (it once moved every prediction to a million tokens).
    assert predictor.learn(story, 2**24) == "clipped"
    assert predictor.clipped_observations == 1
    assert before < predictor.predict(story).mean < 1.5 * before
    assert predictor.predict(short).mean < 2 * before_short + 5
    for _ in range(200):
        predictor.learn(story, 231)
    assert predictor.predict(story).mean == pytest.approx(before, rel=0.15)
    assert predictor.learn(story, 232) == "learned"

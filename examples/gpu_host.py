#!/usr/bin/env python3
"""rtlm driving a real transformer on one GPU: a research-prototype serving host.

A continuous-batching loop around a Llama-3.1-8B-shaped model with random bf16 weights
(benchmarks/gpu/profile_gpu.py's lean forward: fused projections, RMSNorm, RoPE, GQA flash
attention over a preallocated KV cache). rtlm's scheduler, through its Python bindings, plans
every step; the backend runs it. Each request owns a KV slot of --slot-tokens rows; a step runs
its prefills eagerly, one request at a time, then all its decodes as one CUDA graph (captured
per batch size): FlashAttention-2 varlen over the slots, each sequence reading only its own
length (seqused_k). The model has no trained weights, so each request is forced to generate
the length its trace recorded: the lengths are real, the text is not.

The clock is the GPU's: time advances by each step's measured GPU time (CUDA events), and an
idle GPU jumps to the next arrival. The scheduler's own time per step is measured separately
on the host's clock.

Usage (on the GPU machine, with the rtlm module on PYTHONPATH):
    python3 examples/gpu_host.py --out DIR [--requests 400] [--load 0.9] [--rounds 2]
It writes DIR/served_stream.csv (per run: each request's latency and deadline outcome),
DIR/steps.csv (per step: what it ran, the estimator's base times for its prefill and decode
parts, predicted and measured seconds, the prefills' own measured seconds, scheduler seconds)
and DIR/summary.csv, and prints the summary. Every row names its run (numbered in the order run)
and round. The policies run --rounds times, round r in the list's order rotated by r places, so
that each policy runs at each position; --warmup unmeasured runs come first (the first run of a
call used to be the slowest, whichever policy it was).
Each step reports its prefills' time apart from its decodes (a CUDA event between the two), so
the scheduler's online estimator update learns each part on its own.
"""
import argparse
import csv
import math
import os
import random
import statistics
import subprocess
import sys
import time

import rtlm

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "gpu"))


class SlotModel:
    """The lean model with one KV slot of `slot_tokens` rows per request."""

    def __init__(self, slots, slot_tokens, max_batch, prefill_attention="flash"):
        import torch
        import profile_gpu as pg
        self.torch = torch
        self.pg = pg
        self.dev = torch.device("cuda")
        self.C = slot_tokens
        self.slots = slots
        self.prefill_attention = prefill_attention
        self.eager = False  # True: decode without CUDA graphs (a cross-check)
        # One spare slot at the end: padding rows of a captured batch write there.
        self.model = pg.LeanModel(pg.CONFIGS["llama-3.1-8b"], (slots + 1) * slot_tokens, self.dev)
        m = self.model
        self.max_batch = max_batch
        self.graphs = {}
        self.vocab = m.cfg["vocab"]
        g = torch.Generator(device="cpu").manual_seed(0)
        self.token_pool = torch.randint(0, self.vocab, (1 << 16,), generator=g).to(self.dev)
        # begin, end, and the mark between a step's prefills and its decodes.
        self.events = tuple(torch.cuda.Event(enable_timing=True) for _ in range(3))
        self.marked = False

    def begin(self):
        self.events[0].record()
        self.marked = False

    def mark(self):
        """Splits the step: prefill_seconds() is the GPU time from begin() to here."""
        self.events[2].record()
        self.marked = True

    def end(self):
        """GPU seconds since begin(), once the GPU has finished."""
        self.events[1].record()
        self.events[1].synchronize()
        return self.events[0].elapsed_time(self.events[1]) / 1e3

    def prefill_seconds(self, total):
        """The part of the last step before mark() (all of it when unmarked), after end()."""
        return self.events[0].elapsed_time(self.events[2]) / 1e3 if self.marked else total

    # -- prefill: eager, one request, whole prompt (the backend does not chunk) ----------------
    def prefill(self, slot, n):
        torch, m = self.torch, self.model
        base = slot * self.C
        ids = self.token_pool[torch.arange(n, device=self.dev) % self.token_pool.numel()]
        pos = torch.arange(n, device=self.dev)
        nh, hd = m.nh, m.hd

        def attn(i, q, k, v):
            m.kv[i, 0, base: base + n].copy_(k)
            m.kv[i, 1, base: base + n].copy_(v)
            with self.pg.sdpa_ctx(self.prefill_attention):
                o = torch.nn.functional.scaled_dot_product_attention(
                    q.unsqueeze(0).transpose(1, 2), k.unsqueeze(0).transpose(1, 2),
                    v.unsqueeze(0).transpose(1, 2), is_causal=True, scale=m.scale,
                    enable_gqa=True)
            return o.transpose(1, 2).reshape(n, nh * hd)

        m.forward(ids, pos, attn, last_idx=torch.tensor([n - 1], device=self.dev))

    # -- decode: one CUDA graph per batch size ----------------------------------------------------
    def _graph(self, b):
        if b in self.graphs:
            return self.graphs[b]
        torch, m = self.torch, self.model
        C, nkv, hd, nh = self.C, m.nkv, m.hd, m.nh
        g = nh // nkv
        st = dict(ids=torch.zeros(b, dtype=torch.long, device=self.dev),
                  pos=torch.zeros(b, dtype=torch.long, device=self.dev),
                  widx=torch.zeros(b, dtype=torch.long, device=self.dev),
                  cu_k=torch.arange(0, (b + 1) * C, C, dtype=torch.int32, device=self.dev),
                  used=torch.ones(b, dtype=torch.int32, device=self.dev))
        cu_qg = torch.arange(0, b * g + 1, g, dtype=torch.int32, device=self.dev)
        rows = (self.slots + 1) * C

        def attn(i, q, k, v):
            kp, vp = m.kv[i, 0, :rows], m.kv[i, 1, :rows]
            kp.index_copy_(0, st["widx"], k)
            vp.index_copy_(0, st["widx"], v)
            qs = q.reshape(b, nkv, g, hd).transpose(1, 2).reshape(b * g, nkv, hd)
            # Slots in use leave gaps, so a sequence's span in cu_k can exceed a slot: the
            # kernel's max_k is the whole cache; seqused_k makes each read its own length only.
            o = torch.ops.aten._flash_attention_forward(
                qs, kp, vp, cu_qg, st["cu_k"], g, rows, 0.0, False, False, scale=m.scale,
                seqused_k=st["used"])[0]
            return o.view(b, g, nkv, hd).transpose(1, 2).reshape(b, nh * hd)

        def run():
            return m.forward(st["ids"], st["pos"], attn)

        graph = None if self.eager else self.pg.capture(run)[0]
        self.graphs[b] = (graph, st, run)
        return self.graphs[b]

    def warm_up(self):
        for b in range(1, self.max_batch + 1):
            self._graph(b)

    def decode(self, seqs):
        """seqs: (slot, kv_length) per sequence; sequence j's new token goes to row kv_length."""
        torch = self.torch
        seqs = sorted(seqs)  # varlen needs the slots' start rows in increasing order
        b = len(seqs)
        graph, st, run = self._graph(b)
        slots = torch.tensor([s for s, _ in seqs], dtype=torch.long)
        lens = torch.tensor([n for _, n in seqs], dtype=torch.long)
        st["pos"].copy_(lens, non_blocking=True)
        st["widx"].copy_(slots * self.C + lens, non_blocking=True)
        st["cu_k"][:b].copy_((slots * self.C).to(torch.int32), non_blocking=True)
        st["cu_k"][b:].fill_(int(slots[-1]) * self.C + self.C)
        st["used"].copy_((lens + 1).to(torch.int32), non_blocking=True)
        st["ids"].copy_(self.token_pool[: b], non_blocking=True)
        if graph is None:
            run()
        else:
            graph.replay()


def profile_engine(model, path, repeats=8, seed=0):
    """Times this host's own steps the way serve() times them (CUDA events around the step) and
    writes them as an rtlm profile at `path`: eager whole-prompt prefills at 20 prompt lengths,
    and decode graphs over a grid of batch sizes and uniform cache lengths plus 24 ragged
    batches. One warm-up per shape; the cache holds random values, never zeros."""
    rng = random.Random(seed)
    top = model.C - 2
    points = []  # (phase, batch, new tokens, kv lengths, graph, [seconds])

    def timed(fn):
        fn()  # warm-up of this shape
        out = []
        for _ in range(repeats):
            model.begin()
            fn()
            out.append(model.end())
        return out

    for n in sorted({min(n, top) for n in (16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
                                           1280, 1536, 2048, 2304, 2560, 3072, 3328, 3584, 4094)}):
        points.append(("prefill", 1, n, [0], False, timed(lambda: model.prefill(0, n))))
    batches = {b for b in (1, 2, 4, 8, 16, 24, 32, 48, 64, 80, 96, 128) if b < model.max_batch}
    batches.add(model.max_batch)
    shapes = [[kv] * b for b in sorted(batches) for kv in (64, 256, 1024, 2048, top - 1)]
    for _ in range(24):  # ragged batches, as serving makes them: log-uniform lengths
        b = rng.randint(2, model.max_batch)
        shapes.append([int(math.exp(rng.uniform(math.log(16), math.log(top - 1))))
                       for _ in range(b)])
    for kvs in shapes:
        seqs = list(zip(rng.sample(range(model.slots), len(kvs)), kvs))
        points.append(("decode", len(kvs), len(kvs), kvs, not model.eager,
                       timed(lambda: model.decode(seqs))))
    model.pg.write_profile_csv(
        path,
        attention=f"prefill: SDPA ({model.prefill_attention}), causal, enable_gqa; decode: "
                  "FlashAttention-2 varlen over the slots (aten._flash_attention_forward)",
        method="examples/gpu_host.py's own engine, timed as its steps are (CUDA events): eager "
               "whole-prompt prefills into a slot; decodes as replays of the batch size's CUDA "
               "graph over random slots; one warm-up per shape; random bf16 weights and cache",
        kv_bytes_per_token=model.model.kv_bytes_per_token(), points=points)
    print(f"profiled this engine: {len(points)} shapes x {repeats} repeats, written to {path}",
          flush=True)


class GpuBackend(rtlm.Backend):
    """Runs rtlm's step plans on SlotModel; each request stops at its recorded length."""

    def __init__(self, model, lengths, split_timing=True):
        super().__init__(rtlm.Capabilities(
            kv_capacity=model.slots * model.C, name="gpu0", max_batch_size=model.max_batch,
            max_step_tokens=0, can_chunk_prefill=False, can_preempt_recompute=True))
        self.m = model
        self.lengths = lengths  # request id -> true output length
        self.free = list(range(model.slots - 1, -1, -1))
        self.slot_of = {}
        self.made = {}
        self.split_timing = split_timing  # report the prefills' own time to the scheduler
        self.wall = 0.0  # host seconds inside the last run_step (GPU wait included)
        self.last = {}  # what the last step ran, for the step log

    def _release(self, rid):
        slot = self.slot_of.pop(rid, None)
        if slot is not None:
            self.free.append(slot)

    def run_step(self, plan):
        entered = time.perf_counter()
        for rid in plan.releases:
            self._release(rid)
            self.made.pop(rid, None)
        for p in plan.preemptions:  # recompute: the KV goes; the request is prefilled again
            self._release(p.id)
        self.m.begin()
        outcomes = []
        for p in plan.prefills:
            if p.id not in self.slot_of:
                self.slot_of[p.id] = self.free.pop()
            if p.new_tokens + p.computed_tokens >= self.m.C:
                raise RuntimeError(f"request {p.id}: {p.new_tokens} tokens exceed a KV slot")
            self.m.prefill(self.slot_of[p.id], p.new_tokens)
            made = self.made.get(p.id, 0) + 1
            self.made[p.id] = made
            outcomes.append((p.id, 1, made >= self.lengths[p.id]))
        if plan.decodes:
            if plan.prefills:
                self.m.mark()
            seqs = []
            for d in plan.decodes:
                if d.kv_length + 1 >= self.m.C:
                    raise RuntimeError(f"request {d.id}: KV {d.kv_length} exceeds a KV slot")
                seqs.append((self.slot_of[d.id], d.kv_length))
            self.m.decode(seqs)
            for d in plan.decodes:
                made = self.made[d.id] + 1
                self.made[d.id] = made
                outcomes.append((d.id, 1, made >= self.lengths[d.id]))
        step_time = self.m.end()
        measured_prefill = self.m.prefill_seconds(step_time) if plan.prefills else 0.0
        result = rtlm.StepResult(outcomes, step_time=step_time, prefill_time=(
            measured_prefill if self.split_timing and plan.prefills else None))
        kv = [d.kv_length for d in plan.decodes]
        self.last = dict(
            prefills=len(plan.prefills),
            prefill_tokens=sum(p.new_tokens for p in plan.prefills),
            decodes=len(kv), decode_kv_tokens=sum(kv), measured_prefill=measured_prefill)
        self.wall = time.perf_counter() - entered
        return result


def prefill_kernel_warning(profile_path, prefill_attention):
    """A warning when the profile at `profile_path` timed another prefill attention kernel than
    this host's `prefill_attention` ("flash" or "cudnn"), from the profile's `# attention:` line;
    None when they match or the profile does not say. The kernels' times differ, so the
    estimator's prefill times would be off."""
    attention = ""
    with open(profile_path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            if line.startswith("# attention:"):
                attention = line.split(":", 1)[1].strip()
    profiled = attention.split(";")[0].strip()
    if not profiled:
        return None
    if ("cudnn" in profiled.lower()) == (prefill_attention == "cudnn"):
        return None
    return (f"warning: this host's prefill attention is {prefill_attention}, but {profile_path} "
            f"timed '{profiled}'; plan with a profile of this host's kernels (--profile-out, or "
            "--prefill-attention to match the profile)")


def serve(model, estimator, requests, policy, predictions, step_log, split_timing=True,
          label=None, run=None, admission="reject"):
    """Replays `requests` (arrival, prompt, output, deadline) on the GPU; returns per-request
    (latency, on_time) and appends one row per step to step_log, both under `label` (default:
    the policy) and with the fields of `run` (a dict, e.g. the run's number and round).
    `policy` is a policy_kind name, with ":strict" for its key without aging.
    split_timing: the backend reports its prefills' own time with each step.
    admission: what rtlm's policies do with a request that cannot meet its deadline (FCFS, as
    vLLM, always accepts)."""
    label = label or policy
    run = run or {}
    lengths = {i: r[2] for i, r in enumerate(requests)}
    backend = GpuBackend(model, lengths, split_timing)
    name, _, mode = policy.partition(":")
    if mode not in ("", "strict"):
        raise ValueError(f"policy {policy}: the only mode is :strict")
    if name == "first_come_first_served":
        admission = "accept"
    scheduler = rtlm.Scheduler(rtlm.SchedulerConfig(policy=name, admission=admission,
                                                    max_requests=len(requests) + 1,
                                                    aging=mode != "strict"))
    gpu = scheduler.add_backend(backend, estimator)
    ended = {}

    def on_event(kind, rid, reason, b, at):
        if kind in ("finished", "rejected", "failed", "cancelled"):
            ended[rid] = (kind, at)

    scheduler.set_observer(on_event)
    now, nxt, idle = 0.0, 0, 0
    while len(ended) < len(requests):
        while nxt < len(requests) and requests[nxt][0] <= now:
            arrival, prompt, out, deadline = requests[nxt]
            if not scheduler.submit(nxt, prompt_tokens=prompt, arrival=arrival, deadline=deadline,
                                    predicted=predictions[nxt]):
                raise RuntimeError("the scheduler's intake is full")  # sized for every request
            nxt += 1
        backend.wall = 0.0
        t0 = time.perf_counter()
        report = scheduler.step(gpu, now)
        # The scheduler's own time: the step less what the backend's run_step spent.
        host = time.perf_counter() - t0 - backend.wall
        if report.status != "ok":
            raise RuntimeError(f"step failed: {report.status}: {report.error}")
        if report.computed == 0:
            if nxt < len(requests):
                now = max(now, requests[nxt][0])
            else:
                idle += 1
                if idle > 3:
                    raise RuntimeError(f"{len(requests) - len(ended)} requests can never run")
            continue
        idle = 0
        now += report.measured
        step_log.append(dict(policy=label, **run, computed=report.computed,
                             predicted=report.predicted,
                             measured=report.measured, host_seconds=host,
                             base_prefill=report.base_prefill, base_decode=report.base_decode,
                             **backend.last))
    results = []
    for i, (arrival, _, _, deadline) in enumerate(requests):
        kind, at = ended[i]
        ok = kind == "finished"
        results.append(dict(policy=label, **run, id=i, outcome=kind,
                            latency=at - arrival if ok else float("nan"),
                            on_time=ok and (deadline is None or at <= deadline)))
    return results, now


def gpu_state():
    """The GPU's SM clock, temperature and power now, as nvidia-smi reads them (read only)."""
    try:
        return subprocess.run(
            ["nvidia-smi", "--query-gpu=clocks.sm,temperature.gpu,power.draw",
             "--format=csv,noheader"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unknown ({e})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--load", type=float, default=0.9)
    ap.add_argument("--slack", type=float, default=5.0)
    ap.add_argument("--slots", type=int, default=160)
    ap.add_argument("--slot-tokens", type=int, default=4096)
    ap.add_argument("--policies", default="first_come_first_served,shortest_predicted_first",
                    help="policy_kind names, each with :strict for its key without aging "
                    "(gittins_index:strict)")
    ap.add_argument("--admission", default="reject", choices=["reject", "downgrade",
                                                               "relax_deadline", "accept"],
                    help="rtlm's policies' admission control (FCFS always accepts, as vLLM)")
    ap.add_argument("--prefill-attention", default="flash", choices=["flash", "cudnn"])
    ap.add_argument("--eager-decode", action="store_true", help="no CUDA graphs (cross-check)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the policy list this many times, round r rotated by r places")
    ap.add_argument("--warmup", type=int, default=1,
                    help="unmeasured runs of the first policy before the measured ones")
    ap.add_argument("--whole-step-timing", action="store_true",
                    help="also run the first policy once more, last, with each step timed only "
                    "as a whole, as a fused-forward host would report it (labelled "
                    "POLICY:whole_step_timing)")
    ap.add_argument("--profile", help="the step-time profile the scheduler's estimator is fitted "
                    "to (default: the bundled H100 Llama-3.1-8B profile)")
    ap.add_argument("--profile-out", help="first time this host's own engine, write the profile "
                    "here and fit the estimator to it (instead of --profile)")
    args = ap.parse_args()
    if args.profile and args.profile_out:
        ap.error("give --profile or --profile-out, not both")
    if args.rounds < 1 or args.warmup < 0:
        ap.error(f"--rounds {args.rounds} must be >= 1 and --warmup {args.warmup} >= 0")
    os.makedirs(args.out, exist_ok=True)
    data = os.path.join(ROOT, "benchmarks", "data")
    noise = rtlm.load_length_errors(os.path.join(data, "length_errors", "alpaca_eval_cv.csv"),
                                    "Meta-Llama-3-8B-Instruct")
    trace = rtlm.load_trace(os.path.join(data, "traces", "azure-llm-2023",
                                         "AzureLLMInferenceTrace_conv.csv"))
    rows = [r for r in rtlm.trace_requests(trace)
            if r.prompt_tokens + r.output_tokens + 2 < args.slot_tokens][: args.requests]

    model = SlotModel(args.slots, args.slot_tokens, args.slots, args.prefill_attention)
    model.eager = args.eager_decode
    t = time.time()
    model.warm_up()
    print(f"captured {len(model.graphs)} decode graphs in {time.time() - t:.0f} s", flush=True)
    if args.profile_out:
        profile_engine(model, args.profile_out)
    profile = args.profile_out or args.profile or os.path.join(data, "profiles",
                                                               "h100_llama-3.1-8b.csv")
    warning = prefill_kernel_warning(profile, args.prefill_attention)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    estimator = rtlm.fit_estimator(profile)
    print(f"estimator fitted to {profile}", flush=True)

    # Capacity: everything queued at once, FCFS, no deadlines; then arrivals stretched to `load`.
    burst = [(0.0, r.prompt_tokens, r.output_tokens, None) for r in rows]
    preds = [noise.predict(r.output_tokens, i) for i, r in enumerate(rows)]
    _, span = serve(model, estimator, burst, "first_come_first_served", preds, [])
    capacity = len(rows) / span
    first = rows[0].arrival
    rate = (len(rows) - 1) / max(rows[-1].arrival - first, 1e-9)
    stretch = rate / (args.load * capacity)
    requests = []
    for r in rows:
        arrival = (r.arrival - first) * stretch
        alone = estimator.prefill_time(r.prompt_tokens) + (r.output_tokens - 1) * \
            estimator.decode_time([r.prompt_tokens + r.output_tokens // 2])
        requests.append((arrival, r.prompt_tokens, r.output_tokens, arrival + args.slack * alone))
    print(f"capacity {capacity:.2f} requests/s; arrivals x {stretch:.3f} for load {args.load}",
          flush=True)

    policies = args.policies.split(",")
    for k in range(args.warmup):
        t = time.time()
        serve(model, estimator, requests, policies[0], preds, [], admission=args.admission)
        print(f"warm-up run {k + 1} of {args.warmup} ({policies[0]}, not measured): "
              f"{time.time() - t:.0f} s; GPU {gpu_state()}", flush=True)
    runs = []  # (policy, split timing, label, round)
    for r in range(args.rounds):
        shift = r % len(policies)
        runs += [(p, True, p, r) for p in policies[shift:] + policies[:shift]]
    if args.whole_step_timing:
        runs.append((policies[0], False, policies[0] + ":whole_step_timing", args.rounds - 1))
    per_request, steps, summary = [], [], []
    for number, (policy, split, label, r) in enumerate(runs):
        mine = []
        results, end = serve(model, estimator, requests, policy, preds, mine, split, label,
                             dict(run=number, round=r), admission=args.admission)
        steps += mine
        per_request += results
        print(f"run {number} ({label}, round {r}) done; GPU {gpu_state()}", flush=True)
        done = [x for x in results if x["outcome"] == "finished"]
        lat = sorted(x["latency"] for x in done)
        mape = statistics.mean(abs(s["predicted"] - s["measured"]) / s["measured"] for s in mine)
        overhead = statistics.median(s["host_seconds"] for s in mine)
        gpu_median = statistics.median(s["measured"] for s in mine)
        summary.append(dict(
            policy=label, run=number, round=r, requests=len(results), finished=len(done),
            # Nearest rank, as rtlm::sim::summarize and summarize_served_stream.py take it.
            mean_latency=statistics.mean(lat), p99_latency=lat[math.ceil(0.99 * len(lat)) - 1],
            deadline_miss_rate=1 - sum(x["on_time"] for x in results) / len(results),
            throughput=len(done) / end, steps=len(mine), step_mape=mape,
            host_seconds_per_step_median=overhead, gpu_seconds_per_step_median=gpu_median))
    for name, table in (("served_stream.csv", per_request), ("steps.csv", steps),
                        ("summary.csv", summary)):
        with open(os.path.join(args.out, name), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(table[0].keys()))
            w.writeheader()
            w.writerows(table)
    import torch
    print(f"GPU: {torch.cuda.get_device_name()}; torch {torch.__version__}")
    print(f"{'run':>3} {'policy':<28} {'mean s':>8} {'p99 s':>8} {'miss':>7} {'MAPE':>7} "
          f"{'host ms':>8} {'GPU ms':>8}")
    for s in summary:
        print(f"{s['run']:>3} {s['policy']:<28} {s['mean_latency']:8.3f} {s['p99_latency']:8.3f} "
              f"{s['deadline_miss_rate']:7.4f} {100 * s['step_mape']:6.2f}% "
              f"{1e3 * s['host_seconds_per_step_median']:8.3f} "
              f"{1e3 * s['gpu_seconds_per_step_median']:8.3f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Time-budgeted single-stream inference on a real GPU (docs/gpu-results.md, section (a)).

The protocol is that of docs/methods.md, 'Time-budget evaluation', on a real GPU.

Replays, one request at a time, the plans that `eval_time_budget --plans` wrote: for each
request, each budget T and each policy (vanilla, fixed alpha, TimeBill with k = 5, rtlm), the
eviction ratio alpha and the kept-token count. Every distinct (request, kept tokens) pair runs
once on the Llama-3.1-8B-shaped model of benchmarks/gpu/profile_gpu.py (random bf16 weights):
the prefill of the request's real prompt length; when the plan evicts, SnapKV on the model's
own attention (each layer's last `--window` prompt queries against the prompt's keys, softmax
on the GPU, summed per query head) with the kept positions chosen by rtlm's
select_snapkv_from_window_scores (through the bindings, every layer, on CPU threads) and
gathered into the cache; then the request's real output length less one of decode steps, one
CUDA graph replay each over the (evicted) cache, its attention the form of
decode_attention.py that checked right and ran fastest. The measured time runs from the prefill's
start to the last token, selection included. The model has no trained weights, so the text is
not real: the lengths are, and the attention the selection reads is the model's own.

Usage (on the GPU machine, with the rtlm module on PYTHONPATH):
    python3 benchmarks/gpu/time_budget_gpu.py --plans PLANS.csv --out DIR
        [--workload long_context] [--requests 40] [--start 0] [--max-seconds 480]
        [--policies vanilla,fixed_0.5,fixed_0.95,timebill,rtlm] [--frontier]
        [--skip-runs RUNS.csv,...] [--profile-out PROFILE.csv]
Writes DIR/runs.csv, one row per run (appended as it goes, so a stopped run keeps its rows);
benchmarks/gpu/summarize_time_budget.py turns plans and runs into the figures. With
--frontier it also runs the frontier's operating points that `eval_time_budget --frontier`
put in the plans (TimeBill at each k, `timebill_k3`; rtlm at each bound coverage, `rtlm_q0.70`),
so that summarize_time_budget.py --frontier can draw both frontiers from the GPU's times. With
--profile-out (and with or without --plans) it first times its own prefills, decode steps and
eviction into an rtlm profile, which is what the plans should be made on:
benchmarks/gpu/run_time_budget.sh profiles, plans and runs in one call.
"""
import argparse
import collections
import concurrent.futures
import csv
import os
import sys
import time

import rtlm

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "gpu"))
import decode_attention  # noqa: E402  (beside this script)


class StreamModel:
    """The lean model serving one request at a time, with SnapKV eviction after the prefill."""

    def __init__(self, max_tokens, window, kernel, threads, attention_variant=None):
        import torch
        import profile_gpu as pg
        self.torch, self.pg = torch, pg
        self.dev = torch.device("cuda")
        self.rows = max_tokens
        self.m = pg.LeanModel(pg.CONFIGS["llama-3.1-8b"], max_tokens, self.dev)
        self.window, self.kernel = window, kernel
        self.pool = concurrent.futures.ThreadPoolExecutor(threads)
        g = torch.Generator(device="cpu").manual_seed(0)
        self.token_pool = torch.randint(0, self.m.cfg["vocab"], (1 << 16,), generator=g).to(self.dev)
        self._capture_decode(attention_variant)

    def _capture_decode(self, only=None):
        """One decode step at batch 1 as a CUDA graph that advances its own position, write row
        and KV length, so that a request's decode is N - 1 replays with no host work between.
        Its attention is the variant of decode_attention.py that measured right."""
        torch, m = self.torch, self.m
        da = self.da = decode_attention
        variant = da.choose(m.nh, m.nkv, m.hd, self.rows, self.dev,
                            log=lambda line: print(line, flush=True), only=only)
        st = dict(ids=torch.zeros(1, dtype=torch.long, device=self.dev),
                  pos=torch.zeros(1, dtype=torch.long, device=self.dev),    # RoPE position
                  widx=torch.zeros(1, dtype=torch.long, device=self.dev),   # KV row written
                  **da.make_state(self.dev))                                # KV rows read
        decode_attn = da.attention(variant, st, m.nh, m.nkv, m.hd, self.rows, m.scale, self.dev)

        def attn(i, q, k, v):
            kp, vp = m.kv[i, 0], m.kv[i, 1]
            kp.index_copy_(0, st["widx"], k)
            vp.index_copy_(0, st["widx"], v)
            return decode_attn(q, kp, vp)

        def run():
            out = m.forward(st["ids"], st["pos"], attn)
            st["pos"].add_(1)
            st["widx"].add_(1)
            da.advance(st)
            return out

        # The graph holds raw pointers: st (lengths and the attention's constant tensors) and
        # the closures stay referenced for its lifetime. (An earlier version let its cu_seqlens
        # tensors go; their memory went to the prefill's, and its decode read a wrong length.)
        self.graph = self.pg.capture(run)[0]
        self.st, self._decode_step, self.variant = st, run, variant

    def _start_decode(self, position, cached):
        """The next token sits at `position`; its KV goes to row `cached` and it reads rows
        [0, cached]."""
        self.st["pos"].fill_(position)
        self.st["widx"].fill_(cached)
        self.da.set_length(self.st, cached + 1)

    def decode_step_seconds(self, kv_rows, steps=30):
        """Median GPU seconds of one decode graph replay reading `kv_rows` cached rows."""
        torch = self.torch
        times = []
        for _ in range(steps):
            self._start_decode(kv_rows, kv_rows)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            self.graph.replay()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        return sorted(times)[len(times) // 2]

    def check_decode_reads_its_kv(self):
        """Refuses to measure anything when a step at a long cache is cheaper than reading the
        weights and that cache allows (no H200 reads faster than 5 TB/s), or costs no more than
        one at a short cache. (The difference alone has no floor: split-KV attention pays a
        fixed cost per layer at any length.)"""
        short, long = 1024, self.rows - 128
        t_short, t_long = self.decode_step_seconds(short), self.decode_step_seconds(long)
        m = self.m
        weight_bytes = 2 * (m.layer_params() + m.cfg["vocab"] * m.H)  # layers and LM head
        floor = (weight_bytes + m.kv_bytes_per_token() * long) / 5e12
        print(f"decode step: {1e3 * t_short:.3f} ms at {short} KV rows, {1e3 * t_long:.3f} ms at "
              f"{long} (reading the weights and that KV takes at least {1e3 * floor:.3f} ms)",
              flush=True)
        if t_long < floor or t_long <= t_short:
            raise SystemExit("the decode graph does not read its whole KV cache: its step time "
                             "does not grow with the cache; the runs would not measure eviction")

    def _prefill(self, n, score):
        """Prefills n tokens into rows [0, n); with `score`, returns each layer's SnapKV window
        scores, a [layers, heads, n] float32 GPU tensor."""
        torch, m = self.torch, self.m
        ids = self.token_pool[torch.arange(n, device=self.dev) % self.token_pool.numel()]
        pos = torch.arange(n, device=self.dev)
        nh, nkv, hd = m.nh, m.nkv, m.hd
        g = nh // nkv
        w = min(self.window, n)
        scores = torch.empty(len(m.layers), nh, n, dtype=torch.float32, device=self.dev) \
            if score else None
        if score:
            # Window query j sits at position n - w + j and sees the keys up to it.
            hidden = torch.arange(n, device=self.dev)[None, :] > \
                (n - w + torch.arange(w, device=self.dev))[:, None]

        def attn(i, q, k, v):
            m.kv[i, 0, :n].copy_(k)
            m.kv[i, 1, :n].copy_(v)
            with self.pg.sdpa_ctx("flash"):
                o = torch.nn.functional.scaled_dot_product_attention(
                    q.unsqueeze(0).transpose(1, 2), k.unsqueeze(0).transpose(1, 2),
                    v.unsqueeze(0).transpose(1, 2), is_causal=True, scale=m.scale,
                    enable_gqa=True)
            if score:
                # Query head h reads KV head h // g (repeat_kv's layout, as enable_gqa).
                qw = q[n - w:].float().transpose(0, 1).reshape(nkv, g * w, hd)
                logits = torch.matmul(qw, k.float().permute(1, 2, 0)).view(nh, w, n) * m.scale
                logits.masked_fill_(hidden, float("-inf"))
                scores[i] = torch.softmax(logits, dim=-1).sum(dim=1)
            return o.transpose(1, 2).reshape(n, nh * hd)

        m.forward(ids, pos, attn, last_idx=torch.tensor([n - 1], device=self.dev))
        return scores

    def _evict(self, n, kept, scores):
        """Keeps `kept` of the n prompt positions per layer and KV head, as rtlm selects them."""
        torch, m = self.torch, self.m
        host = scores.cpu().numpy()  # one copy for every layer

        def select(i):
            return rtlm.select_snapkv_from_window_scores(
                host[i], m.nh, m.nkv, kept=kept, window=self.window, kernel=self.kernel)

        positions = list(self.pool.map(select, range(len(m.layers))))
        import numpy as np
        index = torch.from_numpy(np.stack(positions)).to(self.dev)  # [layers, kv heads, kept]
        for i in range(len(m.layers)):
            rows = index[i].t().unsqueeze(-1).expand(kept, m.nkv, m.hd)
            for kv in (0, 1):
                m.kv[i, kv, :kept].copy_(m.kv[i, kv, :n].gather(0, rows))

    def _wall(self, fn):
        """Wall seconds of fn() between two synchronizations, as serve() measures."""
        self.torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        self.torch.cuda.synchronize()
        return time.perf_counter() - t0

    def profile(self, repeats):
        """Times this engine's own steps the way serve() does: plain prefills over a grid of
        prompt lengths, and its decode graph over a grid of cache lengths (each repeat the mean
        of `DECODE_RUN` back-to-back replays, as a request's decode runs them). Returns
        [(phase, new_tokens, kv, [seconds])], the rows of an rtlm profile."""
        top = self.rows - self.DECODE_RUN - 1
        points = []
        for n in sorted({min(n, top) for n in self.PREFILL_GRID}):
            self._prefill(n, False)  # warm-up of this shape
            points.append(("prefill", n, 0,
                           [self._wall(lambda: self._prefill(n, False)) for _ in range(repeats)]))
        for kv in sorted({min(kv, top) for kv in self.DECODE_GRID}):
            def run():
                self._start_decode(kv, kv)
                for _ in range(self.DECODE_RUN):
                    self.graph.replay()
            run()
            # The cache holds kv to kv + DECODE_RUN rows over the run: its middle is the length.
            points.append(("decode", 1, kv + self.DECODE_RUN // 2,
                           [self._wall(run) / self.DECODE_RUN for _ in range(repeats)]))
        return points

    def eviction_cost(self, repeats):
        """Least-squares a + b n (a >= 0) of what evicting adds to a request of n prompt tokens:
        the window scoring inside the prefill, the selection and the gather (half the prompt
        kept).
        Returns (a, b, [(n, seconds)])."""
        measured = []
        for n in sorted({min(n, self.rows - 64) for n in self.EVICTION_GRID}):
            plain = sorted(self._wall(lambda: self._prefill(n, False)) for _ in range(repeats))
            full = sorted(self._wall(lambda: self._evict(n, n // 2, self._prefill(n, True)))
                          for _ in range(repeats))
            measured.append((n, full[repeats // 2] - plain[repeats // 2]))
        import numpy as np
        x = np.array([n for n, _ in measured], dtype=float)
        y = np.array([c for _, c in measured])
        b, a = np.polyfit(x, y, 1)
        if a < 0:  # no negative fixed cost: the least-squares line through the origin
            a, b = 0.0, float(x @ y / (x @ x))
        return float(a), float(b), measured

    # Twenty lengths a phase at 8 repeats: the planner's 99% step-time bound needs 99
    # residuals in the 4/5 of the profile it is fitted on.
    PREFILL_GRID = (16, 64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192,
                    12288, 16384, 20480, 24576, 28672, 32704)
    DECODE_GRID = (128, 256, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 10240, 12288,
                   14336, 16384, 20480, 24576, 28672, 30720, 32704)
    EVICTION_GRID = (1024, 4096, 8192, 16384, 32704)
    DECODE_RUN = 20

    def serve(self, n, output, kept):
        """Runs one request: prompt n tokens, `output` tokens (the prefill makes the first), the
        prompt's KV cut to `kept` after the prefill. Returns (prefill, selection, decode) s."""
        torch = self.torch
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        evict = kept < n
        scores = self._prefill(n, evict)
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        if evict:
            self._evict(n, kept, scores)
        cached = kept if evict else n
        self._start_decode(n, cached)  # position n whatever was evicted; KV after the kept
        torch.cuda.synchronize()
        t2 = time.perf_counter()
        for _ in range(output - 1):
            self.graph.replay()
        torch.cuda.synchronize()
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2


def is_frontier_point(policy):
    """True for the frontier's operating points in a plans file: timebill_k3, rtlm_q0.70."""
    return policy.startswith("timebill_k") or policy.startswith("rtlm_q")


def write_profile(model, args):
    """Writes model.profile() as an rtlm profile CSV and its eviction cost beside it."""
    import statistics
    t0 = time.time()
    points = model.profile(args.profile_repeats)
    model.pg.write_profile_csv(
        args.profile_out,
        attention="prefill: FlashAttention-2 (SDPA FLASH_ATTENTION), causal, enable_gqa; "
                  "decode: FlashAttention-2 varlen (aten._flash_attention_forward), "
                  f"benchmarks/gpu/decode_attention.py's variant {model.variant}",
        method="benchmarks/gpu/time_budget_gpu.py's own engine, timed as its runs are (wall time "
               "between synchronizations): eager prefills of one sequence; batch-1 decode as "
               f"replays of one CUDA graph, each repeat the mean of {model.DECODE_RUN} "
               f"back-to-back replays from the cache length less {model.DECODE_RUN // 2}; one "
               "warm-up per shape; random bf16 weights",
        kv_bytes_per_token=model.m.kv_bytes_per_token(),
        points=[(phase, 1, new, [kv], phase == "decode", times) for phase, new, kv, times in points])
    for phase, new, kv, times in points:
        print(f"profile: {phase} new {new} kv {kv}: median {1e3 * statistics.median(times):.3f}"
              f" ms over {len(times)}", flush=True)
    a, b, measured = model.eviction_cost(max(3, args.profile_repeats // 2))
    for n, c in measured:
        print(f"eviction at {n} prompt tokens: {1e3 * c:.1f} ms", flush=True)
    with open(args.profile_out + ".eviction_cost", "w") as f:
        f.write(f"{a:.6g},{b:.6g}\n")
    print(f"eviction cost: {a:.4g} s + {b:.4g} s per prompt token; profile written to "
          f"{args.profile_out} in {time.time() - t0:.0f} s", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plans", help="eval_time_budget --plans output (the runs to make)")
    ap.add_argument("--profile-out", help="first time this engine's prefills, decode steps and "
                    "eviction and write them as an rtlm profile CSV here (and the eviction cost "
                    "a,b for eval_time_budget --eviction-cost to PATH.eviction_cost)")
    ap.add_argument("--profile-repeats", type=int, default=8)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workload", default="long_context", choices=["long_context", "alpaca_eval"])
    ap.add_argument("--requests", type=int, default=40, help="requests to run, in plan order")
    ap.add_argument("--start", type=int, default=0, help="first request index to run")
    ap.add_argument("--max-seconds", type=float, default=480,
                    help="stop starting new requests after this many seconds")
    ap.add_argument("--policies", default="vanilla,fixed_0.5,fixed_0.95,timebill,rtlm",
                    help="the plans' policies whose kept-token counts run (fixed_0.95 is "
                    "alpha_max: it decides which requests are feasible)")
    ap.add_argument("--frontier", action="store_true",
                    help="also run every frontier point in the plans (policies timebill_k* and "
                    "rtlm_q*, from eval_time_budget --frontier)")
    ap.add_argument("--skip-runs", default="",
                    help="comma-separated runs.csv files whose (request, kept) runs are not "
                    "repeated (a later call extends an earlier one)")
    ap.add_argument("--window", type=int, default=32, help="SnapKV observation window")
    ap.add_argument("--kernel", type=int, default=5, help="SnapKV pooling kernel")
    ap.add_argument("--threads", type=int, default=8, help="CPU threads selecting layers")
    ap.add_argument("--decode-attention", default=None, choices=decode_attention.VARIANTS,
                    help="the one decode attention variant to check and use (default: the "
                    "fastest right one)")
    args = ap.parse_args()
    if not args.plans and not args.profile_out:
        ap.error("give --plans, --profile-out or both")
    began = time.time()
    os.makedirs(args.out, exist_ok=True)
    if not args.plans:
        model = StreamModel(32768 + 64, args.window, args.kernel, args.threads,
                            args.decode_attention)
        model.serve(4096, 2, 2048)  # warm-up, as below
        model.check_decode_reads_its_kv()
        write_profile(model, args)
        return
    with open(args.plans, newline="") as f:
        policies = set(args.policies.split(","))
        plans = [r for r in csv.DictReader(f)
                 if r["workload"] == args.workload and
                 (r["policy"] in policies or (args.frontier and is_frontier_point(r["policy"])))]
    if args.frontier and not any(is_frontier_point(r["policy"]) for r in plans):
        raise SystemExit(f"--frontier: {args.plans} has no {args.workload} frontier points "
                         "(timebill_k*, rtlm_q*); make it with eval_time_budget --frontier")
    wanted = range(args.start, args.start + args.requests)
    lengths, kept_counts = {}, collections.defaultdict(set)
    for r in plans:
        j = int(r["request"])
        if j in wanted:
            lengths[j] = (int(r["prompt_tokens"]), int(r["output_tokens"]))
            kept_counts[j].add(int(r["kept_tokens"]))
    for done in filter(None, args.skip_runs.split(",")):
        with open(done, newline="") as f:
            for r in csv.DictReader(f):
                if r["workload"] == args.workload:
                    kept_counts[int(r["request"])].discard(int(r["kept_tokens"]))
    if not lengths:
        raise SystemExit(f"{args.plans}: no {args.workload} requests in [{args.start}, "
                         f"{args.start + args.requests})")
    longest = max(n + out for n, out in lengths.values())

    import torch
    print(f"GPU: {torch.cuda.get_device_name()}; torch {torch.__version__}, CUDA "
          f"{torch.version.cuda}", flush=True)
    model = StreamModel(longest + 64, args.window, args.kernel, args.threads,
                        args.decode_attention)
    # Warm-up: the first prefill and selection of a process pay one-time setup. The check
    # comes after it, once the prefill has allocated and freed memory around the graph's.
    first = min(lengths)
    model.serve(lengths[first][0], 2, max(1, lengths[first][0] // 2))
    model.check_decode_reads_its_kv()
    if args.profile_out:
        write_profile(model, args)
    print(f"model ready in {time.time() - began:.0f} s; {len(lengths)} requests, "
          f"{sum(len(k) for k in kept_counts.values())} runs", flush=True)

    path = os.path.join(args.out, "runs.csv")
    fresh = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if fresh:
            w.writerow(["workload", "request", "prompt_tokens", "output_tokens", "kept_tokens",
                        "prefill_s", "selection_s", "decode_s", "total_s"])
        for j in sorted(lengths):
            if time.time() - began > args.max_seconds:
                print(f"stopping at request {j}: --max-seconds {args.max_seconds} reached")
                break
            n, out = lengths[j]
            for kept in sorted(kept_counts[j], reverse=True):
                prefill, selection, decode = model.serve(n, out, kept)
                w.writerow([args.workload, j, n, out, kept, f"{prefill:.6f}", f"{selection:.6f}",
                            f"{decode:.6f}", f"{prefill + selection + decode:.6f}"])
            f.flush()
            print(f"request {j}: prompt {n}, output {out}, {len(kept_counts[j])} runs "
                  f"({time.time() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

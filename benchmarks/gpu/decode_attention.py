#!/usr/bin/env python3
"""Batch-1 decode attention that a CUDA graph can replay at any KV length, and a check that
picks one that is right.

The KV length lives in device tensors that the graph advances itself, so a request's decode is
N - 1 replays with no host work between them. FlashAttention-2's varlen entry point can be told
the length two ways (seqused_k, or the second entry of cu_seqlens_k), and the query heads of one
KV head can ride as rows of one query (GQA) or stay heads; which of these reads exactly the
first L cached rows, and only those, is measured, not assumed.

`choose()` runs every variant eagerly and as a replayed graph at a short and a long length,
compares each output with a float32 reference over exactly the first L rows (random queries
and cache, fresh per check: a kernel that read fewer or more rows would be wrong), times the
graph replays, and returns the fastest variant that is right at both lengths. On an H200 the
GQA-rows variants were right but ran without FlashAttention's split-KV (8 thread blocks, one per
KV head: 0.94 ms per layer at 32k rows), the heads variants were right and split (54 us).

Run alone (python3 benchmarks/gpu/decode_attention.py) it prints the table for one layer of
Llama-3.1-8B.
"""
import statistics

try:
    import torch
    import profile_gpu  # beside this file: graph capture and event timing
except ImportError:  # the variant names serve argument parsing anywhere
    torch = profile_gpu = None

VARIANTS = ("gqa_rows_seqused", "gqa_rows_cu_k", "heads_seqused", "heads_cu_k")


def make_state(dev):
    """The lengths a decode graph reads and advances: `used` (int32 [1]) and `cu_k` ([0, L])."""
    return dict(used=torch.ones(1, dtype=torch.int32, device=dev),
                cu_k=torch.tensor([0, 1], dtype=torch.int32, device=dev))


def set_length(st, rows):
    st["used"].fill_(rows)
    st["cu_k"][1:].fill_(rows)


def advance(st):
    st["used"].add_(1)
    st["cu_k"][1:].add_(1)


def attention(variant, st, nh, nkv, hd, capacity, scale, dev):
    """Returns attn(q [1, nh, hd], kp [capacity, nkv, hd], vp) -> [1, nh * hd] over the first
    st's-length rows of the cache; st must outlive any graph that captures it."""
    g = nh // nkv
    rows_as_query = variant.startswith("gqa_rows")
    by_seqused = variant.endswith("seqused")
    # A graph holds raw pointers: every tensor it reads must outlive it, so these live in st
    # (freed, their memory went to the next allocation and the graph read that instead).
    cu_q = st["cu_q"] = torch.tensor([0, g if rows_as_query else 1], dtype=torch.int32,
                                     device=dev)
    cu_all = st["cu_all"] = torch.tensor([0, capacity], dtype=torch.int32, device=dev)

    def attn(q, kp, vp):
        if rows_as_query:  # the g query heads of a KV head as g query rows of one sequence
            qs = q.reshape(1, nkv, g, hd).transpose(1, 2).reshape(g, nkv, hd)
        else:
            qs = q.reshape(1, nh, hd)
        cu_k = cu_all if by_seqused else st["cu_k"]
        o = torch.ops.aten._flash_attention_forward(
            qs, kp, vp, cu_q, cu_k, g if rows_as_query else 1, capacity, 0.0, False, False,
            scale=scale, seqused_k=st["used"] if by_seqused else None)[0]
        if rows_as_query:
            return o.view(1, g, nkv, hd).transpose(1, 2).reshape(1, nh * hd)
        return o.reshape(1, nh * hd)

    return attn


def reference(q, kp, vp, rows, nh, nkv, scale):
    """Float32 attention of q over exactly the first `rows` cached rows."""
    g = nh // nkv
    k = kp[:rows].float().repeat_interleave(g, dim=1)  # [rows, nh, hd], head h reads h // g
    v = vp[:rows].float().repeat_interleave(g, dim=1)
    w = torch.softmax(torch.einsum("hd,rhd->hr", q[0].float(), k) * scale, dim=-1)
    return torch.einsum("hr,rhd->hd", w, v).reshape(1, -1)


def _replay_seconds(graph, steps=30):
    """Median GPU seconds of one replay."""
    return statistics.median(profile_gpu.event_times(graph.replay, steps))


def check(variant, nh, nkv, hd, capacity, short, long, dev, seed=0):
    """One variant's row of the table: relative errors (eager, graph) and graph seconds at both
    lengths."""
    gen = torch.Generator(device=dev).manual_seed(seed)
    scale = hd ** -0.5
    st = make_state(dev)
    attn = attention(variant, st, nh, nkv, hd, capacity, scale, dev)
    q = torch.empty(1, nh, hd, dtype=torch.bfloat16, device=dev)
    kp = torch.empty(capacity, nkv, hd, dtype=torch.bfloat16, device=dev)
    vp = torch.empty_like(kp)

    def fresh():
        for t in (q, kp, vp):
            t.normal_(0.0, 1.0, generator=gen)

    def error(out, rows):
        ref = reference(q, kp, vp, rows, nh, nkv, scale)
        e = (out.float() - ref).norm() / ref.norm()
        return float("nan") if not torch.isfinite(out).all() else float(e)

    row = dict(variant=variant)
    try:
        for rows in (short, long):
            fresh()
            set_length(st, rows)
            row[f"eager_error_{rows}"] = error(attn(q, kp, vp), rows)
        set_length(st, short)
        graph, out = profile_gpu.capture(lambda: attn(q, kp, vp))
        for rows in (short, long):
            fresh()
            set_length(st, rows)
            out.fill_(float("nan"))
            graph.replay()
            torch.cuda.synchronize()
            row[f"graph_error_{rows}"] = error(out, rows)
            row[f"graph_s_{rows}"] = _replay_seconds(graph)
    except RuntimeError as e:  # a variant this PyTorch refuses
        row["refused"] = str(e).splitlines()[0]
    return row


def choose(nh, nkv, hd, capacity, dev, log=print, tolerance=2e-2, only=None):
    """The fastest variant that is right at a short and a long length (so it reads exactly the
    first L rows) and no faster at the long one than reading them allows; raises SystemExit
    when none is."""
    short, long = min(1024, capacity // 4), capacity - 64
    kv_bytes_per_row = 2 * nkv * hd * 2
    floor = kv_bytes_per_row * long / 5e12  # no H100 or H200 reads faster than 5 TB/s
    log(f"decode attention, one layer, nh {nh} nkv {nkv} hd {hd}, rows {short} and {long} "
        f"(reading {long} rows takes at least {1e6 * floor:.1f} us):")
    good = []
    for variant in [only] if only else VARIANTS:
        r = check(variant, nh, nkv, hd, capacity, short, long, dev)
        if "refused" in r:
            log(f"  {variant:18s} refused: {r['refused']}")
            continue
        errors = [r[f"{kind}_error_{rows}"] for kind in ("eager", "graph") for rows in (short, long)]
        right = all(e <= tolerance for e in errors)  # NaN compares false: never right
        reads = r[f"graph_s_{long}"] >= floor
        log(f"  {variant:18s} rel. error eager {errors[0]:.1e}/{errors[1]:.1e}, graph "
            f"{errors[2]:.1e}/{errors[3]:.1e}; graph {1e6 * r[f'graph_s_{short}']:.1f} us / "
            f"{1e6 * r[f'graph_s_{long}']:.1f} us; {'right' if right else 'WRONG'}"
            f"{'' if reads else ', faster than its bytes allow'}")
        if right and reads:
            good.append((r[f"graph_s_{long}"], variant))
    if not good:
        raise SystemExit("no decode attention variant reads exactly its KV length")
    log(f"  chosen: {min(good)[1]}")
    return min(good)[1]


if __name__ == "__main__":
    choose(32, 8, 128, 32768, torch.device("cuda"))

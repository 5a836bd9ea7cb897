#!/usr/bin/env python3
"""Measure an rtlm step-time profile of a dense decoder LLM on one CUDA GPU.

The model is built from its config with random bf16 weights, directly on the GPU,
as a lean forward the way serving engines run it (fused QKV and gate/up
projections, RMSNorm, RoPE, GQA flash attention over a preallocated KV cache,
LM head on the last position of each sequence only).  Decode steps, chunked
prefills and small prefills are captured as CUDA graphs per shape and replayed;
large prefills run eagerly.  Every step is timed with CUDA events; every repeat
is written to the CSV (rtlm profile format, version 1; see README.md).

Usage (one model per process):
    PYTHONUNBUFFERED=1 python3 benchmarks/gpu/profile_gpu.py \
        --model llama-3.1-8b --out h100_llama-3.1-8b.csv [--quick]

Needs only PyTorch (>= 2.5 for enable_gqa; written against 2.11 + CUDA 13).
"""
import argparse
import datetime
import gc
import math
import os
import random
import shlex
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

GIB = 1 << 30

CONFIGS = {
    # meta-llama/Llama-3.1-8B config.json
    "llama-3.1-8b": dict(layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128,
                         ffn=14336, vocab=128256, rope_theta=500000.0, qkv_bias=False,
                         eps=1e-5, rope_llama3=True),
    # Qwen/Qwen2.5-7B config.json (untied embeddings)
    "qwen2.5-7b": dict(layers=28, hidden=3584, heads=28, kv_heads=4, head_dim=128,
                       ffn=18944, vocab=152064, rope_theta=1000000.0, qkv_bias=True,
                       eps=1e-6, rope_llama3=False),
    # meta-llama/Llama-3.1-70B config.json; 141 GB of bf16 weights: profile one tensor-parallel
    # shard of it (--tensor-parallel 4 fits one 80 GB GPU)
    "llama-3.1-70b": dict(layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128,
                          ffn=28672, vocab=128256, rope_theta=500000.0, qkv_bias=False,
                          eps=1e-5, rope_llama3=True),
}


def shard_config(cfg, p):
    """One GPU's shard of the model under tensor parallelism of degree p (Megatron-style, as
    vLLM splits it): heads/p query heads, kv_heads/p KV heads (one, replicated, when p exceeds
    them), ffn/p MLP columns, and vocab/p rows of the embedding and the LM head.  The layers and
    the hidden size stay whole.  The shard runs alone: the all-reduces that would join the
    shards (after the attention output and the MLP down projection, and after the embedding)
    are not run, so the profile times one GPU's compute and memory traffic only."""
    if p == 1:
        return dict(cfg)
    for key in ("heads", "ffn", "vocab"):
        if cfg[key] % p:
            raise SystemExit(f"--tensor-parallel {p} must divide {key} ({cfg[key]})")
    if cfg["kv_heads"] % p and p % cfg["kv_heads"]:
        raise SystemExit(f"--tensor-parallel {p} must divide kv_heads ({cfg['kv_heads']}) "
                         "or be a multiple of it")
    return dict(cfg, heads=cfg["heads"] // p, kv_heads=max(1, cfg["kv_heads"] // p),
                ffn=cfg["ffn"] // p, vocab=cfg["vocab"] // p)


PREFILL_N = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 100, 128, 192, 256, 300, 384, 512, 768,
             1000, 1024, 1536, 2048, 3072, 4096, 5000, 6144, 8192, 12288, 16384, 20000,
             24576, 32768]
CHUNK_N = [128, 512, 2048]
CHUNK_K = [1024, 4096, 16384]
DECODE_B = [1, 2, 4, 8, 16, 32, 64]
DECODE_KV = [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
DECODE_ODD = [(b, kv) for b in (1, 16) for kv in (384, 3000, 12000)]
MIXED_SIZES = [4, 4, 6, 8, 8, 12, 16, 16, 20, 24, 32, 32, 48, 64, 64]
MIXED_SEED = 20251122
MIXED_KV_RANGE = (128, 16384)

# The serving grid (--grid serving): the shapes a continuously batching server runs. Chunks of
# every size a step budget makes over caches up to 32k tokens; uniform batches up to 256
# sequences; mixed-KV batches whose totals reach the KV capacity a server holds, some with one
# long sequence among short ones (the FlashAttention split heuristic's worst case).
SERVING_PREFILL_N = [16, 64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192,
                     12288, 16384]
SERVING_CHUNK_N = [64, 128, 256, 512, 1024, 2048, 4096]
SERVING_CHUNK_K = [512, 2048, 4096, 8192, 16384, 32768]
SERVING_DECODE_B = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]
SERVING_DECODE_KV = [256, 1024, 2048, 4096, 8192, 16384]
SERVING_MIXED_SIZES = [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256]
SERVING_KV_POOL = 430_000  # tokens: an 80 GB H100's KV beside an 8B model's weights

QUICK_PREFILL_N = [1, 16, 128, 512, 2048, 8192]
QUICK_DECODE = [(1, 128), (1, 4096), (16, 1024), (64, 2048)]


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------- model

def rope_inv_freq(cfg):
    hd = cfg["head_dim"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    if cfg["rope_llama3"]:  # Llama 3.1 frequency scaling (factor 8, low 1, high 4, orig 8192)
        factor, low, high, orig = 8.0, 1.0, 4.0, 8192.0
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > orig / low, inv / factor, inv)
        smooth = (orig / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = (wavelen >= orig / high) & (wavelen <= orig / low)
        inv = torch.where(medium, smoothed, inv_l)
    return inv


class LeanModel:
    """Random-weight decoder with a preallocated, token-major KV cache.

    KV cache: one tensor [layers, 2, kv_tokens, kv_heads, head_dim].  A uniform batch
    (b sequences of capacity c tokens) views the first b*c rows as [b, c, kvh, hd];
    a mixed batch views them packed as [sum(c_i), kvh, hd] with cu_seqlens.  At
    batch 1 both views put token p at row p, so prefill and decode share the cache.
    """

    def __init__(self, cfg, kv_tokens, dev):
        self.cfg = cfg
        self.dev = dev
        H, nh, nkv, hd, ff = cfg["hidden"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"], cfg["ffn"]
        self.H, self.nh, self.nkv, self.hd, self.ff = H, nh, nkv, hd, ff
        self.eps = cfg["eps"]
        self.scale = 1.0 / math.sqrt(hd)
        bf = torch.bfloat16

        def w(*shape, mean=0.0):
            return torch.empty(*shape, dtype=bf, device=dev).normal_(mean, 0.02)

        self.embed = w(cfg["vocab"], H)
        self.layers = []
        for _ in range(cfg["layers"]):
            self.layers.append(dict(
                ln1=w(H, mean=1.0),
                wqkv=w((nh + 2 * nkv) * hd, H),
                bqkv=w((nh + 2 * nkv) * hd) if cfg["qkv_bias"] else None,
                wo=w(H, nh * hd),
                ln2=w(H, mean=1.0),
                wgu=w(2 * ff, H),
                wd=w(H, ff),
            ))
        self.norm = w(H, mean=1.0)
        self.lm_head = w(cfg["vocab"], H)
        inv = rope_inv_freq(cfg)
        max_pos = 32768 + 4096 + 64
        ang = torch.outer(torch.arange(max_pos, dtype=torch.float64), inv)
        self.freqs = torch.polar(torch.ones_like(ang), ang).to(torch.complex64).to(dev)
        self.kv_tokens = kv_tokens
        self.kv = torch.empty(cfg["layers"], 2, kv_tokens, nkv, hd, dtype=bf, device=dev)
        for i in range(cfg["layers"]):
            self.kv[i].normal_(0.0, 1.0)  # random cache contents, never zeros

    # params / bytes
    def layer_params(self):
        c = self.cfg
        H, nh, nkv, hd, ff = self.H, self.nh, self.nkv, self.hd, self.ff
        per = (nh + 2 * nkv) * hd * H + H * nh * hd + 2 * ff * H + ff * H + 2 * H
        if c["qkv_bias"]:
            per += (nh + 2 * nkv) * hd
        return c["layers"] * per

    def total_params(self):
        return self.layer_params() + 2 * self.cfg["vocab"] * self.H + self.H

    def kv_bytes_per_token(self):
        return self.cfg["layers"] * 2 * self.nkv * self.hd * 2

    # forward
    def forward(self, ids, pos, attn, last_idx=None):
        """ids, pos: [T] int64.  attn(layer, q[T,nh,hd], k[T,nkv,hd], v[T,nkv,hd]) -> [T, nh*hd].
        Returns logits [len(last_idx) or T, vocab] (LM head only on the selected rows)."""
        T = ids.shape[0]
        nh, nkv, hd, H = self.nh, self.nkv, self.hd, self.H
        fr = self.freqs[pos].view(T, 1, hd // 2)
        x = F.embedding(ids, self.embed)
        for i, lw in enumerate(self.layers):
            h = F.rms_norm(x, (H,), lw["ln1"], self.eps)
            qkv = F.linear(h, lw["wqkv"], lw["bqkv"])
            # RoPE on q and k together (pairs (2j, 2j+1) as complex numbers, as in Meta's code)
            qk = qkv[:, : (nh + nkv) * hd].float().view(T, nh + nkv, hd // 2, 2)
            qk = torch.view_as_real(torch.view_as_complex(qk) * fr).to(torch.bfloat16)
            qk = qk.view(T, nh + nkv, hd)
            q, k = qk[:, :nh], qk[:, nh:]
            v = qkv[:, (nh + nkv) * hd:].view(T, nkv, hd)
            o = attn(i, q, k, v)
            x.addmm_(o, lw["wo"].t())  # residual add fused into the GEMM (beta=1)
            h = F.rms_norm(x, (H,), lw["ln2"], self.eps)
            gu = F.linear(h, lw["wgu"])
            act = F.silu(gu[:, : self.ff])
            act.mul_(gu[:, self.ff:])
            del gu
            x.addmm_(act, lw["wd"].t())
            del act
        x = F.rms_norm(x, (H,), self.norm, self.eps)
        if last_idx is not None:
            x = x[last_idx]
        return F.linear(x, self.lm_head)

    # attention variants ----------------------------------------------------------
    # Each returns attn(layer, q[T,nh,hd], k[T,nkv,hd], v[T,nkv,hd]) -> [T, nh*hd] that
    # first writes the new K/V into the cache, then attends.
    def attn_prefill(self, N, backend):
        """Batch-1 prefill of N tokens on an empty cache: write KV rows 0..N-1, causal SDPA."""
        nh, hd = self.nh, self.hd

        def attn(i, q, k, v):
            self.kv[i, 0, :N].copy_(k)
            self.kv[i, 1, :N].copy_(v)
            with sdpa_ctx(backend):
                o = F.scaled_dot_product_attention(
                    q.unsqueeze(0).transpose(1, 2), k.unsqueeze(0).transpose(1, 2),
                    v.unsqueeze(0).transpose(1, 2), is_causal=True, scale=self.scale,
                    enable_gqa=True)
            return o.transpose(1, 2).reshape(N, nh * hd)
        return attn

    def attn_chunk(self, N, K, kernel):
        """Batch-1 chunk of N new tokens after K cached ones: causal over the new tokens,
        full over the cached ones.  kernel 'flash': one FlashAttention-2 call with its
        bottom-right causal mask; 'cudnn_split': cuDNN over the cached part (no mask) and
        over the new part (causal), merged by log-sum-exp (as cascade attention does)."""
        nh, hd = self.nh, self.hd

        def attn(i, q, k, v):
            kc, vc = self.kv[i, 0, : K + N], self.kv[i, 1, : K + N]
            kc[K:].copy_(k)
            vc[K:].copy_(v)
            if kernel == "flash":
                o = flash_dense(q.unsqueeze(0), kc.unsqueeze(0), vc.unsqueeze(0), True, self.scale)
                return o.reshape(N, nh * hd)
            qb = q.unsqueeze(0).transpose(1, 2)
            o1, l1 = cudnn_lse(qb, kc[:K].unsqueeze(0).transpose(1, 2),
                               vc[:K].unsqueeze(0).transpose(1, 2), False, self.scale)
            o2, l2 = cudnn_lse(qb, k.unsqueeze(0).transpose(1, 2),
                               v.unsqueeze(0).transpose(1, 2), True, self.scale)
            o = merge_lse(o1, l1, o2, l2)
            return o.transpose(1, 2).reshape(N, nh * hd)
        return attn

    def attn_decode(self, b, L, backend):
        """Uniform decode: b sequences with L cached tokens each, one new token each."""
        nkv, hd, nh = self.nkv, self.hd, self.nh
        c = L + 1

        def attn(i, q, k, v):
            kc = self.kv[i, 0, : b * c].view(b, c, nkv, hd)
            vc = self.kv[i, 1, : b * c].view(b, c, nkv, hd)
            kc[:, L].copy_(k)
            vc[:, L].copy_(v)
            with sdpa_ctx(backend):
                o = F.scaled_dot_product_attention(
                    q.unsqueeze(2), kc.transpose(1, 2), vc.transpose(1, 2), scale=self.scale,
                    enable_gqa=True)
            return o.reshape(b, nh * hd)
        return attn

    def attn_mixed(self, lens, kernel):
        """Mixed decode: sequence j has lens[j] cached tokens, packed contiguously
        (rows cu[j]..cu[j+1]-1, the new token last); each attends over its own length only."""
        nkv, hd, nh = self.nkv, self.hd, self.nh
        b = len(lens)
        g = nh // nkv
        cu = [0]
        for L in lens:
            cu.append(cu[-1] + L + 1)
        T, maxk = cu[-1], max(lens) + 1
        dev = self.dev
        cu_k = torch.tensor(cu, dtype=torch.int32, device=dev)
        cu_q1 = torch.arange(b + 1, dtype=torch.int32, device=dev)
        cu_qg = torch.arange(0, b * g + 1, g, dtype=torch.int32, device=dev)
        widx = (cu_k[1:] - 1).long()

        def attn(i, q, k, v):
            kp = self.kv[i, 0, :T]
            vp = self.kv[i, 1, :T]
            kp.index_copy_(0, widx, k)
            vp.index_copy_(0, widx, v)
            if kernel == "flash_varlen_gqa":
                return varlen_decode_gqa(q, kp, vp, cu_qg, cu_k, maxk, nkv, self.scale)
            if kernel == "flash_varlen":
                return flash_varlen(q, kp, vp, cu_q1, cu_k, maxk, self.scale)
            # reference / fallback: one SDPA call per sequence
            outs = []
            for j in range(b):
                kj = kp[cu[j]: cu[j + 1]].unsqueeze(0).transpose(1, 2)
                vj = vp[cu[j]: cu[j + 1]].unsqueeze(0).transpose(1, 2)
                outs.append(F.scaled_dot_product_attention(
                    q[j: j + 1].unsqueeze(2), kj, vj, scale=self.scale, enable_gqa=True))
            return torch.cat(outs, 0).reshape(b, nh * hd)
        return attn


# SDPA backends in priority order: cuDNN has no kernel for a few shapes (e.g. a 1-token causal
# prefill); FlashAttention-2 takes those, and the script logs where that happened.
SDPA_BACKENDS = {"cudnn": [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION],
                 "flash": [SDPBackend.FLASH_ATTENTION],
                 "math": [SDPBackend.MATH]}


def sdpa_ctx(backend):
    try:
        return sdpa_kernel(SDPA_BACKENDS[backend], set_priority=True)
    except TypeError:  # older torch without set_priority
        return sdpa_kernel(SDPA_BACKENDS[backend])


def sdpa_choice(backend, q, k, causal):
    """Name of the SDPA backend that dispatch picks for these tensors under `backend`."""
    names = {int(v): k for k, v in SDPBackend.__members__.items()}
    try:
        with sdpa_ctx(backend):
            c = torch._fused_sdp_choice(q, k, k, None, 0.0, causal, enable_gqa=True)
        return names.get(int(c), str(c))
    except Exception as e:  # noqa: BLE001
        return f"none ({type(e).__name__})"


def flash_dense(q, k, v, causal, scale):
    """FlashAttention-2 (PyTorch's bundled copy), [B, S, H, D] layout; causal is bottom-right."""
    return torch.ops.aten._flash_attention_forward(
        q, k, v, None, None, q.shape[1], k.shape[1], 0.0, causal, False, scale=scale)[0]


def cudnn_lse(q, k, v, causal, scale):
    """cuDNN fused attention ([B, H, S, D] views) returning (out, log-sum-exp [B, H, S])."""
    r = torch.ops.aten._scaled_dot_product_cudnn_attention(
        q, k, v, None, True, 0.0, causal, False, scale=scale)
    lse = r[1]
    if lse.dim() == 4:
        lse = lse.squeeze(-1)
    return r[0], lse


def merge_lse(o1, l1, o2, l2):
    """Combine two partial softmax attentions over disjoint key sets."""
    w = torch.sigmoid(l1 - l2).unsqueeze(-1).to(o1.dtype)  # = e^l1 / (e^l1 + e^l2)
    return torch.lerp(o2, o1, w)


def flash_varlen(q, kp, vp, cu_q1, cu_k, maxk, scale):
    """FlashAttention-2 varlen decode: q [b, nh, hd], packed KV, cu_seqlens_k.  Its split-KV
    heuristic assumes equal lengths: once batch x kv_heads is large it stops splitting, and
    the longest sequence of a mixed batch then bounds the step (see README.md)."""
    b, nh, hd = q.shape
    return torch.ops.aten._flash_attention_forward(
        q, kp, vp, cu_q1, cu_k, 1, maxk, 0.0, False, False, scale=scale)[0].reshape(b, nh * hd)


def varlen_decode_gqa(q, kp, vp, cu_qg, cu_k, maxk, nkv, scale):
    """Decode over packed variable-length KV with FlashAttention-2 varlen; the g query heads
    that share a KV head are passed as g query rows of that head (what FlashAttention does
    itself for uniform decode), so each KV row is read once per step."""
    b, nh, hd = q.shape
    g = nh // nkv
    qs = q.reshape(b, nkv, g, hd).transpose(1, 2).reshape(b * g, nkv, hd)
    o = torch.ops.aten._flash_attention_forward(
        qs, kp, vp, cu_qg, cu_k, g, maxk, 0.0, False, False, scale=scale)[0]
    return o.view(b, g, nkv, hd).transpose(1, 2).reshape(b, nh * hd)


# ----------------------------------------------------------------------------- timing

def capture(fn):
    """Warm up fn on a side stream, capture it as a CUDA graph; returns (graph, output)."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out = fn()
    torch.cuda.synchronize()
    return g, out


def event_times(run, n):
    evs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
           for _ in range(n)]
    for s, e in evs:
        s.record()
        run()
        e.record()
    torch.cuda.synchronize()
    return [s.elapsed_time(e) / 1e3 for s, e in evs]


def time_step(run, args):
    """Warm-up, then repeats; returns the list of per-repeat GPU seconds."""
    est = event_times(run, 1)[0]            # first warm-up, also the estimate
    nwarm = args.warmup - 1 if est < 0.2 else 1
    if nwarm > 0:
        event_times(run, nwarm)
    if est < 0.05:
        reps = args.repeats
    else:
        reps = max(args.min_repeats, min(args.repeats, int(args.big_budget_s / est)))
    return event_times(run, reps)


# ----------------------------------------------------------------------------- profile

def write_profile_csv(path, attention, method, kv_bytes_per_token, points):
    """Writes an rtlm profile of a Llama-3.1-8B-shaped engine timed on this GPU: the header
    (this machine's GPU and software, `attention`, `method`, the date and the command line), then
    one row per repeat of each point (phase, batch, new_tokens, kv_lengths list, graph,
    [seconds])."""
    header = {
        "rtlm-profile": "1",
        "model": "llama-3.1-8b",
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "dtype": "bfloat16",
        "attention": attention,
        "method": method,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python3 " + " ".join(shlex.quote(a) for a in sys.argv),
        "kv_bytes_per_token": str(kv_bytes_per_token),
    }
    with open(path, "w") as f:
        for k, v in header.items():
            f.write(f"# {k}: {v}\n")
        f.write("phase,batch,new_tokens,kv_lengths,graph,repeat,seconds\n")
        for phase, batch, new, kvs, graph, times in points:
            kv = ";".join(str(k) for k in kvs)
            for r, t in enumerate(times):
                f.write(f"{phase},{batch},{new},{kv},{int(graph)},{r},{t:.9g}\n")


class Profile:
    def __init__(self, path, header):
        self.path = path
        self.header = header
        self.rows = []
        self.points = []  # (label, phase, batch, new, kv_list, graph, times, floor)

    def add(self, phase, batch, new_tokens, kv_list, graph, times, floor, label):
        kv = ";".join(str(x) for x in kv_list)
        for r, t in enumerate(times):
            self.rows.append(f"{phase},{batch},{new_tokens},{kv},{int(graph)},{r},{t:.9g}")
        self.points.append((label, times, floor))
        med = statistics.median(times)
        spread = (max(times) - min(times)) / med
        log(f"  {label:<44s} n={len(times):2d} median {med*1e3:10.3f} ms  spread {spread*100:5.2f}%"
            f"  floor {floor*1e3:9.3f} ms  x{med/floor:5.2f}")

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            for k, v in self.header.items():
                f.write(f"# {k}: {v}\n")
            f.write("phase,batch,new_tokens,kv_lengths,graph,repeat,seconds\n")
            for r in self.rows:
                f.write(r + "\n")
        os.replace(tmp, self.path)

    def summary(self):
        log("\nSUMMARY (median ms, spread = (max-min)/median, floor = max(bytes/BW, FLOPs/peak))")
        log(f"{'point':<44s} {'n':>3s} {'median ms':>11s} {'spread%':>8s} {'floor ms':>9s} {'x':>5s}")
        for label, times, floor in self.points:
            med = statistics.median(times)
            log(f"{label:<44s} {len(times):3d} {med*1e3:11.3f} {(max(times)-min(times))/med*100:8.2f}"
                f" {floor*1e3:9.3f} {med/floor:5.2f}")
        sp = [(max(t) - min(t)) / statistics.median(t) for _, t, _ in self.points]
        if sp:
            sp.sort()
            log(f"spread over {len(sp)} points: median {statistics.median(sp)*100:.2f}%, "
                f"max {sp[-1]*100:.2f}%")


def measure_ceilings(dev):
    n = 1 << 30  # 1 GiB of bf16 elements = 2 GiB
    a = torch.empty(n, dtype=torch.bfloat16, device=dev).normal_()
    b = torch.empty_like(a)
    t = statistics.median(event_times(lambda: b.copy_(a), 10)[2:])
    bw = 2 * a.numel() * 2 / t
    del a, b
    m = 8192
    x = torch.randn(m, m, dtype=torch.bfloat16, device=dev)
    y = torch.randn(m, m, dtype=torch.bfloat16, device=dev)
    t = statistics.median(event_times(lambda: x @ y, 12)[2:])
    peak = 2 * m ** 3 / t
    del x, y
    torch.cuda.empty_cache()
    return bw, peak


def floor_s(model, bw, peak, n_new, ctx_sums, kv_read_tokens, kv_write_tokens, n_logits):
    """Lower bound on a step: weights + KV bytes over measured copy bandwidth, or FLOPs over
    measured GEMM peak, whichever is larger.  ctx_sums: sum over new tokens of the number of
    keys each attends to."""
    c = model.cfg
    wbytes = 2 * (model.layer_params() + c["vocab"] * model.H)
    kvb = model.kv_bytes_per_token() * (kv_read_tokens + kv_write_tokens)
    flops = 2 * model.layer_params() * n_new + 2 * n_logits * c["vocab"] * model.H
    flops += 4 * model.nh * model.hd * c["layers"] * ctx_sums
    return max((wbytes + kvb) / bw, flops / peak)


# ----------------------------------------------------------------------------- checks

def rel_err(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm()).item()


def packed(lens, nkv, hd, dev):
    cu = [0]
    for L in lens:
        cu.append(cu[-1] + L + 1)
    k = torch.randn(cu[-1], nkv, hd, dtype=torch.bfloat16, device=dev)
    v = torch.randn_like(k)
    return cu, k, v


def mixed_op(kernel, q, kp, vp, cu, nkv, scale):
    """One mixed-decode attention call on packed KV (for checks and op timing)."""
    b, nh, hd = q.shape
    g = nh // nkv
    dev = q.device
    cu_k = torch.tensor(cu, dtype=torch.int32, device=dev)
    maxk = max(cu[j + 1] - cu[j] for j in range(b))
    if kernel == "flash_varlen_gqa":
        cu_qg = torch.arange(0, b * g + 1, g, dtype=torch.int32, device=dev)
        return lambda: varlen_decode_gqa(q, kp, vp, cu_qg, cu_k, maxk, nkv, scale)
    if kernel == "flash_varlen":
        cu_q = torch.arange(b + 1, dtype=torch.int32, device=dev)
        return lambda: flash_varlen(q, kp, vp, cu_q, cu_k, maxk, scale)

    def loop():
        outs = [F.scaled_dot_product_attention(
            q[j:j + 1].unsqueeze(2), kp[cu[j]:cu[j + 1]].unsqueeze(0).transpose(1, 2),
            vp[cu[j]:cu[j + 1]].unsqueeze(0).transpose(1, 2), scale=scale, enable_gqa=True)
            for j in range(b)]
        return torch.cat(outs, 0).reshape(b, nh * hd)
    return loop


def check_mixed_kernel(kernel, nh, nkv, hd, lens, dev, scale):
    """Mixed-decode kernel vs float64 attention of each sequence over its own length."""
    b = len(lens)
    cu, k, v = packed(lens, nkv, hd, dev)
    q = torch.randn(b, nh, hd, dtype=torch.bfloat16, device=dev)
    out = mixed_op(kernel, q, k, v, cu, nkv, scale)().view(b, nh, hd)
    errs = []
    for j in range(b):
        with sdpa_kernel([SDPBackend.MATH]):
            ref = F.scaled_dot_product_attention(
                q[j:j + 1].unsqueeze(2).double(),
                k[cu[j]:cu[j + 1]].unsqueeze(0).transpose(1, 2).double(),
                v[cu[j]:cu[j + 1]].unsqueeze(0).transpose(1, 2).double(),
                scale=scale, enable_gqa=True)
        errs.append(rel_err(out[j].view(1, nh, 1, hd), ref))
    return max(errs)


def chunk_op(kernel, q, kc, vc, K, scale):
    """q [N, nh, hd] new tokens; kc, vc [K+N, nkv, hd] (cached rows then new rows)."""
    N, nh, hd = q.shape
    if kernel == "flash":
        return lambda: flash_dense(q.unsqueeze(0), kc.unsqueeze(0), vc.unsqueeze(0), True,
                                   scale).reshape(N, nh * hd)

    def split():
        qb = q.unsqueeze(0).transpose(1, 2)
        o1, l1 = cudnn_lse(qb, kc[:K].unsqueeze(0).transpose(1, 2),
                           vc[:K].unsqueeze(0).transpose(1, 2), False, scale)
        o2, l2 = cudnn_lse(qb, kc[K:].unsqueeze(0).transpose(1, 2),
                           vc[K:].unsqueeze(0).transpose(1, 2), True, scale)
        return merge_lse(o1, l1, o2, l2).transpose(1, 2).reshape(N, nh * hd)
    return split


def check_chunk_kernel(kernel, nh, nkv, hd, N, K, dev, scale):
    """Chunked-prefill attention vs explicit-mask attention in float64."""
    q = torch.randn(N, nh, hd, dtype=torch.bfloat16, device=dev)
    k = torch.randn(K + N, nkv, hd, dtype=torch.bfloat16, device=dev)
    v = torch.randn_like(k)
    out = chunk_op(kernel, q, k, v, K, scale)()
    mask = torch.ones(N, K + N, dtype=torch.bool, device=dev).tril(diagonal=K)
    with sdpa_kernel([SDPBackend.MATH]):
        ref = F.scaled_dot_product_attention(
            q.unsqueeze(0).transpose(1, 2).double(), k.unsqueeze(0).transpose(1, 2).double(),
            v.unsqueeze(0).transpose(1, 2).double(), attn_mask=mask, scale=scale, enable_gqa=True)
    return rel_err(out.view(1, N, nh, hd).transpose(1, 2), ref)


def graph_time(fn, inner=10, reps=10):
    """GPU time of fn, captured `inner` times in one CUDA graph (launch gaps removed)."""
    g, _ = capture(lambda: [fn() for _ in range(inner)])
    t = statistics.median(event_times(g.replay, reps + 3)[3:]) / inner
    del g
    return t


def kernel_bench(nh, nkv, hd, dev, scale):
    """Attention op times (ms, graph-replayed) of the candidate kernels, same data each."""
    bf = torch.bfloat16
    log("  decode (b, kv): sdpa_cudnn sdpa_flash flash_varlen flash_varlen_gqa [ms per layer]")
    for b, L in [(1, 1024), (1, 16384), (4, 4096), (16, 1024), (16, 4096), (64, 2048), (8, 16384)]:
        c = L + 1
        kb = torch.randn(b * c, nkv, hd, dtype=bf, device=dev)
        vb = torch.randn_like(kb)
        q = torch.randn(b, nh, hd, dtype=bf, device=dev)
        kc = kb.view(b, c, nkv, hd).transpose(1, 2)
        vc = vb.view(b, c, nkv, hd).transpose(1, 2)
        res = []
        for be in ("cudnn", "flash"):
            def f(be=be):
                with sdpa_ctx(be):
                    return F.scaled_dot_product_attention(q.unsqueeze(2), kc, vc, scale=scale,
                                                          enable_gqa=True)
            try:
                res.append(f"{graph_time(f)*1e3:.4f}")
            except Exception as e:  # noqa: BLE001
                res.append(f"fail({type(e).__name__})")
        cu = list(range(0, b * c + 1, c))
        for kern in ("flash_varlen", "flash_varlen_gqa"):
            try:
                res.append(f"{graph_time(mixed_op(kern, q, kb, vb, cu, nkv, scale))*1e3:.4f}")
            except Exception as e:  # noqa: BLE001
                res.append(f"fail({type(e).__name__})")
        log(f"    ({b}, {L}): " + " ".join(res))
        del kb, vb
    log("  chunk (N, K): flash_bottom_right cudnn_split  [ms per layer]")
    for N, K in [(128, 1024), (512, 4096), (2048, 1024), (2048, 16384)]:
        q = torch.randn(N, nh, hd, dtype=bf, device=dev)
        k = torch.randn(K + N, nkv, hd, dtype=bf, device=dev)
        v = torch.randn_like(k)
        res = []
        for kern in ("flash", "cudnn_split"):
            try:
                res.append(f"{graph_time(chunk_op(kern, q, k, v, K, scale), inner=3)*1e3:.4f}")
            except Exception as e:  # noqa: BLE001
                res.append(f"fail({type(e).__name__}: {str(e)[:100]})")
        log(f"    ({N}, {K}): " + " ".join(res))
    log("  prefill N (causal): sdpa_cudnn sdpa_flash  [ms per layer]")
    for N in (512, 2048, 8192, 32768):
        q = torch.randn(1, nh, N, hd, dtype=bf, device=dev)
        k = torch.randn(1, nkv, N, hd, dtype=bf, device=dev)
        v = torch.randn_like(k)
        res = []
        for be in ("cudnn", "flash"):
            def f(be=be):
                with sdpa_ctx(be):
                    return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale,
                                                          enable_gqa=True)
            try:
                res.append(f"{graph_time(f, inner=2)*1e3:.4f}")
            except Exception as e:  # noqa: BLE001
                res.append(f"fail({type(e).__name__})")
        fl = 4 * nh * hd * N * (N + 1) / 2
        log(f"    {N}: " + " ".join(res) + f"   ({fl/1e9:.1f} GFLOP)")


def check_flex(nh, nkv, hd, lens, dev, scale):
    """Try flex_attention (compiled) with a per-sequence length block mask; report
    error vs per-sequence SDPA, compile time and op time vs flash varlen."""
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    b = len(lens)
    Lp = ((max(lens) + 1 + 127) // 128) * 128
    q = torch.randn(b, nh, 1, hd, dtype=torch.bfloat16, device=dev)
    k = torch.randn(b, nkv, Lp, hd, dtype=torch.bfloat16, device=dev)
    v = torch.randn(b, nkv, Lp, hd, dtype=torch.bfloat16, device=dev)
    lt = torch.tensor([L + 1 for L in lens], device=dev)

    def mask_mod(bi, h, qi, ki):
        return ki < lt[bi]
    bm = create_block_mask(mask_mod, b, None, 1, Lp, device=dev)
    fa = torch.compile(flex_attention, dynamic=False)
    t0 = time.time()
    out = fa(q, k, v, block_mask=bm, scale=scale, enable_gqa=True)
    torch.cuda.synchronize()
    comp = time.time() - t0
    errs = []
    for j in range(b):
        c = lens[j] + 1
        with sdpa_kernel([SDPBackend.MATH]):
            ref = F.scaled_dot_product_attention(q[j:j+1].double(), k[j:j+1, :, :c].double(),
                                                 v[j:j+1, :, :c].double(), scale=scale,
                                                 enable_gqa=True)
        errs.append(rel_err(out[j:j+1], ref))
    t_flex = statistics.median(event_times(
        lambda: fa(q, k, v, block_mask=bm, scale=scale, enable_gqa=True), 20)[3:])
    # same data packed for flash varlen
    kp = torch.cat([k[j, :, : lens[j] + 1].transpose(0, 1) for j in range(b)], 0).contiguous()
    vp = torch.cat([v[j, :, : lens[j] + 1].transpose(0, 1) for j in range(b)], 0).contiguous()
    cu = [0]
    for L in lens:
        cu.append(cu[-1] + L + 1)
    cu_k = torch.tensor(cu, dtype=torch.int32, device=dev)
    cu_q = torch.arange(b + 1, dtype=torch.int32, device=dev)
    qv = q.view(b, nh, hd)
    t_fv = statistics.median(event_times(lambda: torch.ops.aten._flash_attention_forward(
        qv, kp, vp, cu_q, cu_k, 1, max(lens) + 1, 0.0, False, False, scale=scale), 20)[3:])
    return max(errs), comp, t_flex, t_fv


def count_kernels(model, b, L, dev, backend):
    from torch.profiler import ProfilerActivity, profile
    ids = torch.randint(0, model.cfg["vocab"], (b,), device=dev)
    pos = torch.full((b,), L, dtype=torch.long, device=dev)
    attn = model.attn_decode(b, L, backend)
    model.forward(ids, pos, attn)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        model.forward(ids, pos, attn)
        torch.cuda.synchronize()
    names = {}
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            n = e.name[:48]
            names[n] = names.get(n, 0) + 1
    return sum(names.values()), sorted(names.items(), key=lambda kv: -kv[1])[:14]


# ----------------------------------------------------------------------------- main

def mixed_batches():
    rng = random.Random(MIXED_SEED)
    lo, hi = MIXED_KV_RANGE
    out = []
    for b in MIXED_SIZES:
        out.append([int(round(math.exp(rng.uniform(math.log(lo), math.log(hi))))) for _ in range(b)])
    return out


def off_grid(sizes, rng, lo=1):
    """Each size moved by a factor in [0.7, 1.4] (log-uniform), so a second profile's points
    fall between the first one's."""
    return sorted({max(lo, int(round(x * math.exp(rng.uniform(math.log(0.7), math.log(1.4))))))
                   for x in sizes})


def serving_mixed_batches(rng, kv_tokens):
    """Three mixed-KV batches per size: lengths log-uniform over 64..16384; log-normal around a
    chat server's median (1,500 tokens, up to 32k); one long sequence (16k-32k) among short ones
    (64-1,024). A batch that would not fit in `kv_tokens` is scaled down to fit."""
    out = []
    for b in SERVING_MIXED_SIZES:
        uniform = [int(math.exp(rng.uniform(math.log(64), math.log(16384)))) for _ in range(b)]
        chat = [min(32768, max(16, int(rng.lognormvariate(math.log(1500), 1.0))))
                for _ in range(b)]
        skewed = [int(rng.uniform(16384, 32768))] + [int(rng.uniform(64, 1024))
                                                       for _ in range(b - 1)]
        for lens in (uniform, chat, skewed):
            total = sum(L + 1 for L in lens)
            if total > kv_tokens:
                lens = [max(16, int(L * kv_tokens / total) - 1) for L in lens]
            out.append(lens)
    return out


def serving_grid(seed, kv_tokens, max_prefill):
    """The serving grid; with a seed other than 0 every size is moved off it (off_grid) and the
    mixed batches are drawn anew."""
    rng = random.Random(MIXED_SEED + seed)
    move = (lambda xs, lo=1: off_grid(xs, rng, lo)) if seed else (lambda xs, lo=1: list(xs))
    prefill = [n for n in move(SERVING_PREFILL_N, 2) if n <= max_prefill]
    chunk = [(n, k) for k in move(SERVING_CHUNK_K, 16) for n in move(SERVING_CHUNK_N, 16)]
    decode = [(b, kv) for b in [1] + move(SERVING_DECODE_B[1:], 2) for kv in move(SERVING_DECODE_KV, 16)
              if b * (kv + 1) <= kv_tokens]
    return prefill, chunk, decode, serving_mixed_batches(rng, kv_tokens)


def driver_version():
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception:  # noqa: BLE001
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=sorted(CONFIGS))
    ap.add_argument("--tensor-parallel", type=int, default=1,
                    help="profile one GPU's shard of the model split over this many GPUs "
                         "(no communication is run); the profile's header then carries "
                         "tensor_parallel and shard lines")
    ap.add_argument("--decode-batches", default=",".join(str(b) for b in DECODE_B),
                    help="comma-separated batch sizes of the uniform decode grid")
    ap.add_argument("--max-prefill", type=int, default=max(PREFILL_N),
                    help="longest plain prefill of the grid, in tokens")
    ap.add_argument("--out", required=True, help="CSV path to write")
    ap.add_argument("--quick", action="store_true",
                    help="reduced grid, fewer repeats, plus kernel checks (smoke test)")
    ap.add_argument("--grid", default="default", choices=["default", "serving"],
                    help="default: the grid of the committed 2026-11-22 profiles; serving: many "
                         "more chunked-prefill shapes, uniform batches up to 256 and mixed-KV "
                         "batches whose totals reach the KV capacity")
    ap.add_argument("--grid-seed", type=int, default=0,
                    help="with --grid serving: 0 keeps the grid's sizes; another seed moves every "
                         "size off them and draws new mixed batches (a held-out profile)")
    ap.add_argument("--phases", default="prefill,chunk,decode,mixed")
    ap.add_argument("--prefill-attn", default="cudnn", choices=["cudnn", "flash"],
                    help="SDPA backend for prefill on an empty cache")
    ap.add_argument("--decode-attn", default="flash", choices=["flash", "cudnn"],
                    help="SDPA backend for uniform decode (flash: the same FlashAttention-2 "
                         "family as the mixed-batch varlen kernel)")
    ap.add_argument("--chunk-attn", default="cudnn_split", choices=["cudnn_split", "flash"])
    ap.add_argument("--mixed-attn", default="flash_varlen",
                    choices=["flash_varlen", "flash_varlen_gqa", "sdpa_loop"],
                    help="flash_varlen_gqa passes the query heads of a KV head as rows (no "
                         "split-KV: slow at small batch); sdpa_loop is one SDPA call per sequence")
    ap.add_argument("--kernel-bench", action="store_true",
                    help="time the candidate attention kernels op by op first")
    ap.add_argument("--check-flex", action="store_true",
                    help="also try flex_attention for mixed decode (compiles; slow to start)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--min-repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--big-budget-s", type=float, default=5.0,
                    help="target seconds of repeats for a step over 50 ms")
    ap.add_argument("--graph-max-prefill", type=int, default=4096,
                    help="prefills up to this many tokens are CUDA-graph replays")
    ap.add_argument("--headroom-gib", type=float, default=8.0)
    ap.add_argument("--time-limit-s", type=float, default=510.0,
                    help="skip remaining points after this many seconds")
    args = ap.parse_args()
    if args.quick:
        args.repeats = min(args.repeats, 10)
    t_start = time.time()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    tp = args.tensor_parallel
    if tp < 1:
        raise SystemExit(f"--tensor-parallel {tp} must be at least 1")
    cfg = shard_config(CONFIGS[args.model], tp)
    decode_batches = [int(b) for b in args.decode_batches.split(",")]
    props = torch.cuda.get_device_properties(dev)
    gpu = torch.cuda.get_device_name(dev)
    log(f"GPU {gpu}, {props.multi_processor_count} SMs, {props.total_memory/GIB:.1f} GiB; "
        f"driver {driver_version()}; torch {torch.__version__}; cuda {torch.version.cuda}")
    try:
        log(f"flash attention version: {torch.nn.attention._get_flash_version()}")
    except Exception:  # noqa: BLE001
        pass

    torch.backends.cuda.matmul.allow_tf32 = False
    bw, peak = measure_ceilings(dev)
    log(f"measured ceilings: device copy {bw/1e12:.2f} TB/s (read+write), "
        f"bf16 8192^3 GEMM {peak/1e12:.0f} TFLOP/s")

    # --- grids
    if args.quick:
        prefill_n = QUICK_PREFILL_N
        chunk = [(512, 4096), (2048, 16384)]
        decode = list(QUICK_DECODE)
        mixed = mixed_batches()[:3]
    else:
        prefill_n = [n for n in PREFILL_N if n <= args.max_prefill]
        chunk = [(n, k) for k in CHUNK_K for n in CHUNK_N]
        decode = [(b, kv) for b in decode_batches for kv in DECODE_KV]
        decode += [p for p in DECODE_ODD if p not in decode]
        decode.sort()
        mixed = mixed_batches()
    phases = set(args.phases.split(","))

    # --- memory plan: weights, then KV for the largest shape that fits
    H, nh, nkv, hd, ff, V = (cfg[k] for k in ("hidden", "heads", "kv_heads", "head_dim", "ffn", "vocab"))
    layer_p = cfg["layers"] * ((nh + 2 * nkv) * hd * H + H * nh * hd + 3 * ff * H)
    wbytes = 2 * (layer_p + 2 * V * H)
    kvpt = cfg["layers"] * 2 * nkv * hd * 2
    free, total = torch.cuda.mem_get_info(dev)
    # peak activations of the largest eager prefill (gate/up + SiLU output + RoPE temporaries)
    nmax = max(prefill_n + [n + k for n, k in chunk]) if phases & {"prefill", "chunk"} else 1
    act_peak = nmax * (3 * ff * 2 + (nh + nkv) * hd * 4 * 2 + (nh + 2 * nkv) * hd * 2 + 6 * H * 2)
    headroom = max(args.headroom_gib * GIB, act_peak + 2 * GIB)
    kv_budget_tokens = int((free - wbytes - headroom) // kvpt)
    need = [n + k for n, k in chunk] + list(prefill_n)
    need += [b * (kv + 1) for b, kv in decode]
    need += [sum(L + 1 for L in lens) for lens in mixed]
    fit = [x for x in need if x <= kv_budget_tokens]
    kv_tokens = max(fit)
    if args.grid == "serving":
        # The serving grid fills the KV a server would hold beside the weights, up to an H100's,
        # so both GPU kinds profile the same shapes.
        kv_tokens = min(kv_budget_tokens, SERVING_KV_POOL)
        prefill_n, chunk, decode, mixed = serving_grid(args.grid_seed, kv_tokens, args.max_prefill)
        log(f"serving grid (seed {args.grid_seed}): {len(prefill_n)} prefills, {len(chunk)} "
            f"chunks, {len(decode)} uniform decodes, {len(mixed)} mixed batches")
    log(f"weights {wbytes/GIB:.2f} GiB; KV {kvpt} B/token; free before load {free/GIB:.1f} GiB; "
        f"headroom {headroom/GIB:.1f} GiB -> KV budget {kv_budget_tokens} tokens; allocating "
        f"{kv_tokens} tokens ({kv_tokens*kvpt/GIB:.2f} GiB)")
    skipped = [(b, kv) for b, kv in decode if b * (kv + 1) > kv_tokens]
    decode = [(b, kv) for b, kv in decode if b * (kv + 1) <= kv_tokens]
    mixed_skipped = [l for l in mixed if sum(L + 1 for L in l) > kv_tokens]
    mixed = [l for l in mixed if sum(L + 1 for L in l) <= kv_tokens]
    if skipped:
        log(f"decode shapes that do not fit beside the weights (skipped): {skipped}")
    if mixed_skipped:
        log(f"mixed batches that do not fit (skipped): {[len(l) for l in mixed_skipped]}")

    t0 = time.time()
    model = LeanModel(cfg, kv_tokens, dev)
    torch.cuda.synchronize()
    log(f"model built in {time.time()-t0:.1f} s: {model.total_params()/1e9:.3f} B params; "
        f"GPU memory allocated {torch.cuda.memory_allocated()/GIB:.2f} GiB")
    assert model.kv_bytes_per_token() == kvpt

    def flr(n_new, ctx_sums, kv_read, kv_write, n_logits):
        return floor_s(model, bw, peak, n_new, ctx_sums, kv_read, kv_write, n_logits)

    pa, da, ca, mk = args.prefill_attn, args.decode_attn, args.chunk_attn, args.mixed_attn
    other = {"cudnn": "flash", "flash": "cudnn"}
    with torch.inference_mode():
        # ---------------------------------------------------------------- sanity
        log("\n== sanity checks")
        vocab = cfg["vocab"]
        t = 301
        ids = torch.randint(0, vocab, (t,), device=dev)
        pos = torch.arange(t, device=dev)

        def prefill_logits(n, backend=pa):
            return model.forward(ids[:n], pos[:n], model.attn_prefill(n, backend),
                                 last_idx=slice(n - 1, n))
        # control: the same prefill through the other SDPA backend gives the noise level that
        # bf16 rounding reaches through this many random layers
        ctrl = prefill_logits(t, other[pa]).clone()
        ref = prefill_logits(t).clone()
        e0 = rel_err(ctrl, ref)
        prefill_logits(t - 1)
        dec = model.forward(ids[t - 1:], pos[t - 1:], model.attn_decode(1, t - 1, da)).clone()
        e1 = rel_err(dec, ref)
        # same decode step as a captured graph
        prefill_logits(t - 1)
        g, gout = capture(lambda: model.forward(ids[t - 1:], pos[t - 1:],
                                                model.attn_decode(1, t - 1, da)))
        g.replay()
        torch.cuda.synchronize()
        e2 = rel_err(gout, ref)
        del g, gout
        # negative control: sequence 1 of a batch-2 decode reads cache rows the prefill did
        # not write (random), as a wrong offset would; must be far off
        prefill_logits(t - 1)
        neg = model.forward(ids[t - 2:], pos[t - 2:].clone().fill_(t - 1),
                            model.attn_decode(2, t - 1, da))[1:].clone()
        e_neg = rel_err(neg, ref)
        # chunked: prefill 200 then a chunk of 101
        K0 = 200
        prefill_logits(K0)
        ch = model.forward(ids[K0:], pos[K0:], model.attn_chunk(t - K0, K0, ca),
                           last_idx=slice(t - K0 - 1, t - K0))
        e3 = rel_err(ch, ref)
        # uniform decode ([b, c] view) vs mixed decode with equal lengths (packed, same rows)
        bb, LL = 4, 300
        idb = torch.randint(0, vocab, (bb,), device=dev)
        pb = torch.full((bb,), LL, dtype=torch.long, device=dev)
        u = model.forward(idb, pb, model.attn_decode(bb, LL, da)).clone()
        mv = model.forward(idb, pb, model.attn_mixed([LL] * bb, mk)).clone()
        e4 = rel_err(mv, u)
        # mixed lengths: chosen kernel vs per-sequence SDPA, whole model, same cache
        lens = [130, 1000, 77, 513, 2500]
        pm = torch.tensor(lens, dtype=torch.long, device=dev)
        idm = torch.randint(0, vocab, (len(lens),), device=dev)
        mv = model.forward(idm, pm, model.attn_mixed(lens, mk)).clone()
        ms = model.forward(idm, pm, model.attn_mixed(lens, "sdpa_loop")).clone()
        e5 = rel_err(mv, ms)
        e6 = check_mixed_kernel(mk, nh, nkv, hd, mixed[0] if mixed else lens, dev, model.scale)
        e7 = check_chunk_kernel(ca, nh, nkv, hd, 300, 1000, dev, model.scale)
        finite = all(bool(torch.isfinite(x).all()) for x in (ctrl, ref, dec, ch, u, mv, ms))
        tol_model = max(3e-2, 3 * e0)
        tol_kernel = 1e-2
        checks = [("decode(t-1 cached) vs prefill(t) last logits", e1, tol_model),
                  ("graph-replayed decode vs prefill(t)", e2, tol_model),
                  ("chunk(101 after 200) vs prefill(301)", e3, tol_model),
                  ("mixed kernel (equal lens) vs uniform decode", e4, tol_model),
                  ("mixed kernel vs per-sequence SDPA (model)", e5, tol_model),
                  (f"mixed kernel {mk} vs float64 attention", e6, tol_kernel),
                  (f"chunk kernel {ca} vs float64 masked attention", e7, tol_kernel)]
        log(f"  control: prefill(301) {pa} vs {other[pa]} backend      rel err {e0:.2e} "
            f"(model-level tolerance {tol_model:.1e})")
        for name, e, tl in checks:
            log(f"  {name:<52s} rel err {e:.2e} {'ok' if e < tl else 'FAIL'}")
        log(f"  negative control: decode over unwritten cache rows   rel err {e_neg:.2e} "
            f"{'ok (far off)' if e_neg > 5 * tol_model else 'TOO CLOSE'}")
        log(f"  all outputs finite: {finite}")
        passed = finite and all(e < tl for _, e, tl in checks) and e_neg > 5 * tol_model
        sanity = (f"{'pass' if passed else 'FAIL'}: finite outputs; last-token logits rel err "
                  f"vs prefill(301): decode after prefill(300) {e1:.1e} (graph {e2:.1e}), chunk "
                  f"101 after 200 {e3:.1e}; control {pa} vs {other[pa]} prefill {e0:.1e}; "
                  f"decode over unwritten rows {e_neg:.1e}; mixed vs uniform decode {e4:.1e}; "
                  f"mixed vs per-sequence SDPA {e5:.1e}; kernels vs float64: mixed {e6:.1e}, "
                  f"chunk {e7:.1e}")
        if e6 >= tol_kernel and mk != "sdpa_loop":
            mk = "sdpa_loop"
            log(f"  {args.mixed_attn} failed its check: mixed decode falls back to per-sequence SDPA")

        if args.kernel_bench:
            log("\n== attention kernel bench")
            kernel_bench(nh, nkv, hd, dev, model.scale)
        if args.check_flex:
            try:
                ef, comp, tf, tv = check_flex(nh, nkv, hd, mixed_batches()[2], dev, model.scale)
                log(f"  flex_attention (compiled, block mask): rel err {ef:.2e}, compile {comp:.1f} s, "
                    f"op {tf*1e3:.4f} ms vs flash varlen {tv*1e3:.4f} ms (same data)")
            except Exception as e:  # noqa: BLE001
                log(f"  flex_attention failed: {type(e).__name__}: {str(e)[:300]}")
        if args.quick:
            try:
                n, top = count_kernels(model, 1, 128, dev, da)
                log(f"  kernels per eager decode step (b=1): {n}; top: {top}")
            except Exception as e:  # noqa: BLE001
                log(f"  kernel count failed: {type(e).__name__}: {str(e)[:200]}")

        sdpa_name = {"cudnn": "cuDNN fused attention (SDPA backends CUDNN_ATTENTION then "
                              "FLASH_ATTENTION where cuDNN has no kernel, see attention_fallbacks)",
                     "flash": "FlashAttention-2 (SDPA FLASH_ATTENTION backend only)"}
        chunk_name = {"cudnn_split": "cuDNN fused attention twice (cached keys unmasked, new keys "
                                     "causal) merged by log-sum-exp",
                      "flash": "FlashAttention-2 aten._flash_attention_forward, bottom-right causal "
                               "over K cached + N new"}
        mixed_name = {"flash_varlen_gqa": "FlashAttention-2 varlen aten._flash_attention_forward "
                                          "(cu_seqlens_k over packed KV, each sequence over its own "
                                          "length; the query heads of a KV head passed as rows)",
                      "flash_varlen": "FlashAttention-2 varlen aten._flash_attention_forward "
                                      "(cu_seqlens_k over packed KV, each sequence over its own length)",
                      "sdpa_loop": "one SDPA call per sequence inside the captured graph"}
        attention = (f"prefill: {sdpa_name[pa]}, F.scaled_dot_product_attention enable_gqa "
                     f"is_causal; chunked prefill: {chunk_name[ca]}; decode: {sdpa_name[da]}, "
                     f"enable_gqa, over [b, kv+1] cache views; mixed decode: {mixed_name[mk]}")
        try:
            attention += f"; flash version {torch.nn.attention._get_flash_version()}"
        except Exception:  # noqa: BLE001
            pass
        try:
            attention += f"; cuDNN {torch.backends.cudnn.version()}"
        except Exception:  # noqa: BLE001
            pass
        header = {
            "rtlm-profile": "1",
            "model": args.model,
            "gpu": gpu,
            "driver": driver_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "dtype": "bfloat16",
            "attention": attention,
            "method": (f"lean PyTorch forward (fused QKV{' with bias' if cfg['qkv_bias'] else ''}, "
                       "RoPE, GQA flash attention over a preallocated KV cache, RMSNorm, fused "
                       "gate/up + SiLU, down; LM head on each sequence's last position only), "
                       "random bf16 weights N(0,0.02), random KV contents and token ids; decode, "
                       f"chunked prefill and prefill N<={args.graph_max_prefill} replayed as CUDA "
                       "graphs captured per shape, larger prefills eager; CUDA events around each "
                       f"step; {args.warmup} warm-up runs per shape (1 for steps over 0.2 s); "
                       f"{args.repeats} repeats, {args.min_repeats}-{args.repeats} for steps over "
                       f"50 ms (about {args.big_budget_s:g} s of repeats); every repeat kept"),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": "PYTHONUNBUFFERED=1 python3 " + " ".join(shlex.quote(a) for a in sys.argv),
            "model_config": (f"layers {cfg['layers']}, hidden {H}, heads {nh}, kv_heads {nkv}, "
                             f"head_dim {hd}, ffn {ff}, vocab {V}, rope_theta {cfg['rope_theta']:g}, "
                             f"qkv_bias {int(cfg['qkv_bias'])}, params {model.total_params()}"),
            "kv_bytes_per_token": str(kvpt),
            "ceilings": f"device copy {bw/1e12:.3f} TB/s (read+write), bf16 GEMM {peak/1e12:.1f} TFLOP/s",
            "sanity": sanity,
            "grid": (f"{args.grid} (seed {args.grid_seed}; KV pool {kv_tokens} tokens)"
                     if args.grid == "serving" else "default"),
        }
        if tp > 1:
            header["tensor_parallel"] = str(tp)
            header["shard"] = (f"one GPU's shard of {args.model} under tensor parallelism {tp}: "
                               "model_config lists the shard's sizes (heads, kv_heads, ffn and "
                               f"vocab split over {tp} GPUs; params are the shard's), and no "
                               "all-reduce or logits gather is run, so add the communication "
                               "to get a TP step")
        if skipped:
            header["skipped"] = ("decode (batch, kv) not fitting beside the weights with "
                                 f"{headroom/GIB:.1f} GiB headroom: "
                                 + " ".join(f"{b}x{kv}" for b, kv in skipped))
        prof = Profile(args.out, header)
        prof.write()

        def out_of_time():
            return time.time() - t_start > args.time_limit_s

        n_skipped_time = [0]
        fallbacks = []

        def run_point(phase, batch, new, kvl, graph, fn, floor, label):
            if out_of_time():
                n_skipped_time[0] += 1
                return
            try:
                if graph:
                    g, _ = capture(fn)
                    times = time_step(g.replay, args)
                    del g
                    if phase == "prefill":
                        torch.cuda.empty_cache()  # return the graph's pool before big eager runs
                else:
                    times = time_step(fn, args)
                prof.add(phase, batch, new, kvl, graph, times, floor, label)
            except Exception as e:  # noqa: BLE001
                log(f"  {label}: FAILED {type(e).__name__}: {str(e)[:300]}")
            torch.cuda.synchronize()

        # ---------------------------------------------------------------- prefill
        if "prefill" in phases:
            log(f"\n== prefill (batch 1, empty cache) [{time.time()-t_start:.0f} s]")
            for N in prefill_n:
                ids = torch.randint(0, vocab, (N,), device=dev)
                pos = torch.arange(N, device=dev)
                attn = model.attn_prefill(N, pa)
                last = slice(N - 1, N)
                fn = lambda: model.forward(ids, pos, attn, last_idx=last)  # noqa: E731
                graph = N <= args.graph_max_prefill
                qk = torch.empty(N, nh + nkv, hd, dtype=torch.bfloat16, device=dev)
                ch = sdpa_choice(pa, qk[:, :nh].unsqueeze(0).transpose(1, 2),
                                 qk[:, nh:].unsqueeze(0).transpose(1, 2), True)
                del qk
                if ch != SDPA_BACKENDS[pa][0].name:
                    fallbacks.append(f"prefill N={N} {ch}")
                    log(f"  prefill N={N}: SDPA dispatch -> {ch}")
                run_point("prefill", 1, N, [0], graph, fn,
                          flr(N, N * (N + 1) // 2, 0, N, 1), f"prefill N={N}")
            prof.write()

        # ---------------------------------------------------------------- decode
        if "decode" in phases:
            log(f"\n== decode (uniform batches, graph per shape) [{time.time()-t_start:.0f} s]")
            for b, L in decode:
                ids = torch.randint(0, vocab, (b,), device=dev)
                pos = torch.full((b,), L, dtype=torch.long, device=dev)
                attn = model.attn_decode(b, L, da)
                fn = lambda: model.forward(ids, pos, attn)  # noqa: E731
                qk = torch.empty(b, nh + nkv, hd, dtype=torch.bfloat16, device=dev)
                kc = model.kv[0, 0, : b * (L + 1)].view(b, L + 1, nkv, hd).transpose(1, 2)
                ch = sdpa_choice(da, qk[:, :nh].unsqueeze(2), kc, False)
                del qk, kc
                if ch != SDPA_BACKENDS[da][0].name:
                    fallbacks.append(f"decode b={b} kv={L} {ch}")
                    log(f"  decode b={b} kv={L}: SDPA dispatch -> {ch}")
                run_point("decode", b, b, [L] * b, True, fn,
                          flr(b, b * (L + 1), b * L, b, b), f"decode b={b} kv={L}")
            prof.write()

        # ---------------------------------------------------------------- mixed decode
        if "mixed" in phases:
            log(f"\n== mixed-KV decode ({mk}) [{time.time()-t_start:.0f} s]")
            for lens in mixed:
                b = len(lens)
                ids = torch.randint(0, vocab, (b,), device=dev)
                pos = torch.tensor(lens, dtype=torch.long, device=dev)
                attn = model.attn_mixed(lens, mk)
                fn = lambda: model.forward(ids, pos, attn)  # noqa: E731
                s = sum(lens)
                run_point("decode", b, b, lens, True, fn,
                          flr(b, s + b, s, b, b),
                          f"mixed b={b} kv mean={s//b} min={min(lens)} max={max(lens)}")
            prof.write()

        # ---------------------------------------------------------------- chunked prefill
        if "chunk" in phases:
            log(f"\n== chunked prefill (batch 1, N new after K cached) [{time.time()-t_start:.0f} s]")
            for N, K in chunk:
                ids = torch.randint(0, vocab, (N,), device=dev)
                pos = torch.arange(K, K + N, device=dev)
                attn = model.attn_chunk(N, K, ca)
                last = slice(N - 1, N)
                fn = lambda: model.forward(ids, pos, attn, last_idx=last)  # noqa: E731
                graph = N <= args.graph_max_prefill
                run_point("prefill", 1, N, [K], graph, fn,
                          flr(N, N * K + N * (N + 1) // 2, K, N, 1), f"chunk N={N} K={K}")
            prof.write()

        if args.quick and "decode" in phases:
            log("\n== quick extras: eager vs graph")
            for N in (128, 2048):
                ids = torch.randint(0, vocab, (N,), device=dev)
                pos = torch.arange(N, device=dev)
                attn = model.attn_prefill(N, pa)
                last = slice(N - 1, N)
                tt = time_step(lambda: model.forward(ids, pos, attn, last_idx=last), args)
                log(f"  prefill N={N} eager median {statistics.median(tt)*1e3:.3f} ms")
            for b, L in [(1, 4096), (16, 1024), (64, 2048)]:
                ids = torch.randint(0, vocab, (b,), device=dev)
                pos = torch.full((b,), L, dtype=torch.long, device=dev)
                res = []
                for name, attn in [(f"eager {da}", None),
                                   (f"graph {other[da]}", model.attn_decode(b, L, other[da])),
                                   (f"graph {mk} (equal lens)", model.attn_mixed([L] * b, mk))]:
                    if attn is None:
                        a0 = model.attn_decode(b, L, da)
                        tt = time_step(lambda: model.forward(ids, pos, a0), args)
                    else:
                        g, _ = capture(lambda: model.forward(ids, pos, attn))
                        tt = time_step(g.replay, args)
                        del g
                    res.append(f"{name} {statistics.median(tt)*1e3:.3f}")
                log(f"  decode b={b} kv={L}: " + ", ".join(res) + " ms")
            for N, K in [(512, 4096), (2048, 16384)]:
                ids = torch.randint(0, vocab, (N,), device=dev)
                pos = torch.arange(K, K + N, device=dev)
                attn = model.attn_chunk(N, K, "flash" if ca != "flash" else "cudnn_split")
                last = slice(N - 1, N)
                g, _ = capture(lambda: model.forward(ids, pos, attn, last_idx=last))
                tt = time_step(g.replay, args)
                del g
                log(f"  chunk N={N} K={K} with the other chunk kernel (graph): "
                    f"{statistics.median(tt)*1e3:.3f} ms")

    if fallbacks:
        prof.header["attention_fallbacks"] = "; ".join(fallbacks)
    if n_skipped_time[0]:
        prof.header["incomplete"] = f"{n_skipped_time[0]} points skipped at the time limit"
        log(f"WARNING: {n_skipped_time[0]} points skipped at the time limit")
    prof.write()
    prof.summary()
    log(f"\nwrote {len(prof.rows)} rows, {len(prof.points)} points to {args.out}; "
        f"total {time.time()-t_start:.0f} s; peak GPU memory {torch.cuda.max_memory_allocated()/GIB:.1f} GiB")
    del model
    gc.collect()
    torch.cuda.empty_cache()


if __name__ == "__main__":
    main()

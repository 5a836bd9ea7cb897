#!/usr/bin/env python3
# Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
"""Cuts the excerpts in this folder out of the published third-party profiles (README.md).

Usage: make_excerpts.py SPLITWISE_PERF_MODEL_CSV LLMSERVINGSIM_DIR

Every kept line is copied byte for byte, in the source's order, under the source's header line;
the selection rules are README.md's.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Step sizes kept from LLMServingSim's sweep of 1..2048 tokens: powers of two and three times
# powers of two.
SIZES = sorted({2 ** k for k in range(12)} | {3 * 2 ** k for k in range(10)})
BATCHES = {2 ** k for k in range(9)}  # decode batches 1..256


def power_of_two(n):
    return n > 0 and n & (n - 1) == 0


def copy(src, dst, keep):
    with open(src, newline="") as f:
        lines = f.readlines()
    header = lines[0].rstrip("\r\n").split(",")
    out = [lines[0]] + [ln for ln in lines[1:] if ln.strip() and keep(header, ln.rstrip("\r\n").split(","))]
    with open(dst, "w", newline="") as f:
        f.writelines(out)
    print(f"{dst}: {len(out) - 1} of {len(lines) - 1} data lines")


def splitwise(h, r):
    c = dict(zip(h, r))
    return c["model"] == "llama2-70b" and c["hardware"] == "h100-80gb" and c["tensor_parallel"] == "4"


def layers(h, r):
    c = dict(zip(h, r))
    return int(c["input"]) in SIZES and c["kv_cache"] == "0"


def attention(h, r):
    c = dict(zip(h, r))
    kv = int(c["kv_cache_size"])
    if c["is_prefill"] == "True":
        return int(c["prefill_chunk_size"]) in SIZES and power_of_two(kv)
    return int(c["batch_size"]) in BATCHES and power_of_two(kv)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    perf_model, lss = sys.argv[1], sys.argv[2]
    copy(perf_model, os.path.join(HERE, "splitwise", "perf_model_llama2-70b_h100_tp4.csv"), splitwise)
    copy(os.path.join(lss, "h100_llama-3.1-70b_tp4_layers.csv"),
         os.path.join(HERE, "llmservingsim", "h100_llama-3.1-70b_tp4_layers_excerpt.csv"), layers)
    copy(os.path.join(lss, "h100_llama-3.1-70b_tp4_attention.csv"),
         os.path.join(HERE, "llmservingsim", "h100_llama-3.1-70b_tp4_attention_excerpt.csv"),
         attention)


if __name__ == "__main__":
    main()

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "rtlm/detail/config.hpp"
#include "rtlm/estimate/profile.hpp"

/// Loaders for GPU step-time profiles that other projects published, each turned into an
/// rtlm::profile of whole-step points (or of a stated part of a step) in seconds. See
/// docs/third-party-profiles.md for what each source measured and its caveats: these are other
/// people's measurements on other people's machines, good for developing and testing the
/// estimator, not for rtlm's own accuracy figures.
///
/// Every loader reads the whole file, checks that its header names the columns the loader
/// needs (extra columns are ignored), and validates every data row, selected or not. A bad
/// file throws rtlm::error: a missing column names `path:1 column`; a malformed row names
/// `path:line column` with the offending text as the value; a selection that matches no row
/// names the selection. Empty lines are skipped. Points come in order of first appearance, one
/// per distinct step shape, with every measurement of that shape in `measurements`; the estimator
/// fits each point's median. Each loader is O(file size), allocates, and touches no shared state:
/// concurrent calls are safe.

namespace rtlm {

/// Which rows of splitwise's `perf_model.csv` to read: one model on one GPU type at one
/// tensor-parallel degree. Aggregate; the strings must match the file's exactly.
struct splitwise_selection {
  std::string model;        ///< `model` column: "llama2-70b" or "bloom-176b"
  std::string hardware;     ///< `hardware` column: "a100-80gb", "h100-80gb", "h100-80gb-pcap"
  int tensor_parallel = 1;  ///< `tensor_parallel` column: 2, 4 or 8 in the published file
};

/// Reads the whole-model profile of splitwise-sim (`data/perf_model.csv` of
/// Mutinifni/splitwise-sim; Patel et al., "Splitwise", ISCA 2024) for one selection.
///
/// Each row is one run of `batch_size` prompts of `prompt_size` tokens followed by
/// `token_size` generated tokens, and yields two measurements:
/// - `prompt_time` (ms) -> a prefill point of `batch_size` sequences of `prompt_size` tokens on
///   an empty KV cache (new_tokens = batch_size * prompt_size, kv_lengths all 0);
/// - `token_time` (ms), the *mean* decode step of the run, while each sequence's KV grows from
///   prompt_size to prompt_size + token_size -> a decode point of `batch_size` sequences at
///   KV = prompt_size + token_size / 2 (rounded down) each. It is an average over the growth,
///   not a step measured at that KV length; it equals one if the step time is linear in KV.
/// `e2e_time` is ignored (it disagrees with the other two in about a quarter of the rows) and
/// so are the power columns. Repeats of a shape join one point; a prefill shape also collects
/// the prompt_time of runs that differ only in token_size. A row identical byte for byte to an
/// earlier one is a copy, not a repeat, and is kept once (the published file lists the centre of
/// its three one-factor sweeps once per sweep). Metadata: format, model, gpu, tensor_parallel,
/// includes, notes.
///
/// @code
/// rtlm::profile p = rtlm::load_splitwise_profile(
///     "perf_model.csv", {.model = "llama2-70b", .hardware = "h100-80gb", .tensor_parallel = 4});
/// @endcode
/// Throws rtlm::error as described above, or naming `splitwise_selection.tensor_parallel` when
/// it is below 1.
profile load_splitwise_profile(const std::string& path, const splitwise_selection& selection);

/// How to read an LLMServingSim profile of a Llama-family model. Aggregate.
struct llmservingsim_options {
  int layers = 0;              ///< decoder layers: 32 for Llama-3.1-8B, 80 for Llama-3.1-70B
  int tensor_parallel = 1;     ///< rows of this `tp_size` / `num_tensor_parallel_workers`
  std::string attention_path;  ///< its attention.csv at the same TP, or empty: prefill only
};

/// Reads an LLMServingSim per-operator profile (casys-kaist/LLMServingSim, `layers.csv`:
/// `layer_name,input,kv_cache,tp_size,latency(ns)`, each latency the median of its repeats) and
/// composes whole steps the way LLMServingSim does: for each (input N, kv_cache K) the time is
/// embedding + final_layernorm + lm_head + layers * (input_layernorm + q_proj + k_proj + v_proj
/// + rope + attn + o_proj + post_layernorm + gate_proj + up_proj + act_fn + down_proj), a
/// prefill point of one sequence of N new tokens on K cached ones. The published files hold
/// K = 0 only (the profiler's prefill sweep, N = 1..2048), so without an attention file every
/// point is a plain prefill. An operator listed more than once for one (N, K) contributes its
/// median. Every (N, K) must list all 15 operators; other layer names are refused.
///
/// With `attention_path`, rows of LLMServingSim's attention.csv (FlashAttention varlen kernel,
/// times in ms) add decode and chunked-prefill points: each takes the non-attention operators
/// at input = the step's new tokens (K = 0) from layers.csv and the attention kernel from the
/// row. LLMServingSim's profiler packs `kv_cache_size` keys for the whole batch and splits them
/// evenly, so a decode row is `batch_size` sequences of kv_cache_size / batch_size (rounded
/// down) keys each; rows where that is 0 are skipped. A prefill row's keys include the chunk's
/// own, so it is a chunk of `prefill_chunk_size` tokens on kv_cache_size - chunk cached ones;
/// rows with no cached tokens are skipped, since layers.csv measured those plain prefills whole.
/// Rows that come to the same shape are repeats of one point.
///
/// Times exclude tensor-parallel communication, residual adds and framework overhead between
/// operators, and lm_head is timed over every input position (a HuggingFace forward), not only
/// the last. Metadata: format, layers, tensor_parallel, includes, excludes, notes, and with an
/// attention file attention_file and attention_shape.
///
/// @code
/// rtlm::profile p = rtlm::load_llmservingsim_profile(
///     "h100_llama-3.1-70b_tp4_layers.csv",
///     {.layers = 80, .tensor_parallel = 4,
///      .attention_path = "h100_llama-3.1-70b_tp4_attention.csv"});
/// @endcode
/// Throws rtlm::error as described above, naming `llmservingsim_options.layers` or
/// `.tensor_parallel` when below 1, or an attention row whose step size has no layers.csv rows.
profile load_llmservingsim_profile(const std::string& layers_path,
                                   const llmservingsim_options& options);

/// Which rows of a Vidur profile to read, and the model's depth. Aggregate.
struct vidur_selection {
  int layers = 0;           ///< decoder layers: 32 for Llama-2-7B, 80 for Llama-2-70B
  int tensor_parallel = 1;  ///< rows of this `num_tensor_parallel_workers`
};

/// Reads the non-attention part of steps from a Vidur `mlp.csv` (microsoft/vidur: per-operator
/// time statistics in ms for each num_tokens and TP degree) and returns, for each num_tokens,
/// emb + layers * (input_layernorm + attn_pre_proj + attn_rope + attn_post_proj +
/// post_attention_layernorm + mlp_up_proj + mlp_act + mlp_down_proj + add), from the `.median`
/// columns (Vidur keeps no repeats; rows listed twice are two repeats of one point).
///
/// Attention is excluded (metadata `attention`: `excluded`), and so are the LM head, the final
/// norm, sampling and tensor-parallel all-reduce, which the file does not measure. Without
/// attention a step's cost depends only on how many tokens it carries, so each point is stated
/// as a prefill of num_tokens tokens on an empty KV cache; a decode batch of num_tokens
/// sequences has the same non-attention cost. Metadata: format, layers, tensor_parallel,
/// model_shape, attention, includes, excludes, notes.
///
/// @code
/// rtlm::profile mlp =
///     rtlm::load_vidur_mlp_profile("h100_llama-2-7b_mlp.csv", {.layers = 32, .tensor_parallel =
///     1});
/// @endcode
/// Throws rtlm::error as described above, naming `vidur_selection.layers` or
/// `.tensor_parallel` when below 1.
profile load_vidur_mlp_profile(const std::string& path, const vidur_selection& selection);

/// Reads attention-only points from a Vidur `attention.csv` (times in ms): layers *
/// (attn_input_reshape + attn_prefill or attn_decode + attn_output_reshape), from the `.median`
/// columns. A decode row is `batch_size` sequences of `kv_cache_size` cached tokens each; a
/// prefill row (batch_size must be 1) is a chunk of `prefill_chunk_size` tokens on
/// kv_cache_size cached ones. Rows listed twice are two repeats of one point. Every other
/// operator of the step is excluded. Metadata: format, layers, tensor_parallel,
/// attention_shape, attention_backend, includes, excludes, notes.
///
/// @code
/// rtlm::profile attention = rtlm::load_vidur_attention_profile(
///     "a100_llama-2-70b-tp2_attention.csv", {.layers = 80, .tensor_parallel = 2});
/// @endcode
/// Throws rtlm::error as described above, naming `vidur_selection.layers` or
/// `.tensor_parallel` when below 1.
profile load_vidur_attention_profile(const std::string& path, const vidur_selection& selection);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/third_party_profiles-inl.hpp"
#endif

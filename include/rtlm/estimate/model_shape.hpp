// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"

namespace rtlm {

/// The MLP block's form: gated (SwiGLU: gate, up and down projections) or plain (up and down).
enum class mlp_kind { gated, plain };

/// A decoder-only transformer's dimensions, as read from its config. Aggregate: build it with
/// designated initializers and hand it to model_shape, which validates it.
struct model_config {
  std::string name;         ///< for messages and saved files, e.g. "llama-3-8b"
  int layers = 0;           ///< decoder layers
  int hidden_size = 0;      ///< model width
  int attention_heads = 0;  ///< query heads; must divide hidden_size
  int kv_heads = 0;         ///< key/value heads (grouped-query attention); divides attention_heads
  int head_dim = 0;         ///< per-head width; 0 means hidden_size / attention_heads
  int ffn_size = 0;         ///< MLP intermediate width
  mlp_kind mlp = mlp_kind::gated;
  int vocab_size = 0;
  bool qkv_bias = false;              ///< biases on the Q, K and V projections (Qwen2)
  double bytes_per_weight = 2.0;      ///< 2 for bf16/fp16, 1 for fp8/int8, 0.5 for int4
  double bytes_per_kv_element = 2.0;  ///< KV-cache element size
  int tensor_parallel = 1;            ///< GPUs the model is split over; work is reported per GPU
};

/// The work of one model step on one GPU: floating-point operations and the fewest bytes that
/// must move through device memory. Plain data; all fields are per GPU under tensor parallelism.
struct step_work {
  double matmul_flops = 0;     ///< projections, MLP and LM head (2 FLOPs per multiply-add)
  double attention_flops = 0;  ///< QK^T and attention-weighted V over the causal keys
  double weight_bytes = 0;     ///< weights read once per step, plus embedding rows gathered
  double kv_read_bytes = 0;    ///< cached KV read once by attention
  double kv_write_bytes = 0;   ///< KV of the new tokens written

  /// All FLOPs of the step.
  [[nodiscard]] constexpr double flops() const noexcept { return matmul_flops + attention_flops; }
  /// All bytes moved by the step.
  [[nodiscard]] constexpr double bytes() const noexcept {
    return weight_bytes + kv_read_bytes + kv_write_bytes;
  }
};

/// One sequence's share of a step: `new_tokens` processed on top of `cached_tokens` already in
/// its KV cache. A decode step is {1, kv_length}; a prefill chunk is {chunk, tokens before it}.
struct sequence_step {
  tokens new_tokens;
  tokens cached_tokens;
  bool emits_token = true;  ///< computes LM-head logits for its last position (false for a
                            ///< non-final prefill chunk)
};

/// A validated model_config with analytic FLOPs and bytes for prefill, chunked prefill, decode
/// and mixed steps. Immutable after construction; every member is const, thread-safe, O(1) or
/// O(batch), and allocates nothing.
///
/// The counting rules, per GPU with tensor-parallel degree P, for a step that processes T new
/// tokens over sequences whose new tokens attend to V (query, key) pairs in total:
/// - matmul FLOPs = 2 T (per-layer linear weights) layers + 2 R h vocab / P, where R is the
///   number of sequences that emit a token (logits only at the last position, as engines do);
/// - attention FLOPs = 4 (heads / P) head_dim V layers, where one sequence of n new tokens on
///   k cached ones contributes V = n k + n (n + 1) / 2 (causal, each token sees itself);
/// - weight bytes = every weight once per step (linear weights, QKV biases and LM head split
///   over P, the RMSNorm weights replicated) plus T embedding rows; activations are not counted;
/// - KV bytes = cached entries read once, new entries written once; KV heads are split over P
///   and replicated when P exceeds them.
/// Elementwise work (norms, RoPE, activation functions, softmax) and communication are ignored.
/// Negative token counts are treated as 0.
class model_shape {
 public:
  /// Validates `config`; throws rtlm::error naming the bad field (e.g. zero layers, heads that
  /// do not divide the hidden size, a NaN byte size, a tensor-parallel degree that does not
  /// divide the heads).
  explicit model_shape(model_config config);

  /// The validated configuration, with head_dim filled in.
  [[nodiscard]] const model_config& config() const noexcept { return config_; }

  /// Weights of the whole model (not per GPU): embedding, LM head (untied), norms and biases.
  [[nodiscard]] double parameter_count() const noexcept;
  /// Bytes of all weights held by one GPU (embedding table excluded: it is gathered, not read).
  [[nodiscard]] double weight_bytes_per_gpu() const noexcept;
  /// KV-cache bytes one token occupies on one GPU, over all layers.
  [[nodiscard]] double kv_bytes_per_token() const noexcept;

  /// Work of one step over any mix of sequences (prefill chunks and decodes together).
  [[nodiscard]] step_work work(std::span<const sequence_step> batch) const noexcept;
  /// Work of prefilling `new_tokens` of one sequence on top of `cached_tokens` (0 for a plain
  /// prefill, > 0 for chunked prefill). A step with no new tokens is no work at all.
  [[nodiscard]] step_work prefill_work(tokens new_tokens, tokens cached_tokens = tokens(0),
                                       bool emits_token = true) const noexcept;
  /// Work of one decode step of a batch whose sequences have the given KV lengths.
  [[nodiscard]] step_work decode_work(std::span<const tokens> kv_lengths) const noexcept;

 private:
  void add_sequence(step_work& w, tokens new_tokens, tokens cached_tokens,
                    bool emits_token) const noexcept;
  void add_weights(step_work& w, tokens step_tokens) const noexcept;

  model_config config_;
  // Per-GPU derived sizes, fixed at construction.
  double query_width_ = 0;               // (heads / P) * head_dim
  double kv_width_ = 0;                  // max(1, kv_heads / P) * head_dim
  double ffn_width_ = 0;                 // ffn_size / P
  double linear_weights_per_layer_ = 0;  // per GPU, biases excluded (they do no matmul FLOPs)
  double bias_weights_per_layer_ = 0;    // per GPU
};

/// Shapes of released models, as in their published configs.
namespace models {
/// Meta Llama-3-8B (and Llama-3.1-8B): 32 layers, hidden 4096, 32 heads, 8 KV heads, FFN 14336,
/// vocabulary 128256, bf16.
model_config llama_3_8b();
/// Qwen2.5-7B: 28 layers, hidden 3584, 28 heads, 4 KV heads, FFN 18944, vocabulary 152064, bf16.
model_config qwen2_5_7b();
/// Meta Llama-2-7B: 32 layers, hidden 4096, 32 heads (no GQA), FFN 11008, vocabulary 32000, fp16.
model_config llama_2_7b();
/// Meta Llama-3.1-70B: 80 layers, hidden 8192, 64 heads, 8 KV heads, FFN 28672, vocabulary
/// 128256, bf16 (70,553,706,496 parameters). Tensor-parallel degrees 1, 2, 4 and 8 divide it;
/// set `tensor_parallel` for one GPU's share.
model_config llama_3_1_70b();
/// The shape named `name` ("llama-3-8b", "llama-3.1-8b", "qwen2.5-7b", "llama-2-7b",
/// "llama-3.1-70b"), as profiles and saved files name models, at tensor-parallel degree 1; none
/// for an unknown name.
std::optional<model_config> by_name(std::string_view name);
}  // namespace models

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/model_shape-inl.hpp"
#endif

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <utility>

#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/model_shape.hpp"

namespace rtlm {

RTLM_INLINE model_shape::model_shape(model_config config) : config_(std::move(config)) {
  using detail::require;
  model_config& c = config_;
  const auto at_least_one = [](const char* field, int value) {
    require(value >= 1, field, value, "must be at least 1");
  };
  at_least_one("model_config.layers", c.layers);
  at_least_one("model_config.hidden_size", c.hidden_size);
  at_least_one("model_config.attention_heads", c.attention_heads);
  require(c.hidden_size % c.attention_heads == 0, "model_config.attention_heads", c.attention_heads,
          fmt::format("must divide hidden_size ({})", c.hidden_size));
  at_least_one("model_config.kv_heads", c.kv_heads);
  require(c.attention_heads % c.kv_heads == 0, "model_config.kv_heads", c.kv_heads,
          fmt::format("must divide attention_heads ({})", c.attention_heads));
  require(c.head_dim >= 0, "model_config.head_dim", c.head_dim,
          "must be >= 1, or 0 for hidden_size / attention_heads");
  if (c.head_dim == 0) c.head_dim = c.hidden_size / c.attention_heads;
  at_least_one("model_config.ffn_size", c.ffn_size);
  at_least_one("model_config.vocab_size", c.vocab_size);
  detail::require_positive_finite("model_config.bytes_per_weight", c.bytes_per_weight);
  detail::require_positive_finite("model_config.bytes_per_kv_element", c.bytes_per_kv_element);
  at_least_one("model_config.tensor_parallel", c.tensor_parallel);
  const int p = c.tensor_parallel;
  require(c.attention_heads % p == 0, "model_config.tensor_parallel", p,
          fmt::format("must divide attention_heads ({})", c.attention_heads));
  require(c.kv_heads % p == 0 || p % c.kv_heads == 0, "model_config.tensor_parallel", p,
          fmt::format("must divide kv_heads ({}) or be a multiple of it", c.kv_heads));
  require(c.ffn_size % p == 0, "model_config.tensor_parallel", p,
          fmt::format("must divide ffn_size ({})", c.ffn_size));

  const double h = c.hidden_size;
  // Exact divisions: divisibility by p was checked above.
  const int heads_per_gpu = c.attention_heads / p;
  // KV heads are replicated, not split, once there are more GPUs than KV heads.
  const int kv_heads_per_gpu = std::max(1, c.kv_heads / p);
  const int ffn_per_gpu = c.ffn_size / p;
  query_width_ = static_cast<double>(heads_per_gpu) * c.head_dim;
  kv_width_ = static_cast<double>(kv_heads_per_gpu) * c.head_dim;
  ffn_width_ = static_cast<double>(ffn_per_gpu);
  const double mlp_matrices = c.mlp == mlp_kind::gated ? 3.0 : 2.0;
  linear_weights_per_layer_ =
      h * (query_width_ + 2 * kv_width_) + query_width_ * h + mlp_matrices * h * ffn_width_;
  bias_weights_per_layer_ = c.qkv_bias ? query_width_ + 2 * kv_width_ : 0.0;
}

RTLM_INLINE double model_shape::parameter_count() const noexcept {
  const model_config& c = config_;
  const double h = c.hidden_size;
  const double q = static_cast<double>(c.attention_heads) * c.head_dim;
  const double kv = static_cast<double>(c.kv_heads) * c.head_dim;
  const double mlp_matrices = c.mlp == mlp_kind::gated ? 3.0 : 2.0;
  const double biases = c.qkv_bias ? q + 2 * kv : 0.0;
  const double per_layer =
      h * (q + 2 * kv) + q * h + mlp_matrices * h * c.ffn_size + 2 * h + biases;
  // Untied embedding and LM head, plus the final norm.
  return c.layers * per_layer + 2.0 * c.vocab_size * h + h;
}

RTLM_INLINE double model_shape::weight_bytes_per_gpu() const noexcept {
  const model_config& c = config_;
  const double h = c.hidden_size;
  const double norms = c.layers * 2.0 * h + h;
  const double lm_head = h * c.vocab_size / c.tensor_parallel;
  return (c.layers * (linear_weights_per_layer_ + bias_weights_per_layer_) + norms + lm_head) *
         c.bytes_per_weight;
}

RTLM_INLINE double model_shape::kv_bytes_per_token() const noexcept {
  return config_.layers * 2.0 * kv_width_ * config_.bytes_per_kv_element;
}

RTLM_INLINE void model_shape::add_sequence(step_work& w, tokens new_tokens, tokens cached_tokens,
                                           bool emits_token) const noexcept {
  const auto n = static_cast<double>(new_tokens.count());
  // Negative counts are meaningless here; treat them as empty rather than fail on the step path.
  const auto k = static_cast<double>(std::max<tokens::rep>(0, cached_tokens.count()));
  if (n <= 0) return;
  const model_config& c = config_;
  const double h = c.hidden_size;
  w.matmul_flops += 2.0 * n * linear_weights_per_layer_ * c.layers;
  if (emits_token) w.matmul_flops += 2.0 * h * c.vocab_size / c.tensor_parallel;
  // Causal attention: new token i (0-based) sees the k cached keys and i + 1 new ones.
  const double key_visits = n * k + n * (n + 1) / 2;
  w.attention_flops += 4.0 * query_width_ * key_visits * c.layers;
  const double kv_bytes_per_entry = 2.0 * kv_width_ * c.bytes_per_kv_element * c.layers;
  w.kv_read_bytes += k * kv_bytes_per_entry;
  w.kv_write_bytes += n * kv_bytes_per_entry;
}

RTLM_INLINE void model_shape::add_weights(step_work& w, tokens step_tokens) const noexcept {
  if (step_tokens.count() <= 0) return;
  const double embedding_rows =
      static_cast<double>(step_tokens.count()) * config_.hidden_size * config_.bytes_per_weight;
  w.weight_bytes += weight_bytes_per_gpu() + embedding_rows;
}

RTLM_INLINE step_work model_shape::work(std::span<const sequence_step> batch) const noexcept {
  step_work w;
  tokens step_tokens;
  for (const sequence_step& s : batch) {
    add_sequence(w, s.new_tokens, s.cached_tokens, s.emits_token);
    if (s.new_tokens.count() > 0) step_tokens += s.new_tokens;
  }
  add_weights(w, step_tokens);
  return w;
}

RTLM_INLINE step_work model_shape::prefill_work(tokens new_tokens, tokens cached_tokens,
                                                bool emits_token) const noexcept {
  const sequence_step one{new_tokens, cached_tokens, emits_token};
  return work(std::span<const sequence_step>(&one, 1));
}

RTLM_INLINE step_work model_shape::decode_work(std::span<const tokens> kv_lengths) const noexcept {
  // Every sequence adds one token on top of its cache, so the work depends only on the batch
  // size and the sum of KV lengths: one pass, then closed forms (equal to summing add_sequence).
  double kv_sum = 0;
  for (const tokens kv : kv_lengths)
    kv_sum += static_cast<double>(std::max<tokens::rep>(0, kv.count()));
  const auto batch = static_cast<double>(kv_lengths.size());
  step_work w;
  if (kv_lengths.empty()) return w;
  const model_config& c = config_;
  const double kv_bytes_per_entry = 2.0 * kv_width_ * c.bytes_per_kv_element * c.layers;
  w.matmul_flops =
      batch * (2.0 * linear_weights_per_layer_ * c.layers +
               2.0 * c.hidden_size * static_cast<double>(c.vocab_size) / c.tensor_parallel);
  w.attention_flops = 4.0 * query_width_ * (kv_sum + batch) * c.layers;
  w.kv_read_bytes = kv_sum * kv_bytes_per_entry;
  w.kv_write_bytes = batch * kv_bytes_per_entry;
  add_weights(w, tokens(static_cast<tokens::rep>(kv_lengths.size())));
  return w;
}

namespace models {

RTLM_INLINE model_config llama_3_8b() {
  return {.name = "llama-3-8b",
          .layers = 32,
          .hidden_size = 4096,
          .attention_heads = 32,
          .kv_heads = 8,
          .head_dim = 128,
          .ffn_size = 14336,
          .mlp = mlp_kind::gated,
          .vocab_size = 128256,
          .bytes_per_weight = 2.0,
          .bytes_per_kv_element = 2.0,
          .tensor_parallel = 1};
}

RTLM_INLINE model_config qwen2_5_7b() {
  return {.name = "qwen2.5-7b",
          .layers = 28,
          .hidden_size = 3584,
          .attention_heads = 28,
          .kv_heads = 4,
          .head_dim = 128,
          .ffn_size = 18944,
          .mlp = mlp_kind::gated,
          .vocab_size = 152064,
          .qkv_bias = true,
          .bytes_per_weight = 2.0,
          .bytes_per_kv_element = 2.0,
          .tensor_parallel = 1};
}

RTLM_INLINE model_config llama_2_7b() {
  return {.name = "llama-2-7b",
          .layers = 32,
          .hidden_size = 4096,
          .attention_heads = 32,
          .kv_heads = 32,
          .head_dim = 128,
          .ffn_size = 11008,
          .mlp = mlp_kind::gated,
          .vocab_size = 32000,
          .bytes_per_weight = 2.0,
          .bytes_per_kv_element = 2.0,
          .tensor_parallel = 1};
}

RTLM_INLINE model_config llama_3_1_70b() {
  return {.name = "llama-3.1-70b",
          .layers = 80,
          .hidden_size = 8192,
          .attention_heads = 64,
          .kv_heads = 8,
          .head_dim = 128,
          .ffn_size = 28672,
          .mlp = mlp_kind::gated,
          .vocab_size = 128256,
          .bytes_per_weight = 2.0,
          .bytes_per_kv_element = 2.0,
          .tensor_parallel = 1};
}

RTLM_INLINE std::optional<model_config> by_name(std::string_view name) {
  if (name == "llama-3-8b" || name == "llama-3.1-8b") {
    model_config c = llama_3_8b();
    c.name = name;
    return c;
  }
  if (name == "qwen2.5-7b") return qwen2_5_7b();
  if (name == "llama-2-7b") return llama_2_7b();
  if (name == "llama-3.1-70b") return llama_3_1_70b();
  return std::nullopt;
}

}  // namespace models
}  // namespace rtlm

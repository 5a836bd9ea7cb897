// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>
#include <vector>

#include "rtlm/detail/enum_names.hpp"
#include "rtlm/estimate/step_features.hpp"

namespace rtlm {

namespace detail {

inline constexpr std::string_view step_feature_names[] = {
    "constant",         "sequences",       "new_tokens",        "matmul_time",
    "attention_time",   "weight_time",     "kv_read_time",      "roofline_time",
    "padded_kv_time",   "longest_kv_time", "tiled_matmul_time", "cached_attention_time",
    "cached_sequences", "split_kv_time"};
static_assert(std::size(step_feature_names) == step_feature_count);

}  // namespace detail

RTLM_INLINE std::string_view to_string(step_feature f) noexcept {
  return detail::enum_name(f, detail::step_feature_names);
}

RTLM_INLINE std::optional<step_feature> step_feature_from_string(std::string_view name) noexcept {
  return detail::enum_from_name<step_feature>(name, detail::step_feature_names);
}

RTLM_INLINE step_featurizer::step_featurizer(model_shape shape, hardware_spec hardware)
    : shape_(std::move(shape)), hardware_(std::move(hardware)) {}

RTLM_INLINE step_feature_vector step_featurizer::from_work(const batch_totals& b,
                                                           const step_work& w) const noexcept {
  const model_config& c = shape_.config();
  const double peak = hardware_.config().peak_flops_per_second;
  const double bandwidth = hardware_.config().memory_bandwidth_bytes_per_second;
  // Attention FLOPs per (query, key) pair over all layers, as model_shape counts them.
  const int heads_per_gpu = c.attention_heads / c.tensor_parallel;  // exact: validated
  const double attention_flops_per_pair =
      4.0 * static_cast<double>(heads_per_gpu) * c.head_dim * c.layers;
  const double kv_seconds_per_entry = shape_.kv_bytes_per_token() / bandwidth;
  const auto longest = static_cast<double>(b.longest_kv.count());
  // GEMMs run on the step's tokens stacked, padded up to whole 128-row tiles.
  const double tiled_tokens = std::ceil(b.new_tokens / 128.0) * 128.0;

  step_feature_vector f{};
  const auto at = [&f](step_feature which) -> double& {
    return f[static_cast<std::size_t>(which)];
  };
  at(step_feature::constant) = 1.0;
  at(step_feature::sequences) = b.sequences;
  at(step_feature::new_tokens) = b.new_tokens;
  at(step_feature::matmul_time) = w.matmul_flops / peak;
  at(step_feature::attention_time) = w.attention_flops / peak;
  at(step_feature::weight_time) = w.weight_bytes / bandwidth;
  at(step_feature::kv_read_time) = w.kv_read_bytes / bandwidth;
  at(step_feature::roofline_time) = std::max(w.flops() / peak, w.bytes() / bandwidth);
  at(step_feature::padded_kv_time) = b.sequences * longest * kv_seconds_per_entry;
  at(step_feature::longest_kv_time) = longest * kv_seconds_per_entry;
  at(step_feature::tiled_matmul_time) =
      b.new_tokens > 0 ? w.matmul_flops / peak * (tiled_tokens / b.new_tokens) : 0.0;
  at(step_feature::cached_attention_time) = b.cached_pairs * attention_flops_per_pair / peak;
  at(step_feature::cached_sequences) = b.cached_sequences;
  at(step_feature::split_kv_time) = split_kv_seconds(b);
  return f;
}

RTLM_INLINE double step_featurizer::split_kv_seconds(const batch_totals& b) const noexcept {
  const model_config& c = shape_.config();
  const double kv_seconds_per_entry =
      shape_.kv_bytes_per_token() / hardware_.config().memory_bandwidth_bytes_per_second;
  const double entries_time = b.kv_entries * kv_seconds_per_entry;
  if (hardware_.config().multiprocessors == 0 || b.kv_entries <= 0) return entries_time;
  // One query per sequence: FlashAttention-2 folds a KV head's query heads into rows, so a
  // block serves one (sequence, KV head) pair; its heuristic counts two blocks per SM.
  const double kv_heads = std::max(1, c.kv_heads / c.tensor_parallel);
  const double slots = 2.0 * hardware_.config().multiprocessors;
  const double blocks = b.sequences * kv_heads;
  const auto longest = static_cast<double>(b.longest_kv.count());
  const double tiles = std::ceil(longest / 128.0);
  const double splits = detail::flash_decode_splits(blocks, slots, tiles);
  // Splits cut every sequence at the longest one's boundaries, so the slowest block reads one
  // split of the longest sequence; the rest spread over whole waves of slots.
  const double slowest = std::min(longest, std::ceil(tiles / splits) * 128.0);
  const double waves = std::ceil(blocks * splits / slots);
  const double even = waves * b.kv_entries * kv_heads / (blocks * splits);
  // In KV-head entries per slot; a slot reads at 1 / slots of the bandwidth.
  return std::max(even, slowest) * slots / kv_heads * kv_seconds_per_entry;
}

RTLM_INLINE step_feature_vector
step_featurizer::step(std::span<const sequence_step> batch) const noexcept {
  batch_totals b;
  for (const sequence_step& s : batch) {
    const auto n = static_cast<double>(std::max<tokens::rep>(0, s.new_tokens.count()));
    const auto k = static_cast<double>(std::max<tokens::rep>(0, s.cached_tokens.count()));
    b.sequences += 1;
    b.new_tokens += n;
    b.cached_pairs += n * k;
    b.kv_entries += k;
    if (k > 0) b.cached_sequences += 1;
    b.longest_kv = std::max(b.longest_kv, s.cached_tokens);
  }
  return from_work(b, shape_.work(batch));
}

RTLM_INLINE step_feature_vector step_featurizer::prefill(
    tokens new_tokens_per_sequence, std::span<const tokens> cached_tokens) const {
  std::vector<sequence_step> batch;
  batch.reserve(cached_tokens.size());
  for (const tokens k : cached_tokens) batch.push_back({new_tokens_per_sequence, k, true});
  return step(batch);
}

RTLM_INLINE step_feature_vector step_featurizer::prefill(tokens new_tokens,
                                                         tokens cached_tokens) const noexcept {
  const sequence_step one{new_tokens, cached_tokens, true};
  return step(std::span<const sequence_step>(&one, 1));
}

RTLM_INLINE step_feature_vector
step_featurizer::decode(std::span<const tokens> kv_lengths) const noexcept {
  batch_totals b;
  for (const tokens kv : kv_lengths) {
    const auto k = static_cast<double>(std::max<tokens::rep>(0, kv.count()));
    b.cached_pairs += k;
    b.kv_entries += k;
    if (k > 0) b.cached_sequences += 1;
    b.longest_kv = std::max(b.longest_kv, kv);
  }
  b.sequences = b.new_tokens = static_cast<double>(kv_lengths.size());
  return from_work(b, shape_.decode_work(kv_lengths));
}

}  // namespace rtlm

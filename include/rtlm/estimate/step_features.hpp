// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"

namespace rtlm {

/// The terms rtlm's step-time model combines, each derived from the model shape's FLOPs and
/// bytes on a hardware spec. All but the counts are in seconds at the hardware's ceilings, so a
/// fitted coefficient is an inverse efficiency (1.3 on `weight_time` = 77% of peak bandwidth).
enum class step_feature : std::uint8_t {
  constant,           ///< 1 second: the per-step overhead (launches, sampling, host work)
  sequences,          ///< sequences in the step, times 1 s: per-sequence overhead
  new_tokens,         ///< new tokens in the step, times 1 s: per-token overhead
  matmul_time,        ///< matmul FLOPs / peak FLOP/s
  attention_time,     ///< attention FLOPs / peak FLOP/s: quadratic in a prompt's length
  weight_time,        ///< weight bytes / bandwidth: reading the model once
  kv_read_time,       ///< KV bytes read / bandwidth
  roofline_time,      ///< max(all FLOPs / peak, all bytes / bandwidth): the knee between regimes
  padded_kv_time,     ///< batch x the longest KV x bytes per entry / bandwidth: kernels that split
                      ///< work evenly wait on the longest sequence of a mixed batch
  longest_kv_time,    ///< the longest sequence's KV bytes / bandwidth: the tail of a batch
  tiled_matmul_time,  ///< matmul FLOPs with the step's new tokens (the GEMMs' rows) rounded up
                      ///< to a multiple of 128 (whole tiles), / peak FLOP/s
  cached_attention_time,  ///< the part of attention_time spent on cached keys (chunked prefill)
  cached_sequences,       ///< sequences that attend to a cache, times 1 s: per-chunk overhead
  split_kv_time,  ///< decode attention's makespan as FlashAttention-2 schedules it: one thread
                  ///< block per (sequence, KV head), split along the KV by its heuristic, over
                  ///< two blocks per SM; the slowest block's KV at a block's share of bandwidth
                  ///< (kv_read_time when the hardware's SMs are unknown)
};

/// Number of step_feature values.
inline constexpr std::size_t step_feature_count = 14;

/// The feature's name as saved files and reports write it, e.g. "kv_read_time".
std::string_view to_string(step_feature f) noexcept;
/// The feature named `name`, or none.
std::optional<step_feature> step_feature_from_string(std::string_view name) noexcept;

namespace detail {

/// FlashAttention-2's choice of KV splits for a decode step (num_splits_heuristic in its
/// flash_api.cpp): one split when the blocks nearly fill the slots; else the fewest splits whose
/// wave efficiency is within 85% of the best, among split counts that change the blocks per split.
inline int flash_decode_splits(double blocks, double slots, double kv_tiles) noexcept {
  if (blocks >= 0.8 * slots) return 1;
  const int most = static_cast<int>(std::min({128.0, slots, kv_tiles}));
  const auto efficiency = [&](int splits) {
    const double waves = blocks * splits / slots;
    return waves / std::ceil(waves);
  };
  const auto eligible = [&](int splits) {
    return splits == 1 || std::ceil(kv_tiles / splits) != std::ceil(kv_tiles / (splits - 1));
  };
  double best = 0;
  for (int s = 1; s <= most; ++s)
    if (eligible(s)) best = std::max(best, efficiency(s));
  for (int s = 1; s <= most; ++s)
    if (eligible(s) && efficiency(s) >= 0.85 * best) return s;
  return 1;
}

}  // namespace detail

/// Feature values of one step, indexed by step_feature.
using step_feature_vector = std::array<double, step_feature_count>;

/// Computes step features from a model shape and a hardware spec. Immutable; members are
/// const, thread-safe and O(batch); only the batched prefill allocates.
class step_featurizer {
 public:
  step_featurizer(model_shape shape, hardware_spec hardware);

  [[nodiscard]] const model_shape& shape() const noexcept { return shape_; }
  [[nodiscard]] const hardware_spec& hardware() const noexcept { return hardware_; }

  /// Features of a batched prefill: one sequence per entry of `cached_tokens`, each prefilling
  /// `new_tokens_per_sequence` on top of its cached tokens. Allocates (a batch description).
  [[nodiscard]] step_feature_vector prefill(tokens new_tokens_per_sequence,
                                            std::span<const tokens> cached_tokens) const;
  /// Features of one sequence prefilling `new_tokens` on top of `cached_tokens`.
  [[nodiscard]] step_feature_vector prefill(tokens new_tokens, tokens cached_tokens) const noexcept;
  /// Features of a decode step whose sequences have the given KV lengths.
  [[nodiscard]] step_feature_vector decode(std::span<const tokens> kv_lengths) const noexcept;
  /// Features of any step: prefill chunks and decodes together.
  [[nodiscard]] step_feature_vector step(std::span<const sequence_step> batch) const noexcept;

 private:
  // Per-step sums and maxima that the features need beyond the step's work.
  struct batch_totals {
    double sequences = 0;
    double new_tokens = 0;
    double cached_pairs = 0;  // sum over sequences of new tokens x cached tokens
    double cached_sequences = 0;
    tokens longest_kv;
    double kv_entries = 0;  // sum over sequences of KV tokens read
  };
  [[nodiscard]] step_feature_vector from_work(const batch_totals& b,
                                              const step_work& w) const noexcept;
  [[nodiscard]] double split_kv_seconds(const batch_totals& b) const noexcept;

  model_shape shape_;
  hardware_spec hardware_;
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/step_features-inl.hpp"
#endif

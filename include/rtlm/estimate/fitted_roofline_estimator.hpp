// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <utility>

#include "rtlm/estimate/step_features.hpp"
#include "rtlm/estimate/step_time_estimator.hpp"

namespace rtlm {

/// rtlm's step-time model: a step's time is a non-negative combination of features derived from
/// the model shape's FLOPs and bytes (step_feature), fitted to a profile by
/// fit_roofline_estimator(). One coefficient vector covers prefills (weight-bound small ones,
/// compute-bound long ones with attention's quadratic term, chunked ones); one covers decode
/// steps of batch 1 and one decode steps of larger batches, uniform or with mixed KV lengths,
/// since the kernels serving the two differ. Queries are O(batch), noexcept, allocation-free and
/// thread-safe.
class fitted_roofline_estimator final : public step_time_estimator {
 public:
  /// Coefficients are indexed by step_feature; a zero coefficient leaves its feature out.
  fitted_roofline_estimator(step_featurizer featurizer, step_feature_vector prefill_coefficients,
                            step_feature_vector chunked_prefill_coefficients,
                            step_feature_vector single_decode_coefficients,
                            step_feature_vector batched_decode_coefficients)
      : featurizer_(std::move(featurizer)),
        prefill_(prefill_coefficients),
        chunked_prefill_(chunked_prefill_coefficients),
        single_decode_(single_decode_coefficients),
        batched_decode_(batched_decode_coefficients) {}

  [[nodiscard]] const step_featurizer& featurizer() const noexcept { return featurizer_; }
  /// The coefficients that serve a regime (uniform and mixed batches share one vector).
  [[nodiscard]] const step_feature_vector& coefficients(step_regime regime) const noexcept {
    switch (regime) {
      case step_regime::prefill:
        return prefill_;
      case step_regime::chunked_prefill:
        return chunked_prefill_;
      case step_regime::single_decode:
        return single_decode_;
      case step_regime::batched_decode:
      case step_regime::mixed_decode:
        return batched_decode_;
    }
    return prefill_;
  }

  [[nodiscard]] seconds prefill_time(tokens new_tokens,
                                     tokens cached_tokens) const noexcept override {
    if (new_tokens.count() <= 0) return seconds(0);
    return seconds(dot(coefficients(prefill_regime(cached_tokens)),
                       featurizer_.prefill(new_tokens, cached_tokens)));
  }

  [[nodiscard]] seconds decode_time(std::span<const tokens> kv_lengths) const noexcept override {
    if (kv_lengths.empty()) return seconds(0);
    return seconds(dot(coefficients(kv_lengths.size() > 1 ? step_regime::batched_decode
                                                          : step_regime::single_decode),
                       featurizer_.decode(kv_lengths)));
  }

  /// Time of a profile point's step under this model (batched prefills included).
  [[nodiscard]] seconds point_time(const profile_point& point) const {
    if (point.phase == step_phase::decode) return decode_time(point.kv_lengths);
    if (point.batch() == 1) return prefill_time(point.new_tokens, point.kv_lengths.front());
    return seconds(dot(chunked_prefill_,
                       featurizer_.prefill(point.new_tokens_per_sequence(), point.kv_lengths)));
  }

 private:
  static double dot(const step_feature_vector& c, const step_feature_vector& f) noexcept {
    double sum = 0;
    for (std::size_t i = 0; i < step_feature_count; ++i) sum += c[i] * f[i];
    return sum;
  }

  step_featurizer featurizer_;
  step_feature_vector prefill_;
  step_feature_vector chunked_prefill_;
  step_feature_vector single_decode_;
  step_feature_vector batched_decode_;
};

}  // namespace rtlm

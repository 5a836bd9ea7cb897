// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Dense>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/predict/length_predictor.hpp"

namespace rtlm {

/// Settings of a bucketed_length_classifier. Aggregate: build it with designated initializers;
/// the classifier validates it.
struct bucketed_classifier_config {
  prompt_feature_config features;  ///< the feature layout it reads
  tokens bucket_width{16};         ///< tokens per bucket; bucket k holds lengths (k w, (k+1) w]
  std::size_t bucket_count = 512;  ///< buckets; the last also holds every longer output; 2..4096
  std::size_t basis_size = 0;      ///< rank of the coefficient matrix: logits vary over buckets
                               ///< through this many smooth bumps on log-length; 0 picks full rank
                               ///< up to 32 buckets and 24 above
  double l2 = 1e-4;            ///< L2 penalty on the weights, per example; >= 0
  double label_spread = 0.1;   ///< soft labels: a Gaussian of this sd on log-length around the
                               ///< true length, spread over buckets (0: one-hot)
  int epochs = 20;             ///< passes of fit() over the data (AdaGrad, shuffled by `seed`)
  double learning_rate = 0.2;  ///< AdaGrad step of fit() and learn(); > 0
  std::uint64_t seed = 0;      ///< order of the examples in fit()
};

/// TimeBill-style response-length classifier: multinomial logistic regression from the prompt's
/// features to buckets of the served model's own output length (512 buckets of 16 tokens up to
/// 8192 by default, as TimeBill), with an L2 penalty. With many buckets the coefficient matrix is
/// constrained to basis_size smooth bumps over log-length, so neighbouring buckets share strength
/// (with basis_size = bucket_count and the identity basis it is plain multinomial logistic
/// regression); each bucket keeps its own bias.
///
/// fit() runs `epochs` passes of AdaGrad over shuffled examples: O(epochs n (nnz + buckets) rank).
/// learn() is one such step on one example: O((nnz + buckets) rank), no allocation; an outlier,
/// a length more than detail::outlier_fence interquartile ranges (on log-length) beyond the
/// predicted quartiles, takes a step shrunk by that distance (Huber's weight) and counts as
/// clipped. predict() is
/// O(nnz rank + buckets rank) plus one exp per bucket; it allocates only while `out` grows.
/// Memory: 2 rank doubles per feature slot.
///
/// Guarded against extrapolation: fit() and learn() remember the longest length trained on and
/// the range each named cue took (prompt length, payload size...); predict() clamps the prompt's
/// cues into that range, so a prompt longer than any trained on is read as the longest one rather
/// than extrapolated linearly into the top buckets, and truncates the distribution at
/// support_factor() x the longest trained length (the mass beyond moves into the last bucket kept),
/// so no prediction exceeds what the data supports by more than that factor.
class bucketed_length_classifier final : public length_predictor {
 public:
  /// Validates `config` (throws rtlm::error naming the field) and starts untrained: the
  /// prediction is uniform over the buckets until fit() or learn().
  explicit bucketed_length_classifier(bucketed_classifier_config config = {});

  /// The validated configuration (basis_size filled in). O(1).
  [[nodiscard]] const bucketed_classifier_config& config() const noexcept { return config_; }
  [[nodiscard]] const prompt_feature_config& feature_config() const noexcept override {
    return config_.features;
  }
  [[nodiscard]] length_predictor_kind kind() const noexcept override {
    return length_predictor_kind::bucketed_classifier;
  }
  /// The bucket a length falls in: ceil(length / width) - 1, clamped to the buckets. O(1).
  [[nodiscard]] std::size_t bucket_of(tokens length) const noexcept;
  /// The longest length fit() and learn() have seen (0 before any, or for a model read from a
  /// version-1 file, which predicts unguarded). O(1).
  [[nodiscard]] tokens longest_trained() const noexcept { return tokens(longest_); }
  /// Predictions are truncated at this many times longest_trained(). O(1).
  [[nodiscard]] static constexpr double support_factor() noexcept { return 4.0; }

  /// Reads a classifier back from serialize()'s bytes, written by file format `version` (1 has no
  /// guard state: the model predicts unguarded); throws rtlm::error naming `source` when the
  /// bytes are malformed. Allocates.
  static bucketed_length_classifier deserialize(std::string_view payload, const std::string& source,
                                                std::uint32_t version = 2);

 private:
  void do_predict(const prompt_features& features, length_distribution& out) const override;
  void do_learn(const prompt_features& features, tokens length) noexcept override;
  void do_fit(std::span<const prompt_features> features, std::span<const tokens> lengths) override;
  void write_payload(detail::byte_writer& w) const override;

  void build_basis();
  void reset_state();
  bool step(const prompt_features& features, tokens length, bool clip) noexcept;
  double outlier_weight(std::span<const double> p, tokens length) const noexcept;
  void logits(const prompt_features& features, std::span<double> projection, std::span<double> out,
              bool guard = false) const noexcept;
  void note_support(const prompt_features& features, tokens length) noexcept;

  bucketed_classifier_config config_;
  std::size_t dimension_ = 0;
  std::size_t rank_ = 0;
  bool identity_basis_ = false;
  Eigen::MatrixXd basis_;             // buckets x rank
  std::vector<double> weights_;       // dimension x rank, row-major by feature slot
  std::vector<double> accumulators_;  // AdaGrad sums, same layout
  std::vector<double> bias_;          // per bucket
  std::vector<double> bias_accumulators_;
  // The support of the training data: the longest length, and each named cue's range.
  tokens::rep longest_ = 0;
  std::vector<double> cue_low_;
  std::vector<double> cue_high_;
  // Scratch for learn(): projection, logits, target.
  std::vector<double> scratch_projection_;
  std::vector<double> scratch_logits_;
  std::vector<double> scratch_gradient_;
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/predict/bucketed_length_classifier-inl.hpp"
#endif

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/detail/config.hpp"
#include "rtlm/predict/length_predictor.hpp"

namespace rtlm {

/// Settings of an online_length_regressor. Aggregate: build it with designated initializers; the
/// regressor validates it.
struct online_regressor_config {
  prompt_feature_config features;  ///< the feature layout it reads
  double target_power = 0.5;       ///< the model is linear in (length^p - 1) / p (Box-Cox); 0 is
                                   ///< log(length) as in RT-LM; in [0, 1]
  double l2 = 0.0;  ///< ridge penalty of fit(), relative to the mean squared feature norm; 0 picks
                    ///< it by exact leave-one-out error over 0.01..10 (on the training set only)
  double learning_rate = 0.1;    ///< AdaGrad step of learn(), in residual interquartile ranges
  double adagrad_prior = 1.0;    ///< initial AdaGrad accumulator: larger means smaller first steps
  double intercept_rate = 0.01;  ///< the intercept's step floor in learn() (it averages until then)
  std::size_t residual_quantiles = 32;  ///< buckets of the predicted distribution, 4..256
  double residual_rate = 0.02;  ///< step of the online residual-quantile tracker, in residual
                                ///< interquartile ranges
  double prior_log_sd = 1.0;    ///< spread before any data: log-length residuals ~ N(0, sd^2)
                                ///< (scaled by 100^p on a power scale)
  double max_tokens = 1e6;      ///< predicted lengths are clamped to [1, max_tokens]
  std::size_t exact_fit_limit = 4000;  ///< fit() solves ridge exactly (O(n^3)) up to this many
                                       ///< examples, and by conjugate gradients above it
};

/// RT-LM-style lightweight regressor: a linear model of log(output length) on the prompt's
/// features, with a residual distribution around it.
///
/// fit() solves ridge regression exactly (in the dual, O(n^2 nnz + n^3)), choosing the penalty by
/// exact leave-one-out error unless configured (the copies of a repeated prompt, rows with
/// identical features, left out together when the log has 10 distinct prompts or more), and takes
/// the residual quantiles from the leave-one-out residuals, so the spread is that of unseen
/// prompts. Above exact_fit_limit examples it runs conjugate gradients on the primal instead
/// (O(iterations x total nnz)), with in-sample residuals. learn() is one AdaGrad step on the
/// squared log error plus a step of each tracked residual quantile: O(nnz + residual_quantiles), no
/// allocation. Its residual is clipped (Huber-style) to the tracked quartiles widened by
/// detail::outlier_fence interquartile ranges, so one wild length moves later predictions a bounded
/// amount (learn() says clipped). predict() is O(nnz + residual_quantiles): the distribution has
/// residual_quantiles equal-probability buckets exp(mu + r_j)..exp(mu + r_{j+1}). Memory: two
/// doubles per feature slot.
class online_length_regressor final : public length_predictor {
 public:
  /// Validates `config` (throws rtlm::error naming the field) and starts untrained: predictions
  /// are the prior, exp(N(0, prior_log_sd^2)) tokens, until fit() or learn().
  explicit online_length_regressor(online_regressor_config config = {});

  /// The validated configuration. O(1).
  [[nodiscard]] const online_regressor_config& config() const noexcept { return config_; }
  [[nodiscard]] const prompt_feature_config& feature_config() const noexcept override {
    return config_.features;
  }
  [[nodiscard]] length_predictor_kind kind() const noexcept override {
    return length_predictor_kind::online_regressor;
  }

  /// The linear score, on the transformed scale, before the residuals: the intercept plus the
  /// weighted features. O(nnz); no allocation.
  [[nodiscard]] double predict_score(const prompt_features& features) const noexcept;
  /// The length transform the model is linear in: log(length), or (length^p - 1) / p. O(1).
  [[nodiscard]] double transform(double length) const noexcept;
  /// The inverse of transform(), clamped to [0, max_tokens]. O(1).
  [[nodiscard]] double inverse(double score) const noexcept;
  /// The penalty fit() used (absolute), or 0 before any fit. O(1).
  [[nodiscard]] double fitted_l2() const noexcept { return fitted_l2_; }
  /// The tracked residual quantiles (ascending), log-tokens. O(1).
  [[nodiscard]] std::span<const double> residual_quantiles() const noexcept { return residuals_; }
  /// Examples seen by fit() and learn() together. O(1).
  [[nodiscard]] std::uint64_t examples_seen() const noexcept { return seen_; }

  /// Reads a regressor back from serialize()'s bytes; throws rtlm::error naming `source` when the
  /// bytes are malformed. Allocates.
  static online_length_regressor deserialize(std::string_view payload, const std::string& source);

 private:
  void do_predict(const prompt_features& features, length_distribution& out) const override;
  void do_learn(const prompt_features& features, tokens length) noexcept override;
  void do_fit(std::span<const prompt_features> features, std::span<const tokens> lengths) override;
  void write_payload(detail::byte_writer& w) const override;

  void reset_state();
  void fit_exact(std::span<const prompt_features> features, std::span<const double> y);
  void fit_iterative(std::span<const prompt_features> features, std::span<const double> y);
  void set_residuals(std::vector<double> residuals);

  online_regressor_config config_;
  std::size_t dimension_ = 0;
  std::vector<double> weights_;
  std::vector<double> accumulators_;  // AdaGrad sums of squared gradients, per slot
  double intercept_ = 0.0;
  std::vector<double> residuals_;  // quantiles at levels (j + 0.5) / (K + 1), j = 0..K
  std::vector<double> levels_;
  double fitted_l2_ = 0.0;
  std::uint64_t seen_ = 0;
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/predict/online_length_regressor-inl.hpp"
#endif

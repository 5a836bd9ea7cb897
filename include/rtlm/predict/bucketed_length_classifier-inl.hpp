// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <utility>

#include "rtlm/detail/validate.hpp"
#include "rtlm/predict/bucketed_length_classifier.hpp"

namespace rtlm {

RTLM_INLINE bucketed_length_classifier::bucketed_length_classifier(
    bucketed_classifier_config config)
    : config_(config) {
  using detail::require;
  prompt_feature_config f = config_.features;
  f.embedding_dimension = 0;
  const prompt_feature_extractor check(f);
  require(config_.features.embedding_dimension <= (1U << 24U),
          "bucketed_classifier_config.features.embedding_dimension",
          config_.features.embedding_dimension, "must be at most 2^24");
  require(config_.bucket_width.count() >= 1, "bucketed_classifier_config.bucket_width",
          config_.bucket_width, "must be >= 1");
  require(config_.bucket_count >= 2 && config_.bucket_count <= 4096,
          "bucketed_classifier_config.bucket_count", config_.bucket_count, "must be in 2..4096");
  require(config_.basis_size <= config_.bucket_count, "bucketed_classifier_config.basis_size",
          config_.basis_size, fmt::format("must be <= bucket_count ({})", config_.bucket_count));
  detail::require_non_negative_finite("bucketed_classifier_config.l2", config_.l2);
  detail::require_non_negative_finite("bucketed_classifier_config.label_spread",
                                      config_.label_spread);
  require(config_.epochs >= 1 && config_.epochs <= 10000, "bucketed_classifier_config.epochs",
          config_.epochs, "must be in 1..10000");
  detail::require_positive_finite("bucketed_classifier_config.learning_rate",
                                  config_.learning_rate);
  if (config_.basis_size == 0)
    config_.basis_size = config_.bucket_count <= 32 ? config_.bucket_count : 24;
  dimension_ = detail::feature_dimension(config_.features);
  rank_ = config_.basis_size;
  require(dimension_ * rank_ <= (std::size_t{1} << 28U), "bucketed_classifier_config.basis_size",
          config_.basis_size, "makes the weight matrix larger than 2^28 values");
  build_basis();
  reset_state();
}

RTLM_INLINE void bucketed_length_classifier::build_basis() {
  const std::size_t k = config_.bucket_count;
  identity_basis_ = rank_ == k;
  basis_.setZero(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(rank_));
  if (identity_basis_) {
    basis_.setIdentity();
    return;
  }
  // Gaussian bumps at even steps of log(bucket middle), each as wide as the step.
  const auto w = static_cast<double>(config_.bucket_width.count());
  const auto log_mid = [w](std::size_t b) { return std::log((static_cast<double>(b) + 0.5) * w); };
  const double lo = log_mid(0);
  const double hi = log_mid(k - 1);
  const double step = rank_ > 1 ? (hi - lo) / static_cast<double>(rank_ - 1) : 1.0;
  for (std::size_t b = 0; b < k; ++b) {
    for (std::size_t r = 0; r < rank_; ++r) {
      const double z = (log_mid(b) - (lo + step * static_cast<double>(r))) / step;
      basis_(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(r)) = std::exp(-0.5 * z * z);
    }
  }
}

RTLM_INLINE void bucketed_length_classifier::reset_state() {
  weights_.assign(dimension_ * rank_, 0.0);
  accumulators_.assign(dimension_ * rank_, 0.0);
  bias_.assign(config_.bucket_count, 0.0);
  bias_accumulators_.assign(config_.bucket_count, 0.0);
  scratch_projection_.assign(rank_, 0.0);
  scratch_logits_.assign(config_.bucket_count, 0.0);
  scratch_gradient_.assign(config_.bucket_count, 0.0);
  longest_ = 0;
  cue_low_.assign(prompt_cue_count, 0.0);
  cue_high_.assign(prompt_cue_count, 0.0);
}

RTLM_INLINE void bucketed_length_classifier::note_support(const prompt_features& features,
                                                          tokens length) noexcept {
  longest_ = std::max(longest_, length.count());
  const auto indices = features.indices();
  const auto values = features.values();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= prompt_cue_count) continue;
    cue_low_[indices[k]] = std::min(cue_low_[indices[k]], values[k]);
    cue_high_[indices[k]] = std::max(cue_high_[indices[k]], values[k]);
  }
}

RTLM_INLINE std::size_t bucketed_length_classifier::bucket_of(tokens length) const noexcept {
  const tokens::rep w = config_.bucket_width.count();
  const tokens::rep n = std::max<tokens::rep>(1, length.count());
  const auto b = static_cast<std::size_t>((n + w - 1) / w - 1);
  return std::min(b, config_.bucket_count - 1);
}

RTLM_INLINE void bucketed_length_classifier::logits(const prompt_features& features,
                                                    std::span<double> projection,
                                                    std::span<double> out,
                                                    bool guard) const noexcept {
  std::fill(projection.begin(), projection.end(), 0.0);
  const auto indices = features.indices();
  const auto values = features.values();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= dimension_) continue;
    const double* row = weights_.data() + static_cast<std::size_t>(indices[k]) * rank_;
    // A cue outside the range trained on would push the logits linearly past anything the data
    // showed (a 250-word prompt read as a long answer): read it as the nearest trained value.
    const double v = guard && indices[k] < prompt_cue_count
                         ? std::clamp(values[k], cue_low_[indices[k]], cue_high_[indices[k]])
                         : values[k];
    for (std::size_t r = 0; r < rank_; ++r) projection[r] += row[r] * v;
  }
  if (identity_basis_) {
    for (std::size_t b = 0; b < out.size(); ++b) out[b] = bias_[b] + projection[b];
    return;
  }
  const Eigen::Map<const Eigen::VectorXd> u(projection.data(),
                                            static_cast<Eigen::Index>(projection.size()));
  Eigen::Map<Eigen::VectorXd> z(out.data(), static_cast<Eigen::Index>(out.size()));
  z.noalias() = basis_ * u;
  for (std::size_t b = 0; b < out.size(); ++b) out[b] += bias_[b];
}

namespace detail {
/// In-place softmax of `z`, stable against overflow.
inline void softmax(std::span<double> z) noexcept {
  if (z.empty()) return;
  const double top = *std::max_element(z.begin(), z.end());
  double total = 0.0;
  for (double& v : z) {
    v = std::exp(v - top);
    total += v;
  }
  for (double& v : z) v /= total;
}
}  // namespace detail

RTLM_INLINE void bucketed_length_classifier::do_predict(const prompt_features& features,
                                                        length_distribution& out) const {
  const std::size_t k = config_.bucket_count;
  out.resize(k);
  std::span<double> edges = out.mutable_edges();
  std::span<double> probabilities = out.mutable_probabilities();
  // The edges (k + 1 >= rank values) serve as scratch for the projection before they are set.
  logits(features, edges.first(rank_), probabilities, /*guard=*/longest_ > 0);
  detail::softmax(probabilities);
  const auto w = static_cast<double>(config_.bucket_width.count());
  for (std::size_t b = 0; b <= k; ++b) edges[b] = static_cast<double>(b) * w;
  const double cap = support_factor() * static_cast<double>(longest_);
  if (longest_ > 0 && cap < static_cast<double>(k) * w) {
    // Truncate at the cap: the mass beyond joins the last bucket kept, which ends at the cap.
    const auto kept = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(cap / w)));
    double beyond = 0.0;
    for (std::size_t b = kept; b < k; ++b) beyond += probabilities[b];
    probabilities[kept - 1] += beyond;
    out.resize(kept);
    out.mutable_edges()[kept] = std::max(cap, out.mutable_edges()[kept - 1] + 1.0);
  }
  out.normalize();
}

RTLM_INLINE double bucketed_length_classifier::outlier_weight(std::span<const double> p,
                                                              tokens length) const noexcept {
  // The buckets of the predicted quartiles, on log-length: from the lower one's low edge to the
  // upper one's high edge, so the spread is never narrower than the buckets can tell.
  const auto w = static_cast<double>(config_.bucket_width.count());
  const auto log_edge = [w](double b) { return std::log(std::max(b, 0.5) * w); };
  double cumulative = 0.0;
  std::size_t lower = p.size() - 1;
  std::size_t upper = p.size() - 1;
  for (std::size_t b = 0; b < p.size(); ++b) {
    cumulative += p[b];
    if (cumulative >= 0.25 && lower == p.size() - 1) lower = b;
    if (cumulative >= 0.75) {
      upper = b;
      break;
    }
  }
  lower = std::min(lower, upper);
  // A length past the last bucket is read as the last bucket, as its label is.
  const double y = log_edge(static_cast<double>(bucket_of(length)) + 0.5);
  const double low = log_edge(static_cast<double>(lower));
  const double high = log_edge(static_cast<double>(upper) + 1.0);
  const double beyond = std::max({y - high, low - y, 0.0}) / (high - low);
  // Huber's weight: the step of an observation beyond the fence shrinks as it lies farther out.
  return beyond > detail::outlier_fence ? detail::outlier_fence / beyond : 1.0;
}

RTLM_INLINE bool bucketed_length_classifier::step(const prompt_features& features, tokens length,
                                                  bool clip) noexcept {
  const std::size_t k = config_.bucket_count;
  std::span<double> z = scratch_logits_;
  logits(features, scratch_projection_, z);
  detail::softmax(z);
  const double weight = clip ? outlier_weight(z, length) : 1.0;
  // Gradient of the cross-entropy on the logits: p - target, the target a (soft) label.
  std::span<double> g = scratch_gradient_;
  std::copy(z.begin(), z.end(), g.begin());
  const std::size_t truth = bucket_of(length);
  if (config_.label_spread <= 0.0) {
    g[truth] -= 1.0;
  } else {
    const auto w = static_cast<double>(config_.bucket_width.count());
    const double y = std::log(static_cast<double>(std::max<tokens::rep>(1, length.count())));
    const double s = config_.label_spread;
    // Buckets within 4 sd on log-length: [exp(y - 4s), exp(y + 4s)].
    const auto first = static_cast<std::size_t>(std::max(0.0, std::exp(y - 4 * s) / w - 1.0));
    const std::size_t last =
        std::min(k - 1, static_cast<std::size_t>(std::min(std::exp(y + 4 * s) / w, 1e9)));
    double total = 0.0;
    for (std::size_t b = std::min(first, truth); b <= std::max(last, truth); ++b) {
      const double d = (std::log((static_cast<double>(b) + 0.5) * w) - y) / s;
      total += b == truth ? 1.0 : std::exp(-0.5 * d * d);
    }
    for (std::size_t b = std::min(first, truth); b <= std::max(last, truth); ++b) {
      const double d = (std::log((static_cast<double>(b) + 0.5) * w) - y) / s;
      g[b] -= (b == truth ? 1.0 : std::exp(-0.5 * d * d)) / total;
    }
  }
  if (weight < 1.0) {
    for (double& v : g) v *= weight;
  }
  // Back through the basis: the gradient on the projection.
  std::span<double> gu = scratch_projection_;
  if (identity_basis_) {
    std::copy(g.begin(), g.end(), gu.begin());
  } else {
    const Eigen::Map<const Eigen::VectorXd> gz(g.data(), static_cast<Eigen::Index>(k));
    Eigen::Map<Eigen::VectorXd> out(gu.data(), static_cast<Eigen::Index>(rank_));
    out.noalias() = basis_.transpose() * gz;
  }
  const double eta = config_.learning_rate;
  const auto indices = features.indices();
  const auto values = features.values();
  for (std::size_t e = 0; e < indices.size(); ++e) {
    if (indices[e] >= dimension_) continue;
    const std::size_t offset = static_cast<std::size_t>(indices[e]) * rank_;
    for (std::size_t r = 0; r < rank_; ++r) {
      double& wr = weights_[offset + r];
      const double grad = gu[r] * values[e] + config_.l2 * wr;
      double& a = accumulators_[offset + r];
      a += grad * grad;
      if (a > 0.0) wr -= eta * grad / std::sqrt(a);
    }
  }
  for (std::size_t b = 0; b < k; ++b) {
    bias_accumulators_[b] += g[b] * g[b];
    if (bias_accumulators_[b] > 0.0) bias_[b] -= eta * g[b] / std::sqrt(bias_accumulators_[b]);
  }
  return weight < 1.0;
}

RTLM_INLINE void bucketed_length_classifier::do_learn(const prompt_features& features,
                                                      tokens length) noexcept {
  note_support(features, length);
  if (step(features, length, /*clip=*/true)) note_clipped();
}

RTLM_INLINE void bucketed_length_classifier::do_fit(std::span<const prompt_features> features,
                                                    std::span<const tokens> lengths) {
  reset_state();
  const std::size_t n = features.size();
  const std::size_t k = config_.bucket_count;
  // Start the biases at the smoothed log-frequencies of the buckets.
  std::vector<double> counts(k, 0.1);
  for (tokens l : lengths) counts[bucket_of(l)] += 1.0;
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  for (std::size_t b = 0; b < k; ++b) bias_[b] = std::log(counts[b] / total);
  for (std::size_t i = 0; i < n; ++i) note_support(features[i], lengths[i]);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(config_.seed);
  for (int epoch = 0; epoch < config_.epochs; ++epoch) {
    // Fisher-Yates with the engine's raw output, identical on every standard library.
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    for (std::size_t i : order) step(features[i], lengths[i], /*clip=*/false);
  }
}

RTLM_INLINE void bucketed_length_classifier::write_payload(detail::byte_writer& w) const {
  detail::write_feature_config(w, config_.features);
  w.u64(static_cast<std::uint64_t>(config_.bucket_width.count()));
  w.u64(config_.bucket_count);
  w.u64(config_.basis_size);
  w.f64(config_.l2);
  w.f64(config_.label_spread);
  w.u64(static_cast<std::uint64_t>(config_.epochs));
  w.f64(config_.learning_rate);
  w.u64(config_.seed);
  w.f64s(bias_);
  w.f64s(bias_accumulators_);
  w.f64s(weights_);
  w.f64s(accumulators_);
  // Format version 2: the support guard.
  w.u64(static_cast<std::uint64_t>(longest_));
  w.f64s(cue_low_);
  w.f64s(cue_high_);
}

RTLM_INLINE bucketed_length_classifier bucketed_length_classifier::deserialize(
    std::string_view payload, const std::string& source, std::uint32_t version) {
  detail::byte_reader r(payload, source);
  bucketed_classifier_config c;
  c.features = detail::read_feature_config(r);
  const std::uint64_t width = r.u64();
  if (width > (std::uint64_t{1} << 40U)) r.fail("a bucket width out of range");
  c.bucket_width = tokens(static_cast<tokens::rep>(width));
  c.bucket_count = r.u64();
  c.basis_size = r.u64();
  c.l2 = r.f64();
  c.label_spread = r.f64();
  const std::uint64_t epochs = r.u64();
  c.epochs = static_cast<int>(std::min<std::uint64_t>(epochs, 1U << 30U));
  c.learning_rate = r.f64();
  c.seed = r.u64();
  // A few bytes can declare a huge model: the arrays it needs must be in the payload before the
  // constructor allocates them (the feature configuration is already checked, so the dimension
  // is at most about 2^25).
  const std::size_t left = r.remaining() / 16;  // two arrays of 8-byte values per size
  const std::uint64_t default_rank = c.bucket_count <= 32 ? c.bucket_count : 24;  // as the ctor
  const std::uint64_t rank = c.basis_size != 0 ? c.basis_size : default_rank;
  const std::size_t dimension = detail::feature_dimension(c.features);
  if (c.bucket_count > left || rank > left / std::max<std::size_t>(1, dimension))
    r.fail("a model larger than the data it holds");
  std::optional<bucketed_length_classifier> model;
  try {
    model.emplace(c);
  } catch (const error& e) {
    r.fail(std::string("a bad classifier configuration: ") + e.what());
  }
  bucketed_length_classifier& m = *model;
  m.bias_ = r.f64s(m.config_.bucket_count);
  m.bias_accumulators_ = r.f64s(m.config_.bucket_count);
  m.weights_ = r.f64s(m.dimension_ * m.rank_);
  m.accumulators_ = r.f64s(m.dimension_ * m.rank_);
  if (version >= 2) {
    const std::uint64_t longest = r.u64();
    if (longest > static_cast<std::uint64_t>(max_learned_length.count()))
      r.fail("a longest trained length above 2^24");
    m.longest_ = static_cast<tokens::rep>(longest);
    m.cue_low_ = r.f64s(prompt_cue_count);
    m.cue_high_ = r.f64s(prompt_cue_count);
    if (m.cue_low_.size() != prompt_cue_count || m.cue_high_.size() != prompt_cue_count)
      r.fail("cue ranges whose sizes do not match the cues");
    for (std::size_t cue = 0; cue < prompt_cue_count; ++cue) {
      if (!std::isfinite(m.cue_low_[cue]) || !std::isfinite(m.cue_high_[cue]) ||
          m.cue_low_[cue] > m.cue_high_[cue])
        r.fail("a malformed cue range");
    }
  } else {
    // A version-1 model knows nothing of its support: it predicts unguarded, as it did.
    m.longest_ = 0;
  }
  r.expect_end();
  if (m.bias_.size() != m.config_.bucket_count ||
      m.bias_accumulators_.size() != m.config_.bucket_count ||
      m.weights_.size() != m.dimension_ * m.rank_ ||
      m.accumulators_.size() != m.dimension_ * m.rank_) {
    r.fail("arrays whose sizes do not match the configuration");
  }
  const auto finite = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  };
  const auto non_negative = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return x >= 0.0; });
  };
  if (!finite(m.bias_) || !finite(m.weights_) || !finite(m.bias_accumulators_) ||
      !finite(m.accumulators_) || !non_negative(m.bias_accumulators_) ||
      !non_negative(m.accumulators_)) {
    r.fail("a non-finite or negative value");
  }
  return std::move(*model);
}

}  // namespace rtlm

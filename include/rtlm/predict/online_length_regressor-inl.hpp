// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>

#include "rtlm/detail/normal.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/predict/cross_calibration.hpp"
#include "rtlm/predict/online_length_regressor.hpp"

namespace rtlm {
namespace detail {

/// The empirical quantile of sorted `v` at level `p`, interpolated.
inline double sorted_quantile(std::span<const double> v, double p) noexcept {
  if (v.empty()) return 0.0;
  const double pos = std::clamp(p, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

/// `config` after checking it: throws rtlm::error naming the first field out of range.
inline const online_regressor_config& validated_regressor_config(
    const online_regressor_config& config) {
  const prompt_feature_extractor check([&] {
    prompt_feature_config f = config.features;
    f.embedding_dimension = 0;
    return f;
  }());
  require(config.features.embedding_dimension <= (1U << 24U),
          "online_regressor_config.features.embedding_dimension",
          config.features.embedding_dimension, "must be at most 2^24");
  require(config.target_power >= 0.0 && config.target_power <= 1.0,
          "online_regressor_config.target_power", config.target_power, "must be in [0, 1]");
  require(std::isfinite(config.l2) && config.l2 >= 0.0, "online_regressor_config.l2", config.l2,
          "must be a finite number >= 0 (0 chooses it by leave-one-out)");
  require_positive_finite("online_regressor_config.learning_rate", config.learning_rate);
  require_positive_finite("online_regressor_config.adagrad_prior", config.adagrad_prior);
  require(std::isfinite(config.intercept_rate) && config.intercept_rate > 0.0 &&
              config.intercept_rate <= 1.0,
          "online_regressor_config.intercept_rate", config.intercept_rate, "must be in (0, 1]");
  require(config.residual_quantiles >= 4 && config.residual_quantiles <= 256,
          "online_regressor_config.residual_quantiles", config.residual_quantiles,
          "must be in 4..256");
  require_positive_finite("online_regressor_config.residual_rate", config.residual_rate);
  require_positive_finite("online_regressor_config.prior_log_sd", config.prior_log_sd);
  require(std::isfinite(config.max_tokens) && config.max_tokens >= 2.0,
          "online_regressor_config.max_tokens", config.max_tokens, "must be finite and >= 2");
  require(config.exact_fit_limit >= 2, "online_regressor_config.exact_fit_limit",
          config.exact_fit_limit, "must be >= 2");
  return config;
}

}  // namespace detail

RTLM_INLINE online_length_regressor::online_length_regressor(online_regressor_config config)
    : config_(detail::validated_regressor_config(config)),
      dimension_(detail::feature_dimension(config_.features)) {
  reset_state();
}

RTLM_INLINE void online_length_regressor::reset_state() {
  weights_.assign(dimension_, 0.0);
  accumulators_.assign(dimension_, config_.adagrad_prior);
  intercept_ = 0.0;
  seen_ = 0;
  fitted_l2_ = 0.0;
  const std::size_t k = config_.residual_quantiles;
  levels_.resize(k + 1);
  residuals_.resize(k + 1);
  for (std::size_t j = 0; j <= k; ++j) {
    levels_[j] = (static_cast<double>(j) + 0.5) / static_cast<double>(k + 1);
    residuals_[j] = config_.prior_log_sd * detail::normal_quantile(levels_[j]);
    if (config_.target_power != 0.0) residuals_[j] *= std::pow(100.0, config_.target_power);
  }
}

RTLM_INLINE double online_length_regressor::transform(double length) const noexcept {
  const double p = config_.target_power;
  const double l = std::max(length, 1.0);
  return p == 0.0 ? std::log(l) : (std::pow(l, p) - 1.0) / p;
}

RTLM_INLINE double online_length_regressor::inverse(double score) const noexcept {
  const double p = config_.target_power;
  const double l = p == 0.0 ? std::exp(score) : std::pow(std::max(p * score + 1.0, 0.0), 1.0 / p);
  return std::clamp(std::isfinite(l) ? l : config_.max_tokens, 0.0, config_.max_tokens);
}

RTLM_INLINE double online_length_regressor::predict_score(
    const prompt_features& features) const noexcept {
  const double mu = intercept_ + features.dot(weights_);
  return std::clamp(std::isfinite(mu) ? mu : 0.0, 0.0, transform(config_.max_tokens));
}

RTLM_INLINE void online_length_regressor::do_predict(const prompt_features& features,
                                                     length_distribution& out) const {
  const double mu = predict_score(features);
  const std::size_t k = config_.residual_quantiles;
  out.resize(k);
  std::span<double> edges = out.mutable_edges();
  std::span<double> probabilities = out.mutable_probabilities();
  for (std::size_t j = 0; j <= k; ++j) {
    edges[j] = inverse(mu + residuals_[j]);
  }
  std::fill(probabilities.begin(), probabilities.end(), 1.0 / static_cast<double>(k));
  out.normalize();
}

RTLM_INLINE void online_length_regressor::do_learn(const prompt_features& features,
                                                   tokens length) noexcept {
  const double y = transform(static_cast<double>(length.count()));
  const double residual = y - (intercept_ + features.dot(weights_));
  if (!std::isfinite(residual)) return;
  // The residual quantiles track the errors on requests the model had not seen (pinball-loss
  // stochastic approximation), then stay sorted.
  // Steps scale with the residuals' interquartile range, so the rates mean the same on any
  // target transform.
  const double lower = detail::sorted_quantile(residuals_, 0.25);
  const double upper = detail::sorted_quantile(residuals_, 0.75);
  const double spread = std::max(upper - lower, 1e-3);
  for (std::size_t j = 0; j < residuals_.size(); ++j) {
    const double step =
        config_.residual_rate * spread * (levels_[j] - (residual <= residuals_[j] ? 1 : 0));
    residuals_[j] += step;
  }
  for (std::size_t j = 1; j < residuals_.size(); ++j) {
    residuals_[j] = std::max(residuals_[j], residuals_[j - 1]);
  }
  // Huber-style: the model learns from the residual clipped to the tracked quartiles widened by
  // outlier_fence interquartile ranges, so one wild (but in-range) length moves it a bounded
  // amount. The quantile tracker above saw the raw residual: it moves by bounded steps anyway.
  const double clipped = std::clamp(residual, lower - detail::outlier_fence * spread,
                                    upper + detail::outlier_fence * spread);
  if (clipped != residual) note_clipped();
  // The intercept averages residuals (1/n steps) until its rate floor, so it starts fast.
  ++seen_;
  const double rate = std::max(1.0 / static_cast<double>(seen_), config_.intercept_rate);
  intercept_ += rate * clipped;
  // AdaGrad on the weights of the active features.
  const auto indices = features.indices();
  const auto values = features.values();
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::uint32_t j = indices[k];
    if (j >= weights_.size()) continue;
    const double g = clipped * values[k];
    accumulators_[j] += g * g;
    weights_[j] += config_.learning_rate * spread * g / std::sqrt(accumulators_[j]);
  }
}

RTLM_INLINE void online_length_regressor::do_fit(std::span<const prompt_features> features,
                                                 std::span<const tokens> lengths) {
  reset_state();
  std::vector<double> y(lengths.size());
  for (std::size_t i = 0; i < y.size(); ++i)
    y[i] = transform(static_cast<double>(lengths[i].count()));
  if (features.size() <= config_.exact_fit_limit) {
    fit_exact(features, y);
  } else {
    fit_iterative(features, y);
  }
  seen_ = features.size();
}

RTLM_INLINE void online_length_regressor::set_residuals(std::vector<double> residuals) {
  std::sort(residuals.begin(), residuals.end());
  for (std::size_t j = 0; j < residuals_.size(); ++j) {
    residuals_[j] = detail::sorted_quantile(residuals, levels_[j]);
  }
}

RTLM_INLINE void online_length_regressor::fit_exact(std::span<const prompt_features> features,
                                                    std::span<const double> y) {
  const auto n = static_cast<Eigen::Index>(features.size());
  const auto un = static_cast<std::size_t>(n);
  // Gram matrix of the feature vectors, through one dense scatter per row.
  Eigen::MatrixXd gram(n, n);
  std::vector<double> dense(dimension_, 0.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const prompt_features& xi = features[static_cast<std::size_t>(i)];
    for (std::size_t k = 0; k < xi.size(); ++k) {
      if (xi.indices()[k] < dimension_) dense[xi.indices()[k]] = xi.values()[k];
    }
    for (Eigen::Index j = i; j < n; ++j) {
      const double v = features[static_cast<std::size_t>(j)].dot(dense);
      gram(i, j) = v;
      gram(j, i) = v;
    }
    for (std::size_t k = 0; k < xi.size(); ++k) {
      if (xi.indices()[k] < dimension_) dense[xi.indices()[k]] = 0.0;
    }
  }
  // Centre features and targets: the intercept is not penalized.
  const Eigen::VectorXd row_means = gram.rowwise().mean();
  const double grand_mean = row_means.mean();
  Eigen::MatrixXd centred = gram;
  centred.colwise() -= row_means;
  centred.rowwise() -= row_means.transpose();
  centred.array() += grand_mean;
  Eigen::VectorXd target(n);
  for (Eigen::Index i = 0; i < n; ++i) target(i) = y[static_cast<std::size_t>(i)];
  const double y_mean = target.mean();
  target.array() -= y_mean;

  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(centred);
  const Eigen::VectorXd s = eigen.eigenvalues().cwiseMax(0.0);
  const Eigen::MatrixXd& u = eigen.eigenvectors();
  const Eigen::VectorXd uy = u.transpose() * target;
  const Eigen::MatrixXd u_squared = u.array().square().matrix();
  const double scale = std::max(centred.diagonal().mean(), 1e-12);

  // Exact leave-one-out residuals of ridge with an unpenalized intercept: the hat matrix is
  // 11^T/n + K (K + lambda I)^-1 on the centred Gram matrix K, so the residual lambda alpha_i is
  // divided by 1 - H_ii = lambda [(K + lambda I)^-1]_ii - 1/n. A prompt the log holds several
  // times (identical features) is left out with all its copies, or its twin would still be in
  // training and the search would pick too small a penalty: its residuals are
  // (I - H_GG)^-1 e_G over the block G of its copies (given 10 distinct prompts or more).
  std::vector<std::vector<Eigen::Index>> repeated;  // groups of two or more identical rows
  {
    std::vector<std::pair<std::uint64_t, Eigen::Index>> keyed;
    for (Eigen::Index i = 0; i < n; ++i) {
      keyed.emplace_back(feature_group(features[static_cast<std::size_t>(i)]), i);
    }
    std::sort(keyed.begin(), keyed.end());
    for (std::size_t a = 0; a < keyed.size();) {
      std::size_t b = a + 1;
      while (b < keyed.size() && keyed[b].first == keyed[a].first) ++b;
      if (b - a > 1) {
        repeated.emplace_back();
        for (std::size_t k = a; k < b; ++k) repeated.back().push_back(keyed[k].second);
      }
      a = b;
    }
    // With a handful of distinct prompts there is too little to generalize from, and the log is
    // the prompts the server will see again: leave rows out one by one as before.
    std::size_t distinct = un;
    for (const auto& group : repeated) distinct -= group.size() - 1;
    if (distinct < 10) repeated.clear();
  }
  std::vector<double> grid{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
                           0.2,   0.5,   1.0,   2.0,  5.0,  10.0};
  if (config_.l2 > 0.0) grid.assign(1, config_.l2);
  double best_error = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_alpha = Eigen::VectorXd::Zero(n);
  std::vector<double> best_residuals(un, 0.0);
  for (double relative : grid) {
    const double lambda = relative * scale;
    const Eigen::VectorXd inverse = (s.array() + lambda).inverse().matrix();
    const Eigen::VectorXd alpha = u * inverse.cwiseProduct(uy);
    const Eigen::VectorXd diagonal = u_squared * inverse;
    double error = 0.0;
    std::vector<double> residuals(un);
    for (Eigen::Index i = 0; i < n; ++i) {
      const double leverage = lambda * diagonal(i) - 1.0 / static_cast<double>(n);
      residuals[static_cast<std::size_t>(i)] = lambda * alpha(i) / std::max(leverage, 1e-12);
    }
    for (const std::vector<Eigen::Index>& group : repeated) {
      const auto g = static_cast<Eigen::Index>(group.size());
      Eigen::MatrixXd rows(g, n);
      Eigen::VectorXd e(g);
      for (Eigen::Index a = 0; a < g; ++a) {
        rows.row(a) = u.row(group[static_cast<std::size_t>(a)]);
        e(a) = lambda * alpha(group[static_cast<std::size_t>(a)]);
      }
      Eigen::MatrixXd block = lambda * (rows * inverse.asDiagonal() * rows.transpose());
      block.array() -= 1.0 / static_cast<double>(n);
      const Eigen::VectorXd r = block.ldlt().solve(e);
      for (Eigen::Index a = 0; a < g; ++a) {
        residuals[static_cast<std::size_t>(group[static_cast<std::size_t>(a)])] =
            std::isfinite(r(a)) ? r(a) : residuals[static_cast<std::size_t>(group[0])];
      }
    }
    for (double r : residuals) error += r * r;
    if (error < best_error) {
      best_error = error;
      best_alpha = alpha;
      best_residuals = std::move(residuals);
      fitted_l2_ = lambda;
    }
  }
  // Primal weights w = X^T alpha (sum alpha = 0, so centring drops out), intercept from the means.
  double mean_score = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const prompt_features& xi = features[static_cast<std::size_t>(i)];
    for (std::size_t k = 0; k < xi.size(); ++k) {
      if (xi.indices()[k] < dimension_) weights_[xi.indices()[k]] += best_alpha(i) * xi.values()[k];
    }
  }
  for (const prompt_features& xi : features) mean_score += xi.dot(weights_);
  mean_score /= static_cast<double>(n);
  intercept_ = y_mean - mean_score;
  set_residuals(std::move(best_residuals));
}

RTLM_INLINE void online_length_regressor::fit_iterative(std::span<const prompt_features> features,
                                                        std::span<const double> y) {
  // Ridge on centred features by conjugate gradients: (Xc^T Xc + lambda I) w = Xc^T yc.
  const std::size_t n = features.size();
  const double y_mean = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
  std::vector<double> mean_x(dimension_, 0.0);
  double mean_norm = 0.0;
  for (const prompt_features& x : features) {
    for (std::size_t k = 0; k < x.size(); ++k) {
      if (x.indices()[k] < dimension_) mean_x[x.indices()[k]] += x.values()[k];
      mean_norm += x.values()[k] * x.values()[k];
    }
  }
  for (double& m : mean_x) m /= static_cast<double>(n);
  mean_norm /= static_cast<double>(n);
  const double lambda = (config_.l2 > 0.0 ? config_.l2 : 0.2) * std::max(mean_norm, 1e-12) *
                        static_cast<double>(n) / 100.0;
  fitted_l2_ = lambda;
  const auto apply = [&](const std::vector<double>& v, std::vector<double>& out) {
    // out = Xc^T Xc v + lambda v
    const double mean_dot = std::inner_product(mean_x.begin(), mean_x.end(), v.begin(), 0.0);
    std::fill(out.begin(), out.end(), 0.0);
    double total = 0.0;
    for (const prompt_features& x : features) {
      const double t = x.dot(v) - mean_dot;
      total += t;
      for (std::size_t k = 0; k < x.size(); ++k) {
        if (x.indices()[k] < dimension_) out[x.indices()[k]] += t * x.values()[k];
      }
    }
    for (std::size_t j = 0; j < out.size(); ++j) out[j] += -total * mean_x[j] + lambda * v[j];
  };
  std::vector<double> rhs(dimension_, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const prompt_features& x = features[i];
    const double t = y[i] - y_mean;
    for (std::size_t k = 0; k < x.size(); ++k) {
      if (x.indices()[k] < dimension_) rhs[x.indices()[k]] += t * x.values()[k];
    }
  }
  std::vector<double>& w = weights_;
  std::fill(w.begin(), w.end(), 0.0);
  std::vector<double> r = rhs;
  std::vector<double> p = r;
  std::vector<double> ap(dimension_, 0.0);
  double rr = std::inner_product(r.begin(), r.end(), r.begin(), 0.0);
  const double stop = 1e-10 * std::max(rr, 1e-300);
  for (int iteration = 0; iteration < 200 && rr > stop; ++iteration) {
    apply(p, ap);
    const double alpha = rr / std::inner_product(p.begin(), p.end(), ap.begin(), 0.0);
    for (std::size_t j = 0; j < dimension_; ++j) {
      w[j] += alpha * p[j];
      r[j] -= alpha * ap[j];
    }
    const double next = std::inner_product(r.begin(), r.end(), r.begin(), 0.0);
    for (std::size_t j = 0; j < dimension_; ++j) p[j] = r[j] + (next / rr) * p[j];
    rr = next;
  }
  intercept_ = y_mean - std::inner_product(mean_x.begin(), mean_x.end(), w.begin(), 0.0);
  std::vector<double> residuals(n);
  for (std::size_t i = 0; i < n; ++i) residuals[i] = y[i] - intercept_ - features[i].dot(w);
  set_residuals(std::move(residuals));
}

RTLM_INLINE void online_length_regressor::write_payload(detail::byte_writer& w) const {
  detail::write_feature_config(w, config_.features);
  w.f64(config_.target_power);
  w.f64(config_.l2);
  w.f64(config_.learning_rate);
  w.f64(config_.adagrad_prior);
  w.f64(config_.intercept_rate);
  w.u64(config_.residual_quantiles);
  w.f64(config_.residual_rate);
  w.f64(config_.prior_log_sd);
  w.f64(config_.max_tokens);
  w.u64(config_.exact_fit_limit);
  w.f64(intercept_);
  w.f64(fitted_l2_);
  w.u64(seen_);
  w.f64s(residuals_);
  w.f64s(weights_);
  w.f64s(accumulators_);
}

RTLM_INLINE online_length_regressor
online_length_regressor::deserialize(std::string_view payload, const std::string& source) {
  detail::byte_reader r(payload, source);
  online_regressor_config c;
  c.features = detail::read_feature_config(r);
  c.target_power = r.f64();
  c.l2 = r.f64();
  c.learning_rate = r.f64();
  c.adagrad_prior = r.f64();
  c.intercept_rate = r.f64();
  c.residual_quantiles = r.u64();
  c.residual_rate = r.f64();
  c.prior_log_sd = r.f64();
  c.max_tokens = r.f64();
  c.exact_fit_limit = r.u64();
  // A few bytes can declare a large feature space: its two weight arrays must be in the payload
  // before the constructor allocates them.
  if (detail::feature_dimension(c.features) > r.remaining() / 16)
    r.fail("a model larger than the data it holds");
  std::optional<online_length_regressor> model;
  try {
    model.emplace(c);
  } catch (const error& e) {
    r.fail(std::string("a bad regressor configuration: ") + e.what());
  }
  model->intercept_ = r.f64();
  model->fitted_l2_ = r.f64();
  model->seen_ = r.u64();
  model->residuals_ = r.f64s(257);
  model->weights_ = r.f64s(model->dimension_);
  model->accumulators_ = r.f64s(model->dimension_);
  r.expect_end();
  if (model->residuals_.size() != c.residual_quantiles + 1 ||
      model->weights_.size() != model->dimension_ ||
      model->accumulators_.size() != model->dimension_) {
    r.fail("arrays whose sizes do not match the configuration");
  }
  const auto finite = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
  };
  if (!std::isfinite(model->intercept_) || !finite(model->residuals_) || !finite(model->weights_) ||
      !finite(model->accumulators_) ||
      !std::is_sorted(model->residuals_.begin(), model->residuals_.end())) {
    r.fail("a non-finite or unsorted value");
  }
  return std::move(*model);
}

}  // namespace rtlm

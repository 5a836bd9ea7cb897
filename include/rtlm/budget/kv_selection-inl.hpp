// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <string_view>

#include "rtlm/budget/eviction_ratio.hpp"
#include "rtlm/budget/kv_selection.hpp"
#include "rtlm/core/error.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

namespace detail {

// The functions below fill kv_selection through this; it is not API.
struct kv_selection_access {
  // Sets the shape and returns the heads * kept positions to fill; allocates only when growing.
  static std::span<std::int64_t> reshape(kv_selection& s, std::int64_t heads, std::int64_t kept,
                                         std::int64_t length) {
    const auto n = static_cast<std::size_t>(heads * kept);
    s.positions_.resize(n);
    s.heads_ = heads;
    s.kept_ = kept;
    s.length_ = length;
    return {s.positions_.data(), n};
  }
  static std::vector<double>& window_sum(kv_selection& s) noexcept { return s.window_sum_; }
  static std::vector<double>& score(kv_selection& s) noexcept { return s.score_; }
  static std::vector<std::int64_t>& order(kv_selection& s) noexcept { return s.order_; }
};

}  // namespace detail

// Helpers private to this file; a namespace of their own so that they never collide with other
// -inl files' helpers in a header-only build.
namespace detail::kv_select {

inline void require_heads(attention_heads heads) {
  require(heads.query_heads >= 1, "attention_heads.query_heads", heads.query_heads,
          "must be at least 1");
  require(heads.kv_heads >= 1, "attention_heads.kv_heads", heads.kv_heads, "must be at least 1");
  require(heads.query_heads % heads.kv_heads == 0, "attention_heads.kv_heads", heads.kv_heads,
          fmt::format("must divide attention_heads.query_heads ({})", heads.query_heads));
}

// Throws naming the first entry of `m` that is not finite (or, with `non_negative`, below 0).
inline void require_entries(const Eigen::Ref<const attention_matrix>& m, std::string_view name,
                            bool non_negative) {
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) {
      const float v = m(r, c);
      if (!std::isfinite(v) || (non_negative && v < 0.0F)) {
        throw error(fmt::format("{}({}, {})", name, r, c), fmt::format("{}", v),
                    non_negative ? "must be finite and >= 0" : "must be finite");
      }
    }
  }
}

// Writes the `kept.size()` positions in [0, score.size()) with the highest scores into `kept`,
// ascending; a tie goes to the lower position, so the result never depends on the sort.
inline void top_positions(std::span<const double> score, std::vector<std::int64_t>& order,
                          std::span<std::int64_t> kept) {
  order.resize(score.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  const auto better = [score](std::int64_t a, std::int64_t b) {
    const double sa = score[static_cast<std::size_t>(a)];
    const double sb = score[static_cast<std::size_t>(b)];
    return sa > sb || (sa == sb && a < b);
  };
  const auto k = static_cast<std::ptrdiff_t>(kept.size());
  if (kept.size() < order.size())
    std::nth_element(order.begin(), order.begin() + k, order.end(), better);
  std::copy(order.begin(), order.begin() + k, kept.begin());
  std::sort(kept.begin(), kept.end());
}

// Fills `out` with first, first + 1, ...
inline void fill_range(std::span<std::int64_t> out, std::int64_t first) {
  std::iota(out.begin(), out.end(), first);
}

// Adds weight * pool(in) to `out` (same size): stride 1, padding kernel / 2; max pooling skips
// the padding, average pooling counts it as 0 (divides by the full kernel), as PyTorch does.
inline void add_pooled(std::span<const double> in, std::int64_t kernel, snapkv_pooling pooling,
                       double weight, std::span<double> out) {
  const auto n = static_cast<std::int64_t>(in.size());
  const std::int64_t half = kernel / 2;
  for (std::int64_t j = 0; j < n; ++j) {
    const auto lo = static_cast<std::size_t>(std::max<std::int64_t>(0, j - half));
    const auto hi = static_cast<std::size_t>(std::min<std::int64_t>(n - 1, j + half));
    double pooled = 0.0;
    switch (pooling) {
      case snapkv_pooling::max:
        pooled = *std::max_element(in.begin() + static_cast<std::ptrdiff_t>(lo),
                                   in.begin() + static_cast<std::ptrdiff_t>(hi) + 1);
        break;
      case snapkv_pooling::average:
        for (std::size_t t = lo; t <= hi; ++t) pooled += in[t];
        pooled /= static_cast<double>(kernel);
        break;
    }
    out[static_cast<std::size_t>(j)] += weight * pooled;
  }
}

}  // namespace detail::kv_select

RTLM_INLINE kv_budget kv_budget::ratio(double alpha) {
  detail::require(alpha >= 0.0 && alpha <= 1.0, "kv_budget.ratio", alpha,
                  "must be in [0, 1] (the fraction of the prompt's KV evicted)");
  return {alpha, tokens(0), true};
}

RTLM_INLINE kv_budget kv_budget::kept(tokens capacity) {
  detail::require(capacity.count() >= 0, "kv_budget.kept", capacity, "must be >= 0 tokens");
  return {0.0, capacity, false};
}

RTLM_INLINE tokens kv_budget::kept_for(tokens length) const noexcept {
  const tokens n(std::max<tokens::rep>(0, length.count()));
  if (by_ratio_) return kept_tokens_for_ratio(n, alpha_);
  return std::min(capacity_, n);
}

RTLM_INLINE std::span<const std::int64_t> kv_selection::positions(
    std::int64_t head) const noexcept {
  return {positions_.data() + static_cast<std::size_t>(head * kept_),
          static_cast<std::size_t>(kept_)};
}

namespace detail::kv_select {

inline void require_snapkv_options(const snapkv_options& options) {
  require(options.window >= 1, "snapkv_options.window", options.window, "must be at least 1");
  require(options.kernel >= 1 && options.kernel % 2 == 1, "snapkv_options.kernel", options.kernel,
          "must be odd and at least 1");
}

// SnapKV's selection once the inputs are checked. `window_sum_of(q, sums)` writes query head q's
// window score of each prefix position into `sums` (size length - window): the two public entry
// points differ only in where those sums come from.
template <class WindowSumOf>
void select_snapkv_checked(attention_heads heads, kv_budget budget, const snapkv_options& options,
                           std::int64_t length, std::int64_t window, kv_selection& out,
                           WindowSumOf window_sum_of) {
  using access = kv_selection_access;
  const bool grouped = options.gqa == snapkv_gqa::kv_group_mean;
  const std::int64_t selection_heads = grouped ? heads.kv_heads : heads.query_heads;
  const std::int64_t group = grouped ? heads.query_heads / heads.kv_heads : 1;
  const std::int64_t kept = budget.kept_for(tokens(length)).count();
  const std::span<std::int64_t> all = access::reshape(out, selection_heads, kept, length);
  const auto kept_size = static_cast<std::size_t>(kept);
  const auto head_positions = [&](std::int64_t s) {
    return all.subspan(static_cast<std::size_t>(s) * kept_size, kept_size);
  };
  if (kept >= length || kept <= window) {
    // Everything, or only (part of) the window: the scores cannot change the answer.
    for (std::int64_t s = 0; s < selection_heads; ++s) fill_range(head_positions(s), length - kept);
    return;
  }

  const std::int64_t prefix = length - window;
  const auto prefix_size = static_cast<std::size_t>(prefix);
  std::vector<double>& window_sum = access::window_sum(out);
  std::vector<double>& score = access::score(out);
  window_sum.resize(prefix_size);
  score.resize(prefix_size);
  const double weight = 1.0 / static_cast<double>(group);
  for (std::int64_t s = 0; s < selection_heads; ++s) {
    std::fill(score.begin(), score.end(), 0.0);
    for (std::int64_t q = s * group; q < (s + 1) * group; ++q) {
      window_sum_of(q, std::span<double>(window_sum));
      add_pooled(window_sum, options.kernel, options.pooling, weight, score);
    }
    const std::span<std::int64_t> positions = head_positions(s);
    const auto heavy = static_cast<std::size_t>(kept - window);
    top_positions(score, access::order(out), positions.first(heavy));
    fill_range(positions.subspan(heavy), prefix);
  }
}

}  // namespace detail::kv_select

RTLM_INLINE void select_snapkv(const Eigen::Ref<const attention_matrix>& window_probabilities,
                               attention_heads heads, kv_budget budget,
                               const snapkv_options& options, kv_selection& out) {
  using detail::require;
  namespace ks = detail::kv_select;
  const auto& p = window_probabilities;
  ks::require_heads(heads);
  ks::require_snapkv_options(options);
  const std::int64_t length = p.cols();
  const std::int64_t window = std::min(options.window, length);
  require(p.rows() == heads.query_heads * window, "window_probabilities.rows", p.rows(),
          fmt::format("must be query_heads * min(window, length) = {} * {}", heads.query_heads,
                      window));
  ks::require_entries(p, "window_probabilities", true);
  ks::select_snapkv_checked(
      heads, budget, options, length, window, out, [&](std::int64_t q, std::span<double> sums) {
        std::fill(sums.begin(), sums.end(), 0.0);
        for (std::int64_t i = q * window; i < (q + 1) * window; ++i) {
          for (std::size_t j = 0; j < sums.size(); ++j) {
            sums[j] += static_cast<double>(p(i, static_cast<Eigen::Index>(j)));
          }
        }
      });
}

RTLM_INLINE void select_snapkv_from_window_scores(
    const Eigen::Ref<const attention_matrix>& window_scores, attention_heads heads,
    kv_budget budget, const snapkv_options& options, kv_selection& out) {
  using detail::require;
  namespace ks = detail::kv_select;
  ks::require_heads(heads);
  ks::require_snapkv_options(options);
  require(window_scores.rows() == heads.query_heads, "window_scores.rows", window_scores.rows(),
          fmt::format("must be attention_heads.query_heads ({})", heads.query_heads));
  ks::require_entries(window_scores, "window_scores", true);
  const std::int64_t length = window_scores.cols();
  ks::select_snapkv_checked(
      heads, budget, options, length, std::min(options.window, length), out,
      [&](std::int64_t q, std::span<double> sums) {
        for (std::size_t j = 0; j < sums.size(); ++j) {
          sums[j] = static_cast<double>(window_scores(q, static_cast<Eigen::Index>(j)));
        }
      });
}

RTLM_INLINE kv_selection select_snapkv_from_window_scores(
    const Eigen::Ref<const attention_matrix>& window_scores, attention_heads heads,
    kv_budget budget, const snapkv_options& options) {
  kv_selection out;
  select_snapkv_from_window_scores(window_scores, heads, budget, options, out);
  return out;
}

RTLM_INLINE kv_selection
select_snapkv(const Eigen::Ref<const attention_matrix>& window_probabilities, attention_heads heads,
              kv_budget budget, const snapkv_options& options) {
  kv_selection out;
  select_snapkv(window_probabilities, heads, budget, options, out);
  return out;
}

RTLM_INLINE void snapkv_window_attention(const Eigen::Ref<const attention_matrix>& queries,
                                         const Eigen::Ref<const attention_matrix>& keys,
                                         attention_heads heads, attention_matrix& probabilities) {
  using detail::require;
  namespace ks = detail::kv_select;
  ks::require_heads(heads);
  require(queries.rows() % heads.query_heads == 0, "queries.rows", queries.rows(),
          fmt::format("must be a multiple of attention_heads.query_heads ({})", heads.query_heads));
  require(keys.rows() % heads.kv_heads == 0, "keys.rows", keys.rows(),
          fmt::format("must be a multiple of attention_heads.kv_heads ({})", heads.kv_heads));
  require(keys.cols() == queries.cols(), "keys.cols", keys.cols(),
          fmt::format("must equal queries.cols() ({}), the head dimension", queries.cols()));
  const std::int64_t window = queries.rows() / heads.query_heads;
  const std::int64_t length = keys.rows() / heads.kv_heads;
  require(window <= length, "queries.rows", queries.rows(),
          fmt::format("must be at most query_heads * length = {} (the window lies inside the "
                      "prompt)",
                      heads.query_heads * length));
  require(window == 0 || queries.cols() >= 1, "queries.cols", queries.cols(),
          "must be at least 1 (the head dimension)");
  ks::require_entries(queries, "queries", false);
  ks::require_entries(keys, "keys", false);

  probabilities.resize(heads.query_heads * window, length);
  if (window == 0) return;
  const float scale = 1.0F / std::sqrt(static_cast<float>(queries.cols()));
  const std::int64_t group = heads.query_heads / heads.kv_heads;
  for (std::int64_t h = 0; h < heads.query_heads; ++h) {
    const std::int64_t g = h / group;
    probabilities.middleRows(h * window, window).noalias() =
        scale * queries.middleRows(h * window, window) *
        keys.middleRows(g * length, length).transpose();
    for (std::int64_t j = 0; j < window; ++j) {
      // Window query j sits at position length - window + j and sees the keys up to it.
      const std::int64_t visible = length - window + j + 1;
      auto row = probabilities.row(h * window + j);
      const float top = row.head(visible).maxCoeff();
      row.head(visible) = (row.head(visible).array() - top).exp().matrix();
      row.head(visible) /= row.head(visible).sum();
      row.tail(length - visible).setZero();
    }
  }
}

RTLM_INLINE attention_matrix
snapkv_window_attention(const Eigen::Ref<const attention_matrix>& queries,
                        const Eigen::Ref<const attention_matrix>& keys, attention_heads heads) {
  attention_matrix probabilities;
  snapkv_window_attention(queries, keys, heads, probabilities);
  return probabilities;
}

RTLM_INLINE void select_streaming_llm(tokens length, kv_budget budget,
                                      const streaming_llm_options& options, kv_selection& out) {
  using detail::require;
  namespace ks = detail::kv_select;
  require(length.count() >= 0, "length", length, "must be >= 0 tokens");
  require(options.sink >= 0, "streaming_llm_options.sink", options.sink, "must be >= 0");
  const std::int64_t n = length.count();
  const std::int64_t kept = budget.kept_for(length).count();
  const std::span<std::int64_t> positions = detail::kv_selection_access::reshape(out, 1, kept, n);
  if (kept >= n) {
    ks::fill_range(positions, 0);
    return;
  }
  const auto sinks = static_cast<std::size_t>(std::min(options.sink, kept));
  ks::fill_range(positions.first(sinks), 0);
  // kept < n, so the recent positions start after the sinks.
  ks::fill_range(positions.subspan(sinks), n - (kept - static_cast<std::int64_t>(sinks)));
}

RTLM_INLINE kv_selection select_streaming_llm(tokens length, kv_budget budget,
                                              const streaming_llm_options& options) {
  kv_selection out;
  select_streaming_llm(length, budget, options, out);
  return out;
}

RTLM_INLINE void select_h2o(const Eigen::Ref<const attention_matrix>& accumulated_scores,
                            kv_budget budget, const h2o_options& options, kv_selection& out) {
  using detail::require;
  using access = detail::kv_selection_access;
  namespace ks = detail::kv_select;
  const auto& scores = accumulated_scores;
  require(options.heavy_fraction >= 0.0 && options.heavy_fraction <= 1.0,
          "h2o_options.heavy_fraction", options.heavy_fraction, "must be in [0, 1]");
  require(scores.rows() >= 1, "accumulated_scores.rows", scores.rows(),
          "must be at least 1 (one row per head)");
  ks::require_entries(scores, "accumulated_scores", true);
  const std::int64_t heads = scores.rows();
  const std::int64_t length = scores.cols();
  const std::int64_t kept = budget.kept_for(tokens(length)).count();
  const std::span<std::int64_t> all = access::reshape(out, heads, kept, length);
  const auto kept_size = static_cast<std::size_t>(kept);
  if (kept >= length) {
    for (std::int64_t h = 0; h < heads; ++h) {
      ks::fill_range(all.subspan(static_cast<std::size_t>(h) * kept_size, kept_size), 0);
    }
    return;
  }
  // The 1e-9 absorbs rounding, as in kept_tokens_for_ratio: 0.29 * 100 must give 29, not 28.
  const auto heavy = std::min(
      kept, static_cast<std::int64_t>(options.heavy_fraction * static_cast<double>(kept) + 1e-9));
  const std::int64_t recent = kept - heavy;
  const std::int64_t candidates = length - recent;
  std::vector<double>& score = access::score(out);
  score.resize(static_cast<std::size_t>(candidates));
  for (std::int64_t h = 0; h < heads; ++h) {
    for (std::int64_t j = 0; j < candidates; ++j) {
      score[static_cast<std::size_t>(j)] = static_cast<double>(scores(h, j));
    }
    const std::span<std::int64_t> positions =
        all.subspan(static_cast<std::size_t>(h) * kept_size, kept_size);
    const auto heavy_size = static_cast<std::size_t>(heavy);
    ks::top_positions(score, access::order(out), positions.first(heavy_size));
    ks::fill_range(positions.subspan(heavy_size), candidates);
  }
}

RTLM_INLINE kv_selection select_h2o(const Eigen::Ref<const attention_matrix>& accumulated_scores,
                                    kv_budget budget, const h2o_options& options) {
  kv_selection out;
  select_h2o(accumulated_scores, budget, options, out);
  return out;
}

}  // namespace rtlm

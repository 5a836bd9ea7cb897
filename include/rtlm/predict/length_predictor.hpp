// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/binary_io.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/predict/length_distribution.hpp"
#include "rtlm/predict/prompt_features.hpp"

namespace rtlm {

/// The predictors a saved file can hold; the number is written in the file.
enum class length_predictor_kind : std::uint32_t {
  online_regressor = 1,     ///< online_length_regressor
  bucketed_classifier = 2,  ///< bucketed_length_classifier
};

/// The longest output length a predictor learns from: 2^24 tokens (about 16.8 million), far
/// beyond any served model's context. A longer "length" is a corrupt log or counter; learn()
/// refuses it and fit() rejects it, so it cannot move later predictions.
inline constexpr tokens max_learned_length{tokens::rep{1} << 24};

/// What length_predictor::learn() did with one observation.
enum class learn_status : std::uint8_t {
  learned,  ///< taken in as given
  clipped,  ///< taken in with its influence bounded: an outlier against what the predictor has
            ///< seen (each implementation says how it clips)
  refused,  ///< not taken in: the length is above max_learned_length; nothing changed
};

/// The name of `s`, equal to its enumerator ("refused"). O(1); no allocation; thread-safe.
[[nodiscard]] constexpr std::string_view to_string(learn_status s) noexcept {
  return detail::enum_name(s, {"learned", "clipped", "refused"});
}

/// The interface of rtlm's output-length predictors: from a prompt's features to a distribution
/// of the served model's output length, trained in batch from logged (prompt, length) pairs and
/// online from every completed request.
///
/// Public members are non-virtual and check their input; implementations override the private
/// hooks. predict() is const and safe to call from several threads at once; learn() and fit()
/// need exclusive access. Implementations are copyable values (copy one to train variants).
///
/// Online learning is robust to bad observations: learn() refuses lengths above
/// max_learned_length, and an implementation bounds the influence of an in-range outlier
/// against what it has seen, reporting it through note_clipped() (rtlm's two learners clip at a
/// few robust scale units, so one such length moves later predictions only a bounded amount).
///
/// A minimal implementation, a fixed log-normal-like spread around a running mean:
/// @code
/// class running_mean_predictor final : public rtlm::length_predictor {
///  public:
///   const rtlm::prompt_feature_config& feature_config() const noexcept override { return f_; }
///   rtlm::length_predictor_kind kind() const noexcept override { ... }  // one of the enum
///
///  private:
///   void do_predict(const rtlm::prompt_features&, rtlm::length_distribution& out) const override {
///     out.resize(1);
///     out.mutable_edges()[0] = 0.0;
///     out.mutable_edges()[1] = 2.0 * mean_;
///     out.mutable_probabilities()[0] = 1.0;
///     out.normalize();
///   }
///   void do_learn(const rtlm::prompt_features&, rtlm::tokens length) noexcept override {
///     mean_ += (static_cast<double>(length.count()) - mean_) / static_cast<double>(++n_);
///   }
///   void do_fit(std::span<const rtlm::prompt_features> f,
///               std::span<const rtlm::tokens> lengths) override {
///     for (std::size_t i = 0; i < f.size(); ++i) do_learn(f[i], lengths[i]);
///   }
///   void write_payload(rtlm::detail::byte_writer& w) const override { w.f64(mean_); }
///   rtlm::prompt_feature_config f_;
///   double mean_ = 0.0;
///   std::uint64_t n_ = 0;
/// };
/// @endcode
class length_predictor {
 public:
  virtual ~length_predictor() = default;

  /// The feature layout this predictor was built for: extract features with a
  /// prompt_feature_extractor of this configuration. O(1).
  [[nodiscard]] virtual const prompt_feature_config& feature_config() const noexcept = 0;
  /// Which predictor this is, as saved files record it. O(1).
  [[nodiscard]] virtual length_predictor_kind kind() const noexcept = 0;

  /// Writes the predicted distribution of the output length into `out`, reusing its storage.
  /// Cost is linear in the features' non-zero entries plus the distribution's buckets (see each
  /// implementation); allocates only while `out` grows. Features of another dimension are read
  /// as far as they fit. Thread-safe against other const calls.
  void predict(const prompt_features& features, length_distribution& out) const {
    do_predict(features, out);
  }
  /// Convenience: the predicted distribution in a new object. Allocates.
  [[nodiscard]] length_distribution predict(const prompt_features& features) const {
    length_distribution d;
    do_predict(features, d);
    return d;
  }

  /// Learns from one completed request whose output had `length` tokens (values below 1 count
  /// as 1): learn_status::refused, changing nothing, above max_learned_length; clipped when the
  /// implementation bounded an outlier's influence; else learned. Time linear in the features'
  /// non-zero entries; no allocation; never throws.
  learn_status learn(const prompt_features& features, tokens length) noexcept {
    if (length > max_learned_length) {
      ++refused_;
      return learn_status::refused;
    }
    const std::uint64_t clipped = clipped_;
    do_learn(features, tokens(std::max<tokens::rep>(1, length.count())));
    return clipped_ != clipped ? learn_status::clipped : learn_status::learned;
  }

  /// Observations learn() refused since construction (a diagnostic; not saved). O(1).
  [[nodiscard]] std::uint64_t refused_observations() const noexcept { return refused_; }
  /// Observations learn() clipped since construction (a diagnostic; not saved). O(1).
  [[nodiscard]] std::uint64_t clipped_observations() const noexcept { return clipped_; }

  /// Trains from scratch on logged requests: `features[i]` produced `lengths[i]` tokens. Throws
  /// rtlm::error when the sizes differ, the set is empty, or a length is outside
  /// [0, max_learned_length]. Allocates.
  void fit(std::span<const prompt_features> features, std::span<const tokens> lengths) {
    detail::require(features.size() == lengths.size(), "length_predictor.fit lengths",
                    lengths.size(), fmt::format("must match the features ({})", features.size()));
    detail::require(!features.empty(), "length_predictor.fit features", 0,
                    "must hold at least one example");
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      detail::require(lengths[i].count() >= 0 && lengths[i] <= max_learned_length,
                      fmt::format("length_predictor.fit lengths[{}]", i), lengths[i],
                      "must be in [0, 2^24]");
    }
    do_fit(features, lengths);
  }

  /// The predictor's state as bytes (without the file header predictor_file adds). Allocates.
  [[nodiscard]] std::string serialize() const {
    detail::byte_writer w;
    write_payload(w);
    return w.data();
  }

 protected:
  length_predictor() = default;
  length_predictor(const length_predictor&) = default;
  length_predictor& operator=(const length_predictor&) = default;
  length_predictor(length_predictor&&) = default;
  length_predictor& operator=(length_predictor&&) = default;

  /// For do_learn(): this observation's influence was clipped (learn() then says so). O(1).
  void note_clipped() noexcept { ++clipped_; }

 private:
  /// The prediction; must fill `out` and call its normalize().
  virtual void do_predict(const prompt_features& features, length_distribution& out) const = 0;
  /// One online step with a length >= 1.
  virtual void do_learn(const prompt_features& features, tokens length) noexcept = 0;
  /// Batch training on validated, equally sized, non-empty spans.
  virtual void do_fit(std::span<const prompt_features> features,
                      std::span<const tokens> lengths) = 0;
  /// Writes the state load_length_predictor reads back.
  virtual void write_payload(detail::byte_writer& w) const = 0;

  std::uint64_t refused_ = 0;
  std::uint64_t clipped_ = 0;
};

/// Owning handle for a predictor, as load_length_predictor returns it.
using length_predictor_ptr = std::unique_ptr<length_predictor>;

namespace detail {

/// How far beyond the quartiles it expects, in interquartile ranges, an observation may lie
/// before online learning clips its influence (Tukey's "far out" fence: for normal errors 4.7
/// standard deviations from the median, so clean data is almost never clipped).
inline constexpr double outlier_fence = 3.0;

/// Writes a prompt_feature_config into a predictor file's payload.
inline void write_feature_config(byte_writer& w, const prompt_feature_config& c) {
  w.u32(static_cast<std::uint32_t>(c.hash_bits));
  w.u32((c.word_unigrams ? 1U : 0U) | (c.word_bigrams ? 2U : 0U) | (c.position_words ? 4U : 0U));
  w.u32(static_cast<std::uint32_t>(c.char_ngram_size));
  w.f64(c.cue_weight);
  w.f64(c.word_weight);
  w.f64(c.char_weight);
  w.f64(c.embedding_weight);
  w.u64(c.scan_bytes);
  w.u64(c.embedding_dimension);
}

/// Reads what write_feature_config wrote; the values are validated by constructing an extractor
/// (without an embedding source, so the embedding dimension is checked separately).
inline prompt_feature_config read_feature_config(byte_reader& r) {
  prompt_feature_config c;
  c.hash_bits = static_cast<int>(r.u32());
  const std::uint32_t flags = r.u32();
  c.word_unigrams = (flags & 1U) != 0;
  c.word_bigrams = (flags & 2U) != 0;
  c.position_words = (flags & 4U) != 0;
  c.char_ngram_size = static_cast<int>(r.u32());
  c.cue_weight = r.f64();
  c.word_weight = r.f64();
  c.char_weight = r.f64();
  c.embedding_weight = r.f64();
  c.scan_bytes = r.u64();
  c.embedding_dimension = r.u64();
  if (flags > 7U || c.embedding_dimension > (1U << 24U))
    r.fail("a malformed feature configuration");
  prompt_feature_config without_embedding = c;
  without_embedding.embedding_dimension = 0;
  try {
    const prompt_feature_extractor check(without_embedding);
  } catch (const error& e) {
    r.fail(std::string("a bad feature configuration: ") + e.what());
  }
  return c;
}

/// The feature space size of a configuration: cues + 2^hash_bits + embedding.
inline std::size_t feature_dimension(const prompt_feature_config& c) noexcept {
  return prompt_cue_count + (std::size_t{1} << static_cast<unsigned>(c.hash_bits)) +
         c.embedding_dimension;
}

/// log(length) with lengths below one token read as one.
inline double log_length(tokens length) noexcept {
  return std::log(static_cast<double>(std::max<tokens::rep>(1, length.count())));
}

}  // namespace detail
}  // namespace rtlm

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>

#include "rtlm/predict/length_predictor.hpp"
#include "rtlm/predict/prompt_features.hpp"
#include "rtlm/schedule/scheduler_observer.hpp"

namespace rtlm {

/// The predictor's half of the scheduler's feedback loop: every finished request that carries
/// its prompt text teaches `predictor` its true output length (length_predictor::learn), so an
/// online predictor follows the served model's drift. Forwards every event to `next` (if any),
/// so a host chains its own observer behind it.
///
/// Extraction reuses one prompt_features buffer: it allocates only until the buffer has grown
/// to the longest prompt seen. Not thread-safe (the scheduler calls it from its own thread).
class length_feedback final : public scheduler_observer {
 public:
  /// `predictor` and `extractor` (and `next`) must outlive this object.
  length_feedback(length_predictor& predictor, const prompt_feature_extractor& extractor,
                  scheduler_observer* next = nullptr)
      : predictor_(&predictor), extractor_(&extractor), next_(next) {}

  void on_event(const request_event& event, const request& r) noexcept override {
    if (event.kind == request_event_kind::finished && r.prompt_text &&
        r.progress.generated.count() > 0) {
      try {
        extractor_->extract(*r.prompt_text, features_);
        predictor_->learn(features_, r.progress.generated);
        ++learned_;
      } catch (...) {  // out of memory while growing the buffer: skip this one, keep serving
        ++skipped_;
      }
    }
    if (next_ != nullptr) next_->on_event(event, r);
  }

  /// Finished requests learned from, and those skipped (no memory for their features).
  [[nodiscard]] std::size_t learned() const noexcept { return learned_; }
  [[nodiscard]] std::size_t skipped() const noexcept { return skipped_; }

 private:
  length_predictor* predictor_;
  const prompt_feature_extractor* extractor_;
  scheduler_observer* next_;
  prompt_features features_;
  std::size_t learned_ = 0;
  std::size_t skipped_ = 0;
};

}  // namespace rtlm

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtlm/core/request.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/enum_names.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

/// A class of service (interactive chat, standard, batch): the objectives its requests get
/// where they set none, and whether relegation may refuse them. Plain data.
struct slo_class {
  std::string name;                    ///< for reports: not empty, unique among the classes
  std::optional<seconds> ttft;         ///< the default request::ttft_target, in (0, 1e9] s
  std::optional<seconds> tpot;         ///< the default request::tpot_target, in (0, 1e9] s
  std::optional<seconds> time_budget;  ///< the default request::time_budget, in [0, 1e9] s
  /// Whether relegation_mode::shed_sheddable refuses a request of this class that can no longer
  /// meet its objectives (a client that would rather retry elsewhere than be served late).
  bool sheddable = false;
};

/// What the scheduler does with a request that can no longer meet its objectives: its TTFT
/// target, or its deadline, cannot be met even if it ran next (QoServe's eager relegation).
enum class relegation_mode : std::uint8_t {
  off,             ///< nothing: it keeps its place and competes for capacity
  demote,          ///< it becomes best effort: queued behind every request that still can
  shed_sheddable,  ///< as demote, but a request of a sheddable class is refused instead
};

inline constexpr std::string_view relegation_mode_names[] = {"off", "demote", "shed_sheddable"};

/// The name of `m`, equal to its enumerator ("shed_sheddable"). O(1); no allocation.
[[nodiscard]] constexpr std::string_view to_string(relegation_mode m) noexcept {
  return detail::enum_name(m, relegation_mode_names);
}

/// The mode named `name` (as to_string() writes it), or nullopt. O(modes).
[[nodiscard]] constexpr std::optional<relegation_mode> relegation_mode_from_string(
    std::string_view name) noexcept {
  return detail::enum_from_name<relegation_mode>(name, relegation_mode_names);
}

/// How the scheduler serves requests' TTFT and TPOT objectives (docs/scheduling.md,
/// "Service-level objectives"). Aggregate.
struct slo_config {
  std::vector<slo_class> classes;  ///< request::slo_class indexes these; at most 256
  relegation_mode relegation = relegation_mode::off;
  /// Size each step to the running requests' TPOT targets (Sarathi-Serve's token budget, chosen
  /// every step): prefill tokens only while the step's estimate stays within tpot_headroom x the
  /// tightest TPOT target among the running requests that can still meet theirs, and, when the
  /// decodes alone exceed it, the decodes of requests without a TPOT target every other step.
  bool tpot_budget = false;
  /// Give a step's prompt tokens to the requests awaiting a first token under a TTFT target
  /// first: their prefill chunks, then the admissions of waiting ones, and only then the chunks
  /// of other running prefills (which otherwise go first, oldest first, as in vLLM).
  bool ttft_first = false;
  /// The share of the tightest TPOT target a step is planned to, in (0, 1]: room for the
  /// estimator's error (a TPOT target is a mean, so the expected step time is what must fit).
  double tpot_headroom = 0.9;
  /// Under tpot_budget, a step whose room takes fewer prompt tokens than this runs its decodes
  /// and the chunks of requests awaiting a first token (up to this many tokens) only, banking
  /// the rest of the room for a larger step: each step that prefills pays a fixed cost beside
  /// its tokens, so many small prefills would cost the batch throughput. >= 0.
  tokens min_prefill_tokens{2048};

  /// Throws rtlm::error naming the field (`scheduler_config.slo.classes[1].tpot`, ...) and the
  /// value when one is out of range or a class name is empty or repeated. O(classes^2).
  void validate() const {
    detail::require(classes.size() <= 256, "scheduler_config.slo.classes", classes.size(),
                    "must hold at most 256 classes");
    for (std::size_t i = 0; i < classes.size(); ++i) {
      const slo_class& c = classes[i];
      const std::string at = "scheduler_config.slo.classes[" + std::to_string(i) + "]";
      detail::require(!c.name.empty(), at + ".name", c.name, "must not be empty");
      for (std::size_t j = 0; j < i; ++j) {
        detail::require(classes[j].name != c.name, at + ".name", c.name,
                        "must differ from every other class's name");
      }
      for (const auto& [field, target] :
           {std::pair{".ttft", &c.ttft}, std::pair{".tpot", &c.tpot}}) {
        if (!*target) continue;
        const double v = (*target)->count();
        detail::require(v > 0.0 && v <= max_duration_seconds, at + field, v,
                        "must be in (0, 1e9] seconds");
      }
      if (c.time_budget) {
        const double v = c.time_budget->count();
        detail::require(v >= 0.0 && v <= max_duration_seconds, at + ".time_budget", v,
                        "must be in [0, 1e9] seconds");
      }
    }
    detail::require(tpot_headroom > 0.0 && tpot_headroom <= 1.0,
                    "scheduler_config.slo.tpot_headroom", tpot_headroom, "must be in (0, 1]");
    detail::require(min_prefill_tokens.count() >= 0, "scheduler_config.slo.min_prefill_tokens",
                    min_prefill_tokens, "must be >= 0");
  }

  /// `r` with its class's defaults filled in where it sets nothing. Precondition: r.slo_class,
  /// if set, indexes `classes`. O(1); no allocation.
  void apply_defaults(request& r) const noexcept {
    if (!r.slo_class || *r.slo_class >= classes.size()) return;
    const slo_class& c = classes[*r.slo_class];
    if (!r.ttft_target) r.ttft_target = c.ttft;
    if (!r.tpot_target) r.tpot_target = c.tpot;
    if (!r.time_budget) r.time_budget = c.time_budget;
  }

  /// Whether relegation refuses `r` rather than demoting it.
  [[nodiscard]] bool sheds(const request& r) const noexcept {
    return relegation == relegation_mode::shed_sheddable && r.slo_class &&
           *r.slo_class < classes.size() && classes[*r.slo_class].sheddable;
  }
};

}  // namespace rtlm

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

#include "rtlm/detail/validate.hpp"
#include "rtlm/sim/simulated_backend.hpp"

namespace rtlm::sim {

RTLM_INLINE step_noise noise_of(const profile& measured) {
  step_noise noise;
  for (const profile_point& p : measured.points) {
    if (p.measurements.size() < 2) continue;  // one repeat says nothing about noise
    const double median = p.median().count();
    if (!(median > 0.0)) continue;
    std::vector<double>& into = p.phase == step_phase::decode ? noise.decode : noise.prefill;
    for (const seconds m : p.measurements) into.push_back(m.count() / median);
  }
  return noise;
}

RTLM_INLINE simulated_backend::simulated_backend(simulated_backend_config config,
                                                 const step_time_estimator& estimator)
    : config_(std::move(config)), estimator_(&estimator), rng_(config_.seed) {
  rtlm::detail::require_non_negative_finite("simulated_backend_config.swap_seconds_per_token",
                                            config_.swap_seconds_per_token);
  for (const double f : config_.noise.prefill) {
    rtlm::detail::require_positive_finite("simulated_backend_config.noise.prefill", f);
  }
  for (const double f : config_.noise.decode) {
    rtlm::detail::require_positive_finite("simulated_backend_config.noise.decode", f);
  }
}

RTLM_INLINE void simulated_backend::set_output_length(request_id id, tokens length) {
  rtlm::detail::require(length.count() >= 1, "output_length", length, "must be >= 1");
  output_[id] = length;
  generated_[id] = tokens(0);
}

RTLM_INLINE double simulated_backend::draw(const std::vector<double>& factors) noexcept {
  if (factors.empty()) return 1.0;
  // SplitMix64: the same stream on every platform (std distributions are not portable).
  rng_ += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = rng_;
  z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
  z ^= z >> 31U;
  return factors[static_cast<std::size_t>(z % factors.size())];
}

RTLM_INLINE void simulated_backend::run_step(const step_plan& plan, step_result& result) {
  double swap_tokens = 0.0;
  for (const request_id id : plan.releases) {
    output_.erase(id);
    generated_.erase(id);
  }
  double prefill = 0.0;
  const auto produce = [&](request_id id) {
    const auto out = output_.find(id);
    if (out == output_.end()) {
      throw std::logic_error(fmt::format("simulated_backend: request {} has no output length", id));
    }
    tokens& made = generated_[id];
    made += tokens(1);
    result.outcomes.push_back({.id = id, .generated = tokens(1), .finished = made >= out->second});
  };
  for (const prefill_assignment& p : plan.prefills) {
    prefill += estimator_->prefill_time(p.new_tokens, p.cached_tokens).count();
    if (p.final_chunk) {
      produce(p.id);
    } else {
      result.outcomes.push_back({.id = p.id, .generated = tokens(0), .finished = false});
    }
  }
  kv_.clear();
  for (const decode_assignment& d : plan.decodes) {
    kv_.push_back(d.kv_length);
    produce(d.id);
  }
  for (const preemption& p : plan.preemptions) {
    if (p.mode == preemption_mode::swap) swap_tokens += 1.0;  // counted per request below
  }
  // Swaps move a request's whole KV; the plan carries its length only for decodes, so a swap
  // is charged at the mean KV length of the step's decode set (or one token).
  double mean_kv = 1.0;
  if (!kv_.empty()) {
    double sum = 0.0;
    for (const tokens k : kv_) sum += static_cast<double>(k.count());
    mean_kv = sum / static_cast<double>(kv_.size());
  }
  swap_tokens = (swap_tokens + static_cast<double>(plan.swap_ins.size())) * mean_kv;
  const double decode = kv_.empty() ? 0.0 : estimator_->decode_time(kv_).count();
  const double noise =
      plan.prefills.empty() ? draw(config_.noise.decode) : draw(config_.noise.prefill);
  result.step_time =
      seconds((prefill + decode) * noise + swap_tokens * config_.swap_seconds_per_token);
  busy_ += result.step_time;
  ++steps_;
}

}  // namespace rtlm::sim

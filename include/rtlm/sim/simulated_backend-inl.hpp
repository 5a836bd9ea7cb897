// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
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
  rtlm::detail::require(
      config_.prefix_cache_blocks == 0 || config_.prefix_block_tokens.count() >= 1,
      "simulated_backend_config.prefix_block_tokens", config_.prefix_block_tokens,
      "must be >= 1 with a prefix cache");
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

RTLM_INLINE void simulated_backend::set_prefix_blocks(request_id id,
                                                      std::vector<std::uint32_t> blocks) {
  blocks_[id] = std::move(blocks);
}

RTLM_INLINE void simulated_backend::touch(std::uint32_t block) {
  const auto it = cache_.find(block);
  if (it != cache_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(block);
  cache_.emplace(block, lru_.begin());
  if (lru_.size() > config_.prefix_cache_blocks) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
}

RTLM_INLINE double simulated_backend::prefill_seconds(const prefill_assignment& p) {
  tokens skip{0};
  const auto blocks = blocks_.find(p.id);
  if (config_.prefix_cache_blocks > 0 && blocks != blocks_.end()) {
    if (p.computed_tokens == tokens(0)) {
      // A prefill from the start (a recompute's too) looks up the leading run of cached blocks.
      std::size_t hit = 0;
      while (hit < blocks->second.size() && cache_.contains(blocks->second[hit])) ++hit;
      cached_[p.id] = tokens(static_cast<tokens::rep>(hit) * config_.prefix_block_tokens.count());
    }
    if (const auto cached = cached_.find(p.id); cached != cached_.end()) {
      skip = std::clamp(cached->second - p.computed_tokens, tokens(0), p.new_tokens);
      // The prompt's last token is computed whatever is cached: its logits give the first
      // output token.
      if (p.final_chunk) skip = std::max(std::min(skip, p.new_tokens - tokens(1)), tokens(0));
    }
    if (p.final_chunk) {
      for (const std::uint32_t b : blocks->second) touch(b);
      cached_.erase(p.id);
    }
  }
  cache_hits_ += skip;
  return estimator_->prefill_time(p.new_tokens - skip, p.computed_tokens + skip).count();
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
  for (const request_id id : plan.releases) {
    output_.erase(id);
    generated_.erase(id);
    kv_held_.erase(id);
    blocks_.erase(id);
    cached_.erase(id);
  }
  // A swap moves the request's whole KV, as long as it was when the request last ran; swapped-out
  // KV keeps its length until it comes back.
  double swap_tokens = 0.0;
  const auto held = [&](request_id id) {
    const auto it = kv_held_.find(id);
    return it == kv_held_.end() ? 0.0 : static_cast<double>(it->second.count());
  };
  for (const preemption& p : plan.preemptions) {
    if (p.mode == preemption_mode::swap) {
      swap_tokens += held(p.id);
    } else {
      kv_held_.erase(p.id);  // dropped; the recompute prefills it again
    }
  }
  for (const request_id id : plan.swap_ins) swap_tokens += held(id);
  // An eviction keeps `kept_tokens` of the prompt; the KV also holds every generated token but
  // the last (whose entry its next decode writes).
  for (const kv_eviction& e : plan.evictions) {
    const auto made = generated_.find(e.id);
    const tokens decoded = made == generated_.end() ? tokens(0) : made->second - tokens(1);
    kv_held_[e.id] = e.kept_tokens + std::max(decoded, tokens(0));
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
    prefill += prefill_seconds(p);
    kv_held_[p.id] = p.computed_tokens + p.new_tokens;
    if (p.final_chunk) {
      produce(p.id);
    } else {
      result.outcomes.push_back({.id = p.id, .generated = tokens(0), .finished = false});
    }
  }
  kv_.clear();
  for (const decode_assignment& d : plan.decodes) {
    kv_.push_back(d.kv_length);
    kv_held_[d.id] = d.kv_length + tokens(1);
    produce(d.id);
  }
  const double decode = kv_.empty() ? 0.0 : estimator_->decode_time(kv_).count();
  const double noise =
      plan.prefills.empty() ? draw(config_.noise.decode) : draw(config_.noise.prefill);
  // Swaps copy over their own link (a separate CUDA stream) while the step computes: the step
  // takes the longer of the two.
  result.step_time =
      seconds(std::max((prefill + decode) * noise, swap_tokens * config_.swap_seconds_per_token));
  busy_ += result.step_time;
  ++steps_;
}

}  // namespace rtlm::sim

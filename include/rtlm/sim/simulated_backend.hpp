// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "rtlm/backend/model_backend.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/estimate/profile.hpp"
#include "rtlm/estimate/step_time_estimator.hpp"

namespace rtlm::sim {

/// Run-to-run step-time noise: factors (measured / median) drawn per step, separately for steps
/// with a prefill and pure decode steps. Empty lists mean no noise.
struct step_noise {
  std::vector<double> prefill;
  std::vector<double> decode;
};

/// The noise a profile measured: every repeat of a point over that point's median, prefill
/// points into `prefill`, decode points into `decode`.
[[nodiscard]] step_noise noise_of(const profile& measured);

/// Settings of a simulated_backend. Aggregate.
struct simulated_backend_config {
  backend_capabilities capabilities;
  /// Seconds to move one token's KV between device and host memory (swap out or in). A step's
  /// swaps, times their KV lengths, overlap its compute: the step takes the longer of the two.
  double swap_seconds_per_token = 0.0;
  step_noise noise;
  std::uint64_t seed = 1;
  /// Prefix blocks the engine's prefix cache keeps (least recently used go first); 0: no prefix
  /// cache. See simulated_backend::set_prefix_blocks().
  std::size_t prefix_cache_blocks = 0;
  /// Prompt tokens per prefix block, >= 1 with a prefix cache.
  tokens prefix_block_tokens{512};
};

/// A model_backend with no model: a discrete-event simulator's GPU or CPU. A step takes the
/// estimator's time for the plan (its prefills, then one decode step over the decode set) times
/// a noise factor drawn from the profile's measured run-to-run deviations, or its swaps' copy
/// time where that is longer.
/// Each request finishes when it has produced its true output length (set_output_length()
/// before the request's first step). Deterministic for a given seed and call sequence.
/// Not thread-safe, like every backend.
class simulated_backend final : public model_backend {
 public:
  /// `estimator` must outlive the backend.
  simulated_backend(simulated_backend_config config, const step_time_estimator& estimator);

  [[nodiscard]] const backend_capabilities& capabilities() const noexcept override {
    return config_.capabilities;
  }

  /// The true output length of request `id`.
  void set_output_length(request_id id, tokens length);
  /// The hashes of request `id`'s prompt blocks, in prompt order. With a prefix cache, a prefill
  /// from the start of the prompt skips the leading blocks the cache holds (they cost no
  /// compute, as a cache hit in vLLM), and the prompt's blocks enter the cache when its last
  /// chunk runs.
  void set_prefix_blocks(request_id id, std::vector<std::uint32_t> blocks);
  /// Prompt tokens served from the prefix cache so far.
  [[nodiscard]] tokens cached_prefill_tokens() const noexcept { return cache_hits_; }

  /// Total simulated seconds this backend has spent in steps.
  [[nodiscard]] seconds busy_time() const noexcept { return busy_; }
  /// Steps run.
  [[nodiscard]] std::uint64_t steps() const noexcept { return steps_; }

 private:
  void run_step(const step_plan& plan, step_result& result) override;
  double draw(const std::vector<double>& factors) noexcept;
  // The prefill time of `p`, less what the prefix cache serves.
  double prefill_seconds(const prefill_assignment& p);
  // Marks `block` most recently used, inserting it (and evicting the least recent) if absent.
  void touch(std::uint32_t block);

  simulated_backend_config config_;
  const step_time_estimator* estimator_;
  std::unordered_map<request_id, tokens> output_;     // true output length
  std::unordered_map<request_id, tokens> generated_;  // produced so far
  std::unordered_map<request_id, tokens> kv_held_;    // KV entries, as of the request's last step
  std::vector<tokens> kv_;                            // scratch: the decode set's KV lengths
  std::unordered_map<request_id, std::vector<std::uint32_t>> blocks_;  // prompt block hashes
  std::unordered_map<request_id, tokens> cached_;  // prompt tokens the cache serves this prefill
  std::list<std::uint32_t> lru_;                   // cached blocks, most recent first
  std::unordered_map<std::uint32_t, std::list<std::uint32_t>::iterator> cache_;
  tokens cache_hits_{0};
  std::uint64_t rng_;
  seconds busy_{0};
  std::uint64_t steps_ = 0;
};

}  // namespace rtlm::sim

#ifdef RTLM_HEADER_ONLY
#include "rtlm/sim/simulated_backend-inl.hpp"
#endif

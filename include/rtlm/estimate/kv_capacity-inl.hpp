// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/kv_capacity.hpp"

namespace rtlm {

RTLM_INLINE kv_cache_plan plan_kv_cache(const model_shape& shape, const hardware_config& gpu,
                                        const kv_cache_config& config) {
  using detail::require;
  const double u = config.gpu_memory_utilization;
  require(std::isfinite(u) && u > 0.0 && u <= 1.0, "kv_cache_config.gpu_memory_utilization", u,
          "must be in (0, 1]");
  require(config.max_batched_tokens.count() >= 1, "kv_cache_config.max_batched_tokens",
          config.max_batched_tokens.count(), "must be at least 1");
  require(config.max_sequences >= 1, "kv_cache_config.max_sequences", config.max_sequences,
          "must be at least 1");
  require(config.block_size.count() >= 1, "kv_cache_config.block_size", config.block_size.count(),
          "must be at least 1");
  detail::require_non_negative_finite("kv_cache_config.overhead_bytes", config.overhead_bytes);
  require(std::isfinite(gpu.memory_capacity_bytes) && gpu.memory_capacity_bytes > 0.0,
          "hardware_config.memory_capacity_bytes", gpu.memory_capacity_bytes,
          fmt::format("must be a finite number > 0 to size a KV cache on '{}' (0 means unknown)",
                      gpu.name));

  const model_config& c = shape.config();
  const int p = c.tensor_parallel;
  const double h = c.hidden_size;
  const double vocab_per_gpu = static_cast<double>(c.vocab_size) / p;
  // The GPU's share of the weights: what a step reads, plus the embedding table (split over the
  // GPUs as the LM head is), which a step only gathers rows of but which occupies memory.
  const double weights = shape.weight_bytes_per_gpu() + vocab_per_gpu * h * c.bytes_per_weight;

  // One layer's live activations for T tokens in 16-bit (the residual stream and its normalised
  // copy, the QKV output, the MLP's intermediates), and fp32 logits for S sequences.
  // model_shape checked that P divides the heads and the FFN (or the KV heads divide P: each
  // GPU then holds one KV head), so these quotients are whole.
  const auto gpus = static_cast<double>(p);
  const double q = static_cast<double>(c.attention_heads) / gpus * c.head_dim;
  const double kv = std::max(1.0, static_cast<double>(c.kv_heads) / gpus) * c.head_dim;
  const double f = static_cast<double>(c.ffn_size) / gpus;
  const double mlp_intermediates = c.mlp == mlp_kind::gated ? 3.0 : 2.0;
  const double per_token = (2.0 * h + q + 2.0 * kv + mlp_intermediates * f) * 2.0;
  const double activations = static_cast<double>(config.max_batched_tokens.count()) * per_token +
                             config.max_sequences * vocab_per_gpu * 4.0;

  kv_cache_plan plan;
  plan.usable_bytes = gpu.memory_capacity_bytes * u;
  plan.weight_bytes = weights;
  plan.activation_reserve_bytes = activations;
  plan.overhead_bytes = config.overhead_bytes;
  plan.kv_cache_bytes = plan.usable_bytes - weights - activations - config.overhead_bytes;
  plan.kv_bytes_per_token = shape.kv_bytes_per_token();
  const double block_bytes =
      plan.kv_bytes_per_token * static_cast<double>(config.block_size.count());
  const double blocks =
      plan.kv_cache_bytes > 0.0 ? std::floor(plan.kv_cache_bytes / block_bytes) : 0.0;
  if (blocks < 1.0) {
    throw error(
        fmt::format("model '{}' on '{}': tensor_parallel", c.name, gpu.name), std::to_string(p),
        fmt::format("leaves no room for a KV block: {:.4g} GB of weights per GPU, a {:.4g} GB "
                    "activation reserve and {:.4g} GB of overhead against {:.4g} GB usable "
                    "({} of {:.4g} GB); raise tensor_parallel or gpu_memory_utilization",
                    weights / 1e9, activations / 1e9, config.overhead_bytes / 1e9,
                    plan.usable_bytes / 1e9, u, gpu.memory_capacity_bytes / 1e9));
  }
  plan.blocks = static_cast<std::int64_t>(blocks);
  plan.capacity = tokens(static_cast<tokens::rep>(plan.blocks) * config.block_size.count());
  return plan;
}

RTLM_INLINE tokens kv_cache_capacity(const model_shape& shape, const hardware_config& gpu,
                                     double gpu_memory_utilization) {
  return plan_kv_cache(shape, gpu, {.gpu_memory_utilization = gpu_memory_utilization}).capacity;
}

}  // namespace rtlm

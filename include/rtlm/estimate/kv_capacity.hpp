// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"

namespace rtlm {

/// How an engine sizes its KV cache from GPU memory, as vLLM does. Aggregate; plan_kv_cache()
/// validates it.
struct kv_cache_config {
  /// Fraction of the device memory the engine may take (vLLM's gpu_memory_utilization), in (0, 1].
  double gpu_memory_utilization = 0.9;
  /// Tokens of the largest forward pass the engine runs (vLLM's max_num_batched_tokens): the
  /// activation reserve is sized for it. At least 1.
  tokens max_batched_tokens{8192};
  /// Sequences one step samples from (vLLM's max_num_seqs): their fp32 logits are reserved too.
  /// At least 1.
  int max_sequences = 256;
  /// Tokens per KV block; the capacity is a whole number of blocks. At least 1.
  tokens block_size{16};
  /// Anything else the engine holds besides weights, activations and the cache (CUDA graphs,
  /// communication buffers), in bytes; finite and >= 0.
  double overhead_bytes = 0;
};

/// Where one GPU's memory goes, in bytes, and the KV-cache capacity it leaves. Plain data.
struct kv_cache_plan {
  double usable_bytes = 0;              ///< memory_capacity_bytes x gpu_memory_utilization
  double weight_bytes = 0;              ///< the GPU's share of the weights, embedding included
  double activation_reserve_bytes = 0;  ///< peak activations and logits (kv_cache_config)
  double overhead_bytes = 0;            ///< kv_cache_config::overhead_bytes
  double kv_cache_bytes = 0;            ///< what is left for the cache
  double kv_bytes_per_token = 0;        ///< one token's KV on this GPU (model_shape)
  std::int64_t blocks = 0;              ///< whole KV blocks that fit in kv_cache_bytes
  tokens capacity;                      ///< blocks x block_size: tokens the cache holds
};

/// Sizes one GPU's KV cache as vLLM does: the device memory times gpu_memory_utilization, less
/// the GPU's share of the weights at the shape's tensor-parallel degree, less an activation
/// reserve, divided into KV blocks. Under tensor parallelism every GPU holds its share of every
/// token's KV, so the capacity per GPU is the capacity of the whole model replica.
///
/// vLLM measures its reserve by profiling one forward pass of max_num_batched_tokens; rtlm
/// computes it instead, as the largest activations one layer holds for that many tokens plus
/// the logits of max_sequences sequences:
///
///     reserve = T (2 h + q + 2 kv + m f) x 2 bytes + S (vocab / P) x 4 bytes + overhead
///
/// with T = max_batched_tokens, S = max_sequences, and per GPU q = (heads / P) head_dim,
/// kv = max(1, kv_heads / P) head_dim, f = ffn / P, m = 3 for a gated MLP (gate and up outputs
/// and the activation) or 2 for a plain one: the residual stream and its normalised copy, the
/// QKV output, and the MLP's intermediates, in 16-bit activations. For Llama-3.1-8B at 8,192
/// tokens this is 1.07 GB. A measured reserve also holds what this misses (the sampler's
/// temporaries, allocator slack): add it as overhead_bytes where it is known.
///
/// O(1); allocates only for an error message; thread-safe. Throws rtlm::error naming
/// `kv_cache_config.<field>` and its value for a utilisation outside (0, 1] or another field
/// out of range, `hardware_config.memory_capacity_bytes` when it is not > 0 (0 means unknown),
/// and, when the weights and the reserve leave no room for one block, a field naming the model
/// and the GPU with the tensor-parallel degree as the value, e.g.
/// `rtlm: model 'llama-3.1-70b' on 'NVIDIA H100 SXM5 80GB (bf16 dense)': tensor_parallel = 1:
/// ...`.
///
/// @code
/// rtlm::model_config c = *rtlm::models::by_name("llama-3.1-70b");
/// c.tensor_parallel = 4;
/// const rtlm::kv_cache_plan plan =
///     rtlm::plan_kv_cache(rtlm::model_shape(c), rtlm::accelerators::h100_sxm_bf16());
/// // plan.capacity: 439,760 tokens per GPU, and so per 4-GPU replica
/// @endcode
[[nodiscard]] kv_cache_plan plan_kv_cache(const model_shape& shape, const hardware_config& gpu,
                                          const kv_cache_config& config = {});

/// plan_kv_cache(shape, gpu, {.gpu_memory_utilization = gpu_memory_utilization}).capacity:
/// the KV-cache capacity in tokens, with the default reserve. Throws as plan_kv_cache does.
[[nodiscard]] tokens kv_cache_capacity(const model_shape& shape, const hardware_config& gpu,
                                       double gpu_memory_utilization = 0.9);

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/kv_capacity-inl.hpp"
#endif

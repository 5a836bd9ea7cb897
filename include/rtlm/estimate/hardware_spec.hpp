// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/config.hpp"
#include "rtlm/estimate/model_shape.hpp"

namespace rtlm {

/// An accelerator's two roofline ceilings. Aggregate: build it with designated initializers and
/// hand it to hardware_spec, which validates it.
struct hardware_config {
  std::string name;                              ///< e.g. "H100 SXM (bf16 dense)"
  double peak_flops_per_second = 0;              ///< for the data type the model runs in
  double memory_bandwidth_bytes_per_second = 0;  ///< device memory bandwidth
  double memory_capacity_bytes = 0;              ///< device memory; 0 when unknown
  int multiprocessors = 0;  ///< streaming multiprocessors (SMs), which decode attention's
                            ///< split-KV heuristic fills; 0 when unknown (0..100000)
};

/// A roofline time: how long a step takes if it runs at the compute ceiling or at the memory
/// ceiling, whichever binds. Plain data.
struct roofline_estimate {
  seconds compute_time{0};  ///< FLOPs / peak FLOP/s
  seconds memory_time{0};   ///< bytes / bandwidth

  /// The roofline time: the larger of the two.
  [[nodiscard]] constexpr seconds time() const noexcept {
    return compute_time > memory_time ? compute_time : memory_time;
  }
  /// Whether moving bytes, not arithmetic, bounds the step.
  [[nodiscard]] constexpr bool memory_bound() const noexcept { return memory_time >= compute_time; }
};

/// A validated hardware_config. Immutable after construction; members are const, O(1),
/// allocation-free and thread-safe.
class hardware_spec {
 public:
  /// Validates `config`; throws rtlm::error naming the field when a rate is zero, negative,
  /// NaN or infinite, the capacity is negative, NaN or infinite, or the multiprocessors are
  /// outside 0..100000.
  explicit hardware_spec(hardware_config config);

  /// The validated configuration.
  [[nodiscard]] const hardware_config& config() const noexcept { return config_; }

  /// The roofline time of `work` on this accelerator (a lower bound on the real time).
  [[nodiscard]] roofline_estimate roofline(const step_work& work) const noexcept;

 private:
  hardware_config config_;
};

/// Published ceilings and memory of common accelerators (dense, no sparsity). Memory is the
/// datasheet's decimal capacity; CUDA reports a little more or less (an H100 80GB shows
/// 81,559 MiB in nvidia-smi), so a host that sizes its KV cache exactly should set
/// memory_capacity_bytes to what the device reports.
namespace accelerators {
/// NVIDIA H100 SXM5 80 GB: 989 TFLOP/s bf16, 3.35 TB/s HBM3, 132 SMs.
hardware_config h100_sxm_bf16();
/// NVIDIA H200 SXM 141 GB: 989 TFLOP/s bf16, 4.8 TB/s HBM3e, 132 SMs.
hardware_config h200_sxm_bf16();
/// NVIDIA A100 SXM 80 GB: 312 TFLOP/s bf16, 2.04 TB/s HBM2e, 108 SMs.
hardware_config a100_sxm_80gb_bf16();
/// NVIDIA A100 SXM 40 GB: 312 TFLOP/s bf16, 1.555 TB/s HBM2, 108 SMs.
hardware_config a100_sxm_40gb_bf16();
/// NVIDIA L4 24 GB: 121 TFLOP/s bf16, 300 GB/s GDDR6, 58 SMs.
hardware_config l4_bf16();
/// The accelerator named `name`: "h100", "h200", "a100-80gb", "a100-40gb" or "l4" (exact,
/// lower case, as command lines and profile file names spell them); none for another name.
/// Allocates the name; thread-safe.
std::optional<hardware_config> by_name(std::string_view name);
}  // namespace accelerators

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/estimate/hardware_spec-inl.hpp"
#endif

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <utility>

#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/hardware_spec.hpp"

namespace rtlm {

RTLM_INLINE hardware_spec::hardware_spec(hardware_config config) : config_(std::move(config)) {
  detail::require_positive_finite("hardware_config.peak_flops_per_second",
                                  config_.peak_flops_per_second);
  detail::require_positive_finite("hardware_config.memory_bandwidth_bytes_per_second",
                                  config_.memory_bandwidth_bytes_per_second);
  detail::require_non_negative_finite("hardware_config.memory_capacity_bytes",
                                      config_.memory_capacity_bytes);
  detail::require(config_.multiprocessors >= 0 && config_.multiprocessors <= 100000,
                  "hardware_config.multiprocessors", config_.multiprocessors,
                  "must be in 0..100000");
}

RTLM_INLINE roofline_estimate hardware_spec::roofline(const step_work& work) const noexcept {
  return {.compute_time = seconds(work.flops() / config_.peak_flops_per_second),
          .memory_time = seconds(work.bytes() / config_.memory_bandwidth_bytes_per_second)};
}

namespace accelerators {

RTLM_INLINE hardware_config h100_sxm_bf16() {
  return {.name = "NVIDIA H100 SXM5 80GB (bf16 dense)",
          .peak_flops_per_second = 989.4e12,
          .memory_bandwidth_bytes_per_second = 3.35e12,
          .memory_capacity_bytes = 80e9,
          .multiprocessors = 132};
}

RTLM_INLINE hardware_config h200_sxm_bf16() {
  return {.name = "NVIDIA H200 SXM 141GB (bf16 dense)",
          .peak_flops_per_second = 989.4e12,
          .memory_bandwidth_bytes_per_second = 4.8e12,
          .memory_capacity_bytes = 141e9,
          .multiprocessors = 132};
}

RTLM_INLINE hardware_config a100_sxm_80gb_bf16() {
  return {.name = "NVIDIA A100 SXM 80GB (bf16 dense)",
          .peak_flops_per_second = 312e12,
          .memory_bandwidth_bytes_per_second = 2.039e12,
          .memory_capacity_bytes = 80e9,
          .multiprocessors = 108};
}

RTLM_INLINE hardware_config a100_sxm_40gb_bf16() {
  return {.name = "NVIDIA A100 SXM 40GB (bf16 dense)",
          .peak_flops_per_second = 312e12,
          .memory_bandwidth_bytes_per_second = 1.555e12,
          .memory_capacity_bytes = 40e9,
          .multiprocessors = 108};
}

RTLM_INLINE hardware_config l4_bf16() {
  return {.name = "NVIDIA L4 24GB (bf16 dense)",
          .peak_flops_per_second = 121e12,
          .memory_bandwidth_bytes_per_second = 300e9,
          .memory_capacity_bytes = 24e9,
          .multiprocessors = 58};
}

RTLM_INLINE std::optional<hardware_config> by_name(std::string_view name) {
  if (name == "h100") return h100_sxm_bf16();
  if (name == "h200") return h200_sxm_bf16();
  if (name == "a100-80gb") return a100_sxm_80gb_bf16();
  if (name == "a100-40gb") return a100_sxm_40gb_bf16();
  if (name == "l4") return l4_bf16();
  return std::nullopt;
}

}  // namespace accelerators
}  // namespace rtlm

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "rtlm/core/error.hpp"
#include "rtlm/core/units.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/model_shape.hpp"
#include "rtlm/estimate/step_time_estimator.hpp"

namespace rtlm {

/// The all-reduce figures of the links between the GPUs of one tensor-parallel group. Aggregate;
/// tensor_parallel_estimator validates it.
struct interconnect_config {
  std::string name;  ///< e.g. "NVLink 4 (H100 SXM)"
  /// NCCL's "bus bandwidth": the per-GPU link rate a ring all-reduce reaches, so that one
  /// all-reduce of B bytes over P GPUs moves 2 (P - 1) / P x B bytes through each GPU's links.
  double bus_bandwidth_bytes_per_second = 0;
  /// The fixed cost of one all-reduce, however small (launch, synchronisation between GPUs).
  seconds all_reduce_latency{0};
};

/// Published link rates, and an assumed small-message latency.
namespace interconnects {
/// NVLink 4 between H100 SXM GPUs (HGX board, NVSwitch): 900 GB/s per GPU in both directions
/// together, 450 GB/s each way, taken as the bus bandwidth; 5 us per all-reduce, the order of
/// a one-shot all-reduce of a few kilobytes in a serving engine (an assumption, not measured
/// here). Also serves the H200, which has the same links.
inline interconnect_config nvlink_h100() {
  return {.name = "NVLink 4 (H100 SXM, 450 GB/s per direction)",
          .bus_bandwidth_bytes_per_second = 450e9,
          .all_reduce_latency = seconds(5e-6)};
}
/// NVLink 3 between A100 SXM GPUs: 600 GB/s per GPU in both directions, 300 GB/s each way; the
/// same assumed 5 us per all-reduce.
inline interconnect_config nvlink_a100() {
  return {.name = "NVLink 3 (A100 SXM, 300 GB/s per direction)",
          .bus_bandwidth_bytes_per_second = 300e9,
          .all_reduce_latency = seconds(5e-6)};
}
}  // namespace interconnects

/// Times the steps of a model split over P GPUs by tensor parallelism: the step time of one
/// GPU's shard (an estimator fitted to a profile of one shard run alone on one GPU) plus the
/// all-reduces that join the shards, modelled from the interconnect.
///
/// A step of T tokens runs 2 all-reduces per layer (after the attention output projection and
/// after the MLP's down projection, each of T x hidden activations) and one after the embedding
/// lookup (the vocabulary is split too), each of T x hidden x bytes_per_activation bytes B:
///
///     communication(T) = (2 layers + 1) x (latency + 2 (P - 1) / P x B / bus_bandwidth)
///
/// the time of a ring all-reduce. The gather of the logits (a few kilobytes per sequence) is
/// left out, and so is any overlap of communication with compute: engines run these
/// all-reduces between the kernels they join. A prefill of n tokens has T = n, a decode step
/// of b sequences T = b. At P = 1 there is no communication and this is the shard's estimator.
/// Where a host sums the times of a step's parts (each prefill chunk, then the decodes), each
/// part pays its own all-reduce latency: a slight over-estimate of a step that does both.
///
/// Bounds: the shard's calibrated relative errors, copied at construction, scale the whole
/// time (communication included).
///
/// Queries are O(batch), noexcept, allocation-free and thread-safe, as the shard's are.
///
/// @code
/// rtlm::model_config c = *rtlm::models::by_name("llama-3.1-70b");
/// c.tensor_parallel = 4;
/// const rtlm::model_shape shape(c);
/// auto shard = std::make_unique<rtlm::fitted_roofline_estimator>(rtlm::fit_roofline_estimator(
///     rtlm::step_featurizer{shape, rtlm::hardware_spec(rtlm::accelerators::h100_sxm_bf16())},
///     rtlm::load_profile_csv("h100_llama-3.1-70b-tp4-shard.csv")).estimator);
/// const rtlm::tensor_parallel_estimator tp4(std::move(shard), shape,
///                                           rtlm::interconnects::nvlink_h100());
/// const rtlm::seconds t = tp4.prefill_time(rtlm::tokens(2048), rtlm::tokens(0));
/// @endcode
class tensor_parallel_estimator final : public step_time_estimator {
 public:
  /// `shard` times one GPU's shard of `shape` at its tensor-parallel degree
  /// (shape.config().tensor_parallel); `link` joins the GPUs. Throws rtlm::error naming
  /// `tensor_parallel_estimator.shard` when it is null, `interconnect_config.<field>` for a
  /// bandwidth that is not a finite number > 0 or a latency that is not finite and >= 0, and
  /// `tensor_parallel_estimator.bytes_per_activation` when that is not a finite number > 0.
  tensor_parallel_estimator(std::unique_ptr<const step_time_estimator> shard,
                            const model_shape& shape, interconnect_config link,
                            double bytes_per_activation = 2.0)
      : shard_(std::move(shard)),
        link_(std::move(link)),
        degree_(shape.config().tensor_parallel),
        all_reduces_per_step_(2 * shape.config().layers + 1),
        bytes_per_token_(static_cast<double>(shape.config().hidden_size) * bytes_per_activation) {
    detail::require(shard_ != nullptr, "tensor_parallel_estimator.shard", "null",
                    "must be an estimator of one GPU's shard");
    detail::require_positive_finite("interconnect_config.bus_bandwidth_bytes_per_second",
                                    link_.bus_bandwidth_bytes_per_second);
    detail::require_non_negative_finite("interconnect_config.all_reduce_latency",
                                        link_.all_reduce_latency.count());
    detail::require_positive_finite("tensor_parallel_estimator.bytes_per_activation",
                                    bytes_per_activation);
    for (std::size_t r = 0; r < step_regime_count; ++r) {
      const auto regime = static_cast<step_regime>(r);
      calibrate(regime, shard_->error_bound(regime));
    }
  }

  /// The shard's time plus the all-reduces of `new_tokens` tokens.
  [[nodiscard]] seconds prefill_time(tokens new_tokens,
                                     tokens cached_tokens) const noexcept override {
    if (new_tokens.count() <= 0) return seconds(0);
    return shard_->prefill_time(new_tokens, cached_tokens) + communication_time(new_tokens);
  }
  /// The shard's time plus the all-reduces of one token per sequence.
  [[nodiscard]] seconds decode_time(std::span<const tokens> kv_lengths) const noexcept override {
    if (kv_lengths.empty()) return seconds(0);
    const tokens batch(static_cast<tokens::rep>(kv_lengths.size()));
    return shard_->decode_time(kv_lengths) + communication_time(batch);
  }

  /// The modelled time of all the all-reduces of a step of `step_tokens` tokens; 0 at P = 1 or
  /// for an empty step.
  [[nodiscard]] seconds communication_time(tokens step_tokens) const noexcept {
    if (degree_ <= 1 || step_tokens.count() <= 0) return seconds(0);
    const double bytes = static_cast<double>(step_tokens.count()) * bytes_per_token_;
    return all_reduce_time(bytes) * static_cast<double>(all_reduces_per_step_);
  }
  /// The modelled time of one ring all-reduce of `bytes` over the P GPUs: latency +
  /// 2 (P - 1) / P x bytes / bus bandwidth; 0 at P = 1.
  [[nodiscard]] seconds all_reduce_time(double bytes) const noexcept {
    if (degree_ <= 1) return seconds(0);
    const double p = degree_;
    return link_.all_reduce_latency +
           seconds(2.0 * (p - 1.0) / p * bytes / link_.bus_bandwidth_bytes_per_second);
  }

  /// The estimator of one GPU's shard (its times leave the communication out).
  [[nodiscard]] const step_time_estimator& shard() const noexcept { return *shard_; }
  /// The validated interconnect.
  [[nodiscard]] const interconnect_config& link() const noexcept { return link_; }
  /// The tensor-parallel degree P.
  [[nodiscard]] int degree() const noexcept { return degree_; }
  /// All-reduces per step: 2 per layer and 1 after the embedding.
  [[nodiscard]] int all_reduces_per_step() const noexcept { return all_reduces_per_step_; }

 private:
  std::unique_ptr<const step_time_estimator> shard_;
  interconnect_config link_;
  int degree_;
  int all_reduces_per_step_;
  double bytes_per_token_;  // hidden x bytes_per_activation: one token's share of an all-reduce
};

}  // namespace rtlm

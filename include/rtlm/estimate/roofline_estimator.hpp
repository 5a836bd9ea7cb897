// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <utility>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/hardware_spec.hpp"
#include "rtlm/estimate/model_shape.hpp"
#include "rtlm/estimate/step_time_estimator.hpp"

namespace rtlm {

/// The fractions of an accelerator's datasheet ceilings (hardware_config) that a runtime reaches:
/// a step compute-bound at efficiency e runs at e x peak FLOP/s, a memory-bound one at
/// e x peak bandwidth. Aggregate: build it with designated initializers; roofline_estimator
/// validates it.
///
/// The defaults sit a little below what this project measured for Llama-3.1-8B on an H100 SXM
/// with CUDA graphs (benchmarks/data/profiles/h100_llama-3.1-8b.csv: 0.55 to 0.58 of peak
/// FLOP/s on prefills of 2048 to 32768 tokens, 0.66 of peak bandwidth on a batch-1 decode step
/// at KV 1024), so that untuned estimates of most steps err long rather than short (not all:
/// see roofline_estimator).
struct roofline_efficiency {
  double compute = 0.5;  ///< of peak FLOP/s, in (0, 1]
  double memory = 0.6;   ///< of peak memory bandwidth, in (0, 1]

  /// Throws rtlm::error naming the field (`roofline_efficiency.compute`) and its value when an
  /// efficiency is NaN, infinite, <= 0 or > 1. O(1); allocates only when it throws.
  void validate() const {
    detail::require(compute > 0.0 && compute <= 1.0, "roofline_efficiency.compute", compute,
                    "must be in (0, 1]");
    detail::require(memory > 0.0 && memory <= 1.0, "roofline_efficiency.memory", memory,
                    "must be in (0, 1]");
  }
};

/// Two step times measured on the runtime, enough to calibrate a roofline_estimator's two
/// efficiencies: a plain prefill long enough to be compute-bound (2048 tokens or more for a
/// 7-8B model on a current GPU) and a batch-1 decode step (memory-bound). Measure each as the
/// runtime will run it (CUDA graphs or not), after a warm-up, and take the median of a few
/// repeats. Plain data.
struct roofline_measurements {
  tokens prefill_tokens;    ///< prompt length of the measured prefill (batch 1, no cache), >= 1
  seconds prefill_time{0};  ///< its measured time, > 0
  tokens decode_kv_length;  ///< KV entries before the measured batch-1 decode step, >= 1
  seconds decode_time{0};   ///< its measured time, > 0
};

/// The bring-up estimator: step times from the model shape's FLOPs and bytes on the datasheet
/// ceilings, each derated by an efficiency. A step takes
/// max(FLOPs / (compute x peak FLOP/s), bytes / (memory x peak bandwidth)), for prefills,
/// chunks and batched or mixed decode steps alike (model_shape's counting rules). It needs no
/// profile, so a host can call scheduler::add_backend() on day one: with the defaults from a
/// datasheet alone, or calibrated from two measured steps with from_measurements().
///
/// What it leaves out: fixed per-step costs (kernel launches, sampling, host work), which the
/// calibrated efficiencies absorb at the two measured sizes only; the knee between the regimes,
/// where a real step pays for moving the weights and for computing, not the larger of the two;
/// and kernel effects (GEMM tiling, attention kernels' split heuristics). On the project's H100
/// profile of Llama-3.1-8B, calibrated on a 2048-token prefill and a batch-1 decode at KV 1024,
/// its mean absolute errors are 0.9% on batch-1 decode steps, 5.8% on uniform batched ones,
/// 6.8% on plain prefills (up to 27% short at the knee, 100 to 500 tokens), 13% on chunked
/// prefills and 23% on mixed-KV batches (up to 54% short); docs/backend.md, "Bring-up without a
/// profile", compares it with a profile-fitted estimator. The scheduler's online correction
/// (online_step_correction) takes out a uniform bias live; replace it with
/// fit_roofline_estimator() on a profile once one is measured (docs/estimator.md).
///
/// Upper bounds: none. Datasheets and two points say nothing about how step times spread, so
/// every regime starts uncalibrated and prefill_upper_bound() and decode_upper_bound() are
/// +infinity at every level, the interface's "nothing promised". Plan on expected times
/// (scheduler_config::bound_level = 0, the default), or calibrate() the regimes with residuals of
/// your own measurements (relative_error_bound).
///
/// Immutable after construction except through calibrate(). Queries are O(batch), noexcept,
/// allocation-free and safe to call from many threads at once; calibrate() is not.
class roofline_estimator final : public step_time_estimator {
 public:
  /// An estimator at `efficiency` of `hardware`'s ceilings. Throws rtlm::error naming the field
  /// when `efficiency` is invalid (roofline_efficiency::validate). O(1); copies the shape's name.
  roofline_estimator(model_shape shape, hardware_spec hardware, roofline_efficiency efficiency = {})
      : shape_(std::move(shape)), hardware_(std::move(hardware)), efficiency_(efficiency) {
    efficiency_.validate();
  }

  /// The estimator whose times reproduce the two measured steps of `measured`: the memory
  /// efficiency from the decode step, the compute efficiency from the prefill. Throws rtlm::error
  /// naming the field of `measured` and its value when a length is below 1 or a time is NaN,
  /// infinite or <= 0, or when the two points contradict the roofline: a step faster than the
  /// datasheet ceiling allows (a wrong hardware spec or model shape), a prefill shorter than the
  /// memory-bound time the decode step implies (measure a longer one), or a decode step shorter
  /// than the compute-bound time the prefill implies. O(1).
  [[nodiscard]] static roofline_estimator from_measurements(model_shape shape,
                                                            hardware_spec hardware,
                                                            const roofline_measurements& measured) {
    const char* const prefill_field = "roofline_measurements.prefill_time";
    const char* const decode_field = "roofline_measurements.decode_time";
    detail::require(measured.prefill_tokens.count() >= 1, "roofline_measurements.prefill_tokens",
                    measured.prefill_tokens, "must be >= 1");
    detail::require_positive_finite(prefill_field, measured.prefill_time.count());
    detail::require(measured.decode_kv_length.count() >= 1,
                    "roofline_measurements.decode_kv_length", measured.decode_kv_length,
                    "must be >= 1");
    detail::require_positive_finite(decode_field, measured.decode_time.count());

    const tokens kv[] = {measured.decode_kv_length};  // NOLINT(*-avoid-c-arrays)
    const roofline_estimate decode = hardware.roofline(shape.decode_work(kv));
    const roofline_estimate prefill =
        hardware.roofline(shape.prefill_work(measured.prefill_tokens));
    const double td = measured.decode_time.count();
    const double tp = measured.prefill_time.count();

    // A batch-1 decode step reads every weight and gains nothing from more FLOP/s: it fixes the
    // memory efficiency.
    const double memory = decode.memory_time.count() / td;
    detail::require(memory <= 1.0, decode_field, td,
                    fmt::format("must be at least {} s, the decode step's time at the datasheet's "
                                "peak bandwidth (check the hardware spec and the model shape)",
                                decode.memory_time.count()));
    // The prefill must then be slower than its own memory-bound time, or it was not
    // compute-bound and cannot tell the compute efficiency.
    const double prefill_floor = prefill.memory_time.count() / memory;
    detail::require(tp >= prefill_floor, prefill_field, tp,
                    fmt::format("must be at least {} s, the memory-bound time the decode step "
                                "implies: measure a longer prefill (2048 tokens or more)",
                                prefill_floor));
    const double compute = prefill.compute_time.count() / tp;
    detail::require(compute <= 1.0, prefill_field, tp,
                    fmt::format("must be at least {} s, the prefill's time at the datasheet's "
                                "peak FLOP/s (check the hardware spec and the model shape)",
                                prefill.compute_time.count()));
    const double decode_floor = decode.compute_time.count() / compute;
    detail::require(td >= decode_floor, decode_field, td,
                    fmt::format("must be at least {} s, the compute-bound time the prefill "
                                "implies (the two points contradict the roofline)",
                                decode_floor));
    return {std::move(shape), std::move(hardware), {.compute = compute, .memory = memory}};
  }

  /// The model shape the FLOPs and bytes come from.
  [[nodiscard]] const model_shape& shape() const noexcept { return shape_; }
  /// The datasheet ceilings.
  [[nodiscard]] const hardware_spec& hardware() const noexcept { return hardware_; }
  /// The efficiencies in use (after from_measurements(), the calibrated ones).
  [[nodiscard]] const roofline_efficiency& efficiency() const noexcept { return efficiency_; }

  /// Expected time of prefilling `new_tokens` on top of `cached_tokens`; 0 for no new tokens.
  /// O(1); no allocation.
  [[nodiscard]] seconds prefill_time(tokens new_tokens,
                                     tokens cached_tokens) const noexcept override {
    if (new_tokens.count() <= 0) return seconds(0);
    return time_of(shape_.prefill_work(new_tokens, cached_tokens));
  }

  /// Expected time of one decode step over `kv_lengths`; 0 for an empty batch. O(batch); no
  /// allocation.
  [[nodiscard]] seconds decode_time(std::span<const tokens> kv_lengths) const noexcept override {
    if (kv_lengths.empty()) return seconds(0);
    return time_of(shape_.decode_work(kv_lengths));
  }

  /// Expected time of any step, prefill chunks and decodes in one forward pass (the weights read
  /// once); 0 for an empty step. O(batch); no allocation.
  [[nodiscard]] seconds step_time(std::span<const sequence_step> batch) const noexcept {
    if (batch.empty()) return seconds(0);
    return time_of(shape_.work(batch));
  }

 private:
  [[nodiscard]] seconds time_of(const step_work& work) const noexcept {
    const roofline_estimate r = hardware_.roofline(work);
    return std::max(r.compute_time / efficiency_.compute, r.memory_time / efficiency_.memory);
  }

  model_shape shape_;
  hardware_spec hardware_;
  roofline_efficiency efficiency_;
};

}  // namespace rtlm

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rtlm/core/units.hpp"
#include "rtlm/detail/validate.hpp"

namespace rtlm {

/// Fairness between tenants (request::tenant) by virtual token counters. Aggregate.
struct fairness_config {
  /// The number of tenants, ids 0..tenants-1; 0 turns fairness off. At most max_tenants.
  std::size_t tenants = 0;
  /// Virtual tokens one prompt token served costs (VTC's w_p). Finite, >= 0.
  double prefill_weight = 1.0;
  /// Virtual tokens one output token served costs (VTC's w_q; its paper uses 2: a decode token
  /// costs more GPU time per token than a prefill token). Finite, >= 0.
  double decode_weight = 2.0;
  /// Each tenant's share weight (empty: all 1): a tenant of weight w is served w times the
  /// service of a tenant of weight 1 while both are backlogged. Finite, > 0; empty or one per
  /// tenant.
  std::vector<double> tenant_weights;

  /// The most tenants: each has its own heap in every backend's waiting queue.
  static constexpr std::size_t max_tenants = 64;

  [[nodiscard]] bool enabled() const noexcept { return tenants > 0; }

  /// Throws rtlm::error naming the field (`scheduler_config.fairness.tenant_weights[2]`, ...)
  /// and the value when one is out of range. O(tenants).
  void validate() const {
    detail::require(tenants <= max_tenants, "scheduler_config.fairness.tenants", tenants,
                    "must be in 0..64 (0: fairness off)");
    detail::require(std::isfinite(prefill_weight) && prefill_weight >= 0.0,
                    "scheduler_config.fairness.prefill_weight", prefill_weight,
                    "must be finite and >= 0");
    detail::require(std::isfinite(decode_weight) && decode_weight >= 0.0,
                    "scheduler_config.fairness.decode_weight", decode_weight,
                    "must be finite and >= 0");
    detail::require(tenant_weights.empty() || tenant_weights.size() == tenants,
                    "scheduler_config.fairness.tenant_weights", tenant_weights.size(),
                    "must be empty or hold one weight per tenant");
    for (std::size_t i = 0; i < tenant_weights.size(); ++i) {
      detail::require(std::isfinite(tenant_weights[i]) && tenant_weights[i] > 0.0,
                      "scheduler_config.fairness.tenant_weights[" + std::to_string(i) + "]",
                      tenant_weights[i], "must be finite and > 0");
    }
  }
};

/// The virtual token counters of VTC (Sheng et al., "Fairness in Serving Large Language
/// Models", OSDI 2024): each tenant's service so far, in weighted tokens over its share weight.
/// The waiting queue admits from the backlogged tenant with the least counter; a tenant that
/// becomes backlogged is lifted to the least backlogged counter (or the last served tenant's),
/// so that idling banks no credit. VTC bounds the service difference between two backlogged
/// tenants by a constant (a request's largest weighted cost), whatever the demand skew.
/// O(1) per call; no allocation after construction. Not thread-safe.
class virtual_token_counter {
 public:
  /// Counters for `config.tenants` tenants, all 0. Precondition: config.validate() passed.
  explicit virtual_token_counter(const fairness_config& config)
      : prefill_weight_(config.prefill_weight),
        decode_weight_(config.decode_weight),
        counters_(config.tenants, 0.0),
        scale_(config.tenants, 1.0) {
    for (std::size_t i = 0; i < config.tenant_weights.size() && i < scale_.size(); ++i) {
      scale_[i] = 1.0 / config.tenant_weights[i];
    }
  }

  /// Tenant `tenant`'s counter; 0 for a tenant out of range.
  [[nodiscard]] double counter(std::size_t tenant) const noexcept {
    return tenant < counters_.size() ? counters_[tenant] : 0.0;
  }
  /// The number of tenants counted.
  [[nodiscard]] std::size_t tenants() const noexcept { return counters_.size(); }

  /// Counts `n` prompt tokens served to `tenant` (ignored out of range).
  void charge_prefill(std::size_t tenant, tokens n) noexcept {
    charge(tenant, prefill_weight_ * static_cast<double>(n.count()));
  }
  /// Counts `n` output tokens served to `tenant` (ignored out of range).
  void charge_decode(std::size_t tenant, tokens n) noexcept {
    charge(tenant, decode_weight_ * static_cast<double>(n.count()));
  }
  /// Raises `tenant`'s counter to at least `floor`: it has just become backlogged.
  void lift(std::size_t tenant, double floor) noexcept {
    if (tenant < counters_.size()) counters_[tenant] = std::max(counters_[tenant], floor);
  }
  /// The counter of the tenant most recently charged (VTC's lift when no tenant is
  /// backlogged).
  [[nodiscard]] double last_served() const noexcept { return last_served_; }

 private:
  void charge(std::size_t tenant, double cost) noexcept {
    if (tenant >= counters_.size()) return;
    counters_[tenant] += cost * scale_[tenant];
    last_served_ = counters_[tenant];
  }

  double prefill_weight_;
  double decode_weight_;
  std::vector<double> counters_;
  std::vector<double> scale_;  // 1 / the tenant's weight
  double last_served_ = 0.0;
};

}  // namespace rtlm

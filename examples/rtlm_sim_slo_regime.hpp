// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm-sim --suite's regime R5: service-level objectives by class and fairness between tenants
// (docs/simulator.md, "R5: objectives and tenants").

#pragma once

#include <functional>
#include <string>

#include "rtlm_sim_flags.hpp"

namespace rtlm_sim {

/// The class mix R5 runs unless --classes names another.
inline constexpr const char* r5_classes = "interactive:0.3:ttft=0.5:tpot=0.05,batch:0.7:budget=600";
/// The tenants' demand shares R5 runs unless --tenants names others: one heavy tenant with ten
/// times the demand of each of three light ones.
inline constexpr const char* r5_tenants = "10,1,1,1";

/// Runs R5 over `base` (its seeds, data and --classes/--tenants): the conversation trace with
/// the class mix on R0's and R1's servers at true load 1.0, vllm_fcfs, edf, rtlm's SLO
/// scheduling (least laxity on TTFT slack, steps planned to the objectives, relegation) and its
/// oracle; each class's attainment and throughput, DistServe goodput, refusals, and the
/// sustainable rate at 10% of requests missing their objectives; then the tenants' split at
/// true loads 1.0 and 1.5 with and without VTC, each tenant's service over its max-min fair
/// share and Jain's index. Prints the tables and hands every figure to `put` as a JSON key
/// `R5.<server>.<policy>.<metric>`. Throws what the runs throw.
void run_slo_regime(const options& base,
                    const std::function<void(const std::string&, double)>& put);

}  // namespace rtlm_sim

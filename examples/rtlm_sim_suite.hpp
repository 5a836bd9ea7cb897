// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm-sim --suite: the regimes where scheduling does and does not matter (docs/simulator.md,
// "The suite").

#pragma once

#include "rtlm_sim_flags.hpp"

namespace rtlm_sim {

/// Runs the regimes R0 to R4 with the options' policies over their seeds (5 unless --seeds was
/// given): a table and a latency-CDF plot per regime, the sustainable request rates, a summary
/// table, and with --json the keys `<regime>.<policy>.<metric>`; then R5, objectives by class
/// and tenants (run_slo_regime). Returns the exit status.
int run_suite(const options& given);

}  // namespace rtlm_sim

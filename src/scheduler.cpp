// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#ifndef RTLM_COMPILED_LIB
#error "src/ is compiled only into rtlm::rtlm"
#endif

// The run-time-policy scheduler, instantiated once for the compiled library.
#include "rtlm/schedule/scheduler.hpp"

template class rtlm::basic_scheduler<rtlm::any_scheduling_policy>;

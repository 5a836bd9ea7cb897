// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#ifndef RTLM_COMPILED_LIB
#error "src/ is compiled only into rtlm::rtlm and rtlm::sim"
#endif

#include "rtlm/sim/rank_correlation-inl.hpp"

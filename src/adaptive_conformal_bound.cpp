// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#ifndef RTLM_COMPILED_LIB
#error "src/ is compiled only into rtlm::rtlm"
#endif

#include "rtlm/predict/adaptive_conformal_bound-inl.hpp"

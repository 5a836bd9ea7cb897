// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <utility>

#include "rtlm/core/error.hpp"

namespace rtlm {

RTLM_INLINE error::error(std::string field, std::string value, std::string_view requirement)
    : std::invalid_argument(fmt::format("rtlm: {} = {}: {}", field, value, requirement)),
      field_(std::move(field)),
      value_(std::move(value)),
      requirement_(requirement) {}

}  // namespace rtlm

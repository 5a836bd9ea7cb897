// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "rtlm/core/error.hpp"
#include "rtlm/detail/printable.hpp"

namespace rtlm {

// Every part is made printable here, once for every thrower: a file's bytes (a control
// character, a byte-order mark, a 30 MB line) reach a message escaped and cut, never raw.
RTLM_INLINE error::error(const std::string& field, const std::string& value,
                         std::string_view requirement)
    : std::invalid_argument(
          fmt::format("rtlm: {} = {}: {}", detail::printable(field, detail::max_error_field_chars),
                      detail::printable(value, detail::max_error_value_chars),
                      detail::printable(requirement, detail::max_error_requirement_chars))),
      field_(detail::printable(field, detail::max_error_field_chars)),
      value_(detail::printable(value, detail::max_error_value_chars)),
      requirement_(detail::printable(requirement, detail::max_error_requirement_chars)) {}

}  // namespace rtlm

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "rtlm/detail/config.hpp"

namespace rtlm {

/// rtlm's exception for bad input: a configuration field, a function argument or a line of a
/// file. The message names the field and its value, for example
/// `rtlm: model_config.layers = 0: must be at least 1`. Thrown at construction or load time,
/// never from the per-step path. Immutable after construction; thread-safe to read.
class error : public std::invalid_argument {
 public:
  /// `field` names what was wrong (`model_config.layers`, `trace.csv:12 ContextTokens`),
  /// `value` is its offending value as text, `requirement` says what a valid value looks like.
  /// Each is stored printable (`detail::printable`): control characters, malformed UTF-8 and
  /// invisible code points become `\xNN`, and a value longer than 256 characters is cut and ends
  /// in `...` (a field after 512, a requirement after 1024), so a file's bytes never reach a
  /// message raw.
  error(const std::string& field, const std::string& value, std::string_view requirement);

  /// The name of the bad field, e.g. `hardware_config.memory_bandwidth_bytes_per_second`.
  [[nodiscard]] const std::string& field() const noexcept { return field_; }
  /// The bad value as it was given, formatted as text, escaped and cut as above.
  [[nodiscard]] const std::string& value() const noexcept { return value_; }
  /// What a valid value looks like, e.g. `must be in (0, 1)`.
  [[nodiscard]] const std::string& requirement() const noexcept { return requirement_; }

 private:
  std::string field_;
  std::string value_;
  std::string requirement_;
};

}  // namespace rtlm

#ifdef RTLM_HEADER_ONLY
#include "rtlm/core/error-inl.hpp"
#endif

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>

namespace rtlm {

/// rtlm's exception for a call the API's contract forbids at that moment, as opposed to bad input
/// (rtlm::error): the scheduler entered again from its own observer or backend, or from a second
/// thread while a first is inside it. The message names the function and the broken rule. The
/// object that refused is unchanged and usable once the offending call is gone.
class usage_error : public std::logic_error {
 public:
  explicit usage_error(const std::string& what) : std::logic_error(what) {}
};

}  // namespace rtlm

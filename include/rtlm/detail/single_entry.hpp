// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <string_view>
#include <thread>

#include "rtlm/core/usage_error.hpp"

namespace rtlm::detail {

/// Lets one call at a time into an object whose functions belong to one thread. A second call
/// while the first is inside, from the same thread (an observer or backend calling back in) or
/// from another (a race), throws usage_error before it touches anything. Entering is one atomic
/// compare-exchange, leaving one store; the acquire/release pair also orders calls that different
/// threads make one after another.
class single_entry {
 public:
  /// Holds the entry for one call of `function` (named in the message: `scheduler::step`).
  class scope {
   public:
    scope(single_entry& entry, std::string_view function) : entry_(entry) { entry.enter(function); }
    ~scope() { entry_.inside_.store(std::thread::id{}, std::memory_order_release); }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
    scope(scope&&) = delete;
    scope& operator=(scope&&) = delete;

   private:
    single_entry& entry_;
  };

 private:
  void enter(std::string_view function) {
    std::thread::id inside{};
    const std::thread::id self = std::this_thread::get_id();
    if (inside_.compare_exchange_strong(inside, self, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      return;
    }
    if (inside == self) {
      throw usage_error(fmt::format(
          "rtlm::{}: called from inside another call to the same object on this thread (an "
          "observer or backend calling back in); make the call after that one returns",
          function));
    }
    throw usage_error(fmt::format(
        "rtlm::{}: called while another thread is inside a call to the same object; its "
        "functions take one thread at a time (serialise the calls, or give each thread its own)",
        function));
  }

  std::atomic<std::thread::id> inside_{};
};

}  // namespace rtlm::detail

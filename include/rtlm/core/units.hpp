// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <compare>
#include <cstdint>

namespace rtlm {

/// A point on rtlm's monotonic timeline, in nanoseconds. Every rtlm clock (the steady clock and
/// rtlm::manual_clock) yields this one type, so arrivals, deadlines and `now` compare directly.
using time_point = std::chrono::steady_clock::time_point;

/// A span of rtlm's timeline, in integer nanoseconds.
using duration = time_point::duration;

/// Fractional seconds: the unit of estimates, budgets and measured step times.
using seconds = std::chrono::duration<double>;

static_assert(std::is_same_v<duration, std::chrono::nanoseconds>,
              "rtlm assumes a nanosecond steady clock (true of libstdc++ and libc++)");

/// `t` plus `d`, saturated at the ends of the timeline (about 292 years either side of the
/// clock's epoch) instead of overflowing; a NaN `d` gives `t`. For predicted times, which may be
/// absurdly long for absurd inputs. O(1), no allocation.
constexpr time_point add_saturated(time_point t, seconds d) noexcept {
  // 4096 ns short of the ends, which covers the rounding of doubles near 2^63.
  constexpr double end = 0x1p63 - 0x1p12;
  const double ns = d.count() * 1e9;
  const auto from = static_cast<double>(t.time_since_epoch().count());
  if (ns != ns) return t;
  if (!(ns < end - from)) return time_point::max();
  if (!(ns > -end - from)) return time_point::min();
  return t + duration(static_cast<duration::rep>(ns));
}

/// The farthest an absolute time may lie from its clock's epoch, either way: 4e9 s (about 126
/// years; a system clock counts from 1970). Every time that enters rtlm is checked against it, so
/// that a time plus a bounded duration stays far inside the nanosecond timeline (about 292 years).
inline constexpr double max_time_seconds = 4e9;

/// The longest duration rtlm takes in (a time budget, a measured step time): 1e9 s, about 31
/// years.
inline constexpr double max_duration_seconds = 1e9;

/// Whether `t` lies within max_time_seconds of its clock's epoch. O(1); no allocation.
[[nodiscard]] constexpr bool within_timeline(time_point t) noexcept {
  constexpr auto limit = static_cast<duration::rep>(max_time_seconds * 1e9);
  const duration::rep ns = t.time_since_epoch().count();
  return ns >= -limit && ns <= limit;
}

/// A number of tokens (prompt, generated, KV-cache entries). A named integer so a token count
/// never mixes with a byte count or a time. Trivially copyable; constexpr; no allocation.
class tokens {
 public:
  using rep = std::int64_t;

  constexpr tokens() noexcept = default;
  constexpr explicit tokens(rep count) noexcept : count_(count) {}

  /// The number of tokens as a plain integer.
  [[nodiscard]] constexpr rep count() const noexcept { return count_; }

  constexpr tokens& operator+=(tokens other) noexcept {
    count_ += other.count_;
    return *this;
  }
  constexpr tokens& operator-=(tokens other) noexcept {
    count_ -= other.count_;
    return *this;
  }
  friend constexpr tokens operator+(tokens a, tokens b) noexcept {
    return tokens(a.count_ + b.count_);
  }
  friend constexpr tokens operator-(tokens a, tokens b) noexcept {
    return tokens(a.count_ - b.count_);
  }
  friend constexpr tokens operator*(tokens a, rep factor) noexcept {
    return tokens(a.count_ * factor);
  }
  friend constexpr tokens operator*(rep factor, tokens a) noexcept {
    return tokens(a.count_ * factor);
  }
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted operator<=>
  friend constexpr auto operator<=>(tokens, tokens) noexcept = default;

 private:
  rep count_ = 0;
};

namespace literals {
/// `128_tok` is `rtlm::tokens{128}`.
constexpr tokens operator""_tok(unsigned long long count) noexcept {
  return tokens(static_cast<tokens::rep>(count));
}
}  // namespace literals

/// A request's identity, chosen by the host; unique among the requests a scheduler holds.
enum class request_id : std::uint64_t {};

/// The integer behind a request_id, for printing and hashing.
constexpr std::uint64_t to_integer(request_id id) noexcept {
  return static_cast<std::uint64_t>(id);
}

}  // namespace rtlm

/// Prints a token count as its plain number.
template <>
struct fmt::formatter<rtlm::tokens> : fmt::formatter<rtlm::tokens::rep> {
  template <class FormatContext>
  auto format(rtlm::tokens t, FormatContext& ctx) const {
    return fmt::formatter<rtlm::tokens::rep>::format(t.count(), ctx);
  }
};

/// Prints a request id as its plain number.
template <>
struct fmt::formatter<rtlm::request_id> : fmt::formatter<std::uint64_t> {
  template <class FormatContext>
  auto format(rtlm::request_id id, FormatContext& ctx) const {
    return fmt::formatter<std::uint64_t>::format(rtlm::to_integer(id), ctx);
  }
};

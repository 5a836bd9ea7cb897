// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>

namespace rtlm::detail {

/// The name of `e` in `names`, the enumerators' names in declaration order (an enum whose values
/// run 0, 1, ...); "unknown" for a value past the table. Every to_string() of rtlm's enums is one
/// call to this, so a name is written once. O(1); no allocation; thread-safe.
template <class E, std::size_t N>
requires std::is_enum_v<E>
[[nodiscard]] constexpr std::string_view enum_name(E e,
                                                   const std::string_view (&names)[N]) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : std::string_view("unknown");
}

/// The enumerator named `name` in `names` (as enum_name() writes it), or nullopt. O(N); no
/// allocation; thread-safe.
template <class E, std::size_t N>
requires std::is_enum_v<E>
[[nodiscard]] constexpr std::optional<E> enum_from_name(
    std::string_view name, const std::string_view (&names)[N]) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace rtlm::detail

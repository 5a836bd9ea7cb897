// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rtlm::detail {

/// Characters of an error's value kept by `printable` (rtlm::error); longer values end in `...`.
/// Room for a long file path, far short of a runaway line.
inline constexpr std::size_t max_error_value_chars = 256;
/// Characters of an error's field kept: a path and a line, or a configuration field.
inline constexpr std::size_t max_error_field_chars = 512;
/// Characters of an error's requirement kept.
inline constexpr std::size_t max_error_requirement_chars = 1024;

/// Length in bytes of the well-formed, visible UTF-8 character at the start of `text`, or 0 when
/// it is a byte `printable` escapes: a C0 or C1 control, DEL, a byte of malformed UTF-8, or an
/// invisible code point (U+FEFF byte-order mark, U+200B-U+200F zero-width and direction marks,
/// U+2028-U+202E separators and embeddings, U+2060-U+2064). noexcept; O(1).
inline std::size_t visible_utf8_length(std::string_view text) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(0);
  if (lead >= 0x20 && lead < 0x7F) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
    cp = lead & 0x1FU;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    cp = lead & 0x0FU;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    cp = lead & 0x07U;
  } else {
    return 0;  // ASCII control or DEL, a continuation byte, or a lead byte UTF-8 never uses
  }
  if (text.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0U) != 0x80U) return 0;
    cp = (cp << 6U) | (byte(i) & 0x3FU);
  }
  const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  const bool invisible = cp < 0xA0 || cp == 0xFEFF || (cp >= 0x200B && cp <= 0x200F) ||
                         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064);
  if (overlong || surrogate || cp > 0x10FFFF || invisible) return 0;
  return n;
}

/// `text` made safe to print in one line of a message: every byte of a control character,
/// malformed UTF-8 or an invisible code point becomes `\xNN` (so `\x01`, `\xEF\xBB\xBF` for a
/// byte-order mark), and after `max_chars` characters (an escape counts as its four) the rest is
/// cut and `...` appended. Visible UTF-8 is kept as it is.
/// Allocates; O(min(text size, max_chars)): a 30 MB line costs no more than a short one.
inline std::string printable(std::string_view text, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t n = visible_utf8_length(text.substr(i));
    const std::size_t width = n == 0 ? 4 : 1;
    if (chars + width > max_chars) break;
    if (n == 0) {
      constexpr std::string_view hex = "0123456789ABCDEF";
      const auto b = static_cast<std::uint8_t>(text[i]);
      out += "\\x";
      out += hex[b >> 4U];
      out += hex[b & 0x0FU];
      i += 1;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
    chars += width;
  }
  if (i < text.size()) out += "...";
  return out;
}

}  // namespace rtlm::detail

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// The evaluation programs' --json output: one flat object of named figures.

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rtlm::bench {

/// Writes `figures` as a flat JSON object, in the given order. Names are escaped as JSON
/// requires; a figure that is not finite (no data for it) is written as null, never as a number.
inline void write_flat_json(const std::string& path,
                            const std::vector<std::pair<std::string, double>>& figures) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write", path));
  out << "{\n";
  for (std::size_t k = 0; k < figures.size(); ++k) {
    std::string name;
    for (const char c : figures[k].first) {
      if (c == '"' || c == '\\') name.push_back('\\');
      if (static_cast<unsigned char>(c) < 0x20) continue;
      name.push_back(c);
    }
    const double value = figures[k].second;
    out << fmt::format("  \"{}\": {}{}\n", name,
                       std::isfinite(value) ? fmt::format("{:.6g}", value) : "null",
                       k + 1 < figures.size() ? "," : "");
  }
  out << "}\n";
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write", path));
}

}  // namespace rtlm::bench

// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "rtlm/core/error.hpp"

namespace rtlm::sim {

/// A line chart written as a standalone SVG file: a few named series of (x, y) points, linear
/// axes (or a logarithmic x axis), a legend. Enough for rtlm-sim's reports; no dependencies.
class svg_plot {
 public:
  svg_plot(std::string x_label, std::string y_label)
      : x_label_(std::move(x_label)), y_label_(std::move(y_label)) {}

  void add_series(std::string name, std::vector<std::pair<double, double>> points) {
    series_.push_back({std::move(name), std::move(points)});
  }
  /// A logarithmic x axis (points with x <= 0 are dropped).
  void set_log_x(bool log_x) noexcept { log_x_ = log_x; }

  /// Writes the chart to `path`; throws rtlm::error naming `path` and the system's reason when
  /// it cannot be opened, written or closed (a full disk is an error, not a file cut short).
  void write(const std::string& path, const std::string& title) const {
    const std::string text = render(title);
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) throw error("path", path, cannot_write(errno));
    const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
                         std::fflush(f) == 0 && std::ferror(f) == 0;
    const int write_error = errno;
    const bool closed = std::fclose(f) == 0;
    if (!written) throw error("path", path, cannot_write(write_error));
    if (!closed) throw error("path", path, cannot_write(errno));
  }

  [[nodiscard]] std::string render(const std::string& title) const {
    constexpr double width = 720;
    constexpr double height = 440;
    constexpr double left = 70;
    constexpr double right = 190;  // legend
    constexpr double top = 40;
    constexpr double bottom = 55;
    double x0 = std::numeric_limits<double>::infinity();
    double x1 = -x0;
    double y0 = 0.0;
    double y1 = 0.0;
    for (const auto& s : series_) {
      for (const auto& [x, y] : s.points) {
        if (log_x_ && x <= 0) continue;
        x0 = std::min(x0, fx(x));
        x1 = std::max(x1, fx(x));
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
    }
    if (!std::isfinite(x0)) x0 = 0, x1 = 1;
    if (x1 <= x0) x1 = x0 + 1;
    if (y1 <= y0) y1 = y0 + 1;
    const double pw = width - left - right;
    const double ph = height - top - bottom;
    const auto px = [&](double x) { return left + (fx(x) - x0) / (x1 - x0) * pw; };
    const auto py = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };

    std::string out = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
        "fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"15\">{}</text>\n",
        width, height, left, escape(title));
    // Grid and ticks.
    for (int i = 0; i <= 5; ++i) {
      const double y = y0 + (y1 - y0) * i / 5.0;
      out += fmt::format(
          "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>"
          "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:.3g}</text>\n",
          left, left + pw, py(y), left - 6, py(y) + 4, y);
    }
    for (const double x : x_ticks(x0, x1)) {
      out += fmt::format(
          "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#ddd\"/>"
          "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4:.3g}</text>\n",
          left + (x - x0) / (x1 - x0) * pw, top, top + ph, top + ph + 16,
          log_x_ ? std::pow(10.0, x) : x);
    }
    out += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
        "<text transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
        left, top, pw, ph, left + pw / 2, height - 14, escape(x_label_ + (log_x_ ? " (log)" : "")),
        top + ph / 2, escape(y_label_));
    static constexpr std::array<const char*, 8> colours = {
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
    for (std::size_t i = 0; i < series_.size(); ++i) {
      const auto& s = series_[i];
      const char* colour = colours[i % colours.size()];
      std::string path;
      for (const auto& [x, y] : s.points) {
        if (log_x_ && x <= 0) continue;
        path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "" : " ", px(x), py(y));
      }
      out += fmt::format(
          "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" points=\"{}\"/>\n", colour,
          path);
      const double ly = top + 10 + 18.0 * static_cast<double>(i);
      out += fmt::format(
          "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"3\"/>"
          "<text x=\"{4}\" y=\"{5}\">{6}</text>\n",
          left + pw + 12, left + pw + 36, ly, colour, left + pw + 42, ly + 4, escape(s.name));
    }
    out += "</svg>\n";
    return out;
  }

 private:
  struct series {
    std::string name;
    std::vector<std::pair<double, double>> points;
  };

  static std::string cannot_write(int error_number) {
    return fmt::format("cannot be written: {}", std::strerror(error_number));
  }
  [[nodiscard]] double fx(double x) const noexcept { return log_x_ ? std::log10(x) : x; }

  // Tick positions in axis units: decades on a log axis, 1-2-5 steps on a linear one.
  [[nodiscard]] std::vector<double> x_ticks(double lo, double hi) const {
    std::vector<double> ticks;
    if (log_x_) {
      const auto first = static_cast<long>(std::ceil(lo));
      const auto last = static_cast<long>(std::floor(hi + 1e-9));
      for (long d = first; d <= last; ++d) ticks.push_back(static_cast<double>(d));
      return ticks;
    }
    const double raw = (hi - lo) / 5.0;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (const double m : {1.0, 2.0, 5.0, 10.0}) {
      if (m * magnitude >= raw) {
        step = m * magnitude;
        break;
      }
    }
    const auto first = static_cast<long>(std::ceil(lo / step));
    const auto last = static_cast<long>(std::floor(hi / step + 1e-9));
    for (long k = first; k <= last; ++k) ticks.push_back(static_cast<double>(k) * step);
    return ticks;
  }

  static std::string escape(const std::string& s) {
    std::string out;
    for (const char c : s) {
      if (c == '<') {
        out += "&lt;";
      } else if (c == '>') {
        out += "&gt;";
      } else if (c == '&') {
        out += "&amp;";
      } else {
        out += c;
      }
    }
    return out;
  }

  std::string x_label_;
  std::string y_label_;
  std::vector<series> series_;
  bool log_x_ = false;
};

}  // namespace rtlm::sim

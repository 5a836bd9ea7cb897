// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm-sim's outputs: checked files, the per-request CSV, the latency CDF and a progress bar,
// shared by the single-scenario run and the suite.

#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/sim/simulation.hpp"

namespace rtlm_sim {

// An output file whose every write and whose close are checked: a full disk or a failing device
// is an rtlm::error naming the flag, the file and the system's reason (`--json = out.json:
// cannot be written: No space left on device`), never a file cut short behind an exit status 0.
class output_file {
 public:
  output_file(std::string flag, std::string path)
      : flag_(std::move(flag)), path_(std::move(path)), file_(std::fopen(path_.c_str(), "w")) {
    if (file_ == nullptr) fail(errno);
  }
  ~output_file() {
    if (file_ != nullptr) static_cast<void>(std::fclose(file_));
  }
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;
  output_file(output_file&&) = delete;
  output_file& operator=(output_file&&) = delete;

  void write(std::string_view text) {
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) fail(errno);
  }
  // Flushes and closes; the file is complete only when this returns.
  void close() {
    std::FILE* f = std::exchange(file_, nullptr);
    const bool flushed = std::fflush(f) == 0 && std::ferror(f) == 0;
    const int flush_error = errno;
    const bool closed = std::fclose(f) == 0;
    if (!flushed) fail(flush_error);
    if (!closed) fail(errno);
  }

 private:
  [[noreturn]] void fail(int error_number) const {
    throw rtlm::error(flag_, path_,
                      fmt::format("cannot be written: {}", std::strerror(error_number)));
  }

  std::string flag_;
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Writes `text` to `path` whole, or throws naming `flag`.
inline void write_file(const std::string& flag, const std::string& path, std::string_view text) {
  output_file f(flag, path);
  f.write(text);
  f.close();
}

// A terminal progress bar on stderr; silent when stderr is not a terminal or --quiet.
class progress_bar {
 public:
  progress_bar(std::size_t total, bool enabled)
      : total_(total), enabled_(enabled && isatty(fileno(stderr)) != 0) {}
  void step(std::string_view what) {
    ++done_;
    if (!enabled_) return;
    const std::size_t width = 30;
    const std::size_t filled = width * done_ / std::max<std::size_t>(total_, 1);
    fmt::print(stderr, "\r[{}{}] {}/{} {:<40}", std::string(filled, '#'),
               std::string(width - filled, ' '), done_, total_, what);
    if (done_ == total_) fmt::print(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  std::size_t total_;
  std::size_t done_ = 0;
  bool enabled_;
};

inline void write_records(const std::string& path, const rtlm::sim::simulation_result& r) {
  output_file f("--out", path);
  f.write(
      "index,arrival,deadline,admitted,first_token,finish,prompt_tokens,output_tokens,outcome,"
      "reason,backend,preemptions\n");
  const auto num = [](double v) {
    return std::isnan(v) ? std::string() : fmt::format("{:.6f}", v);
  };
  fmt::memory_buffer rows;
  for (const rtlm::sim::request_record& x : r.records) {
    fmt::format_to(std::back_inserter(rows), "{},{},{},{},{},{},{},{},{},{},{},{}\n", x.index,
                   num(x.arrival), num(x.deadline), num(x.admitted), num(x.first_token),
                   num(x.finish), x.prompt.count(), x.output.count(), rtlm::to_string(x.outcome),
                   rtlm::to_string(x.reason), x.backend, x.preemptions);
    if (rows.size() >= 1U << 16U) {
      f.write({rows.data(), rows.size()});
      rows.clear();
    }
  }
  f.write({rows.data(), rows.size()});
  f.close();
}

// The latency CDF of the finished requests of `r`, as plotted: about 400 points.
inline std::vector<std::pair<double, double>> latency_cdf(const rtlm::sim::simulation_result& r) {
  std::vector<double> l;
  for (const rtlm::sim::request_record& x : r.records) {
    if (x.finished()) l.push_back(x.latency());
  }
  std::sort(l.begin(), l.end());
  std::vector<std::pair<double, double>> points;
  const std::size_t stride = std::max<std::size_t>(1, l.size() / 400);
  for (std::size_t k = 0; k < l.size(); k += stride) {
    points.emplace_back(l[k], static_cast<double>(k + 1) / static_cast<double>(l.size()));
  }
  if (!l.empty()) points.emplace_back(l.back(), 1.0);
  return points;
}

}  // namespace rtlm_sim

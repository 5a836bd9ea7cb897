// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
//
// rtlm-sim's outputs: checked files, the per-request CSV, the latency CDF, a progress bar and
// the parallel runner, shared by the single-scenario run and the suite.

#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
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
      "reason,backend,preemptions,slo_class,tenant,ttft_target,tpot_target,relegated\n");
  const auto num = [](double v) {
    return std::isnan(v) ? std::string() : fmt::format("{:.6f}", v);
  };
  fmt::memory_buffer rows;
  for (const rtlm::sim::request_record& x : r.records) {
    const std::string slo_class =
        x.slo_class == rtlm::sim::no_slo_class ? std::string() : fmt::format("{}", x.slo_class);
    fmt::format_to(std::back_inserter(rows), "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                   x.index, num(x.arrival), num(x.deadline), num(x.admitted), num(x.first_token),
                   num(x.finish), x.prompt.count(), x.output.count(), rtlm::to_string(x.outcome),
                   rtlm::to_string(x.reason), x.backend, x.preemptions, slo_class, x.tenant,
                   num(x.ttft_target), num(x.tpot_target), x.relegated ? 1 : 0);
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

// Runs `jobs` on every core, each writing its own slot; rethrows the first error.
inline void run_parallel(std::vector<std::function<void()>>& jobs, bool quiet) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      try {
        jobs[i]();
      } catch (...) {
        const std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        next = jobs.size();
      }
      ++done;
    }
  };
  const unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  progress_bar bar(jobs.size(), !quiet);
  worker();
  for (std::thread& t : pool) t.join();
  for (std::size_t i = 0; i < done; ++i) bar.step("suite runs");
  if (error) std::rethrow_exception(error);
}

}  // namespace rtlm_sim

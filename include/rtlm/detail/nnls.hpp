// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace rtlm::detail {

/// Non-negative least squares: argmin ||A x - b|| subject to x >= 0, by Lawson and Hanson's
/// active-set method ("Solving Least Squares Problems", 1974, ch. 23). Columns are scaled to unit
/// norm internally so features of very different magnitudes solve alike. Allocates; O(n^2 m) per
/// outer iteration for an m x n system, at most 3n outer iterations.
inline Eigen::VectorXd nnls(const Eigen::MatrixXd& a_in, const Eigen::VectorXd& b) {
  const Eigen::Index n = a_in.cols();
  Eigen::VectorXd scale(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    const double norm = a_in.col(j).norm();
    scale(j) = norm > 0 ? norm : 1.0;
  }
  const Eigen::MatrixXd a = a_in * scale.cwiseInverse().asDiagonal();
  Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
  std::vector<bool> passive(static_cast<std::size_t>(n), false);
  const double tolerance = 10 * std::numeric_limits<double>::epsilon() *
                           static_cast<double>(std::max(a.rows(), n)) *
                           std::max(1.0, a.cwiseAbs().colwise().sum().maxCoeff());

  // Least squares over the passive columns only; zero elsewhere.
  const auto solve_passive = [&]() {
    std::vector<Eigen::Index> cols;
    for (Eigen::Index j = 0; j < n; ++j)
      if (passive[static_cast<std::size_t>(j)]) cols.push_back(j);
    Eigen::MatrixXd sub(a.rows(), static_cast<Eigen::Index>(cols.size()));
    for (std::size_t i = 0; i < cols.size(); ++i)
      sub.col(static_cast<Eigen::Index>(i)) = a.col(cols[i]);
    const Eigen::VectorXd s_sub = sub.colPivHouseholderQr().solve(b);
    Eigen::VectorXd s = Eigen::VectorXd::Zero(n);
    for (std::size_t i = 0; i < cols.size(); ++i) s(cols[i]) = s_sub(static_cast<Eigen::Index>(i));
    return s;
  };

  for (Eigen::Index outer = 0; outer < 3 * n; ++outer) {
    const Eigen::VectorXd w = a.transpose() * (b - a * x);
    Eigen::Index best = -1;
    double best_w = tolerance;
    for (Eigen::Index j = 0; j < n; ++j) {
      if (!passive[static_cast<std::size_t>(j)] && w(j) > best_w) {
        best = j;
        best_w = w(j);
      }
    }
    if (best < 0) break;  // Kuhn-Tucker conditions hold: optimal
    passive[static_cast<std::size_t>(best)] = true;
    for (Eigen::Index inner = 0; inner < 3 * n; ++inner) {
      const Eigen::VectorXd s = solve_passive();
      double alpha = 1.0;
      bool feasible = true;
      for (Eigen::Index j = 0; j < n; ++j) {
        if (passive[static_cast<std::size_t>(j)] && s(j) <= 0) {
          feasible = false;
          alpha = std::min(alpha, x(j) / (x(j) - s(j)));
        }
      }
      if (feasible) {
        x = s;
        break;
      }
      x += alpha * (s - x);
      for (Eigen::Index j = 0; j < n; ++j) {
        if (passive[static_cast<std::size_t>(j)] && x(j) <= tolerance) {
          passive[static_cast<std::size_t>(j)] = false;
          x(j) = 0;
        }
      }
    }
  }
  return x.cwiseQuotient(scale);
}

}  // namespace rtlm::detail

// Test helpers: the path of the committed test data, and a strict little CSV reader for it.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tapegrad/autodiff/matrix.hpp"

namespace tapegrad::test {

inline std::string data_path(const std::string& rel) {
  return std::string(TAPEGRAD_TEST_DATA_DIR) + "/" + rel;
}

/// Reads a headerless comma-separated file of numbers (one matrix row per line) as doubles.
inline Matrix<double> read_csv(const std::string& rel, bool skip_header = false) {
  std::ifstream in(data_path(rel));
  if (!in) throw std::runtime_error("cannot open test data " + data_path(rel));
  std::vector<std::vector<double>> rows;
  std::string line;
  if (skip_header) std::getline(in, line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) row.push_back(std::stod(cell));
    if (!rows.empty() && row.size() != rows[0].size()) throw std::runtime_error("ragged test data " + rel);
    rows.push_back(std::move(row));
  }
  Matrix<double> m(static_cast<Index>(rows.size()), rows.empty() ? 0 : static_cast<Index>(rows[0].size()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j)
      m(i, j) = rows[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
  return m;
}

}  // namespace tapegrad::test

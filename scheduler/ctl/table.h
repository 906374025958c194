// Plain-text tables for egretctl: left-aligned text, right-aligned numbers, a header row.
#pragma once

#include <string>
#include <vector>

namespace egret::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "12.5", "0.333333" -> fixed digits; infinities/nulls print as "-".
std::string Num(double v, int digits = 2);

}  // namespace egret::ctl

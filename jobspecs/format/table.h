// Plain text tables for the CLI: columns padded to their widest cell.
#pragma once

#include <string>
#include <vector>

namespace egret::jobspec::format {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "2026-11-25 20:30:00" in local time; "-" for 0.
std::string LocalTime(int64_t unix_seconds);
// "1h02m", "45s".
std::string ShortDuration(int64_t seconds);

}  // namespace egret::jobspec::format

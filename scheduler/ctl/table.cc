#include "scheduler/ctl/table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace egret::ctl {

namespace {
bool Numeric(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return *end == '\0';
}
}  // namespace

std::string Num(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Table::Render() const {
  std::vector<size_t> width(header_.size(), 0);
  for (size_t i = 0; i < header_.size(); ++i) width[i] = header_[i].size();
  for (const auto& r : rows_)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& r, bool head) {
    std::string l;
    for (size_t i = 0; i < width.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      bool last = i + 1 == width.size();
      std::string pad(width[i] - std::min(width[i], cell.size()), ' ');
      if (!head && Numeric(cell)) l += pad + cell;
      else l += last ? cell : cell + pad;
      if (!last) l += "  ";
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header_, true);
  for (const auto& r : rows_) line(r, false);
  return out;
}

}  // namespace egret::ctl

#include "jobspecs/format/table.h"

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace egret::jobspec::format {

std::string Table::Render() const {
  std::vector<size_t> w(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < w.size(); ++i) w[i] = std::max(w[i], row[i].size());
  };
  widen(header_);
  for (const auto& r : rows_) widen(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < w.size(); ++i) {
      std::string cell = i < row.size() ? row[i] : "";
      out += cell;
      if (i + 1 < w.size()) out += std::string(w[i] - cell.size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header_);
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string LocalTime(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm lt;
  localtime_r(&t, &lt);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &lt);
  return buf;
}

std::string ShortDuration(int64_t s) {
  if (s < 0) s = 0;
  char buf[32];
  if (s < 60) snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600) snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60));
  return buf;
}

}  // namespace egret::jobspec::format

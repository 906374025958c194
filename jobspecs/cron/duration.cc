#include "jobspecs/cron/duration.h"

#include <cctype>
#include <cstdio>
#include <limits>

#include "common/strings.h"

namespace egret::cron {
namespace {

constexpr int64_t kMaxSeconds = int64_t{365} * 24 * 3600 * 100;

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 12) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  std::string_view s = Trim(text);
  const std::string hint = " (write e.g. \"30s\", \"5m\", \"1h30m\", \"2d\")";
  if (s.empty()) return Error("empty duration" + hint);
  static constexpr char kUnits[] = {'d', 'h', 'm', 's'};
  static constexpr int64_t kScale[] = {86400, 3600, 60, 1};
  int64_t total = 0;
  size_t next_unit = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i || j == s.size())
      return Error("\"" + std::string(s) + "\" is not a duration" + hint);
    std::string_view num = s.substr(i, j - i);
    if (num.size() > 9) return Error("\"" + std::string(s) + "\" is too long a duration");
    char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(s[j])));
    size_t u = next_unit;
    while (u < 4 && kUnits[u] != unit) ++u;
    if (u == 4)
      return Error("\"" + std::string(s) + "\": unit '" + std::string(1, s[j]) +
                   "' is not one of d, h, m, s in that order" + hint);
    total += ToInt(num) * kScale[u];
    next_unit = u + 1;
    i = j + 1;
  }
  if (total > kMaxSeconds) return Error("\"" + std::string(s) + "\" is longer than 100 years");
  return total;
}

Result<int64_t> ParseTimeLimit(std::string_view text) {
  std::string_view s = Trim(text);
  const std::string hint =
      " (write a duration like \"2h\" or \"90m\", or Slurm's \"MM\", \"HH:MM:SS\", "
      "\"D-HH:MM:SS\")";
  if (s.empty()) return Error("empty time limit" + hint);
  if (std::isalpha(static_cast<unsigned char>(s.back()))) {
    auto d = ParseDuration(s);
    if (!d.ok()) return d.error();
    if (*d <= 0) return Error("time limit must be positive (got \"" + std::string(s) + "\")");
    return d;
  }
  int64_t days = 0;
  std::string_view rest = s;
  bool has_days = false;
  if (auto dash = s.find('-'); dash != std::string_view::npos) {
    if (!AllDigits(s.substr(0, dash))) return Error("\"" + std::string(s) + "\" is not a time limit" + hint);
    days = ToInt(s.substr(0, dash));
    rest = s.substr(dash + 1);
    has_days = true;
  }
  auto parts = Split(rest, ':');
  for (const auto& p : parts)
    if (!AllDigits(p)) return Error("\"" + std::string(s) + "\" is not a time limit" + hint);
  if (parts.size() > 3) return Error("\"" + std::string(s) + "\" is not a time limit" + hint);
  int64_t h = 0, m = 0, sec = 0;
  if (has_days) {  // D-H, D-H:M, D-H:M:S
    h = ToInt(parts[0]);
    if (parts.size() > 1) m = ToInt(parts[1]);
    if (parts.size() > 2) sec = ToInt(parts[2]);
  } else if (parts.size() == 1) {  // M
    m = ToInt(parts[0]);
  } else if (parts.size() == 2) {  // M:S
    m = ToInt(parts[0]);
    sec = ToInt(parts[1]);
  } else {  // H:M:S
    h = ToInt(parts[0]);
    m = ToInt(parts[1]);
    sec = ToInt(parts[2]);
  }
  int64_t total = ((days * 24 + h) * 60 + m) * 60 + sec;
  if (total <= 0) return Error("time limit must be positive (got \"" + std::string(s) + "\")");
  if (total > kMaxSeconds) return Error("time limit \"" + std::string(s) + "\" is longer than 100 years");
  return total;
}

std::string FormatSlurmTime(int64_t seconds) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:%02lld",
                static_cast<long long>(seconds / 86400), static_cast<long long>(seconds / 3600 % 24),
                static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60));
  return buf;
}

}  // namespace egret::cron

#include "scheduler/config/diagnostics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "common/strings.h"

namespace egret::config::internal {

std::string Diagnostics::At(Location where) const {
  std::string s = file_;
  if (where.line > 0) s += ":" + std::to_string(where.line);
  if (where.column > 0) s += ":" + std::to_string(where.column);
  return s;
}

void Diagnostics::Error(Location where, const std::string& message) {
  errors_.push_back({where, At(where) + ": " + message});
}

void Diagnostics::Warning(Location where, const std::string& message) {
  warnings_.push_back(At(where) + ": warning: " + message);
}

std::string Diagnostics::Joined() const {
  std::vector<Entry> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) {
    return a.where.line != b.where.line ? a.where.line < b.where.line : a.where.column < b.where.column;
  });
  std::vector<std::string> lines;
  for (const Entry& e : sorted) lines.push_back(e.text);
  return Join(lines, "\n");
}


std::string UnknownKeyMessage(std::string_view key, const std::vector<std::string_view>& valid) {
  std::string best;
  size_t best_d = std::string::npos;
  for (auto v : valid) {
    size_t d = EditDistance(key, v);
    if (d < best_d) best_d = d, best = std::string(v);
  }
  std::string msg = "unknown key " + Quote(key) + " (";
  // Close enough to be a typo: at most a third of the key's letters differ.
  if (best_d != std::string::npos && best_d * 3 <= std::max<size_t>(key.size(), 3))
    msg += "did you mean " + Quote(best) + "? ";
  std::vector<std::string> names(valid.begin(), valid.end());
  msg += "valid keys: " + Join(names, ", ") + ")";
  return msg;
}

bool ParseDuration(std::string_view text, double* seconds) {
  text = Trim(text);
  if (text.empty()) return false;
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start) return false;
    double n = 0;
    try {
      n = std::stod(std::string(text.substr(start, i - start)));
    } catch (...) {
      return false;
    }
    double unit = 1;
    if (i < text.size()) {
      switch (text[i]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 7 * 86400; break;
        default: return false;
      }
      ++i;
    } else if (start != 0) {
      return false;  // "1h30" is ambiguous
    }
    total += n * unit;
  }
  *seconds = total;
  return std::isfinite(total);
}

bool IsValidPosixName(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] == '-' || name[0] == '.') return false;
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '_' || c == '-' || c == '.'))
      return false;
  }
  return true;
}

bool IsValidSlurmName(std::string_view name) { return IsValidPosixName(name); }

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace egret::config::internal

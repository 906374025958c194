#include "plugins/paths.h"

#include <cctype>
#include <vector>

namespace egret::plugin {

std::string NormalizePath(std::string_view path) {
  if (path.empty() || path[0] != '/') return std::string(path);
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = i;
    while (j < path.size() && path[j] != '/') ++j;
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
    } else if (part == "..") {
      if (!parts.empty()) parts.pop_back();  // "/.." is "/"
    } else {
      parts.push_back(part);
    }
    i = j;
  }
  std::string out;
  for (auto p : parts) {
    out += '/';
    out += p;
  }
  return out.empty() ? "/" : out;
}

bool IsWithin(std::string_view path, std::string_view dir) {
  std::string p = NormalizePath(path), d = NormalizePath(dir);
  if (d == "/") return !p.empty() && p[0] == '/';
  return p == d || (p.size() > d.size() && p.compare(0, d.size(), d) == 0 && p[d.size()] == '/');
}

namespace {
bool NameChars(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.'))
      return false;
  return true;
}
}  // namespace

bool ValidTenantName(std::string_view name) {
  return NameChars(name) && (std::isalnum(static_cast<unsigned char>(name[0])) || name[0] == '_');
}

bool ValidHostName(std::string_view name) { return NameChars(name) && name[0] != '.'; }

std::string JobDirName(uint32_t job_id, int64_t start_time, std::string_view host) {
  return std::to_string(job_id) + "-" + std::to_string(start_time) + "-" + std::string(host);
}

bool IsJobDirOf(std::string_view name, uint32_t job_id, std::string_view host) {
  std::string prefix = std::to_string(job_id) + "-";
  std::string suffix = "-" + std::string(host);
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (name.substr(0, prefix.size()) != prefix) return false;
  if (name.substr(name.size() - suffix.size()) != suffix) return false;
  std::string_view mid = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  for (char ch : mid)
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
  return true;
}

}  // namespace egret::plugin

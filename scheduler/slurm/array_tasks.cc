#include "scheduler/slurm/slurm_api.h"

#include <charconv>

#include "common/strings.h"

namespace egret::quotad {

namespace {

bool ParseId(std::string_view s, uint32_t& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::vector<uint32_t> ArrayTaskIds(const std::string& expr, size_t limit) {
  std::vector<uint32_t> out;
  std::string_view body(expr);
  // "%N" is the array's throttle, not a task.
  if (auto pct = body.find('%'); pct != std::string_view::npos) body = body.substr(0, pct);
  for (const auto& part : Split(std::string(body), ',', true)) {
    std::string_view p(part);
    uint32_t step = 1;
    if (auto colon = p.find(':'); colon != std::string_view::npos) {
      if (!ParseId(p.substr(colon + 1), step) || step == 0) return {};
      p = p.substr(0, colon);
    }
    uint32_t lo = 0, hi = 0;
    if (auto dash = p.find('-'); dash != std::string_view::npos) {
      if (!ParseId(p.substr(0, dash), lo) || !ParseId(p.substr(dash + 1), hi) || hi < lo) return {};
    } else {
      if (!ParseId(p, lo)) return {};
      hi = lo;
    }
    for (uint64_t t = lo; t <= hi; t += step) {
      if (out.size() >= limit) return out;
      out.push_back(static_cast<uint32_t>(t));
    }
  }
  return out;
}

}  // namespace egret::quotad

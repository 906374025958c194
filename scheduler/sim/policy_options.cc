#include "scheduler/sim/policy_options.h"

#include <cstdlib>
#include <string>

#include "common/strings.h"

namespace egret::sim {

Status SetPolicyOption(policy::Options* o, std::string_view assignment) {
  struct Bool { const char* name; bool* field; };
  struct Num { const char* name; double* field; };
  const Bool bools[] = {{"quotas", &o->quotas},
                        {"borrowing", &o->borrowing},
                        {"reclaim", &o->reclaim},
                        {"fair_preemption", &o->fair_preemption},
                        {"fair_preemption_initial_share", &o->fair_preemption_initial_share},
                        {"reservation", &o->reservation},
                        {"nominal_backfill", &o->nominal_backfill},
                        {"reservation_counts_guarantees", &o->reservation_counts_guarantees}};
  const Num nums[] = {{"running_weight", &o->running_weight},
                      {"reservation_min_age_s", &o->reservation_min_age_s},
                      {"fair_preemption_min_left_s", &o->fair_preemption_min_left_s},
                      {"fair_preemption_margin", &o->fair_preemption_margin}};
  size_t eq = assignment.find('=');
  std::string key(Trim(assignment.substr(0, eq)));
  std::string value(eq == std::string_view::npos ? "" : Trim(assignment.substr(eq + 1)));
  std::vector<std::string> keys = {"order"};
  for (const Bool& b : bools) keys.push_back(b.name);
  for (const Num& n : nums) keys.push_back(n.name);
  if (eq == std::string_view::npos)
    return Error("policy option \"" + std::string(assignment) + "\" must be KEY=VALUE (keys: " +
                 Join(keys, ", ") + ")");
  if (key == "order") {
    if (value == "fairshare") o->order = policy::Options::Order::kFairshare;
    else if (value == "fifo") o->order = policy::Options::Order::kFifo;
    else return Error("policy option order must be fairshare or fifo (got \"" + value + "\")");
    return Ok();
  }
  for (const Bool& b : bools) {
    if (key != b.name) continue;
    if (value == "true" || value == "1") *b.field = true;
    else if (value == "false" || value == "0") *b.field = false;
    else return Error("policy option " + key + " must be true or false (got \"" + value + "\")");
    return Ok();
  }
  for (const Num& n : nums) {
    if (key != n.name) continue;
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !(v >= 0))
      return Error("policy option " + key + " must be a number >= 0 (got \"" + value + "\")");
    *n.field = v;
    return Ok();
  }
  return Error("unknown policy option \"" + key + "\" (keys: " + Join(keys, ", ") + ")");
}

}  // namespace egret::sim

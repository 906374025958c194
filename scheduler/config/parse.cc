// tenants.toml → Config: reads every section with locations, then checks what spans sections
// (quotas against partitions, cohorts against their members) in cross_check.cc.
#include <cmath>
#include <map>
#include <set>

#include <toml++/toml.h>

#include "common/fs.h"
#include "common/strings.h"
#include "scheduler/config/config.h"
#include "scheduler/config/cross_check.h"
#include "scheduler/config/diagnostics.h"
#include "scheduler/config/table_reader.h"

namespace egret::config {
namespace {

using internal::Diagnostics;
using internal::FormatNumber;
using internal::Quote;
using internal::TableReader;
using internal::Where;

// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseMember(const std::string& text, Member* out) {
  if (!text.empty() && text[0] == '@') {
    out->kind = Member::Kind::kGroup;
    out->name = text.substr(1);
  } else {
    out->kind = Member::Kind::kUser;
    out->name = text;
  }
  return internal::IsValidPosixName(out->name);
}

std::vector<Member> ReadMembers(TableReader& r, std::string_view key, bool required) {
  std::vector<Member> members;
  auto list = r.StringArray(key);
  if (!list) {
    if (required && !r.Get(key)) r.Missing(key, "the users and @groups who may act for it, e.g. [\"alice\", \"@ml-team\"]");
    return members;
  }
  std::set<std::string> seen;
  for (const auto& [text, where] : *list) {
    Member m;
    if (!ParseMember(text, &m)) {
      r.Error(where, std::string(key) + " entry " + Quote(text) +
                         " is neither a user name nor an @group; write a user as \"alice\" and a "
                         "group as \"@ml-team\" (lowercase letters, digits, '_', '-', '.')");
      continue;
    }
    if (!seen.insert(text).second) {
      r.Error(where, std::string(key) + " lists " + Quote(text) + " twice; remove one");
      continue;
    }
    members.push_back(std::move(m));
  }
  return members;
}

void ReadGlobal(const toml::table* t, Config* cfg, Diagnostics* diag) {
  if (!t) return;
  TableReader r(*t, "[global]: ",
                {"decay_half_life", "budget_period", "budget_period_start", "admins",
                 "tenants_root"},
                diag);
  if (auto h = r.Duration("decay_half_life")) cfg->decay_half_life_s = *h;
  if (auto p = r.String("budget_period")) {
    if (*p == "daily") cfg->budget_period = BudgetPeriod::kDaily;
    else if (*p == "weekly") cfg->budget_period = BudgetPeriod::kWeekly;
    else if (*p == "monthly") cfg->budget_period = BudgetPeriod::kMonthly;
    else
      r.Error(Where(*r.Get("budget_period")),
              "budget_period must be \"daily\", \"weekly\" or \"monthly\" (got " + Quote(*p) + ")");
  }
  if (const toml::node* n = r.Get("budget_period_start")) {
    std::optional<toml::date> date;
    std::optional<toml::time> time;
    int64_t offset_min = 0;
    if (n->is_date()) {
      date = n->as_date()->get();
    } else if (n->is_date_time()) {
      const toml::date_time& dt = n->as_date_time()->get();
      date = dt.date;
      time = dt.time;
      if (dt.offset) offset_min = dt.offset->minutes;
    }
    if (!date) {
      r.Error(Where(*n), "budget_period_start must be a TOML date or date-time such as 2025-01-01 "
                         "or 2025-01-01T00:00:00Z (got " + internal::DescribeValue(*n) + ")");
    } else {
      int64_t s = DaysFromCivil(date->year, date->month, date->day) * 86400;
      if (time) s += time->hour * 3600 + time->minute * 60 + time->second;
      cfg->budget_period_start_s = s - offset_min * 60;
    }
  }
  if (r.Get("admins")) {
    for (const Member& m : ReadMembers(r, "admins", false))
      cfg->admins.push_back(m.kind == Member::Kind::kGroup ? "@" + m.name : m.name);
  }
  if (auto root = r.String("tenants_root")) {
    if (root->empty() || (*root)[0] != '/')
      r.Error(Where(*r.Get("tenants_root")),
              "tenants_root must be an absolute path (got " + Quote(*root) + ")");
    else
      cfg->tenants_root = *root;
  }
  r.Finish();
}

void ReadDaemon(const toml::table* t, Config* cfg, Diagnostics* diag) {
  if (!t) return;
  TableReader r(*t, "[daemon]: ",
                {"socket", "metrics_address", "state_dir", "tcp_address", "lease_timeout",
                 "poll_interval", "preempt_grace"},
                diag);
  DaemonSettings& d = cfg->daemon;
  auto abs_path = [&](std::string_view key, std::string* out) {
    if (auto v = r.String(key)) {
      if (v->empty() || (*v)[0] != '/')
        r.Error(Where(*r.Get(key)), std::string(key) + " must be an absolute path (got " + Quote(*v) + ")");
      else
        *out = *v;
    }
  };
  abs_path("socket", &d.socket);
  abs_path("state_dir", &d.state_dir);
  auto address = [&](std::string_view key, std::string* out) {
    if (auto v = r.String(key)) {
      size_t colon = v->rfind(':');
      if (!v->empty() && (colon == std::string::npos || colon + 1 == v->size()))
        r.Error(Where(*r.Get(key)), std::string(key) + " must be HOST:PORT such as "
                                    "\"127.0.0.1:9464\" (got " + Quote(*v) + ")");
      else
        *out = *v;
    }
  };
  address("metrics_address", &d.metrics_address);
  address("tcp_address", &d.tcp_address);
  if (auto v = r.Duration("lease_timeout")) d.lease_timeout_s = *v;
  if (auto v = r.Duration("poll_interval")) d.poll_interval_s = *v;
  if (auto v = r.Duration("preempt_grace")) d.preempt_grace_s = *v;
  r.Finish();
}

void ReadGpuTypes(const toml::table* t, Config* cfg, Diagnostics* diag) {
  if (!t) return;
  for (auto&& [k, v] : *t) {
    GpuType g;
    g.name = std::string(k.str());
    g.where = Where(v);
    std::string ctx = "[gpu_types]: ";
    if (!internal::IsValidSlurmName(g.name)) {
      diag->Error(Where(k), ctx + "GPU type name " + Quote(g.name) +
                                " must be lowercase letters, digits, '_', '-' or '.'");
      continue;
    }
    auto w = v.value<double>();
    if (!(v.is_integer() || v.is_floating_point()) || !w) {
      diag->Error(Where(v), ctx + g.name + " must be a weight such as 1.0 (got " +
                                internal::DescribeValue(v) + ")");
      continue;
    }
    if (!(*w > 0) || !std::isfinite(*w)) {
      diag->Error(Where(v), ctx + g.name + " must be > 0 (got " + FormatNumber(*w) +
                                "); it is how many normalised GPU units one such GPU counts");
      continue;
    }
    g.weight = *w;
    cfg->gpu_types.push_back(g);
  }
}

// [[partition]] and [[tenant]] are arrays of tables; a plain [partition] table is a common slip.
const toml::array* ArrayOfTables(TableReader& top, std::string_view key, Diagnostics* diag) {
  const toml::node* n = top.Get(key);
  if (!n) return nullptr;
  if (!n->is_array_of_tables()) {
    diag->Error(Where(*n), std::string(key) + " must be written as [[" + std::string(key) +
                               "]] blocks, one per " + std::string(key) + " (got " +
                               internal::DescribeValue(*n) + ")");
    return nullptr;
  }
  return n->as_array();
}

void ReadPartitions(const toml::array* arr, Config* cfg, Diagnostics* diag) {
  if (!arr) return;
  std::map<std::string, int> first_line;
  for (const toml::node& node : *arr) {
    const toml::table& t = *node.as_table();
    Partition p;
    p.where = Where(t);
    std::optional<std::string> name;
    if (const toml::node* n = t.get("name"); n && n->is_string()) name = n->as_string()->get();
    std::string ctx = name ? "partition " + Quote(*name) + ": " : "partition: ";
    TableReader r(t, ctx, {"name", "gpu_type", "gpus", "managed"}, diag);
    name = r.String("name");
    if (!name) {
      if (!r.Get("name")) r.Missing("name", "the Slurm partition's name");
    } else if (!internal::IsValidSlurmName(*name)) {
      r.Error(Where(*r.Get("name")), "name must be lowercase letters, digits, '_', '-' or '.' (got " +
                                         Quote(*name) + ")");
    } else if (auto [it, fresh] = first_line.emplace(*name, p.where.line); !fresh) {
      r.Error(p.where, "defined twice (first at line " + std::to_string(it->second) +
                           "); keep one [[partition]] block per partition");
    } else {
      p.name = *name;
    }
    if (auto g = r.Integer("gpus")) {
      if (*g < 0)
        r.Error(Where(*r.Get("gpus")), "gpus must be >= 0 (got " + std::to_string(*g) + ")");
      else
        p.capacity_gpus = static_cast<int>(*g);
    }
    if (auto ty = r.String("gpu_type")) {
      if (const GpuType* gt = cfg->FindGpuType(*ty)) {
        p.gpu_type = *ty;
        p.weight = gt->weight;
      } else {
        std::vector<std::string> names;
        for (const auto& x : cfg->gpu_types) names.push_back(x.name);
        r.Error(Where(*r.Get("gpu_type")),
                "gpu_type " + Quote(*ty) + " is not defined in [gpu_types] (defined: " +
                    (names.empty() ? "none" : Join(names, ", ")) + "); add it there with its weight");
      }
    } else if (p.capacity_gpus > 0 && !r.Get("gpu_type")) {
      r.Error(p.where, "missing gpu_type (a partition with GPUs needs one of [gpu_types], so its "
                       "usage can be normalised)");
    }
    p.managed = p.capacity_gpus > 0;
    if (auto m = r.Bool("managed")) {
      p.managed = *m;
      if (*m && p.capacity_gpus == 0)
        r.Error(Where(*r.Get("managed")), "managed = true needs gpus > 0 (got gpus = 0); quotad "
                                          "only manages GPU partitions");
    }
    r.Finish();
    if (!p.name.empty()) cfg->partitions.push_back(std::move(p));
  }
}

Quota ReadQuota(TableReader& tenant, const toml::key& key, const toml::node& v,
                Diagnostics* diag) {
  Quota q;
  q.partition = std::string(key.str());
  q.where = Where(key);
  std::string field = "gpu_quota." + q.partition;
  auto check = [&](std::optional<double> x, Location where, const std::string& name,
                   double* out) {
    if (!x) return;
    if (!(*x >= 0) || std::isinf(*x)) {
      tenant.Error(where, name + " must be >= 0 (got " + FormatNumber(*x) + ")");
      return;
    }
    *out = *x;
  };
  if (v.is_integer() || v.is_floating_point()) {
    check(v.value<double>(), Where(v), field, &q.nominal_gpus);
    return q;
  }
  if (!v.is_table()) {
    tenant.Error(Where(v), field + " must be a number of GPUs or a table {nominal, borrowing_limit, "
                                   "lending_limit} (got " + internal::DescribeValue(v) + ")");
    return q;
  }
  TableReader r(*v.as_table(), tenant.context() + field + ".",
                {"nominal", "borrowing_limit", "lending_limit"}, diag);
  auto at = [&](std::string_view k) { return r.KeyWhere(k); };
  auto nominal = r.Number("nominal");
  if (!nominal && !r.Get("nominal"))
    tenant.Error(Where(v), field + " is missing nominal (the GPUs guaranteed to the tenant on " +
                               Quote(q.partition) + ")");
  check(nominal, at("nominal"), field + ".nominal", &q.nominal_gpus);
  check(r.Number("borrowing_limit"), at("borrowing_limit"), field + ".borrowing_limit",
        &q.borrowing_limit);
  check(r.Number("lending_limit"), at("lending_limit"), field + ".lending_limit",
        &q.lending_limit);
  r.Finish();
  return q;
}

void ReadTenants(const toml::array* arr, Config* cfg, Diagnostics* diag) {
  if (!arr) return;
  std::map<std::string, int> first_line;
  for (const toml::node& node : *arr) {
    const toml::table& t = *node.as_table();
    Tenant tn;
    tn.where = Where(t);
    std::optional<std::string> name;
    if (const toml::node* n = t.get("name"); n && n->is_string()) name = n->as_string()->get();
    std::string ctx = name ? "tenant " + Quote(*name) + ": " : "tenant: ";
    TableReader r(t, ctx,
                  {"name", "members", "shares", "cohort", "gpu_quota", "budget_gpu_hours",
                   "allowed_partitions", "root"},
                  diag);
    name = r.String("name");
    bool named = false;
    if (!name) {
      if (!r.Get("name")) r.Missing("name", "the Slurm account this tenant is");
    } else if (!internal::IsValidSlurmName(*name)) {
      r.Error(r.KeyWhere("name"), "name must be lowercase letters, digits, '_', '-' or '.' (got " +
                                      Quote(*name) + "); Slurm keeps account names in lowercase");
    } else if (auto [it, fresh] = first_line.emplace(*name, tn.where.line); !fresh) {
      r.Error(tn.where, "defined twice (first at line " + std::to_string(it->second) +
                            "); a Slurm account is one tenant, merge the two [[tenant]] blocks");
    } else {
      tn.name = *name;
      named = true;
    }
    tn.members = ReadMembers(r, "members", true);
    if (auto s = r.Number("shares")) {
      if (!(*s > 0) || std::isinf(*s))
        r.Error(r.KeyWhere("shares"), "shares must be > 0 (got " + FormatNumber(*s) +
                                          "); a tenant that should get nothing belongs in no "
                                          "tenant, or give it shares = 1");
      else
        tn.shares = *s;
    }
    if (auto c = r.String("cohort")) {
      if (!internal::IsValidSlurmName(*c))
        r.Error(r.KeyWhere("cohort"), "cohort must be lowercase letters, digits, '_', '-' or '.' "
                                      "(got " + Quote(*c) + ")");
      else
        tn.cohort = *c;
    }
    if (auto b = r.Number("budget_gpu_hours")) {
      if (!(*b >= 0) || std::isinf(*b))
        r.Error(r.KeyWhere("budget_gpu_hours"),
                "budget_gpu_hours must be >= 0 (got " + FormatNumber(*b) +
                    "); leave it out for no budget, 0 allows nothing");
      else
        tn.budget_gpu_hours = *b;
    }
    if (r.Get("allowed_partitions")) {
      if (auto list = r.StringArray("allowed_partitions")) {
        for (const auto& [p, where] : *list) {
          if (!cfg->FindPartition(p)) {
            std::vector<std::string> names;
            for (const auto& x : cfg->partitions) names.push_back(x.name);
            r.Error(where, "allowed_partitions names " + Quote(p) +
                               ", which is not a [[partition]] (partitions: " + Join(names, ", ") + ")");
          } else if (tn.Allows(p)) {
            r.Error(where, "allowed_partitions lists " + Quote(p) + " twice; remove one");
          } else {
            tn.allowed_partitions.push_back(p);
          }
        }
      }
    } else {
      for (const auto& p : cfg->partitions) tn.allowed_partitions.push_back(p.name);
    }
    if (const toml::node* q = r.Get("gpu_quota")) {
      if (q->is_integer() || q->is_floating_point()) {
        r.Error(Where(*q), "gpu_quota must name its partition, e.g. gpu_quota = { gpu = 4 } "
                           "(got " + internal::DescribeValue(*q) + ")");
      } else if (!q->is_table()) {
        r.Error(Where(*q), "gpu_quota must be a table of partition = GPUs (got " +
                               internal::DescribeValue(*q) + ")");
      } else {
        for (auto&& [k, v] : *q->as_table()) tn.quotas.push_back(ReadQuota(r, k, v, diag));
      }
    }
    if (auto root = r.String("root")) {
      if (root->empty() || (*root)[0] != '/')
        r.Error(r.KeyWhere("root"), "root must be an absolute path (got " + Quote(*root) + ")");
      else
        tn.root = *root;
    }
    r.Finish();
    if (!named) continue;
    if (tn.root.empty()) tn.root = cfg->tenants_root + "/" + tn.name;
    while (tn.root.size() > 1 && tn.root.back() == '/') tn.root.pop_back();
    tn.data_dir = tn.root + "/data";
    tn.models_dir = tn.root + "/models";
    tn.checkpoints_dir = tn.root + "/checkpoints";
    cfg->tenants.push_back(std::move(tn));
  }
}

}  // namespace

Result<Config> ParseConfig(std::string_view text, std::string_view display_name) {
  Config cfg;
  cfg.source = std::string(display_name);
  Diagnostics diag(cfg.source);
  toml::table root;
  try {
    root = toml::parse(text, display_name);
  } catch (const toml::parse_error& e) {
    Location where{static_cast<int>(e.source().begin.line),
                   static_cast<int>(e.source().begin.column)};
    diag.Error(where, "not valid TOML: " + std::string(e.description()));
    return Error(diag.Joined());
  }
  TableReader top(root, "", {"global", "daemon", "gpu_types", "partition", "tenant"}, &diag);
  ReadGlobal(top.Table("global"), &cfg, &diag);
  ReadDaemon(top.Table("daemon"), &cfg, &diag);
  ReadGpuTypes(top.Table("gpu_types"), &cfg, &diag);
  ReadPartitions(ArrayOfTables(top, "partition", &diag), &cfg, &diag);
  ReadTenants(ArrayOfTables(top, "tenant", &diag), &cfg, &diag);
  top.Finish();
  internal::CrossCheck(cfg, &diag);
  if (!diag.ok()) return Error(diag.Joined());
  cfg.warnings = diag.warnings();
  return cfg;
}

Result<Config> LoadConfig(const std::string& path) {
  EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseConfig(text, path);
}

}  // namespace egret::config

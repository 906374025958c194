#include "scheduler/ctl/egretctl.h"

#include <ctime>
#include <ostream>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "scheduler/client/connection.h"
#include "scheduler/config/config.h"
#include "scheduler/ctl/table.h"
#include "scheduler/protocol/messages.h"

namespace egret::ctl {

using nlohmann::json;

namespace {

std::string S(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  if (it->is_number()) return Num(it->get<double>());
  if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
  return it->dump();
}

double D(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string Time(double unix_s) {
  if (unix_s <= 0) return "-";
  time_t t = static_cast<time_t>(unix_s);
  tm g{};
  localtime_r(&t, &g);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &g);
  return buf;
}

std::string List(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_array()) return "-";
  std::vector<std::string> v;
  for (const auto& e : *it) v.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  return v.empty() ? "-" : Join(v, ",");
}

std::string Render(const std::string& view, const json& r) {
  if (view == "tenants") {
    Table t({"TENANT", "SHARES", "COHORT", "MEMBERS", "PARTITIONS", "QUOTAS(nominal/borrow/lend)", "BUDGET_GPU_H"});
    for (const auto& x : r) {
      std::vector<std::string> q;
      for (const auto& e : x["quotas"])
        q.push_back(S(e, "partition") + ":" + S(e, "nominal_gpus") + "/" + S(e, "borrowing_limit") + "/" +
                    S(e, "lending_limit"));
      t.Add({S(x, "tenant"), S(x, "shares"), S(x, "cohort").empty() ? "-" : S(x, "cohort"),
             List(x, "members"), List(x, "allowed_partitions"), q.empty() ? "-" : Join(q, " "),
             S(x, "budget_gpu_hours")});
    }
    return t.Render();
  }
  if (view == "shares") {
    Table t({"TENANT", "RAW_SHARES", "NORM_SHARES", "RAW_USAGE", "NORM_USAGE", "FAIRSHARE"});
    for (const auto& x : r)
      t.Add({S(x, "tenant"), Num(D(x, "raw_shares"), 0), Num(D(x, "norm_shares"), 6),
             Num(D(x, "raw_usage"), 0), Num(D(x, "norm_usage"), 6), Num(D(x, "fairshare"), 6)});
    return t.Render();
  }
  if (view == "usage") {
    Table t({"TENANT", "PARTITION", "NOMINAL", "IN_USE", "BORROWED", "LENDABLE"});
    for (const auto& x : r["tenants"])
      t.Add({S(x, "tenant"), S(x, "partition"), S(x, "nominal_gpus"), S(x, "in_use_gpus"),
             S(x, "borrowed_gpus"), S(x, "lendable_gpus")});
    Table p({"PARTITION", "CAPACITY", "IN_USE", "MANAGED"});
    for (const auto& x : r["partitions"])
      p.Add({S(x, "partition"), S(x, "capacity_gpus"), S(x, "in_use_gpus"), S(x, "managed")});
    return t.Render() + "\n" + p.Render();
  }
  if (view == "queue") {
    Table t({"JOBID", "TENANT", "USER", "PARTITION", "GPUS", "POS", "STATE", "REASON"});
    for (const auto& x : r)
      t.Add({S(x, "job_id"), S(x, "tenant"), S(x, "user"), S(x, "partition"), S(x, "gpus"),
             S(x, "position"), S(x, "state"), S(x, "reason")});
    return t.Render();
  }
  if (view == "leases") {
    Table t({"JOBID", "TENANT", "PARTITION", "GPUS", "STATE", "GRANTED", "STARTED", "ACCRUED_GPU_H"});
    for (const auto& x : r["open"])
      t.Add({S(x, "job_id"), S(x, "tenant"), S(x, "partition"), S(x, "gpus"),
             x.value("preempting", false) ? "preempting" : S(x, "state"), Time(D(x, "granted_at")),
             Time(D(x, "start_at")), Num(D(x, "accrued_units") / 3600.0, 4)});
    std::string out = t.Render();
    if (!r["awaiting_reconciliation"].empty()) {
      Table f({"JOBID", "TENANT", "PARTITION", "GPUS", "CLOSED", "REASON", "CHARGED_GPU_H"});
      for (const auto& x : r["awaiting_reconciliation"])
        f.Add({S(x, "job_id"), S(x, "tenant"), S(x, "partition"), S(x, "gpus"), Time(D(x, "closed_at")),
               S(x, "close_reason"), Num(D(x, "charged_units") / 3600.0, 4)});
      out += "\nawaiting reconciliation:\n" + f.Render();
    }
    if (!r["running_without_lease"].empty()) {
      Table u({"JOBID", "TENANT", "USER", "PARTITION", "GPUS"});
      for (const auto& x : r["running_without_lease"])
        u.Add({S(x, "job_id"), S(x, "tenant"), S(x, "user"), S(x, "partition"), S(x, "gpus")});
      out += "\nrunning without a lease:\n" + u.Render();
    }
    return out;
  }
  if (view == "budget") {
    Table t({"TENANT", "BUDGET_GPU_H", "USED_GPU_H", "REMAINING_GPU_H"});
    for (const auto& x : r["tenants"])
      t.Add({S(x, "tenant"), S(x, "budget_gpu_hours"), Num(D(x, "used_gpu_hours"), 4),
             S(x, "remaining_gpu_hours")});
    return "period: " + S(r, "period") + ", " + Time(D(r, "period_start")) + " to " +
           Time(D(r, "period_end")) + "\n" + t.Render();
  }
  if (view.rfind("why:", 0) == 0) {
    std::string out = "job " + S(r, "job_id") + ": " + S(r, "state");
    if (r.contains("position")) out += " (position " + S(r, "position") + ")";
    return out + "\n  " + S(r, "reason") + "\n";
  }
  return r.dump(2) + "\n";
}

int CheckConfig(const CtlOptions& o, std::ostream& out, std::ostream& err) {
  if (o.args.size() != 1) {
    err << "usage: egretctl check-config FILE [--managed-partitions]\n";
    return 2;
  }
  auto c = config::LoadConfig(o.args[0]);
  if (!c.ok()) {
    err << c.error().message() << "\n";
    return 1;
  }
  if (o.managed_partitions) {
    for (const auto& p : c->partitions)
      if (p.managed) out << p.name << "\n";
    return 0;
  }
  if (o.json) {
    json parts = json::array();
    for (const auto& p : c->partitions) parts.push_back({{"name", p.name}, {"managed", p.managed}});
    out << json{{"ok", true}, {"file", o.args[0]}, {"tenants", c->tenants.size()},
                {"partitions", parts}, {"warnings", c->warnings}}.dump(2)
        << "\n";
    return 0;
  }
  out << o.args[0] << ": OK (" << c->tenants.size() << " tenants, " << c->partitions.size()
      << " partitions)\n";
  for (const auto& w : c->warnings) out << w << "\n";
  return 0;
}

}  // namespace

int RunCtl(const CtlOptions& o, std::ostream& out, std::ostream& err) {
  static const char* kUsage =
      "usage: egretctl [--socket PATH] [--json] COMMAND\n"
      "  tenants | shares | usage | queue | leases | budget   show egret-quotad's state\n"
      "  why JOBID                                            why a job waits (or what it holds)\n"
      "  reload                                               reload tenants.toml (admins)\n"
      "  check-config FILE [--managed-partitions]             validate a tenants.toml offline\n";
  if (o.command == "check-config") return CheckConfig(o, out, err);
  std::string view;
  if (o.command == "tenants" || o.command == "shares" || o.command == "usage" || o.command == "queue" ||
      o.command == "leases" || o.command == "budget") {
    if (!o.args.empty()) {
      err << "egretctl " << o.command << " takes no arguments\n" << kUsage;
      return 2;
    }
    view = o.command;
  } else if (o.command == "why") {
    if (o.args.size() != 1) {
      err << "usage: egretctl why JOBID\n";
      return 2;
    }
    view = "why:" + o.args[0];
  } else if (o.command != "reload") {
    err << (o.command.empty() ? "" : "egretctl: unknown command '" + o.command + "'\n") << kUsage;
    return 2;
  }
  auto conn = quotad::Connection::Open(o.socket, o.timeout_s);
  if (!conn.ok()) {
    err << "egretctl: " << conn.error().message() << "\n";
    return 1;
  }
  json req = view.empty() ? json{{"op", "reload"}} : json{{"op", "query"}, {"view", view}};
  auto reply = (*conn)->Call(req);
  if (!reply.ok()) {
    err << "egretctl: " << reply.error().message() << "\n";
    return 1;
  }
  if (!quotad::GetBool(*reply, "ok").value_or(false)) {
    err << "egretctl: " << quotad::GetString(*reply, "error").value_or("egret-quotad refused") << "\n";
    return 1;
  }
  if (view.empty()) {
    out << quotad::GetString(*reply, "message").value_or("reloaded") << "\n";
    return 0;
  }
  const json& result = (*reply)["result"];
  if (o.json) out << result.dump(2) << "\n";
  else out << Render(view, result);
  return 0;
}

}  // namespace egret::ctl

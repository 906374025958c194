// Helpers for the quotad tests on the real cluster: egretctl, the quotad fixture, and job
// fields from scontrol.
#pragma once

#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/slurm.h"

namespace egret::quotad::testing {

inline const char* kClusterSocket = "/run/egret/quotad.sock";

inline ProcessResult Egretctl(const std::string& user, std::vector<std::string> args) {
  std::vector<std::string> argv = {egret::testing::BuildDir() + "/bin/egretctl", "--socket", kClusterSocket};
  argv.insert(argv.end(), args.begin(), args.end());
  return egret::testing::RunAs(user, argv);
}

inline nlohmann::json EgretctlJson(const std::string& user, std::vector<std::string> args) {
  args.insert(args.begin(), "--json");
  ProcessResult r = Egretctl(user, args);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return {{"error", r.err}, {"exit", r.exit_code}};
  return j;
}

// tests/fixtures/quotad stop | start BUILD_DIR; on failure, what the fixture said.
inline ::testing::AssertionResult QuotadFixture(const std::string& what) {
  std::vector<std::string> argv = {egret::testing::SourceDir() + "/tests/fixtures/quotad", what};
  if (what == "start") argv.push_back(egret::testing::BuildDir());
  ProcessOptions o;
  o.timeout_s = 90;
  auto r = RunProcess(argv, o);
  if (r.ok() && r->exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "tests/fixtures/quotad " << what << " failed: "
                                       << (r.ok() ? r->err : r.error().message());
}

// "2026-11-25T20:40:00" (local time, as scontrol prints it) -> unix seconds.
inline int64_t SlurmTime(const std::string& s) {
  std::tm tm{};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm));
}

inline std::string Squeue(long job, const std::string& format) {
  auto r = RunProcess({"squeue", "-h", "-j", std::to_string(job), "-o", format});
  return r.ok() ? std::string(Trim(r->out)) : "";
}

inline void Cancel(const std::vector<long>& jobs) {
  std::vector<std::string> argv = {"scancel"};
  for (long j : jobs) argv.push_back(std::to_string(j));
  (void)RunProcess(argv);
}

}  // namespace egret::quotad::testing

// Specs for the policy tests, written as tenants.toml so they read like the real thing.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "scheduler/config/config.h"
#include "scheduler/policy/from_config.h"
#include "scheduler/policy/types.h"

namespace egret::policy::testing {

inline Spec SpecFromToml(const std::string& text) {
  auto cfg = config::ParseConfig(text, "test.toml");
  EXPECT_TRUE(cfg.ok()) << cfg.error().message();
  return cfg.ok() ? SpecFromConfig(*cfg) : Spec{};
}

// The test cluster's tenants (tests/fixtures/tenants.toml), without initech's budget unless
// asked for: acme (60 shares, 4 GPUs, borrow <= 4, lend <= 4) and globex (40, 4, borrow <= 2,
// lend <= 2) in cohort "research"; initech (10, 2 GPUs, no cohort). gpu has 8 GPUs.
inline std::string ClusterToml(bool initech_budget = false) {
  return std::string(R"(
[gpu_types]
h100 = 1.0
[[partition]]
name = "gpu"
gpu_type = "h100"
gpus = 8
[[partition]]
name = "cpu"
[[tenant]]
name = "acme"
members = ["alice"]
shares = 60
cohort = "research"
gpu_quota.gpu = { nominal = 4, borrowing_limit = 4, lending_limit = 4 }
[[tenant]]
name = "globex"
members = ["bob"]
shares = 40
cohort = "research"
gpu_quota.gpu = { nominal = 4, borrowing_limit = 2, lending_limit = 2 }
[[tenant]]
name = "initech"
members = ["alice", "bob"]
shares = 10
allowed_partitions = ["gpu"]
gpu_quota = { gpu = 2 }
)") + (initech_budget ? "budget_gpu_hours = 0\n" : "");
}

constexpr int kAcme = 0, kGlobex = 1, kInitech = 2;
constexpr int kGpu = 0, kCpu = 1;

inline RunningJob Running(JobId id, int tenant, int gpus, Time start, double limit = 0,
                      bool borrowed = false) {
  return RunningJob{id, tenant, kGpu, gpus, borrowed, false, start, limit};
}

inline PendingJob Job(JobId id, int tenant, int gpus, Time submit, double limit = 0,
                      int partition = kGpu) {
  return PendingJob{id, tenant, partition, gpus, submit, limit};
}

inline State Empty(const Spec& spec) {
  State s;
  s.usage.assign(spec.tenants.size(), 0.0);
  s.budget_used_gpu_s.assign(spec.tenants.size(), 0.0);
  return s;
}

inline const Waiting* FindWaiting(const Decisions& d, JobId id) {
  for (const Waiting& w : d.waiting)
    if (w.job == id) return &w;
  return nullptr;
}

inline const Admission* FindAdmit(const Decisions& d, JobId id) {
  for (const Admission& a : d.admit)
    if (a.job == id) return &a;
  return nullptr;
}

}  // namespace egret::policy::testing

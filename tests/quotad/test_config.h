// tenants.toml texts and helpers shared by the quotad tests.
#pragma once

#include <memory>
#include <string>

#include "scheduler/config/config.h"

namespace egret::quotad::testing {

// Two partitions with different GPU weights (h100 1.0, a100 0.6), a cohort of two tenants
// that lend to each other, and a tenant with a daily budget of 1 GPU-hour.
// Half-life 1 h, daily budget periods from 2025-01-01T00:00Z.
inline const char* kUnitConfig = R"toml(
[global]
decay_half_life = "1h"
budget_period = "daily"
budget_period_start = 2025-01-01T00:00:00Z
admins = ["root"]

[gpu_types]
h100 = 1.0
a100 = 0.6

[[partition]]
name = "gpu"
gpu_type = "h100"
gpus = 8
managed = true

[[partition]]
name = "old"
gpu_type = "a100"
gpus = 4
managed = true

[[partition]]
name = "cpu"
gpus = 0
managed = false

[[tenant]]
name = "acme"
members = ["alice"]
shares = 60
cohort = "research"
allowed_partitions = ["gpu", "old", "cpu"]
gpu_quota.gpu = { nominal = 4, borrowing_limit = 4, lending_limit = 4 }
gpu_quota.old = { nominal = 2 }

[[tenant]]
name = "globex"
members = ["bob"]
shares = 40
cohort = "research"
allowed_partitions = ["gpu", "cpu"]
gpu_quota.gpu = { nominal = 4, borrowing_limit = 2, lending_limit = 2 }

[[tenant]]
name = "initech"
members = ["alice", "bob"]
shares = 10
allowed_partitions = ["gpu"]
gpu_quota = { gpu = 2 }
budget_gpu_hours = 1
)toml";

inline std::shared_ptr<const config::Config> ParseOrDie(const std::string& text) {
  auto c = config::ParseConfig(text, "test.toml");
  if (!c.ok()) throw std::runtime_error(c.error().message());
  return std::make_shared<const config::Config>(std::move(*c));
}

// 2025-03-10T00:00:00Z, a Monday, in milliseconds: a day boundary for daily budgets.
inline constexpr int64_t kDayStartMs = 1741564800000;

}  // namespace egret::quotad::testing

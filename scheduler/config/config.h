// tenants.toml: who may use which GPUs, how much, and how fairly. The schema is documented in
// scheduler/config/README.md and, with every key commented, in tenants.example.toml.
//
// Units: a partition's capacity and a tenant's quotas on it are counted in that partition's
// GPUs; usage and budgets are in normalised GPU units (one GPU of a type with weight 0.6
// counts 0.6), so they add up across partitions.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace egret::config {

// "Absent = unlimited" for borrowing and lending limits.
inline constexpr double kUnlimited = std::numeric_limits<double>::infinity();

enum class BudgetPeriod { kDaily, kWeekly, kMonthly };
std::string_view BudgetPeriodName(BudgetPeriod p);  // "daily", "weekly", "monthly"

// Where a setting was written, for messages that point back at the file.
struct Location {
  int line = 0;
  int column = 0;
};

struct GpuType {
  std::string name;     // e.g. "h100"
  double weight = 1.0;  // normalised GPU units per GPU of this type (> 0)
  Location where;
};

struct Partition {
  std::string name;          // the Slurm partition
  std::string gpu_type;      // a key of [gpu_types]; empty for a partition without GPUs
  int capacity_gpus = 0;     // GPUs in the partition (sum over its nodes)
  bool managed = false;      // quotad holds and releases jobs here; unmanaged: Slurm alone
  double weight = 0.0;       // the weight of gpu_type (0 when it has no GPUs)
  Location where;
};

// A tenant's quota on one partition, with Kueue's meaning.
struct Quota {
  std::string partition;
  double nominal_gpus = 0;                 // guaranteed when the tenant asks for it
  double borrowing_limit = kUnlimited;     // how far beyond nominal it may borrow in its cohort
  double lending_limit = kUnlimited;       // how much of its unused nominal others may borrow
  Location where;
};

struct Member {
  enum class Kind { kUser, kGroup };
  Kind kind = Kind::kUser;
  std::string name;  // without the '@' of a group
};

struct Tenant {
  std::string name;                          // = the Slurm account
  std::vector<Member> members;
  double shares = 1;                         // fairshare shares (> 0)
  std::string cohort;                        // empty: borrows and lends nothing
  std::vector<Quota> quotas;                 // one per partition with a quota
  std::optional<double> budget_gpu_hours;    // per budget period; absent = unlimited
  std::vector<std::string> allowed_partitions;
  std::string root;                          // <tenants_root>/<name> unless set
  std::string data_dir, models_dir, checkpoints_dir;  // root/{data,models,checkpoints}
  Location where;

  const Quota* FindQuota(std::string_view partition) const;
  bool Allows(std::string_view partition) const;
  bool HasUser(std::string_view user) const;                 // a user member, by name
  bool HasGroup(std::string_view group) const;               // a @group member, by name
};

// The daemon's own settings ([daemon]); the policy never reads them.
struct DaemonSettings {
  std::string socket = "/run/egret/quotad.sock";
  std::string metrics_address = "127.0.0.1:9464";  // Prometheus text over HTTP, localhost
  std::string state_dir = "/var/lib/egret-quotad"; // ledger, audit log
  std::string tcp_address;                          // empty: no TCP listener (MUNGE-authenticated)
  double lease_timeout_s = 300;                     // a lease without heartbeat expires after this
  double poll_interval_s = 1;                       // how often pending jobs are read from Slurm
  double preempt_grace_s = 120;                     // signal → requeue: time to checkpoint
};

struct Config {
  std::string source;                 // the display name of the file it came from
  double decay_half_life_s = 7 * 86400.0;   // 0 = usage never decays
  BudgetPeriod budget_period = BudgetPeriod::kMonthly;
  int64_t budget_period_start_s = 0;  // unix seconds (UTC) where the first period begins
  std::vector<std::string> admins;    // user names and @groups
  std::string tenants_root = "/srv/egret/tenants";
  DaemonSettings daemon;
  std::vector<GpuType> gpu_types;
  std::vector<Partition> partitions;
  std::vector<Tenant> tenants;
  // Allowed but worth an admin's look (e.g. nominal quotas on a partition add up to more than
  // its capacity, so not all of them can be honoured at once). check-config prints them.
  std::vector<std::string> warnings;

  const Tenant* FindTenant(std::string_view name) const;
  const Partition* FindPartition(std::string_view name) const;
  const GpuType* FindGpuType(std::string_view name) const;
  // The tenants USER may act for: direct membership, or membership of one of GROUPS.
  std::vector<const Tenant*> TenantsOf(std::string_view user,
                                       const std::vector<std::string>& groups) const;
  bool IsAdmin(std::string_view user, const std::vector<std::string>& groups) const;
};

// Reads and validates PATH. Every problem found is reported, one per line, each as
// "<file>:<line>:<column>: tenant \"acme\": <field> <what is wrong> (got <value>); <fix>".
Result<Config> LoadConfig(const std::string& path);
// The same for text already in memory; DISPLAY_NAME stands for the file in messages.
Result<Config> ParseConfig(std::string_view text, std::string_view display_name);

}  // namespace egret::config

// The client side of egret-quotad's API, used by the SPANK plugin, egretctl and `egret`.
// One request per call over the daemon's Unix socket; the daemon learns the caller's uid
// from SO_PEERCRED, so nothing here claims an identity.
//
// Who may call what (enforced by the daemon, not here):
//   CheckSubmit, MyTenant            any user, about themselves
//   GetLease, ReleaseLease           root or SlurmUser (slurmstepd, the plugin's remote side)
//   Query (read-only views)          users see their own tenant; admins see everything
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace egret::quotad {

// Default socket path; plugstack.conf / egretctl --socket override it.
inline constexpr const char* kDefaultSocket = "/run/egret/quotad.sock";

struct SubmitVerdict {
  bool allowed = false;
  // When not allowed, what the user sees on the terminal, e.g.
  // "egret: user mallory is not a member of tenant acme (members: alice, @ml-team)".
  std::string reason;
};

enum class LeaseState { kGranted, kBorrowed };

struct Lease {
  uint32_t job_id = 0;
  std::string tenant;     // the job's Slurm account
  std::string partition;
  int gpus = 0;
  LeaseState state = LeaseState::kGranted;
  int64_t granted_at_s = 0;  // unix seconds
};

class Client {
 public:
  // Connects (with a timeout) to the daemon's socket. The error names the socket and says
  // whether the daemon is down ("connection refused") or the path is wrong.
  static Result<std::unique_ptr<Client>> Connect(const std::string& socket_path,
                                                 double timeout_s = 5.0);
  virtual ~Client() = default;

  // May the calling user submit to PARTITION as tenant ACCOUNT asking for GPUS GPUs?
  // Unknown tenant, non-member, disallowed partition and exhausted budget are refusals
  // (allowed=false with a reason), not errors; errors are transport or daemon failures.
  virtual Result<SubmitVerdict> CheckSubmit(const std::string& account,
                                            const std::string& partition, int gpus) = 0;

  // The lease quotad granted JOB_ID when it released the held job; an error whose message
  // says why when there is none ("job 42 holds no admission lease: it was not released by
  // egret-quotad").
  virtual Result<Lease> GetLease(uint32_t job_id) = 0;

  // Closes JOB_ID's lease and charges usage up to END_TIME_S (unix seconds). Idempotent:
  // releasing a lease that is already closed succeeds and charges nothing more.
  virtual Status ReleaseLease(uint32_t job_id, int64_t end_time_s) = 0;

  // Generic read-only query (egretctl): VIEW is one of "tenants", "shares", "usage", "queue",
  // "leases", "budget", "why:<jobid>"; the answer is JSON text.
  virtual Result<std::string> Query(const std::string& view) = 0;
};

}  // namespace egret::quotad

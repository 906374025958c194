// Group commit over the Ledger: callers submit ops with a completion; one thread applies
// everything queued since its last commit in one transaction, commits (one fsync for all), and
// only then runs each completion. So a request is acknowledged only after the sync that covers
// it, and N concurrent requests cost one sync instead of N.
//
// Ops are applied in submission order. A failing transaction is a broken disk or a bug: the
// committer stops accepting work and reports the error to every waiting completion and to
// OnFatal (the daemon then exits; a restart recovers from what is on disk).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "scheduler/ledger/ledger.h"

namespace egret::quotad {

struct GroupCommitStats {
  uint64_t commits = 0;
  uint64_t ops = 0;
  uint64_t checkpoints = 0;
  double last_commit_ms = 0;
};

class GroupCommitter {
 public:
  using Done = std::function<void(const Status&)>;

  // Takes over LEDGER (already loaded). CHECKPOINT_EVERY_S: how often a separate connection
  // copies the WAL into the database.
  // OBSERVE, if set, is called after every commit with its duration (seconds) and op count.
  GroupCommitter(std::unique_ptr<Ledger> ledger, std::function<void(const Error&)> on_fatal,
                 std::function<void(double, size_t)> observe = {}, double checkpoint_every_s = 1.0,
                 size_t max_batch = 4096, int restart_wal_frames = 4096);
  ~GroupCommitter();  // commits what is queued, then stops

  // DONE runs on the committer thread after the commit covering OPS (or with the error).
  // An empty DONE means fire-and-forget (heartbeats): durable at the next commit.
  void Submit(std::vector<LedgerOp> ops, Done done);
  // Blocks until everything submitted so far is committed.
  Status Flush();

  GroupCommitStats stats() const;

 private:
  struct Pending {
    std::vector<LedgerOp> ops;
    Done done;
  };
  void Run();
  void RunCheckpoints();

  std::unique_ptr<Ledger> ledger_;
  std::function<void(const Error&)> on_fatal_;
  std::function<void(double, size_t)> observe_;
  double checkpoint_every_s_;
  size_t max_batch_;
  int restart_wal_frames_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;
  bool stop_ = false;
  bool failed_ = false;
  std::string failure_;
  GroupCommitStats stats_;

  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_stop_ = false;
  std::thread thread_;
  std::thread checkpointer_;
};

}  // namespace egret::quotad

// The daemon's core: QuotaState behind one mutex, made durable through the GroupCommitter.
// Every mutation runs under the lock, which also covers handing its ledger ops to the
// committer, so the ledger sees mutations in exactly the order memory did. Completions run
// after the commit that covers them: nothing is acknowledged before it is on disk.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "scheduler/config/config.h"
#include "scheduler/core/quota_state.h"
#include "scheduler/daemon/audit_log.h"
#include "scheduler/ledger/group_commit.h"
#include "scheduler/metrics/registry.h"

namespace egret::quotad {

// Wall-clock milliseconds; injectable so tests can move time.
using Clock = std::function<int64_t()>;
int64_t SystemClockMs();

class Engine {
 public:
  Engine(std::shared_ptr<const config::Config> config, std::unique_ptr<Ledger> ledger,
         const LedgerSnapshot& snapshot, AuditLog* audit, metrics::Registry* metrics, Clock clock,
         std::function<void(const Error&)> on_fatal);
  ~Engine();

  int64_t NowMs() const { return clock_(); }
  AuditLog* audit() { return audit_; }

  // F(QuotaState&, std::vector<LedgerOp>*) runs under the lock; its ops are committed and
  // DONE(status) runs after the commit (on the committer thread). Returns F's result.
  template <typename F>
  auto Mutate(F&& f, GroupCommitter::Done done) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<LedgerOp> ops;
    auto r = f(*state_, &ops);
    committer_->Submit(std::move(ops), std::move(done));
    return r;
  }
  // As Mutate, but waits for the commit; returns F's result or the commit's error.
  template <typename F>
  auto MutateSync(F&& f) -> Result<decltype(f(std::declval<QuotaState&>(), nullptr))> {
    auto p = std::make_shared<std::promise<Status>>();
    auto fut = p->get_future();
    auto r = Mutate(std::forward<F>(f), [p](const Status& s) { p->set_value(s); });
    Status s = fut.get();
    if (!s.ok()) return s.error();
    return r;
  }
  // F(const QuotaState&) under the lock.
  template <typename F>
  auto Read(F&& f) const {
    std::lock_guard<std::mutex> l(mu_);
    return f(static_cast<const QuotaState&>(*state_));
  }

  void Reload(std::shared_ptr<const config::Config> config);
  // Bumped by every Reload: lets callers cache what they derived from the config.
  uint64_t config_generation() const { return config_generation_.load(std::memory_order_acquire); }
  Status Flush() { return committer_->Flush(); }
  GroupCommitStats commit_stats() const { return committer_->stats(); }

  // Decision counters by outcome (granted, borrowed, denied, queued, released, expired,
  // preempted, reconciled).
  void Count(const std::string& outcome, uint64_t n = 1);

 private:
  void CollectMetrics(std::string* out) const;

  mutable std::mutex mu_;
  std::unique_ptr<QuotaState> state_;
  std::unique_ptr<GroupCommitter> committer_;
  AuditLog* audit_;
  Clock clock_;
  std::map<std::string, metrics::Counter*> decisions_;
  std::atomic<uint64_t> config_generation_{1};
};

}  // namespace egret::quotad

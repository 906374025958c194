#include "scheduler/ledger/group_commit.h"

#include <chrono>
#include <future>

namespace egret::quotad {

GroupCommitter::GroupCommitter(std::unique_ptr<Ledger> ledger,
                               std::function<void(const Error&)> on_fatal,
                               std::function<void(double, size_t)> observe,
                               double checkpoint_every_s, size_t max_batch, int restart_wal_frames)
    : ledger_(std::move(ledger)),
      on_fatal_(std::move(on_fatal)),
      observe_(std::move(observe)),
      checkpoint_every_s_(checkpoint_every_s),
      max_batch_(max_batch),
      restart_wal_frames_(restart_wal_frames) {
  thread_ = std::thread([this] { Run(); });
  checkpointer_ = std::thread([this] { RunCheckpoints(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  {
    std::lock_guard<std::mutex> l(ckpt_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_all();
  checkpointer_.join();
}

void GroupCommitter::Submit(std::vector<LedgerOp> ops, Done done) {
  {
    std::unique_lock<std::mutex> l(mu_);
    if (failed_) {
      std::string why = failure_;
      l.unlock();
      if (done) done(Error(why));
      return;
    }
    queue_.push_back(Pending{std::move(ops), std::move(done)});
  }
  cv_.notify_one();
}

Status GroupCommitter::Flush() {
  auto p = std::make_shared<std::promise<Status>>();
  auto f = p->get_future();
  Submit({}, [p](const Status& s) { p->set_value(s); });
  return f.get();
}

GroupCommitStats GroupCommitter::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

void GroupCommitter::Run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      if (queue_.size() <= max_batch_) {
        batch.swap(queue_);
      } else {
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + static_cast<long>(max_batch_)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(max_batch_));
      }
    }
    auto t0 = std::chrono::steady_clock::now();
    size_t nops = 0;
    Status st = ledger_->Begin();
    for (size_t i = 0; st.ok() && i < batch.size(); ++i)
      for (const LedgerOp& op : batch[i].ops) {
        st = ledger_->Apply(op);
        ++nops;
        if (!st.ok()) break;
      }
    if (st.ok()) st = ledger_->Commit();
    if (!st.ok()) {
      ledger_->Rollback();
      std::vector<Pending> rest;
      {
        std::lock_guard<std::mutex> l(mu_);
        failed_ = true;
        failure_ = st.error().message();
        rest.swap(queue_);
      }
      // The fatal handler runs first: whoever sees a failed op finds the failure reported.
      if (on_fatal_) on_fatal_(st.error());
      for (auto& p : batch)
        if (p.done) p.done(st);
      for (auto& p : rest)
        if (p.done) p.done(st);
      return;
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    {
      std::lock_guard<std::mutex> l(mu_);
      stats_.commits++;
      stats_.ops += nops;
      stats_.last_commit_ms = ms;
    }
    if (observe_) observe_(ms / 1000.0, nops);
    for (auto& p : batch)
      if (p.done) p.done(st);
    batch.clear();
    // Under steady load the WAL is never idle long enough for SQLite to restart it, and would
    // grow without end; restart it here, between commits (the background checkpointer has
    // copied most of it already, so this is short).
    if (ledger_->wal_frames() >= restart_wal_frames_) {
      (void)ledger_->RestartWal();
      std::lock_guard<std::mutex> l(mu_);
      stats_.checkpoints++;
    }
  }
}

void GroupCommitter::RunCheckpoints() {
  auto ckpt = Checkpointer::Open(ledger_->path());
  std::unique_lock<std::mutex> l(ckpt_mu_);
  for (;;) {
    bool stopping = ckpt_cv_.wait_for(l, std::chrono::duration<double>(checkpoint_every_s_),
                                      [&] { return ckpt_stop_; });
    // A failed checkpoint loses nothing (the WAL keeps the data); it is retried next time.
    if (ckpt.ok()) (void)(*ckpt)->Run();
    if (stopping) return;
  }
}

}  // namespace egret::quotad

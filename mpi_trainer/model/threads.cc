#include "mpi_trainer/model/threads.h"

#include <cblas.h>
#include <immintrin.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace egret::trainer {

namespace {

// ~50 us of polling before a worker sleeps: long enough to bridge consecutive kernels of a
// step, short enough that an oversubscribed core is released quickly.
constexpr int kSpins = 2000;

thread_local bool t_in_task = false;

// A parallel section publishes one job word: epoch (16 bits) | next task (24) | task count
// (24). Threads claim tasks by compare-and-swap on that word, so a worker that wakes late
// can never run a task of a section that has moved on; the caller waits for the number of
// finished tasks, not for every worker to check in (a descheduled worker delays nothing).
class Pool {
 public:
  explicit Pool(int n) : threads_(n) {
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~Pool() {
    stop_.store(true);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int threads() const { return threads_; }

  void Run(int64_t tasks, detail::TaskFn fn, void* ctx) {
    std::lock_guard<std::mutex> lock(run_mu_);  // one parallel section at a time
    if (tasks > kMaxTasks) {  // more than the job word can count: run in slices
      for (int64_t b = 0; b < tasks; b += kMaxTasks) {
        Slice slice{fn, ctx, b};
        RunLocked(std::min<int64_t>(kMaxTasks, tasks - b), &Slice::Call, &slice);
      }
      return;
    }
    RunLocked(tasks, fn, ctx);
  }

 private:
  static constexpr int64_t kMaxTasks = (int64_t{1} << 24) - 1;
  struct Slice {
    detail::TaskFn fn;
    void* ctx;
    int64_t base;
    static void Call(void* c, int64_t t) {
      auto* s = static_cast<Slice*>(c);
      s->fn(s->ctx, s->base + t);
    }
  };

  void RunLocked(int64_t tasks, detail::TaskFn fn, void* ctx) {
    fn_ = fn;
    ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    epoch_ = (epoch_ + 1) & 0xffff;
    job_.store((static_cast<uint64_t>(epoch_) << 48) | static_cast<uint64_t>(tasks),
               std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    Drain(epoch_);
    const uint32_t total = static_cast<uint32_t>(tasks);
    for (int i = 0;; ++i) {
      uint32_t d = done_.load(std::memory_order_acquire);
      if (d == total) break;
      if (i < kSpins) _mm_pause();
      else done_.wait(d, std::memory_order_acquire);
    }
  }

  // Runs tasks of section `epoch` until none is left.
  void Drain(uint64_t epoch) {
    t_in_task = true;
    uint64_t s = job_.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t idx = (s >> 24) & 0xffffff, total = s & 0xffffff;
      if ((s >> 48) != epoch || idx >= total) break;
      if (!job_.compare_exchange_weak(s, s + (uint64_t{1} << 24), std::memory_order_acq_rel)) continue;
      fn_(ctx_, static_cast<int64_t>(idx));
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == total) done_.notify_one();
      s = job_.load(std::memory_order_acquire);
    }
    t_in_task = false;
  }

  void Work() {
    uint32_t seen = generation_.load(std::memory_order_acquire);
    for (;;) {
      for (int i = 0; generation_.load(std::memory_order_acquire) == seen; ++i) {
        if (i < kSpins) _mm_pause();
        else generation_.wait(seen, std::memory_order_acquire);
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      Drain(job_.load(std::memory_order_acquire) >> 48);
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex run_mu_;
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint64_t> job_{0};
  std::atomic<uint32_t> done_{0};
  std::atomic<bool> stop_{false};
  uint64_t epoch_ = 0;
  detail::TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
};

std::unique_ptr<Pool>& ThePool() {
  static std::unique_ptr<Pool> pool;
  return pool;
}

}  // namespace

int CoreCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

void SetNumThreads(int n) {
  const int want = n > 0 ? n : CoreCount();
  auto& pool = ThePool();
  if (pool && pool->threads() == want) return;
  pool.reset();
  pool = std::make_unique<Pool>(want);
  openblas_set_num_threads(1);  // BLAS runs inside our tasks
}

int NumThreads() {
  if (!ThePool()) SetNumThreads(0);
  return ThePool()->threads();
}

namespace detail {

void RunTasks(int64_t tasks, TaskFn fn, void* ctx) {
  if (tasks <= 0) return;
  if (tasks == 1 || t_in_task || NumThreads() == 1) {
    for (int64_t t = 0; t < tasks; ++t) fn(ctx, t);
    return;
  }
  ThePool()->Run(tasks, fn, ctx);
}

}  // namespace detail
}  // namespace egret::trainer

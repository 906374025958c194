// The trainer's CPU threads: one pool runs every kernel, and BLAS calls run single-threaded
// inside it on tiles of the output, so two thread pools never compete for the same cores.
// Workers spin briefly between parallel sections and then sleep, so a core shared with other
// work (a loaded node) is given up instead of burnt. Work is cut into pieces that do not
// depend on the thread count and each piece is computed the same way by whichever thread
// takes it, so results are deterministic (and the same for any thread count, except where a
// header says otherwise).
#pragma once

#include <cstdint>
#include <utility>

namespace egret::trainer {

// CPUs this process may run on (its affinity mask, which Slurm's cgroup/affinity sets).
int CoreCount();
// Sets the pool size (n <= 0: CoreCount()). Call between steps, not inside a parallel section.
void SetNumThreads(int n);
int NumThreads();

namespace detail {
using TaskFn = void (*)(void* ctx, int64_t task);
void RunTasks(int64_t tasks, TaskFn fn, void* ctx);
}  // namespace detail

// Calls fn(task) for every task in [0, tasks), spread over the pool; returns when all are
// done. Tasks must write disjoint memory. Called from inside a task, it runs inline.
template <typename F>
void ParallelTasks(int64_t tasks, F&& fn) {
  auto trampoline = [](void* ctx, int64_t t) { (*static_cast<std::remove_reference_t<F>*>(ctx))(t); };
  detail::RunTasks(tasks, trampoline, const_cast<void*>(static_cast<const void*>(&fn)));
}

// Calls fn(begin, end) on contiguous ranges covering [0, n), each at least `grain` long
// (except the last).
template <typename F>
void ParallelFor(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  const int64_t max_chunks = 4 * static_cast<int64_t>(NumThreads());
  int64_t chunks = (n + grain - 1) / grain;
  if (chunks > max_chunks) chunks = max_chunks;
  if (chunks <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  ParallelTasks(chunks, [&](int64_t c) { fn(n * c / chunks, n * (c + 1) / chunks); });
}

}  // namespace egret::trainer

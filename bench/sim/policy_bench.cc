// Time per policy decision: the acquire path (one pending job against a busy partition), a
// full pass over a deep queue, and Decide (egretctl why). Prints one JSON object per case with
// Egret's policy and the classic configuration (FIFO + backfill) timed on the same states.
#include <chrono>
#include <cstdio>
#include <vector>

#include "scheduler/policy/schedule.h"
#include "scheduler/sim/generator.h"

using namespace egret;
using Clock = std::chrono::steady_clock;

namespace {

// 64 GPUs, the generator's four tenants, the partition full with RUNNING jobs and QUEUED
// jobs waiting: a state like the daemon's under load.
policy::State BusyState(const policy::Spec& spec, int running, int queued) {
  policy::State s;
  s.usage = {4e6, 3e6, 2e6, 1.5e6};
  s.budget_used_gpu_s.assign(spec.tenants.size(), 0);
  uint64_t id = 1;
  // 48 jobs on 64 GPUs: 16 of 2 GPUs and 32 of 1; tenant 3's are borrowed.
  for (int i = 0; i < running; ++i)
    s.running.push_back({id++, i % 4, 0, i < 16 ? 2 : 1, (i % 4) == 3, false, 1000.0 + i, 3600});
  for (int i = 0; i < queued; ++i)
    s.pending.push_back({id++, i % 4, 0, 1 + (i % 8 == 0 ? 7 : i % 3), 5000.0 + i, 7200});
  return s;
}

template <typename F>
double NsPerCall(F&& f, double min_s = 0.3) {
  int n = 1;
  while (true) {
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) f();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s >= min_s) return s * 1e9 / n;
    n *= 2;
  }
}

volatile size_t sink;

}  // namespace

int main() {
  policy::Spec spec = sim::Generate(sim::GeneratorOptions{}).spec;
  policy::Options egret;
  egret.explain = true;  // the daemon writes reasons
  policy::Options classic = egret;
  classic.order = policy::Options::Order::kFifo;
  classic.quotas = classic.borrowing = classic.reclaim = classic.fair_preemption = false;
  classic.running_weight = 0;
  struct Case { const char* name; int running, queued; };
  for (Case c : {Case{"acquire_1_pending", 48, 1}, Case{"pass_100_pending", 48, 100},
                 Case{"pass_1000_pending", 48, 1000}}) {
    policy::State s = BusyState(spec, c.running, c.queued);
    double e = NsPerCall([&] { sink = policy::Schedule(spec, s, 6000, egret).waiting.size(); });
    double b = NsPerCall([&] { sink = policy::Schedule(spec, s, 6000, classic).waiting.size(); });
    std::printf("{\"case\": \"%s\", \"running\": %d, \"pending\": %d, \"egret_ns\": %.0f, "
                "\"classic_ns\": %.0f}\n",
                c.name, c.running, c.queued, e, b);
  }
  policy::State s = BusyState(spec, 48, 100);
  policy::PendingJob j{999999, 3, 0, 4, 7000, 3600};
  double e = NsPerCall([&] { sink = policy::Decide(spec, s, j, 7000, egret).reason.size(); });
  double b = NsPerCall([&] { sink = policy::Decide(spec, s, j, 7000, classic).reason.size(); });
  std::printf("{\"case\": \"decide_why\", \"running\": 48, \"pending\": 100, \"egret_ns\": %.0f, "
              "\"classic_ns\": %.0f}\n", e, b);
  return 0;
}

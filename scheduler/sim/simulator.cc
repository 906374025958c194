#include "scheduler/sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <unordered_map>

#include "scheduler/policy/fairshare.h"
#include "scheduler/policy/schedule.h"

namespace egret::sim {
namespace {

struct Live {
  int job = -1;             // index into jobs
  double start = 0;
  double signalled = -1;    // preempt signal time; -1 if not preempting
  bool borrowed = false;
  uint64_t version = 0;     // bumps when its end event is replaced
};

struct EndEvent {
  double t;
  int job;
  uint64_t version;
  bool operator>(const EndEvent& o) const { return t != o.t ? t > o.t : job > o.job; }
};

}  // namespace

Result<SimResult> Simulate(const policy::Spec& spec, const Trace& trace, const SimOptions& opt) {
  const int P = opt.partition;
  if (P < 0 || P >= static_cast<int>(spec.partitions.size()))
    return Error("simulation partition index out of range");
  const int T = static_cast<int>(spec.tenants.size());
  std::unordered_map<std::string, int> tenant_index;
  for (int i = 0; i < T; ++i) tenant_index[spec.tenants[i].name] = i;

  SimResult res;
  res.timeline.tenants = T;
  const size_t N = trace.jobs.size();
  res.jobs.resize(N);
  for (size_t k = 0; k < N; ++k) {
    const TraceJob& tj = trace.jobs[k];
    auto it = tenant_index.find(tj.tenant);
    if (it == tenant_index.end())
      return Error("trace job " + std::to_string(tj.id) + ": tenant \"" + tj.tenant +
                   "\" is not in the tenant configuration");
    JobRecord& r = res.jobs[k];
    r.id = tj.id;
    r.tenant = it->second;
    r.gpus = tj.gpus;
    r.submit = tj.submit_s;
    r.runtime = tj.runtime_s;
    r.time_limit = std::max(tj.time_limit_s, tj.runtime_s);
  }

  std::vector<double> work_left(N);
  for (size_t k = 0; k < N; ++k) work_left[k] = res.jobs[k].runtime;
  std::vector<Live> live(N);
  std::vector<int> running;   // job indices
  std::vector<int> pending;   // job indices
  std::priority_queue<EndEvent, std::vector<EndEvent>, std::greater<EndEvent>> ends;
  std::vector<policy::DecayedUsage> usage(T);
  std::vector<double> held(T, 0.0);
  const double weight = spec.partitions[P].weight;
  std::vector<double> nominal(T);
  for (int i = 0; i < T; ++i) nominal[i] = spec.tenants[i].quota[P].nominal;

  size_t next = 0;
  double now = N ? res.jobs[0].submit : 0;
  for (auto& u : usage) u.as_of = now;
  policy::State state;
  state.budget_used_gpu_s.assign(T, 0.0);
  std::vector<char> gone(N, 0);  // admitted or refused in this pass
  std::vector<int> oldest(T);

  while (true) {
    // 1. Events at `now`: ends first (a preempted job requeues), then arrivals.
    while (!ends.empty() && ends.top().t <= now) {
      EndEvent e = ends.top();
      ends.pop();
      Live& l = live[e.job];
      if (e.version != l.version) continue;
      JobRecord& r = res.jobs[e.job];
      held[r.tenant] -= r.gpus;
      running.erase(std::find(running.begin(), running.end(), e.job));
      if (l.signalled >= 0) {
        // Checkpointed at the signal: the work up to it is kept, the grace period is lost.
        work_left[e.job] = std::max(0.0, work_left[e.job] - (l.signalled - l.start));
        l.signalled = -1;
        gone[e.job] = 0;
        pending.push_back(e.job);
      } else {
        r.end = now;
      }
    }
    while (next < N && res.jobs[next].submit <= now) pending.push_back(static_cast<int>(next++));

    // 2. Decisions.
    state.usage.resize(T);
    for (int i = 0; i < T; ++i) state.usage[i] = usage[i].At(now, spec.half_life_s);
    state.running.clear();
    for (int j : running) {
      const JobRecord& r = res.jobs[j];
      state.running.push_back({static_cast<policy::JobId>(j), r.tenant, P, r.gpus, live[j].borrowed,
                               live[j].signalled >= 0, live[j].start, r.time_limit});
    }
    state.pending.clear();
    for (int j : pending) {
      const JobRecord& r = res.jobs[j];
      state.pending.push_back({static_cast<policy::JobId>(j), r.tenant, P, r.gpus, r.submit, r.time_limit});
    }
    policy::Decisions d;
    if (!pending.empty()) {
      d = policy::Schedule(spec, state, now, opt.policy);
      ++res.schedule_calls;
      res.decisions += static_cast<int64_t>(pending.size());
    }
    for (const policy::Admission& a : d.admit) {
      const int j = static_cast<int>(a.job);
      JobRecord& r = res.jobs[j];
      Live& l = live[j];
      l.start = now;
      l.borrowed = a.borrowed;
      ++l.version;
      if (r.first_start < 0) r.first_start = now;
      held[r.tenant] += r.gpus;
      running.push_back(j);
      gone[j] = 1;
      ends.push({now + std::min(work_left[j], r.time_limit), j, l.version});
    }
    for (const policy::Preemption& p : d.preempt) {
      const int j = static_cast<int>(p.job);
      Live& l = live[j];
      l.signalled = now;
      ++l.version;
      ++res.jobs[j].preemptions;
      ++res.preemptions;
      res.lost_gpu_s += res.jobs[j].gpus * opt.preempt_grace_s;
      ends.push({now + opt.preempt_grace_s, j, l.version});
    }
    for (const policy::Waiting& w : d.waiting) {
      if (!w.denied) continue;
      res.jobs[w.job].denied = true;
      gone[w.job] = 1;
    }
    pending.erase(std::remove_if(pending.begin(), pending.end(), [&](int j) { return gone[j] != 0; }),
                  pending.end());

    // 3. Advance to the next event, recording the segment in between.
    double t_next = INFINITY;
    if (next < N) t_next = res.jobs[next].submit;
    while (!ends.empty() && ends.top().version != live[ends.top().job].version) ends.pop();
    if (!ends.empty()) t_next = std::min(t_next, ends.top().t);
    if (!std::isfinite(t_next)) break;  // nothing runs, nothing arrives: what waits never starts
    const double dt = t_next - now;
    Timeline& tl = res.timeline;
    tl.t0.push_back(now);
    tl.t1.push_back(t_next);
    std::fill(oldest.begin(), oldest.end(), -1);
    for (int j : pending) {
      int t = res.jobs[j].tenant;
      if (oldest[t] < 0 || res.jobs[j].submit < res.jobs[oldest[t]].submit ||
          (res.jobs[j].submit == res.jobs[oldest[t]].submit && j < oldest[t]))
        oldest[t] = j;
    }
    for (int i = 0; i < T; ++i) {
      tl.held.push_back(static_cast<float>(held[i]));
      tl.backlogged.push_back(oldest[i] >= 0);
      if (oldest[i] >= 0 && held[i] + res.jobs[oldest[i]].gpus <= nominal[i])
        res.jobs[oldest[i]].fit_wait_s += dt;
      usage[i].Charge(held[i] * weight, now, t_next, spec.half_life_s);
    }
    tl.any_waiting.push_back(!pending.empty());
    now = t_next;
  }
  return res;
}

}  // namespace egret::sim

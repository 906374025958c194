// How a lease turns into usage: GPUs x GPU-type weight x seconds, from the lease's start to
// its end, added to the tenant's decayed usage (each instant decayed from when it was used,
// policy::DecayedUsage) and split over the budget periods it spans.
#pragma once

#include <cstdint>
#include <vector>

#include "scheduler/ledger/records.h"
#include "scheduler/policy/types.h"

namespace egret::quotad {

inline double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }
inline int64_t Millis(double s) { return static_cast<int64_t>(s * 1000.0 + (s >= 0 ? 0.5 : -0.5)); }

// RATE GPU units charged over [START_MS, END_MS] (END <= START charges nothing).
double ChargeUnits(double rate, int64_t start_ms, int64_t end_ms);

// The charge split over the budget periods of SPEC that [start, end] overlaps.
std::vector<BudgetPart> SplitOverPeriods(const policy::Spec& spec, double rate, int64_t start_ms,
                                         int64_t end_ms);

// USAGE after adding RATE over [start, end] with SPEC's half-life.
TenantUsage AddCharge(const policy::Spec& spec, TenantUsage usage, double rate, int64_t start_ms,
                      int64_t end_ms);

// The decayed usage a lease of RATE running since START_MS has accrued by NOW_MS.
double RunningDecayedUsage(const policy::Spec& spec, double rate, int64_t start_ms, int64_t now_ms);

}  // namespace egret::quotad

// Slurm's classic fairshare on a flat tree of accounts.
//
//   usage decays continuously:  U(t + dt) = U(t) * 2^(-dt / half_life)   (PriorityDecayHalfLife)
//   a job charges gpus * weight per second it runs (normalised GPU-seconds)
//   S_t = shares_t / sum(shares)       U_t = usage_t / sum(usage)   (U_t = 0 when sum is 0)
//   F_t = 2^(-U_t / S_t)               1 = no usage; 0.5 = used exactly its share
#pragma once

#include <cstdint>
#include <vector>

#include "scheduler/policy/types.h"

namespace egret::policy {

// 2^(-dt / half_life); 1 when half_life is 0 (no decay) or dt <= 0.
double DecayFactor(double dt_s, double half_life_s);

// A decayed total that is advanced lazily: value is exact as of `as_of`.
struct DecayedUsage {
  double value = 0;  // normalised GPU-seconds
  Time as_of = 0;

  // The value at NOW (>= as_of), without changing this.
  double At(Time now, double half_life_s) const;
  // Moves as_of to NOW.
  void Advance(Time now, double half_life_s);
  // Adds RATE units/s charged continuously over [from, to], each instant decayed from when it
  // was used: rate * integral_from^to 2^(-(as_of' - s)/h) ds, with as_of' = max(as_of, to).
  void Charge(double rate, Time from, Time to, double half_life_s);
};

// Normalised shares S_t (sum 1).
std::vector<double> NormalisedShares(const Spec& spec);
// F_t for every tenant, from its decayed usage.
std::vector<double> FairshareFactors(const Spec& spec, const std::vector<double>& usage);
double FairshareFactor(double norm_usage, double norm_shares);

// The job priority quotad releases a job with: 1 + round(F * kPriorityScale), so F = 1 gives
// the largest and a job is never released with 0 (0 means held in Slurm).
inline constexpr uint32_t kPriorityScale = 1000000;
uint32_t SlurmPriority(double factor);

}  // namespace egret::policy

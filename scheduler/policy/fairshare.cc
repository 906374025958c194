#include "scheduler/policy/fairshare.h"

#include <algorithm>
#include <cmath>

namespace egret::policy {

double DecayFactor(double dt_s, double half_life_s) {
  if (half_life_s <= 0 || dt_s <= 0) return 1.0;
  return std::exp2(-dt_s / half_life_s);
}

double DecayedUsage::At(Time now, double half_life_s) const {
  return value * DecayFactor(now - as_of, half_life_s);
}

void DecayedUsage::Advance(Time now, double half_life_s) {
  if (now <= as_of) return;
  value = At(now, half_life_s);
  as_of = now;
}

void DecayedUsage::Charge(double rate, Time from, Time to, double half_life_s) {
  if (!(to > from) || rate == 0) return;
  Advance(to, half_life_s);
  if (half_life_s <= 0) {
    value += rate * (to - from);
    return;
  }
  // integral_from^to 2^(-(as_of - s)/h) ds = h/ln2 * (2^(-(as_of-to)/h) - 2^(-(as_of-from)/h))
  const double k = half_life_s / std::log(2.0);
  value += rate * k * (DecayFactor(as_of - to, half_life_s) - DecayFactor(as_of - from, half_life_s));
}

std::vector<double> NormalisedShares(const Spec& spec) {
  double total = 0;
  for (const auto& t : spec.tenants) total += t.shares;
  std::vector<double> s(spec.tenants.size(), 0.0);
  if (total <= 0) return s;
  for (size_t i = 0; i < s.size(); ++i) s[i] = spec.tenants[i].shares / total;
  return s;
}

double FairshareFactor(double norm_usage, double norm_shares) {
  if (norm_shares <= 0) return 0;
  return std::exp2(-norm_usage / norm_shares);
}

std::vector<double> FairshareFactors(const Spec& spec, const std::vector<double>& usage) {
  std::vector<double> shares = NormalisedShares(spec);
  double total = 0;
  for (size_t i = 0; i < shares.size() && i < usage.size(); ++i) total += std::max(0.0, usage[i]);
  std::vector<double> f(shares.size(), 1.0);
  for (size_t i = 0; i < f.size(); ++i) {
    // With no usage anywhere every tenant is at U = 0, so F = 1 for all: nobody is ahead.
    double u = (total > 0 && i < usage.size()) ? std::max(0.0, usage[i]) / total : 0.0;
    f[i] = FairshareFactor(u, shares[i]);
  }
  return f;
}

uint32_t SlurmPriority(double factor) {
  double f = std::clamp(std::isnan(factor) ? 0.0 : factor, 0.0, 1.0);
  return 1u + static_cast<uint32_t>(std::lround(f * kPriorityScale));
}

}  // namespace egret::policy

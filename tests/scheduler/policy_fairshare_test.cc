// Fairshare formulas against hand-computed values (Slurm's classic fairshare: usage decays by
// 2^(-dt/half_life), F = 2^(-U/S)).
#include <gtest/gtest.h>

#include <cmath>

#include "scheduler/policy/fairshare.h"

namespace egret::policy {
namespace {

TEST(Decay, OneHalfLifeHalvesUsage) {
  EXPECT_DOUBLE_EQ(DecayFactor(3600, 3600), 0.5);
  EXPECT_DOUBLE_EQ(DecayFactor(7200, 3600), 0.25);
  DecayedUsage u{1000, 50};
  EXPECT_DOUBLE_EQ(u.At(50 + 3600, 3600), 500);
  u.Advance(50 + 2 * 3600, 3600);
  EXPECT_DOUBLE_EQ(u.value, 250);
  EXPECT_DOUBLE_EQ(u.as_of, 50 + 2 * 3600);
}

TEST(Decay, ZeroHalfLifeMeansNoDecay) {
  EXPECT_EQ(DecayFactor(1e9, 0), 1.0);
  DecayedUsage u;
  u.Charge(2.0, 0, 100, 0);  // 2 GPUs for 100 s
  EXPECT_DOUBLE_EQ(u.value, 200);
}

TEST(Decay, ContinuousChargeOverOneHalfLife) {
  // 1 GPU for one half-life h, read at its end: integral_0^h 2^(-(h-s)/h) ds = h/ln2 * (1 - 1/2)
  // = 3600 / 0.6931471806 * 0.5 = 2596.851 GPU-seconds (3600 undecayed).
  DecayedUsage u;
  u.Charge(1.0, 0, 3600, 3600);
  EXPECT_NEAR(u.value, 2596.851, 1e-3);
  EXPECT_DOUBLE_EQ(u.as_of, 3600);
  // Read one more half-life later it has halved.
  EXPECT_NEAR(u.At(7200, 3600), 1298.426, 1e-3);
}

TEST(Decay, ChargeMatchesSlurmStyleStepwiseDecay) {
  // Slurm charges every PriorityCalcPeriod and decays what was there; with small steps that
  // converges to the continuous charge. 4 GPUs x weight 0.6 for 2 h, half-life 1 h, 1 s steps.
  const double h = 3600, rate = 4 * 0.6;
  double stepped = 0;
  for (int s = 0; s < 7200; ++s) stepped = stepped * DecayFactor(1, h) + rate * 1.0;
  DecayedUsage u;
  u.Charge(rate, 0, 7200, h);
  EXPECT_NEAR(u.value, stepped, stepped * 1e-3);
}

TEST(Decay, ChargesInThePastDecayToNow) {
  // 1 GPU over [0, 100] then read at 100 + h: the whole block decayed by half once more.
  DecayedUsage a, b;
  a.Charge(1, 0, 100, 600);
  b.Advance(700, 600);
  b.Charge(1, 0, 100, 600);
  EXPECT_NEAR(b.value, a.At(700, 600), 1e-9);
}

Spec TwoTenants(double s1, double s2) {
  Spec spec;
  spec.tenants.resize(2);
  spec.tenants[0].name = "acme";
  spec.tenants[0].shares = s1;
  spec.tenants[1].name = "globex";
  spec.tenants[1].shares = s2;
  return spec;
}

TEST(Fairshare, SharesSixtyFortyUsageThirtyTen) {
  // S = 0.6 / 0.4; U = 30/40 = 0.75 and 10/40 = 0.25.
  // F_acme = 2^(-0.75/0.6) = 2^-1.25 = 0.4204482; F_globex = 2^(-0.25/0.4) = 2^-0.625 = 0.6484197.
  auto f = FairshareFactors(TwoTenants(60, 40), {30, 10});
  EXPECT_NEAR(f[0], 0.4204482, 1e-7);
  EXPECT_NEAR(f[1], 0.6484197, 1e-7);
}

TEST(Fairshare, UsingExactlyItsShareGivesOneHalf) {
  auto f = FairshareFactors(TwoTenants(3, 1), {75, 25});
  EXPECT_DOUBLE_EQ(f[0], 0.5);
  EXPECT_DOUBLE_EQ(f[1], 0.5);
}

TEST(Fairshare, NoUsageAnywhereGivesOneToAll) {
  auto f = FairshareFactors(TwoTenants(60, 40), {0, 0});
  EXPECT_EQ(f[0], 1.0);
  EXPECT_EQ(f[1], 1.0);
  // A tenant that used nothing while another did: U = 0, F = 1.
  f = FairshareFactors(TwoTenants(60, 40), {0, 5});
  EXPECT_EQ(f[0], 1.0);
  EXPECT_DOUBLE_EQ(f[1], std::exp2(-1.0 / 0.4));
}

TEST(Fairshare, NormalisedSharesSumToOne) {
  Spec spec = TwoTenants(60, 40);
  spec.tenants.push_back({"initech", 10, kNoCohort, {}, {}, kUnlimited});
  auto s = NormalisedShares(spec);
  EXPECT_NEAR(s[0], 60.0 / 110, 1e-12);
  EXPECT_NEAR(s[2], 10.0 / 110, 1e-12);
}

TEST(Fairshare, SlurmPriorityMapping) {
  EXPECT_EQ(SlurmPriority(1.0), 1000001u);
  EXPECT_EQ(SlurmPriority(0.5), 500001u);
  EXPECT_EQ(SlurmPriority(0.4204482), 420449u);
  EXPECT_EQ(SlurmPriority(0.0), 1u);  // never 0: 0 means held
  EXPECT_EQ(SlurmPriority(-3), 1u);
  EXPECT_EQ(SlurmPriority(NAN), 1u);
}

}  // namespace
}  // namespace egret::policy

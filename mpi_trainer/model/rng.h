// A small deterministic generator (splitmix64) for initialisation: the same seed gives the
// same parameters on every machine and thread count.
#pragma once

#include <cmath>
#include <cstdint>

namespace egret::trainer {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  float Uniform() { return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f); }
  // Standard normal (Box-Muller).
  float Normal() {
    double u1 = (static_cast<double>(Next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0);
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }

 private:
  uint64_t state_;
};

}  // namespace egret::trainer

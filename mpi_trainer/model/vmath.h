// exp and friends without library calls, so loops over them vectorise (glibc's expf is
// scalar unless -ffast-math). Cody-Waite range reduction and Cephes' expf polynomial: within
// 2 ulp of expf over the float range; inputs are clamped to [-87.3, 88.7].
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace egret::trainer {

// Written so GCC vectorises it without -ffast-math: rounding by the 1.5 * 2^23 trick instead of
// floor (whose vectorisation needs -fno-trapping-math), memcpy instead of bit_cast.
inline float BitsToFloat(int32_t i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}

inline float ExpF(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  return y * BitsToFloat((static_cast<int32_t>(n) + 127) << 23);
}

inline float SigmoidF(float x) { return 1.0f / (1.0f + ExpF(-x)); }

inline float TanhF(float x) {
  // 1 - 2 / (e^{2x} + 1): exact limits +-1, no cancellation problem at the float tolerance
  // the model needs.
  return 1.0f - 2.0f / (ExpF(2.0f * x) + 1.0f);
}

}  // namespace egret::trainer

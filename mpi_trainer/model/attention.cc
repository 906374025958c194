#include "mpi_trainer/model/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "mpi_trainer/model/gemm.h"
#include "mpi_trainer/model/threads.h"
#include "mpi_trainer/model/vmath.h"

namespace egret::trainer {

namespace {
constexpr int kBlock = 64;  // queries per block
}

void AttentionForward(const AttentionShape& s, const float* q, const float* k, const float* v,
                      const int32_t* start, float* out, float* lse) {
  const int group = s.heads / s.kv_heads;
  const int blocks = (s.q_len + kBlock - 1) / kBlock;
  const int tasks = s.rows * s.heads * blocks;
  ParallelTasks(tasks, [&](int64_t task_index) {
    const int task = static_cast<int>(task_index);
    thread_local std::vector<float> scores;
    if (scores.size() < static_cast<size_t>(kBlock) * s.kv_len) scores.resize(static_cast<size_t>(kBlock) * s.kv_len);
    {
      const int b = task / (s.heads * blocks);
      const int h = (task / blocks) % s.heads;
      const int blk = task % blocks;
      const int g = h / group;
      const int t0 = blk * kBlock, t1 = std::min(s.q_len, t0 + kBlock), nq = t1 - t0;
      const int32_t* st = start + static_cast<long>(b) * s.q_len;
      const int lo = st[t0];  // starts never decrease along a row
      const int hi = s.q_off + t1;
      const int len = hi - lo;
      const float* qb = q + (static_cast<long>(b) * s.q_len + t0) * s.ldq + h * s.head_dim;
      const float* kb = k + (static_cast<long>(b) * s.kv_len + lo) * s.ldk + g * s.head_dim;
      const float* vb = v + (static_cast<long>(b) * s.kv_len + lo) * s.ldv + g * s.head_dim;
      float* ob = out + (static_cast<long>(b) * s.q_len + t0) * s.ldo + h * s.head_dim;
      float* S = scores.data();
      Sgemm(false, true, nq, len, s.head_dim, s.scale, qb, s.ldq, kb, s.ldk, 0.0f, S, len);
      for (int i = 0; i < nq; ++i) {
        float* row = S + static_cast<long>(i) * len;
        const int j0 = st[t0 + i] - lo, j1 = s.q_off + t0 + i - lo;  // inclusive range
        float m = -std::numeric_limits<float>::infinity();
        for (int j = j0; j <= j1; ++j) m = std::max(m, row[j]);
        float sum = 0;
        for (int j = 0; j < j0; ++j) row[j] = 0;
#pragma omp simd reduction(+ : sum)
        for (int j = j0; j <= j1; ++j) {
          row[j] = ExpF(row[j] - m);
          sum += row[j];
        }
        for (int j = j1 + 1; j < len; ++j) row[j] = 0;
        const float inv = 1.0f / sum;
        for (int j = j0; j <= j1; ++j) row[j] *= inv;
        if (lse) lse[(static_cast<long>(b) * s.heads + h) * s.q_len + t0 + i] = m + std::log(sum);
      }
      Sgemm(false, false, nq, s.head_dim, len, 1.0f, S, len, vb, s.ldv, 0.0f, ob, s.ldo);
    }
  });
}

void AttentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v,
                       const float* out, const float* lse, const float* dout,
                       const int32_t* start, float* dq, float* dk, float* dv, int ldd_q,
                       int ldd_kv) {
  const int group = s.heads / s.kv_heads;
  const int blocks = (s.q_len + kBlock - 1) / kBlock;
  const int tasks = s.rows * s.kv_heads;  // a task owns the dk/dv of one KV head
  ParallelTasks(tasks, [&](int64_t task_index) {
    const int task = static_cast<int>(task_index);
    thread_local std::vector<float> P, dP;
    if (P.size() < static_cast<size_t>(kBlock) * s.kv_len) {
      P.resize(static_cast<size_t>(kBlock) * s.kv_len);
      dP.resize(static_cast<size_t>(kBlock) * s.kv_len);
    }
    {
      const int b = task / s.kv_heads, g = task % s.kv_heads;
      const int32_t* st = start + static_cast<long>(b) * s.q_len;
      float* dkb = dk + static_cast<long>(b) * s.kv_len * ldd_kv + g * s.head_dim;
      float* dvb = dv + static_cast<long>(b) * s.kv_len * ldd_kv + g * s.head_dim;
      for (int t = 0; t < s.kv_len; ++t)
        for (int d = 0; d < s.head_dim; ++d) {
          dkb[static_cast<long>(t) * ldd_kv + d] = 0;
          dvb[static_cast<long>(t) * ldd_kv + d] = 0;
        }
      for (int h = g * group; h < (g + 1) * group; ++h) {
        for (int blk = 0; blk < blocks; ++blk) {
          const int t0 = blk * kBlock, t1 = std::min(s.q_len, t0 + kBlock), nq = t1 - t0;
          const int lo = st[t0], hi = s.q_off + t1, len = hi - lo;
          const long qrow = static_cast<long>(b) * s.q_len + t0;
          const float* qb = q + qrow * s.ldq + h * s.head_dim;
          const float* ob = out + qrow * s.ldo + h * s.head_dim;
          const float* dob = dout + qrow * s.ldo + h * s.head_dim;
          const float* kb = k + (static_cast<long>(b) * s.kv_len + lo) * s.ldk + g * s.head_dim;
          const float* vb = v + (static_cast<long>(b) * s.kv_len + lo) * s.ldv + g * s.head_dim;
          float* dqb = dq + qrow * ldd_q + h * s.head_dim;
          const float* lseb = lse + (static_cast<long>(b) * s.heads + h) * s.q_len + t0;
          Sgemm(false, true, nq, len, s.head_dim, s.scale, qb, s.ldq, kb, s.ldk, 0.0f, P.data(), len);
          Sgemm(false, true, nq, len, s.head_dim, 1.0f, dob, s.ldo, vb, s.ldv, 0.0f, dP.data(), len);
          for (int i = 0; i < nq; ++i) {
            float* p = P.data() + static_cast<long>(i) * len;
            float* dp = dP.data() + static_cast<long>(i) * len;
            const int j0 = st[t0 + i] - lo, j1 = s.q_off + t0 + i - lo;
            float D = 0;  // rowsum(dO * O) = sum_j P_j dP_j
            const float* o = ob + static_cast<long>(i) * s.ldo;
            const float* dd = dob + static_cast<long>(i) * s.ldo;
            for (int d = 0; d < s.head_dim; ++d) D += o[d] * dd[d];
            const float l = lseb[i];
            for (int j = 0; j < j0; ++j) p[j] = dp[j] = 0;
#pragma omp simd
            for (int j = j0; j <= j1; ++j) {
              p[j] = ExpF(p[j] - l);
              dp[j] = p[j] * (dp[j] - D);
            }
            for (int j = j1 + 1; j < len; ++j) p[j] = dp[j] = 0;
          }
          Sgemm(false, false, nq, s.head_dim, len, s.scale, dP.data(), len, kb, s.ldk, 0.0f, dqb, ldd_q);
          float* dkl = dkb + static_cast<long>(lo) * ldd_kv;
          float* dvl = dvb + static_cast<long>(lo) * ldd_kv;
          Sgemm(true, false, len, s.head_dim, nq, s.scale, dP.data(), len, qb, s.ldq, 1.0f, dkl, ldd_kv);
          Sgemm(true, false, len, s.head_dim, nq, 1.0f, P.data(), len, dob, s.ldo, 1.0f, dvl, ldd_kv);
        }
      }
    }
  });
}

}  // namespace egret::trainer

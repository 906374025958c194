// The transformer block, forward and backward:
//   x_mid = x + o(attention(rope(norm(q)), rope(norm(k)), v))   with q|k|v = attn_in(norm1(x))
//   x_out = x_mid + down(act(mlp_in(norm2(x_mid))))
#include <algorithm>
#include <cstring>

#include "mpi_trainer/model/attention.h"
#include "mpi_trainer/model/workspace.h"

namespace egret::trainer::detail {

namespace {

LoraSaved Saved(StepContext& c, LayerActs& a, const Linear& l, int slot) {
  LoraSaved s;
  if (l.lora_a < 0) return s;
  s.h = Ensure(a.lora_h[slot], static_cast<size_t>(c.n) * l.r);
  s.seed = c.seed;
  s.counter = c.counter;
  s.dropout_on = c.dropout_on;
  return s;
}

// Adapter slots of a block, in ForEachLinear order.
struct Slots {
  int attn_in = 0, o, mlp_in, down;
  explicit Slots(const Layer& L)
      : o(static_cast<int>(L.attn_in.size())), mlp_in(o + 1),
        down(mlp_in + static_cast<int>(L.mlp_in.size())) {}
};

float* Scratch(StepContext& c, const Layer& L) {
  size_t need = 0;
  for (const auto& x : L.attn_in) need = std::max(need, LinearScratch(x, c.n));
  for (const auto& x : L.mlp_in) need = std::max(need, LinearScratch(x, c.n));
  need = std::max({need, LinearScratch(L.o, c.n), LinearScratch(L.down, c.n)});
  return Ensure(c.ws.linear_scratch, need);
}

void Norm(StepContext& c, int w, int b, const float* x, float* y, std::vector<float>& mean,
          std::vector<float>& rstd) {
  const int D = c.cfg.hidden_size;
  const float* wv = c.params.value(w);
  if (c.cfg.gpt2()) {
    kernels::LayerNormForward(c.n, D, x, wv, c.params.value(b), c.cfg.norm_eps, y,
                              Ensure(mean, c.n), Ensure(rstd, c.n));
  } else {
    kernels::RmsNormForward({c.n, 1, D, D}, x, wv, c.cfg.norm_eps, y, Ensure(rstd, c.n));
  }
}

void NormBackward(StepContext& c, int w, int b, const float* x, const std::vector<float>& mean,
                  const std::vector<float>& rstd, const float* dy, float* dx) {
  const int D = c.cfg.hidden_size;
  ParamStore& p = c.params;
  float* dw = p.info(w).trainable ? p.grad(w) : nullptr;
  if (c.cfg.gpt2()) {
    float* db = p.info(b).trainable ? p.grad(b) : nullptr;
    kernels::LayerNormBackward(c.n, D, x, p.value(w), mean.data(), rstd.data(), dy, dx, dw, db,
                               /*accumulate=*/true);
  } else {
    kernels::RmsNormBackward({c.n, 1, D, D}, x, p.value(w), rstd.data(), dy, dx, dw,
                             /*accumulate=*/true);
  }
}

AttentionShape Shape(const StepContext& c, const Layer& L, const KvCache* cache) {
  const ModelConfig& m = c.cfg;
  AttentionShape s;
  s.rows = c.rows;
  s.q_len = c.seq;
  s.heads = m.num_heads;
  s.kv_heads = m.num_kv_heads;
  s.head_dim = m.head_dim;
  s.ldq = QkvDim(m);
  s.ldo = m.q_dim();
  s.scale = L.attn_scale;
  if (cache) {
    s.q_off = cache->len;
    s.kv_len = cache->len + c.seq;
    s.ldk = s.ldv = m.kv_dim();
  } else {
    s.kv_len = c.seq;
    s.ldk = s.ldv = QkvDim(m);
  }
  return s;
}

}  // namespace

int QkvDim(const ModelConfig& c) { return c.q_dim() + 2 * c.kv_dim(); }
int MlpPreDim(const ModelConfig& c) { return c.gpt2() ? c.intermediate_size : 2 * c.intermediate_size; }

void DocStarts(int rows, int seq, const int32_t* doc, int32_t* out) {
  for (int b = 0; b < rows; ++b) {
    const int32_t* d = doc + static_cast<long>(b) * seq;
    int32_t* o = out + static_cast<long>(b) * seq;
    for (int t = 0; t < seq; ++t) o[t] = (t > 0 && d[t] == d[t - 1]) ? o[t - 1] : t;
  }
}

void WindowStarts(int rows, int seq, int window, const int32_t* doc_start, int32_t* out) {
  for (long i = 0; i < static_cast<long>(rows) * seq; ++i) {
    const int t = static_cast<int>(i % seq);
    out[i] = std::max(doc_start[i], t - window + 1);
  }
}

void EnsureRope(const ModelConfig& cfg, int max_pos, kernels::RopeTable* t) {
  if (cfg.rope.type == RopeType::kNone || t->max_pos >= max_pos) return;
  kernels::BuildRope(cfg.rope, cfg.head_dim, std::max(max_pos, 2 * t->max_pos), t);
}

void BlockForward(StepContext& c, int layer, const float* x, float* x_mid, float* x_out,
                  LayerActs& a, const int32_t* start, KvCache* cache) {
  const ModelConfig& m = c.cfg;
  const Layer& L = c.net.layers[layer];
  const int n = c.n, D = m.hidden_size, W = QkvDim(m), qd = m.q_dim(), kvd = m.kv_dim();
  const int F = m.intermediate_size, P = MlpPreDim(m);
  ParamStore& p = c.params;
  Slots slot(L);
  a.lora_h.resize(slot.down + 1);
  float* scratch = Scratch(c, L);

  float* ln1 = Ensure(a.ln1, static_cast<size_t>(n) * D);
  Norm(c, L.ln1_w, L.ln1_b, x, ln1, a.ln1_mean, a.ln1_rstd);
  float* qkv = Ensure(a.qkv, static_cast<size_t>(n) * W);
  for (size_t j = 0; j < L.attn_in.size(); ++j) {
    const Linear& lin = L.attn_in[j];
    LinearForward(p, lin, n, ln1, D, qkv + lin.col, W, Saved(c, a, lin, slot.attn_in + j), scratch);
  }
  if (L.q_norm >= 0) {
    float* raw = Ensure(a.qk_raw, static_cast<size_t>(n) * W);
    std::memcpy(raw, qkv, sizeof(float) * n * W);
    kernels::RmsNormForward({n, m.num_heads, m.head_dim, W}, raw, p.value(L.q_norm), m.norm_eps,
                            qkv, Ensure(a.q_rstd, static_cast<size_t>(n) * m.num_heads));
    kernels::RmsNormForward({n, m.num_kv_heads, m.head_dim, W}, raw + qd, p.value(L.k_norm),
                            m.norm_eps, qkv + qd,
                            Ensure(a.k_rstd, static_cast<size_t>(n) * m.num_kv_heads));
  }
  if (m.rope.type != RopeType::kNone) {
    kernels::ApplyRope(c.ws.rope, n, m.num_heads, m.head_dim, W, c.positions, qkv, false);
    kernels::ApplyRope(c.ws.rope, n, m.num_kv_heads, m.head_dim, W, c.positions, qkv + qd, false);
  }
  float* att = Ensure(a.att, static_cast<size_t>(n) * qd);
  AttentionShape s = Shape(c, L, cache);
  if (cache) {
    for (int t = 0; t < n; ++t) {
      std::memcpy(cache->k[layer].data() + static_cast<size_t>(cache->len + t) * kvd,
                  qkv + static_cast<size_t>(t) * W + qd, sizeof(float) * kvd);
      std::memcpy(cache->v[layer].data() + static_cast<size_t>(cache->len + t) * kvd,
                  qkv + static_cast<size_t>(t) * W + qd + kvd, sizeof(float) * kvd);
    }
    AttentionForward(s, qkv, cache->k[layer].data(), cache->v[layer].data(), start, att, nullptr);
  } else {
    float* lse = Ensure(a.lse, static_cast<size_t>(n) * m.num_heads);
    AttentionForward(s, qkv, qkv + qd, qkv + qd + kvd, start, att, lse);
  }
  LinearForward(p, L.o, n, att, qd, x_mid, D, Saved(c, a, L.o, slot.o), scratch);
  kernels::Add(static_cast<int64_t>(n) * D, x, x_mid);

  float* ln2 = Ensure(a.ln2, static_cast<size_t>(n) * D);
  Norm(c, L.ln2_w, L.ln2_b, x_mid, ln2, a.ln2_mean, a.ln2_rstd);
  float* pre = Ensure(a.mlp_pre, static_cast<size_t>(n) * P);
  for (size_t j = 0; j < L.mlp_in.size(); ++j) {
    const Linear& lin = L.mlp_in[j];
    LinearForward(p, lin, n, ln2, D, pre + lin.col, P, Saved(c, a, lin, slot.mlp_in + j), scratch);
  }
  float* act = Ensure(c.ws.mlp_act, static_cast<size_t>(n) * F);
  if (m.gpt2()) kernels::ActivationForward(m.activation, static_cast<int64_t>(n) * F, pre, act);
  else kernels::GatedForward(m.activation, n, F, pre, act);
  LinearForward(p, L.down, n, act, F, x_out, D, Saved(c, a, L.down, slot.down), scratch);
  kernels::Add(static_cast<int64_t>(n) * D, x_mid, x_out);
}

void BlockBackward(StepContext& c, int layer, const float* x, LayerActs& a,
                   const int32_t* start, float* dres, bool need_dx) {
  const ModelConfig& m = c.cfg;
  const Layer& L = c.net.layers[layer];
  Workspace& ws = c.ws;
  const int n = c.n, D = m.hidden_size, W = QkvDim(m), qd = m.q_dim(), kvd = m.kv_dim();
  const int F = m.intermediate_size, P = MlpPreDim(m);
  ParamStore& p = c.params;
  Slots slot(L);
  float* scratch = Scratch(c, L);

  // MLP. The activation is recomputed from the saved pre-activation instead of being kept.
  float* act = Ensure(ws.mlp_act, static_cast<size_t>(n) * F);
  if (m.gpt2()) kernels::ActivationForward(m.activation, static_cast<int64_t>(n) * F, a.mlp_pre.data(), act);
  else kernels::GatedForward(m.activation, n, F, a.mlp_pre.data(), act);
  float* dact = Ensure(ws.dmlp_act, static_cast<size_t>(n) * F);
  LinearBackward(p, L.down, n, act, F, dres, D, dact, F, false, Saved(c, a, L.down, slot.down), scratch);
  float* dpre = Ensure(ws.dmlp_pre, static_cast<size_t>(n) * P);
  if (m.gpt2()) kernels::ActivationBackward(m.activation, static_cast<int64_t>(n) * F, a.mlp_pre.data(), dact, dpre);
  else kernels::GatedBackward(m.activation, n, F, a.mlp_pre.data(), dact, dpre);
  float* dln = Ensure(ws.dln, static_cast<size_t>(n) * D);
  for (size_t j = 0; j < L.mlp_in.size(); ++j) {
    const Linear& lin = L.mlp_in[j];
    LinearBackward(p, lin, n, a.ln2.data(), D, dpre + lin.col, P, dln, D, j > 0,
                   Saved(c, a, lin, slot.mlp_in + j), scratch);
  }
  NormBackward(c, L.ln2_w, L.ln2_b, a.x_mid.data(), a.ln2_mean, a.ln2_rstd, dln, dres);

  // Attention.
  float* datt = Ensure(ws.datt, static_cast<size_t>(n) * qd);
  LinearBackward(p, L.o, n, a.att.data(), qd, dres, D, datt, qd, false, Saved(c, a, L.o, slot.o), scratch);
  float* dqkv = Ensure(ws.dqkv, static_cast<size_t>(n) * W);
  const float* qkv = a.qkv.data();
  AttentionBackward(Shape(c, L, nullptr), qkv, qkv + qd, qkv + qd + kvd, a.att.data(), a.lse.data(),
                    datt, start, dqkv, dqkv + qd, dqkv + qd + kvd, W, W);
  if (m.rope.type != RopeType::kNone) {
    kernels::ApplyRope(ws.rope, n, m.num_heads, m.head_dim, W, c.positions, dqkv, true);
    kernels::ApplyRope(ws.rope, n, m.num_kv_heads, m.head_dim, W, c.positions, dqkv + qd, true);
  }
  if (L.q_norm >= 0) {
    float* dqw = p.info(L.q_norm).trainable ? p.grad(L.q_norm) : nullptr;
    float* dkw = p.info(L.k_norm).trainable ? p.grad(L.k_norm) : nullptr;
    kernels::RmsNormBackward({n, m.num_heads, m.head_dim, W}, a.qk_raw.data(), p.value(L.q_norm),
                             a.q_rstd.data(), dqkv, dqkv, dqw, false);
    kernels::RmsNormBackward({n, m.num_kv_heads, m.head_dim, W}, a.qk_raw.data() + qd,
                             p.value(L.k_norm), a.k_rstd.data(), dqkv + qd, dqkv + qd, dkw, false);
  }
  // d(ln1) is needed for the block input's gradient and for norm1's own weights.
  const bool ln1_train = p.info(L.ln1_w).trainable || (L.ln1_b >= 0 && p.info(L.ln1_b).trainable);
  const bool need_dln = need_dx || ln1_train;
  for (size_t j = 0; j < L.attn_in.size(); ++j) {
    const Linear& lin = L.attn_in[j];
    LinearBackward(p, lin, n, a.ln1.data(), D, dqkv + lin.col, W, need_dln ? dln : nullptr, D,
                   j > 0, Saved(c, a, lin, slot.attn_in + j), scratch);
  }
  if (need_dln) NormBackward(c, L.ln1_w, L.ln1_b, x, a.ln1_mean, a.ln1_rstd, dln, need_dx ? dres : nullptr);
}

}  // namespace egret::trainer::detail

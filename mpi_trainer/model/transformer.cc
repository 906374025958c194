// Model::Run: embeddings, the blocks, the final norm and the LM head with its cross-entropy,
// then (for training) the backward in reverse.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "mpi_trainer/model/gemm.h"
#include "mpi_trainer/model/model.h"
#include "mpi_trainer/model/threads.h"
#include "mpi_trainer/model/vmath.h"
#include "mpi_trainer/model/workspace.h"

namespace egret::trainer {

using detail::Ensure;

namespace {

constexpr int kHeadChunk = 256;  // rows of logits alive at once

bool LayerTrainable(const ParamStore& p, const detail::Layer& L) {
  bool any = false;
  auto check = [&](int i) { any = any || (i >= 0 && p.info(i).trainable); };
  for (int i : {L.ln1_w, L.ln1_b, L.ln2_w, L.ln2_b, L.q_norm, L.k_norm}) check(i);
  auto lin = [&](const detail::Linear& l) {
    for (int i : {l.w, l.b, l.lora_a, l.lora_b}) check(i);
  };
  for (const auto& l : L.attn_in) lin(l);
  lin(L.o);
  for (const auto& l : L.mlp_in) lin(l);
  lin(L.down);
  return any;
}

// The LM head and cross-entropy over the rows that need it, kHeadChunk rows at a time, so
// the full [tokens, vocab] logits never exist. With backward, d(logits) = grad_scale *
// (softmax - onehot) is formed in place and immediately turned into the head weight's
// gradient and d(h) (written to dh; unselected rows stay zero).
LossSums HeadLoss(detail::StepContext& c, const Batch& b, const float* h, bool backward,
                  float scale, const ForwardOptions& opt, float* dh) {
  const ModelConfig& m = c.cfg;
  const detail::Net& net = c.net;
  ParamStore& p = c.params;
  const int V = m.vocab_size, D = m.hidden_size, n = c.n;
  const int wi = net.lm_head >= 0 ? net.lm_head : net.wte;
  const float* W = p.value(wi);
  const bool w_train = backward && p.info(wi).trainable;
  const int K = opt.probe_logits ? std::min(opt.probe_k, V) : 0;
  if (K > 0) opt.probe_logits->assign(static_cast<size_t>(n) * K, 0.0f);
  std::vector<int> sel;
  for (int i = 0; i < n; ++i)
    if (K > 0 || b.labels[i] != kIgnore) sel.push_back(i);
  std::vector<double> loss(n, 0.0);
  if (backward) std::memset(dh, 0, sizeof(float) * n * D);
  detail::Workspace& ws = c.ws;
  float* logits = Ensure(ws.logits, static_cast<size_t>(kHeadChunk) * V);
  for (size_t c0 = 0; c0 < sel.size(); c0 += kHeadChunk) {
    const int cn = static_cast<int>(std::min<size_t>(kHeadChunk, sel.size() - c0));
    const bool contiguous = sel[c0 + cn - 1] - sel[c0] == cn - 1;
    const float* hc = h + static_cast<size_t>(sel[c0]) * D;
    if (!contiguous) {
      float* g = Ensure(ws.hchunk, static_cast<size_t>(kHeadChunk) * D);
      for (int i = 0; i < cn; ++i)
        std::memcpy(g + static_cast<size_t>(i) * D, h + static_cast<size_t>(sel[c0 + i]) * D, sizeof(float) * D);
      hc = g;
    }
    Sgemm(false, true, cn, V, D, 1.0f, hc, D, W, D, 0.0f, logits, V);
    ParallelTasks(cn, [&](int64_t ti) {
      const int i = static_cast<int>(ti);
      const int row = sel[c0 + i];
      float* lg = logits + static_cast<size_t>(i) * V;
      if (K > 0) std::memcpy(opt.probe_logits->data() + static_cast<size_t>(row) * K, lg, sizeof(float) * K);
      const int32_t label = b.labels[row];
      if (label == kIgnore) {
        if (backward) std::memset(lg, 0, sizeof(float) * V);
        return;
      }
      float mx = lg[0];
#pragma omp simd reduction(max : mx)
      for (int j = 1; j < V; ++j) mx = std::max(mx, lg[j]);
      const float target = lg[label];
      float sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int j = 0; j < V; ++j) {
        lg[j] = ExpF(lg[j] - mx);
        sum += lg[j];
      }
      loss[row] = static_cast<double>(mx) + std::log(static_cast<double>(sum)) - target;
      if (backward) {
        const float f = scale / sum;
#pragma omp simd
        for (int j = 0; j < V; ++j) lg[j] *= f;
        lg[label] -= scale;
      }
    });
    if (!backward) continue;
    if (w_train) Sgemm(true, false, V, D, cn, 1.0f, logits, V, hc, D, 1.0f, p.grad(wi), D);
    float* dhc = contiguous ? dh + static_cast<size_t>(sel[c0]) * D
                            : Ensure(ws.dhchunk, static_cast<size_t>(kHeadChunk) * D);
    Sgemm(false, false, cn, D, V, 1.0f, logits, V, W, D, 0.0f, dhc, D);
    if (!contiguous)
      for (int i = 0; i < cn; ++i)
        std::memcpy(dh + static_cast<size_t>(sel[c0 + i]) * D, dhc + static_cast<size_t>(i) * D, sizeof(float) * D);
  }
  LossSums s;
  if (opt.row_loss_sum) opt.row_loss_sum->assign(b.rows, 0.0);
  if (opt.row_targets) opt.row_targets->assign(b.rows, 0);
  for (int i = 0; i < n; ++i) {
    if (b.labels[i] == kIgnore) continue;
    s.loss_sum += loss[i];
    ++s.targets;
    if (opt.row_loss_sum) (*opt.row_loss_sum)[i / b.seq_len] += loss[i];
    if (opt.row_targets) ++(*opt.row_targets)[i / b.seq_len];
  }
  return s;
}

}  // namespace

Result<LossSums> Model::Forward(const Batch& batch, const ForwardOptions& options) {
  return Run(batch, false, 0.0f, options);
}

Result<LossSums> Model::ForwardBackward(const Batch& batch, float grad_scale,
                                        const ForwardOptions& options) {
  return Run(batch, true, grad_scale, options);
}

Result<LossSums> Model::Run(const Batch& batch, bool backward, float grad_scale,
                            const ForwardOptions& options) {
  const ModelConfig& m = config_;
  EGRET_TRY(batch.Validate(m.vocab_size, m.gpt2() ? m.max_position_embeddings : 0));
  NumThreads();  // sizes the team on first use
  detail::Workspace& ws = *ws_;
  const detail::Net& net = *net_;
  const int rows = batch.rows, T = batch.seq_len, n = rows * T, D = m.hidden_size;
  const int L = m.num_layers;
  detail::StepContext c{m, params_, net, ws};
  c.rows = rows;
  c.seq = T;
  c.n = n;
  c.positions = batch.positions.data();
  c.dropout_on = backward && has_lora_ && lora_config_.dropout > 0;
  c.seed = lora_config_.seed;
  c.counter = dropout_counter_;
  if (backward) ++dropout_counter_;

  detail::EnsureRope(m, *std::max_element(batch.positions.begin(), batch.positions.end()) + 1, &ws.rope);
  ws.doc_start.resize(n);
  detail::DocStarts(rows, T, batch.doc_ids.data(), ws.doc_start.data());
  ws.start.resize(L);
  for (int l = 0; l < L; ++l)
    if (net.layers[l].window > 0) {
      ws.start[l].resize(n);
      detail::WindowStarts(rows, T, net.layers[l].window, ws.doc_start.data(), ws.start[l].data());
    }
  auto start_of = [&](int l) {
    return net.layers[l].window > 0 ? ws.start[l].data() : ws.doc_start.data();
  };

  // Forward. Without a backward, one set of activations is reused by every block.
  ws.x_in.resize(backward ? L + 1 : 1);
  ws.acts.resize(backward ? L : 1);
  const size_t nd = static_cast<size_t>(n) * D;
  float* x0 = Ensure(ws.x_in[0], nd);
  kernels::EmbeddingForward(n, D, batch.tokens.data(), params_.value(net.wte), batch.positions.data(),
                            net.wpe >= 0 ? params_.value(net.wpe) : nullptr, x0);
  for (int l = 0; l < L; ++l) {
    detail::LayerActs& a = ws.acts[backward ? l : 0];
    const float* x = ws.x_in[backward ? l : 0].data();
    float* x_mid = Ensure(a.x_mid, nd);
    float* x_out = backward ? Ensure(ws.x_in[l + 1], nd) : ws.x_in[0].data();
    detail::BlockForward(c, l, x, x_mid, x_out, a, start_of(l), nullptr);
  }
  const float* hL = ws.x_in[backward ? L : 0].data();
  float* lnf = Ensure(ws.lnf, nd);
  if (m.gpt2())
    kernels::LayerNormForward(n, D, hL, params_.value(net.lnf_w), params_.value(net.lnf_b), m.norm_eps,
                              lnf, Ensure(ws.lnf_mean, n), Ensure(ws.lnf_rstd, n));
  else
    kernels::RmsNormForward({n, 1, D, D}, hL, params_.value(net.lnf_w), m.norm_eps, lnf,
                            Ensure(ws.lnf_rstd, n));
  float* dlnf = backward ? Ensure(ws.dln, nd) : nullptr;
  LossSums sums = HeadLoss(c, batch, lnf, backward, grad_scale, options, dlnf);
  if (!backward) return sums;

  // Backward, down to the lowest block that has a trainable parameter.
  const bool emb_train = params_.info(net.wte).trainable || (net.wpe >= 0 && params_.info(net.wpe).trainable);
  int lowest = L;
  if (emb_train) {
    lowest = -1;
  } else {
    for (int l = 0; l < L && lowest == L; ++l)
      if (LayerTrainable(params_, net.layers[l])) lowest = l;
  }
  float* dres = Ensure(ws.dres, nd);
  auto grad_if = [&](int i) { return i >= 0 && params_.info(i).trainable ? params_.grad(i) : nullptr; };
  float* dx = lowest < L ? dres : nullptr;
  if (m.gpt2())
    kernels::LayerNormBackward(n, D, hL, params_.value(net.lnf_w), ws.lnf_mean.data(), ws.lnf_rstd.data(),
                               dlnf, dx, grad_if(net.lnf_w), grad_if(net.lnf_b), false);
  else
    kernels::RmsNormBackward({n, 1, D, D}, hL, params_.value(net.lnf_w), ws.lnf_rstd.data(), dlnf, dx,
                             grad_if(net.lnf_w), false);
  for (int l = L - 1; l >= std::max(lowest, 0); --l)
    detail::BlockBackward(c, l, ws.x_in[l].data(), ws.acts[l], start_of(l), dres, l > lowest);
  if (emb_train) {
    if (params_.info(net.wte).trainable)
      kernels::EmbeddingBackward(n, D, batch.tokens.data(), dres, params_.grad(net.wte));
    if (net.wpe >= 0 && params_.info(net.wpe).trainable)
      kernels::EmbeddingBackward(n, D, batch.positions.data(), dres, params_.grad(net.wpe));
  }
  return sums;
}

Result<std::vector<int32_t>> Model::Generate(const std::vector<int32_t>& prompt, int max_new_tokens,
                                             int32_t stop_token) {
  const ModelConfig& m = config_;
  const detail::Net& net = *net_;
  if (prompt.empty()) return Error("generate: the prompt is empty");
  for (int32_t t : prompt)
    if (t < 0 || t >= m.vocab_size)
      return Error("generate: prompt token " + std::to_string(t) + " is outside the vocabulary [0, " +
                   std::to_string(m.vocab_size) + ")");
  const int total = static_cast<int>(prompt.size()) + std::max(max_new_tokens, 0);
  if (m.gpt2() && total > m.max_position_embeddings)
    return Error("generate: " + std::to_string(total) + " tokens exceed n_positions " +
                 std::to_string(m.max_position_embeddings));
  NumThreads();
  const int D = m.hidden_size, V = m.vocab_size, L = m.num_layers;
  detail::Workspace ws;  // generation keeps its own buffers: a training step's stay intact
  detail::KvCache cache;
  cache.capacity = total;
  cache.k.assign(L, std::vector<float>(static_cast<size_t>(total) * m.kv_dim()));
  cache.v.assign(L, std::vector<float>(static_cast<size_t>(total) * m.kv_dim()));
  detail::EnsureRope(m, total, &ws.rope);
  ws.x_in.resize(1);
  ws.acts.resize(1);
  std::vector<int32_t> out, chunk = prompt, pos, start;
  std::vector<float> logits(V);
  while (static_cast<int>(out.size()) < max_new_tokens) {
    const int n = static_cast<int>(chunk.size());
    pos.resize(n);
    for (int t = 0; t < n; ++t) pos[t] = cache.len + t;
    detail::StepContext c{m, params_, net, ws};
    c.rows = 1;
    c.seq = n;
    c.n = n;
    c.positions = pos.data();
    float* x = Ensure(ws.x_in[0], static_cast<size_t>(n) * D);
    kernels::EmbeddingForward(n, D, chunk.data(), params_.value(net.wte), pos.data(),
                              net.wpe >= 0 ? params_.value(net.wpe) : nullptr, x);
    start.resize(n);
    for (int l = 0; l < L; ++l) {
      const int w = net.layers[l].window;
      for (int t = 0; t < n; ++t) start[t] = w > 0 ? std::max(0, cache.len + t - w + 1) : 0;
      detail::LayerActs& a = ws.acts[0];
      detail::BlockForward(c, l, x, Ensure(a.x_mid, static_cast<size_t>(n) * D), x, a, start.data(), &cache);
    }
    cache.len += n;
    const float* last = x + static_cast<size_t>(n - 1) * D;
    std::vector<float> h(D), mean(1), rstd(1);
    if (m.gpt2())
      kernels::LayerNormForward(1, D, last, params_.value(net.lnf_w), params_.value(net.lnf_b), m.norm_eps,
                                h.data(), mean.data(), rstd.data());
    else
      kernels::RmsNormForward({1, 1, D, D}, last, params_.value(net.lnf_w), m.norm_eps, h.data(), rstd.data());
    const int wi = net.lm_head >= 0 ? net.lm_head : net.wte;
    Sgemm(false, true, 1, V, D, 1.0f, h.data(), D, params_.value(wi), D, 0.0f, logits.data(), V);
    const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.push_back(next);
    if (next == stop_token) break;
    chunk.assign(1, next);
  }
  return out;
}

}  // namespace egret::trainer

// Comparing a model's outputs with the reference expectations of tests/fixtures/models
// (written by tests/reference/models/make_fixtures.py from an independent implementation).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mpi_trainer/model/model.h"
#include "tests/trainer/test_util.h"

namespace egret::trainer::testing {

// The tolerances the trainer must meet against HF (issue 3).
constexpr double kLogitAbs = 1e-4;
constexpr double kLossRel = 1e-5;
constexpr double kGradRel = 1e-3;

inline std::vector<std::vector<int32_t>> Rows(const nlohmann::json& j) {
  return j.get<std::vector<std::vector<int32_t>>>();
}

inline double RelErr(double got, double want) {
  return std::abs(got - want) / std::max(std::abs(want), 1e-12);
}

// L2 norms of the gradients of every trainable parameter.
inline std::map<std::string, double> GradNorms(const ParamStore& p) {
  std::map<std::string, double> out;
  for (int i = 0; i < p.count(); ++i) {
    if (!p.info(i).trainable) continue;
    const float* g = p.grad_if_any(i);
    double s = 0;
    for (size_t j = 0; g && j < p.info(i).numel; ++j) s += double(g[j]) * g[j];
    out[p.info(i).name] = std::sqrt(s);
  }
  return out;
}

inline void ExpectLogits(const std::vector<float>& probe, int k, const nlohmann::json& want) {
  size_t idx = 0;
  double worst = 0;
  for (const auto& row : want)
    for (const auto& pos : row)
      for (const auto& v : pos) worst = std::max(worst, std::abs(double(probe[idx++]) - v.get<double>()));
  EXPECT_EQ(idx, probe.size()) << "probe has " << probe.size() / k << " positions";
  EXPECT_LE(worst, kLogitAbs) << "largest logit difference";
}

inline void ExpectGradNorms(const std::map<std::string, double>& got, const nlohmann::json& want) {
  EXPECT_EQ(got.size(), want.size()) << "number of trainable parameters";
  for (auto it = want.begin(); it != want.end(); ++it) {
    auto g = got.find(it.key());
    ASSERT_NE(g, got.end()) << "no gradient for " << it.key();
    EXPECT_LE(RelErr(g->second, it->get<double>()), kGradRel)
        << it.key() << ": " << g->second << " vs " << it->get<double>();
  }
}

// Forward + backward of mean_loss over the fixture rows, compared with `expected` (the
// score output of the reference: mean_loss, seq_loss, logits, grad_norms, generated).
inline void ExpectScores(Model& model, const std::vector<std::vector<int32_t>>& rows,
                         const nlohmann::json& expected) {
  auto batch = CausalBatch(rows);
  ASSERT_TRUE(batch.ok()) << batch.error().message();
  const int k = expected["args"]["probe"].get<int>();
  std::vector<double> row_loss;
  std::vector<int64_t> row_targets;
  std::vector<float> probe;
  ForwardOptions opt;
  opt.row_loss_sum = &row_loss;
  opt.row_targets = &row_targets;
  opt.probe_k = k;
  opt.probe_logits = &probe;
  model.params().ZeroGrads();
  const float scale = 1.0f / static_cast<float>(batch->CountTargets());
  auto s = model.ForwardBackward(*batch, scale, opt);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_LE(RelErr(s->loss_sum / s->targets, expected["mean_loss"].get<double>()), kLossRel);
  ASSERT_EQ(row_loss.size(), expected["seq_loss"].size());
  for (size_t r = 0; r < row_loss.size(); ++r)
    EXPECT_LE(RelErr(row_loss[r] / row_targets[r], expected["seq_loss"][r].get<double>()), kLossRel) << "row " << r;
  ExpectLogits(probe, k, expected["logits"]);
  ExpectGradNorms(GradNorms(model.params()), expected["grad_norms"]);
  const auto& args = expected["args"];
  const int plen = args["prompt_len"].get<int>();
  std::vector<int32_t> prompt(rows[0].begin(), rows[0].begin() + plen);
  auto gen = model.Generate(prompt, args["generate"].get<int>());
  ASSERT_TRUE(gen.ok()) << gen.error().message();
  EXPECT_EQ(*gen, expected["generated"].get<std::vector<int32_t>>());
}

}  // namespace egret::trainer::testing

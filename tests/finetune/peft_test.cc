// PEFT interop through fine-tuning: an adapter (and merged weights) Egret writes after training
// gives the logits the independent Hugging Face/PEFT implementation gives for the same files
// (tests/reference/models/make_fixtures.py score: transformers+peft when installed, else its
// PyTorch re-implementation), and a PEFT-written adapter continues training from exactly the
// loss the reference computes for it.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "mpi_trainer/data/dataset_file.h"
#include "mpi_trainer/data/packing.h"
#include "tests/finetune/support.h"
#include "tests/finetune/tiny_model.h"

namespace egret::testing {
namespace {
namespace fs = std::filesystem;

std::string Fixture(const std::string& name) { return SourcePath("tests/fixtures/models/" + name); }

// A dataset whose rows are exactly the fixture's token rows (each a whole document).
std::string WriteRowsDataset(const std::string& dir, const std::string& tokens_json) {
  auto rows = nlohmann::json::parse(std::ifstream(tokens_json));
  std::vector<data::Document> docs;
  for (auto& r : rows) {
    data::Document d;
    d.ids = r.get<std::vector<int32_t>>();
    d.mask.assign(d.ids.size(), 1);
    d.source_line = static_cast<int64_t>(docs.size()) + 1;
    docs.push_back(d);
  }
  int64_t seq_len = static_cast<int64_t>(docs.front().ids.size());
  data::PackedRows packed = data::Pack(docs, seq_len, 0, data::Overflow::kSplit);
  data::DatasetMeta meta;
  meta.tokenizer_sha256 = "fixture-ids";
  meta.source_sha256 = "fixture";
  meta.seq_len = seq_len;
  meta.rows = packed.rows;
  meta.documents = static_cast<int64_t>(docs.size());
  std::string path = dir + "/rows.h5";
  auto st = data::WriteDatasetFile(path, meta, docs, packed);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message());
  return path;
}

std::string WriteJob(const std::string& dir, const std::string& model, const std::string& data, int rows,
                     const std::string& lora) {
  std::string job = dir + "/job.toml";
  std::ofstream(job) << "version = 1\n[model]\npath = \"" << model << "\"\n[data]\ntrain = \"" << data
                     << "\"\n[output]\ndir = \"out\"\nplot = false\n[train]\nmode = \"lora\"\nseed = 5\nsteps = 6\n"
                     << "micro_batch_size = 1\nglobal_batch_size = " << rows << "\nmax_grad_norm = 0\n"
                     << lora << "[optimizer]\nlr = 0.02\n[schedule]\nkind = \"constant\"\n";
  return job;
}

nlohmann::json EgretScore(const std::string& model, const std::string& adapter, const std::string& tokens) {
  std::vector<std::string> args = {"score", "--model", model, "--tokens", tokens, "--probe", "8", "--threads", "1"};
  if (!adapter.empty()) args.insert(args.end(), {"--adapter", adapter});
  auto r = RunTrain(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

nlohmann::json ReferenceScore(const std::string& model, const std::string& adapter, const std::string& tokens) {
  std::vector<std::string> argv = {"/usr/bin/python3", SourcePath("tests/reference/models/make_fixtures.py"), "score",
                                   model, tokens};
  if (!adapter.empty()) argv.push_back(adapter);
  ProcessOptions o;
  o.timeout_s = 120;
  auto r = RunProcess(argv, o);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  return r->exit_code == 0 ? nlohmann::json::parse(r->out) : nlohmann::json();
}

double MaxAbsLogitDiff(const nlohmann::json& a, const nlohmann::json& b) {
  double worst = 0;
  auto x = a["logits"], y = b["logits"];
  EXPECT_EQ(x.size(), y.size());
  for (size_t r = 0; r < x.size(); ++r)
    for (size_t t = 0; t < x[r].size(); ++t)
      for (size_t k = 0; k < x[r][t].size(); ++k)
        worst = std::max(worst, std::fabs(x[r][t][k].get<double>() - y[r][t][k].get<double>()));
  return worst;
}

// Trains FIXTURE with LORA settings (or its own PEFT adapter), then checks the exported adapter
// and merged weights against the reference.
void TrainExportAndCompare(const std::string& fixture, const std::string& lora, bool from_fixture_adapter) {
  std::string dir = FreshDir("peft-" + fixture + (from_fixture_adapter ? "-cont" : "-new"));
  std::string model = Fixture(fixture), tokens = model + "/tokens.json";
  std::string data = WriteRowsDataset(dir, tokens);
  std::string settings = from_fixture_adapter ? "" : lora;
  std::string job = WriteJob(dir, model, data, 3, settings);
  std::vector<std::string> args = {"finetune", "--config", job, "--threads", "1", "--quiet"};
  if (from_fixture_adapter) args.insert(args.end(), {"--set", "model.adapter=" + model + "/adapter"});
  auto r = RunTrain(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string adapter = dir + "/out/adapter";
  ASSERT_TRUE(fs::exists(adapter + "/adapter_config.json"));
  auto config = nlohmann::json::parse(std::ifstream(adapter + "/adapter_config.json"));
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["base_model_name_or_path"], model);

  auto ours = EgretScore(model, adapter, tokens);
  auto ref = ReferenceScore(model, adapter, tokens);
  ASSERT_TRUE(ours.contains("logits") && ref.contains("logits"));
  std::printf("%s: reference is %s\n", fixture.c_str(), ref["implementation"].get<std::string>().c_str());
  EXPECT_LE(MaxAbsLogitDiff(ours, ref), 1e-4) << fixture;
  EXPECT_NEAR(ours["mean_loss"].get<double>(), ref["mean_loss"].get<double>(), 1e-5 * ref["mean_loss"].get<double>());
  // The adapter really changed the model (B is no longer zero, or moved from the fixture's).
  auto base = ReferenceScore(model, "", tokens);
  EXPECT_GT(MaxAbsLogitDiff(base, ref), 1e-2) << fixture;

  // Merged weights: a plain HF model directory the reference loads without PEFT.
  std::vector<std::string> ex_args = {"export", "--config", job, "--merged", dir + "/merged", "--peft", dir + "/again"};
  if (from_fixture_adapter) ex_args.insert(ex_args.end(), {"--set", "model.adapter=" + model + "/adapter"});
  auto ex = RunTrain(ex_args);
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  auto merged = ReferenceScore(dir + "/merged", "", tokens);
  EXPECT_LE(MaxAbsLogitDiff(ours, merged), 1e-4) << fixture;
  // Export from the checkpoint writes the same adapter as the end of training did.
  auto again = EgretScore(model, dir + "/again", tokens);
  EXPECT_EQ(again["logits"], ours["logits"]);
}

TEST(PeftInterop, FreshLlamaAdapterMatchesTheReference) {
  TrainExportAndCompare("llama_gqa_llama3", "[lora]\nr = 4\nalpha = 8\ntarget_modules = [\"q_proj\", \"v_proj\", \"down_proj\"]\n", false);
}

TEST(PeftInterop, Gpt2Conv1dAdapterMatchesTheReference) {
  TrainExportAndCompare("gpt2", "", true);  // Conv1D: PEFT's fan_in_fan_out
}

TEST(PeftInterop, Qwen3RsLoraAdapterMatchesTheReference) {
  TrainExportAndCompare("qwen3_headdim", "", true);  // use_rslora: scale alpha / sqrt(r)
}

TEST(PeftInterop, PeftAdapterContinuesFromTheReferenceLoss) {
  // The fixture's adapter was written by PEFT's save_pretrained (or its mirror); the first
  // step's loss is the mean over the whole global batch, which the reference computed.
  for (std::string fixture : {"llama_gqa_llama3", "gpt2"}) {
    std::string dir = FreshDir("peft-first-" + fixture);
    std::string model = Fixture(fixture);
    std::string data = WriteRowsDataset(dir, model + "/tokens.json");
    std::string job = WriteJob(dir, model, data, 3, "");
    auto expected = nlohmann::json::parse(std::ifstream(model + "/adapter_expected.json"))["mean_loss"].get<double>();
    for (int np : {1, 3}) {
      auto r = RunTrain({"finetune", "--config", job, "--threads", "1", "--quiet", "--set",
                         "model.adapter=" + model + "/adapter", "--steps", "1", "--output",
                         dir + "/np" + std::to_string(np)},
                        np);
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
      auto recs = TrainRecords(dir + "/np" + std::to_string(np) + "/metrics.jsonl");
      ASSERT_EQ(recs.size(), 1u);
      EXPECT_NEAR(recs[0]["loss"].get<double>(), expected, 1e-5 * expected) << fixture << " np " << np;
      EXPECT_EQ(recs[0]["tokens"], 33);  // 3 rows x 11 predicted tokens
    }
  }
}

}  // namespace
}  // namespace egret::testing

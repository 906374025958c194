#include "mpi_trainer/eval/evaluate.h"

#include <cmath>
#include <fstream>

#include "common/strings.h"
#include "mpi_trainer/train/job_model.h"

namespace egret::eval {

Result<LossResult> EvalLoss(trainer::Model& model, const data::DatasetReader& ds, trainer::Communicator& comm,
                            int micro_batch_size) {
  // Rows r with r % ranks == rank, micro_batch_size at a time; failures are agreed on so no
  // rank waits in a collective another one left.
  double sums[3] = {0, 0, 0};  // loss sum, targets, failed
  std::string failure;
  std::vector<data::Row> rows;
  int64_t n = ds.rows();
  for (int64_t r = comm.rank(); r < n && failure.empty(); r += comm.size()) {
    rows.emplace_back();
    if (auto st = ds.ReadRow(r, &rows.back()); !st.ok()) failure = st.error().message();
    bool last = r + comm.size() >= n;
    if (failure.empty() && (static_cast<int>(rows.size()) == micro_batch_size || last)) {
      auto s = model.Forward(train::MakeBatch(rows));
      if (!s.ok()) failure = s.error().message();
      else {
        sums[0] += s->loss_sum;
        sums[1] += static_cast<double>(s->targets);
      }
      rows.clear();
    }
  }
  sums[2] = failure.empty() ? 0 : 1;
  comm.AllReduceSum(sums, 3);
  if (!failure.empty()) return Error(failure);
  if (sums[2] > 0) return Error("evaluation failed on another rank");
  LossResult out;
  out.tokens = static_cast<int64_t>(sums[1]);
  out.rows = n;
  if (out.tokens == 0) return Error(ds.path() + ": has no target tokens to evaluate");
  out.loss = sums[0] / sums[1];
  out.perplexity = std::exp(out.loss);
  return out;
}

namespace {

struct QA {
  std::string prompt, answer;
};

Result<std::vector<QA>> ReadQA(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(path + ": cannot open");
  std::vector<QA> out;
  std::string line;
  for (int64_t no = 1; std::getline(in, line); ++no) {
    if (Trim(line).empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    std::string where = path + ":" + std::to_string(no) + ": ";
    if (j.is_discarded() || !j.is_object()) return Error(where + "not a JSON object");
    if (!j.contains("prompt") || !j["prompt"].is_string()) return Error(where + "needs a string \"prompt\"");
    if (!j.contains("answer") || !j["answer"].is_string()) return Error(where + "needs a string \"answer\"");
    out.push_back({j["prompt"].get<std::string>(), j["answer"].get<std::string>()});
  }
  if (out.empty()) return Error(path + ": no prompt/answer lines");
  return out;
}

}  // namespace

Result<ExactMatchResult> EvalExactMatch(trainer::Model& model, const tokenizer::Tokenizer& tok, const std::string& jsonl,
                                        const ExactMatchOptions& o, trainer::Communicator& comm) {
  auto qa = ReadQA(jsonl);  // every rank reads it: no collective before the agreement below
  int64_t counts[3] = {0, 0, qa.ok() ? 0 : 1};
  ExactMatchResult out;
  std::string failure = qa.ok() ? "" : qa.error().message();
  int32_t stop = tok.special_ids().eos.value_or(-1);
  if (qa.ok()) {
    for (size_t i = static_cast<size_t>(comm.rank()); i < qa->size() && failure.empty(); i += comm.size()) {
      const QA& q = (*qa)[i];
      Result<std::vector<int32_t>> prompt = Error("");
      if (o.chat) {
        chat::RenderOptions ro;
        ro.add_generation_prompt = true;
        auto enc = tok.EncodeChat(nlohmann::json::array({{{"role", "user"}, {"content", q.prompt}}}), ro);
        if (enc.ok()) prompt = enc->ids;
        else prompt = enc.error();
      } else {
        prompt = tok.Encode(q.prompt, true);
      }
      if (!prompt.ok()) {
        failure = jsonl + ": line " + std::to_string(i + 1) + ": " + prompt.error().message();
        break;
      }
      auto gen = model.Generate(*prompt, o.max_new_tokens, stop);
      if (!gen.ok()) {
        failure = gen.error().message();
        break;
      }
      auto text = tok.Decode(*gen, /*skip_special_tokens=*/true);
      if (!text.ok()) {
        failure = text.error().message();
        break;
      }
      bool match = Trim(*text) == Trim(q.answer);
      ++counts[0];
      counts[1] += match;
      if (static_cast<int>(out.samples.size()) < o.samples)
        out.samples.push_back({{"prompt", q.prompt}, {"answer", q.answer}, {"generated", *text}, {"match", match}});
    }
  }
  counts[2] = failure.empty() ? 0 : 1;
  comm.AllReduceSum(counts, 3);
  if (!failure.empty()) return Error(failure);
  if (counts[2] > 0) return Error("exact-match evaluation failed on another rank");
  out.total = counts[0];
  out.correct = counts[1];
  out.accuracy = out.total ? static_cast<double>(out.correct) / static_cast<double>(out.total) : 0;
  return out;
}

}  // namespace egret::eval

#include "jobspecs/trainer/trainer_config.h"

#include <map>
#include <vector>

#include "jobspecs/render/shell.h"
#include "jobspecs/spec/value_text.h"
#include "jobspecs/trainer/training_keys.h"

namespace egret::jobspec::trainer {
namespace {

using render::HeredocPath;
using render::HeredocText;

// Paths go in TOML literal strings ('...'): no escapes to get wrong, and a jobspec path
// cannot hold a quote (parse.cc refuses it).
std::string Lit(const std::string& heredoc_text) { return "'" + heredoc_text + "'"; }

class Sections {
 public:
  void Add(const std::string& section, const std::string& key, const std::string& value) {
    if (!body_.count(section)) order_.push_back(section);
    body_[section] += key + " = " + value + "\n";
  }
  std::string Text() const {
    std::string out;
    for (const auto& s : order_) out += "\n[" + s + "]\n" + body_.at(s);
    return out;
  }

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::string> body_;
};

}  // namespace

std::string JobConfig(const Jobspec& spec) {
  Sections s;
  if (spec.model) s.Add("model", "path", Lit(HeredocPath(*spec.model)));
  if (spec.adapter) s.Add("model", "adapter", Lit(HeredocPath(*spec.adapter)));
  if (spec.train_data) s.Add("data", "train", Lit(HeredocPath(*spec.train_data)));
  for (const auto& setting : spec.training) {
    const TrainingKey* k = FindTrainingKey(setting.key);
    if (!k) continue;
    auto dot = k->trainer_key.find('.');
    std::string value = setting.swept() ? "${" + render::SweepVariable(setting.key) + "}"
                                        : HeredocText(TomlValue(setting.values[0]));
    s.Add(k->trainer_key.substr(0, dot), k->trainer_key.substr(dot + 1), value);
  }
  if (!spec.eval.sets.empty()) {
    std::string list = "[";
    for (size_t i = 0; i < spec.eval.sets.size(); ++i)
      list += (i ? ", " : "") + Lit(HeredocPath(spec.eval.sets[i]));
    s.Add("eval", "sets", list + "]");
  }
  if (spec.eval.exact_match) s.Add("eval", "exact_match", Lit(HeredocPath(*spec.eval.exact_match)));
  if (spec.eval.max_new_tokens) s.Add("eval", "max_new_tokens", std::to_string(spec.eval.max_new_tokens));
  if (spec.eval.every) s.Add("eval", "every", std::to_string(spec.eval.every));
  if (spec.kind == Kind::kFinetune) {
    s.Add("checkpoint", "dir", Lit("${RUN_DIR}"));
    if (spec.checkpoint.every) s.Add("checkpoint", "every", std::to_string(spec.checkpoint.every));
    if (spec.checkpoint.keep) s.Add("checkpoint", "keep", std::to_string(spec.checkpoint.keep));
  }
  s.Add("output", "dir", Lit("${RUN_DIR}"));
  s.Add("output", "metrics", Lit(std::string("${STATUS_DIR}/") + kMetricsFile));
  return "# egret-train configuration for " + std::string(KindName(spec.kind)) + " \"" + spec.name +
         "\" of tenant " + spec.tenant + ", rendered by egret submit.\n" + s.Text();
}

std::string FinetuneCommand() {
  return "\"$EGRET_TRAIN\" finetune --config \"$RUN_DIR/job.toml\" --resume auto";
}

std::string EvalCommand() {
  return std::string("\"$EGRET_TRAIN\" eval --config \"$RUN_DIR/job.toml\" --output \"$STATUS_DIR/") +
         kEvalFile + "\"";
}

}  // namespace egret::jobspec::trainer

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

// egret-train's defaults for the half of optimizer.betas a jobspec may leave out.
constexpr const char* kDefaultBeta1 = "0.9";
constexpr const char* kDefaultBeta2 = "0.999";

// Paths go in TOML literal strings ('...'): no escapes to get wrong, and a jobspec path
// cannot hold a quote (parse.cc refuses it; the script refuses EGRET_* values with one).
std::string Lit(const std::string& heredoc_text) { return "'" + heredoc_text + "'"; }

// Sections in egret-train's order (job.example.toml), whatever order the jobspec used.
class Sections {
 public:
  void Add(const std::string& section, const std::string& key, const std::string& value) {
    body_[section] += key + " = " + value + "\n";
  }
  std::string Text() const {
    static const char* kOrder[] = {"model", "data", "output", "train", "lora",
                                   "optimizer", "schedule", "checkpoint", "eval"};
    std::string out;
    for (const char* s : kOrder)
      if (auto it = body_.find(s); it != body_.end()) out += "\n[" + it->first + "]\n" + it->second;
    return out;
  }

 private:
  std::map<std::string, std::string> body_;
};

std::string SettingText(const Setting& s) {
  return s.swept() ? "${" + render::SweepVariable(s.key) + "}" : HeredocText(TomlValue(s.values[0]));
}

}  // namespace

std::string JobConfig(const Jobspec& spec) {
  Sections s;
  if (spec.model) s.Add("model", "path", Lit(HeredocPath(*spec.model)));
  if (spec.adapter) s.Add("model", "adapter", Lit(HeredocPath(*spec.adapter)));
  if (!spec.train_data.empty()) {
    std::string list = "[";
    for (size_t i = 0; i < spec.train_data.size(); ++i)
      list += (i ? ", " : "") + Lit(HeredocPath(spec.train_data[i]));
    s.Add("data", "train", list + "]");
  }
  s.Add("output", "dir", Lit("${RUN_DIR}"));
  s.Add("output", "metrics", Lit(std::string("${STATUS_DIR}/") + kMetricsFile));
  if (spec.kind == Kind::kBenchmark) s.Add("output", "plot", "false");

  std::string beta1, beta2;
  for (const auto& setting : spec.training) {
    const TrainingKey* k = FindTrainingKey(setting.key);
    if (!k) continue;
    if (setting.key == "beta1") beta1 = SettingText(setting);
    else if (setting.key == "beta2") beta2 = SettingText(setting);
    else {
      auto dot = k->trainer_key.find('.');
      s.Add(k->trainer_key.substr(0, dot), k->trainer_key.substr(dot + 1), SettingText(setting));
    }
  }
  // egret-train takes the two betas as one pair.
  if (!beta1.empty() || !beta2.empty())
    s.Add("optimizer", "betas",
          "[" + (beta1.empty() ? kDefaultBeta1 : beta1) + ", " + (beta2.empty() ? kDefaultBeta2 : beta2) + "]");

  if (spec.kind == Kind::kFinetune) {
    if (spec.checkpoint.every_steps >= 0) s.Add("checkpoint", "every_steps", std::to_string(spec.checkpoint.every_steps));
    if (spec.checkpoint.keep_last >= 0) s.Add("checkpoint", "keep_last", std::to_string(spec.checkpoint.keep_last));
    if (spec.eval.every_steps >= 0) s.Add("eval", "every_steps", std::to_string(spec.eval.every_steps));
    if (spec.eval.dataset) s.Add("eval", "dataset", Lit(HeredocPath(*spec.eval.dataset)));
    if (spec.eval.exact_match) s.Add("eval", "exact_match", Lit(HeredocPath(*spec.eval.exact_match)));
    if (spec.eval.max_new_tokens >= 0) s.Add("eval", "max_new_tokens", std::to_string(spec.eval.max_new_tokens));
    if (spec.eval.chat) s.Add("eval", "chat", *spec.eval.chat ? "true" : "false");
  }
  return "# egret-train job (schema version 1) for " + std::string(KindName(spec.kind)) + " \"" + spec.name +
         "\" of tenant " + spec.tenant + ", rendered by egret submit.\nversion = 1\n" + s.Text();
}

std::string FinetuneCommand() {
  return "\"$EGRET_TRAIN\" finetune --config \"$RUN_DIR/job.toml\" --resume auto";
}

std::string EvalCommand(const Jobspec& spec) {
  std::string c = "\"$EGRET_TRAIN\" eval";
  if (spec.model) c += " --model " + render::ShellPath(*spec.model);
  if (spec.adapter) c += " --adapter " + render::ShellPath(*spec.adapter);
  if (spec.eval.dataset) c += " \\\n    --dataset " + render::ShellPath(*spec.eval.dataset);
  if (spec.eval.exact_match) c += " \\\n    --exact-match " + render::ShellPath(*spec.eval.exact_match);
  if (spec.eval.max_new_tokens >= 0) c += " --max-new-tokens " + std::to_string(spec.eval.max_new_tokens);
  if (spec.eval.chat && *spec.eval.chat) c += " --chat";
  return c + " \\\n    --output \"$STATUS_DIR/" + kEvalFile + "\"";
}

}  // namespace egret::jobspec::trainer

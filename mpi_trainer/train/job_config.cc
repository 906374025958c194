#include "mpi_trainer/train/job_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "common/fs.h"
#include "common/strings.h"

namespace egret::train {

const char* ModeName(Mode m) { return m == Mode::kLora ? "lora" : "full"; }
const char* ScheduleKindName(ScheduleKind k) {
  switch (k) {
    case ScheduleKind::kCosine: return "cosine";
    case ScheduleKind::kLinear: return "linear";
    case ScheduleKind::kConstant: return "constant";
  }
  return "?";
}

namespace {

constexpr const char* kOverridePrefix = "--set ";
constexpr double kInf = std::numeric_limits<double>::infinity();

// Reads typed values out of the parsed table, remembers which keys the schema knows, and
// collects every problem (all are reported at once, each with its place).
class Reader {
 public:
  Reader(toml::table& root, std::string file, std::string base_dir, std::map<std::string, std::string> overridden)
      : root_(root), file_(std::move(file)), base_dir_(std::move(base_dir)), overridden_(std::move(overridden)) {}

  // Every problem, in file order (those without a line last).
  std::vector<std::string> errors() const {
    auto sorted = errors_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& [line, msg] : sorted) out.push_back(msg);
    return out;
  }

  void Int(const std::string& key, int64_t* out, int64_t min, int64_t max = std::numeric_limits<int64_t>::max()) {
    const toml::node* n = Take(key);
    if (!n) return;
    if (!n->is_integer()) return Wrong(*n, key, "an integer");
    int64_t v = n->as_integer()->get();
    if (v < min || v > max) return Range(*n, key, std::to_string(v), std::to_string(min), max == std::numeric_limits<int64_t>::max() ? "" : std::to_string(max));
    *out = v;
  }
  void Float(const std::string& key, double* out, double min, double max, bool min_open = false, bool max_open = false) {
    const toml::node* n = Take(key);
    if (!n) return;
    double v;
    if (n->is_floating_point()) v = n->as_floating_point()->get();
    else if (n->is_integer()) v = static_cast<double>(n->as_integer()->get());
    else return Wrong(*n, key, "a number");
    if (!CheckFloat(*n, key, v, min, max, min_open, max_open)) return;
    *out = v;
  }
  void Bool(const std::string& key, bool* out) {
    const toml::node* n = Take(key);
    if (!n) return;
    if (!n->is_boolean()) return Wrong(*n, key, "true or false");
    *out = n->as_boolean()->get();
  }
  void String(const std::string& key, std::string* out) {
    const toml::node* n = Take(key);
    if (!n) return;
    if (!n->is_string()) return Wrong(*n, key, "a string");
    *out = n->as_string()->get();
  }
  // A file or directory path, made absolute (see LoadJobConfig for the anchor).
  void Path(const std::string& key, std::string* out) {
    const toml::node* n = Take(key);
    if (!n) return;
    if (!n->is_string()) return Wrong(*n, key, "a path string");
    *out = Absolute(key, n->as_string()->get());
  }
  void PathList(const std::string& key, std::vector<std::string>* out) {
    const toml::node* n = Take(key);
    if (!n) return;
    if (n->is_string()) {
      *out = {Absolute(key, n->as_string()->get())};
      return;
    }
    if (!n->is_array()) return Wrong(*n, key, "a path or a list of paths");
    out->clear();
    for (const auto& e : *n->as_array()) {
      if (!e.is_string()) return Wrong(e, key, "a list of path strings");
      out->push_back(Absolute(key, e.as_string()->get()));
    }
  }
  void StringOrList(const std::string& key, std::vector<std::string>* out, bool* was_string) {
    const toml::node* n = Take(key);
    if (!n) return;
    if (n->is_string()) {
      *out = {n->as_string()->get()};
      *was_string = true;
      return;
    }
    if (!n->is_array()) return Wrong(*n, key, "a string or a list of strings");
    out->clear();
    for (const auto& e : *n->as_array()) {
      if (!e.is_string()) return Wrong(e, key, "a list of strings");
      out->push_back(e.as_string()->get());
    }
  }
  void FloatPair(const std::string& key, double* a, double* b, double min, double max) {
    const toml::node* n = Take(key);
    if (!n) return;
    const toml::array* arr = n->as_array();
    if (!arr || arr->size() != 2 || !(*arr)[0].is_number() || !(*arr)[1].is_number())
      return Wrong(*n, key, "a list of two numbers");
    double v[2];
    for (int i = 0; i < 2; ++i) {
      const toml::node& e = (*arr)[i];
      v[i] = e.is_integer() ? static_cast<double>(e.as_integer()->get()) : e.as_floating_point()->get();
      if (!CheckFloat(e, key + "[" + std::to_string(i) + "]", v[i], min, max, false, true)) return;
    }
    *a = v[0];
    *b = v[1];
  }
  template <typename E>
  void Choice(const std::string& key, E* out, const std::vector<std::pair<std::string, E>>& choices) {
    const toml::node* n = Take(key);
    if (!n) return;
    std::vector<std::string> names;
    for (const auto& c : choices) names.push_back(c.first);
    if (n->is_string()) {
      for (const auto& c : choices)
        if (c.first == n->as_string()->get()) {
          *out = c.second;
          return;
        }
    }
    Add(*n, key, key + " must be one of " + Join(names, ", ") + " (got " + Show(*n) + ")");
  }

  // Every key in the table the schema does not know is an error naming the valid ones.
  void RejectUnknown() {
    std::map<std::string, std::vector<std::string>> by_section;
    for (const auto& k : known_) {
      auto dot = k.find('.');
      by_section[dot == std::string::npos ? "" : k.substr(0, dot)].push_back(dot == std::string::npos ? k : k.substr(dot + 1));
    }
    std::vector<std::string> sections;
    for (const auto& [s, keys] : by_section)
      if (!s.empty()) sections.push_back(s);
    for (auto& [k, node] : root_) {
      std::string key(k.str());
      if (node.is_table()) {
        if (!by_section.count(key)) {
          // An override of an unknown section names its key inside it.
          std::string first = node.as_table()->empty() ? key : key + "." + std::string(node.as_table()->begin()->first.str());
          Add(node, first, "unknown section [" + key + "] (valid sections: " + Join(sections, ", ") + ")");
          continue;
        }
        for (auto& [k2, node2] : *node.as_table()) {
          std::string sub(k2.str());
          if (!known_.count(key + "." + sub))
            Add(node2, key + "." + sub, "unknown key " + key + "." + sub + " (valid keys in [" + key + "]: " +
                           Join(by_section[key], ", ") + ")");
        }
      } else if (!known_.count(key) && !by_section.count(key)) {  // a known section given as a value: Take reported it
        std::vector<std::string> top = by_section[""];
        Add(node, key, "unknown key " + key + " (valid top-level keys: " + Join(top, ", ") +
                      "; sections: " + Join(sections, ", ") + ")");
      }
    }
  }

  void Fail(const std::string& msg) { errors_.emplace_back(kNoLine, file_ + ": " + msg); }
  void Fail(const std::string& key, const std::string& msg) {
    auto v = root_.at_path(key);
    if (v.node()) Add(*v.node(), key, msg);
    else Fail(msg);
  }

 private:
  const toml::node* Take(const std::string& key) {
    known_.insert(key);
    auto dot = key.find('.');
    if (dot != std::string::npos) {
      // "lora = 3" where a section is expected.
      toml::node* sec = root_.get(key.substr(0, dot));
      if (sec && !sec->is_table()) {
        if (!reported_.count(key.substr(0, dot))) {
          reported_.insert(key.substr(0, dot));
          Add(*sec, key.substr(0, dot), key.substr(0, dot) + " must be a section ([" + key.substr(0, dot) + "]), not a value");
        }
        return nullptr;
      }
    }
    return root_.at_path(key).node();
  }
  bool CheckFloat(const toml::node& n, const std::string& key, double v, double min, double max, bool min_open,
                  bool max_open) {
    bool ok = std::isfinite(v) && (min_open ? v > min : v >= min) && (max_open ? v < max : v <= max);
    if (ok) return true;
    std::string lo = min == -kInf ? "" : (min_open ? "> " : ">= ") + Num(min);
    std::string hi = max == kInf ? "" : (max_open ? "< " : "<= ") + Num(max);
    Add(n, key, key + " must be " + lo + (lo.empty() || hi.empty() ? "" : " and ") + hi + " (got " + Show(n) + ")");
    return false;
  }
  void Range(const toml::node& n, const std::string& key, const std::string& got, const std::string& lo,
             const std::string& hi) {
    Add(n, key, key + " must be >= " + lo + (hi.empty() ? "" : " and <= " + hi) + " (got " + got + ")");
  }
  void Wrong(const toml::node& n, const std::string& key, const std::string& want) {
    Add(n, key, key + " must be " + want + " (got " + Show(n) + ")");
  }
  static std::string Num(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  }
  static std::string Show(const toml::node& n) {
    std::ostringstream s;
    if (n.is_string()) s << "\"" << n.as_string()->get() << "\"";
    else if (n.is_table()) s << "a table";
    else if (n.is_floating_point()) s << Num(n.as_floating_point()->get());
    else if (n.is_array()) {
      std::vector<std::string> parts;
      for (const auto& e : *n.as_array()) parts.push_back(Show(e));
      s << "[" << Join(parts, ", ") << "]";
    } else n.visit([&](auto&& v) { s << v; });
    return s.str();
  }
  // A value set by --set is reported as that argument, not as a line of the file.
  std::string Where(const toml::node& n, const std::string& key) const {
    auto it = overridden_.find(key);
    if (it != overridden_.end()) return it->second;
    return file_ + ":" + std::to_string(n.source().begin.line);
  }
  void Add(const toml::node& n, const std::string& key, const std::string& msg) {
    int64_t line = overridden_.count(key) ? kNoLine - 1 : n.source().begin.line;
    errors_.emplace_back(line, Where(n, key) + ": " + msg);
  }
  std::string Absolute(const std::string& key, const std::string& p) const {
    if (p.empty()) return p;
    std::filesystem::path path(p);
    if (path.is_absolute()) return path.lexically_normal().string();
    std::filesystem::path base =
        overridden_.count(key) ? std::filesystem::current_path() : std::filesystem::path(base_dir_);
    return (base / path).lexically_normal().string();
  }
  static constexpr int64_t kNoLine = std::numeric_limits<int64_t>::max();

  toml::table& root_;
  std::string file_, base_dir_;
  std::map<std::string, std::string> overridden_;  // key -> "--set key=value"
  std::set<std::string> known_, reported_;
  std::vector<std::pair<int64_t, std::string>> errors_;
};

// Sets KEY (dotted) in ROOT to the override's value, creating sections as needed.
Status ApplyOverride(toml::table& root, const std::string& arg, std::map<std::string, std::string>* overridden) {
  auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    return Error("--set " + arg + ": expected key=value, e.g. --set train.steps=100");
  std::string key(Trim(arg.substr(0, eq)));
  std::string value(Trim(arg.substr(eq + 1)));
  std::string origin = kOverridePrefix + arg;
  (*overridden)[key] = origin;
  toml::table doc;
  try {
    doc = toml::parse("v = " + value, origin);
  } catch (const toml::parse_error&) {
    // Not a TOML value: a bare string such as a path.
    doc = toml::parse("v = \"\"", origin);
    doc.insert_or_assign("v", value);
  }
  auto parts = Split(key, '.');
  toml::table* t = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    toml::node* child = t->get(parts[i]);
    if (!child) {
      t->insert(parts[i], toml::table{});
      child = t->get(parts[i]);
    }
    if (!child->is_table()) return Error(origin + ": " + parts[i] + " is not a section");
    t = child->as_table();
  }
  toml::node* v = doc.get("v");
  t->insert_or_assign(parts.back(), std::move(*v));
  return Ok();
}

}  // namespace

Result<JobConfig> ParseJobConfig(const std::string& text, const std::string& source, const std::string& base_dir,
                                 const std::vector<std::string>& overrides) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Error(source + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  std::map<std::string, std::string> overridden;
  for (const auto& o : overrides) EGRET_TRY(ApplyOverride(root, o, &overridden));

  JobConfig c;
  c.source = source;
  Reader r(root, source, base_dir, overridden);
  r.Int("version", &c.version, 1);
  r.Path("model.path", &c.model_path);
  r.Path("model.adapter", &c.adapter_path);
  r.PathList("data.train", &c.datasets);
  r.Path("output.dir", &c.output_dir);
  std::string metrics = "metrics.jsonl";
  r.String("output.metrics", &metrics);
  r.Int("output.log_every_steps", &c.log_every_steps, 1);
  r.Bool("output.plot", &c.plot);

  r.Choice<Mode>("train.mode", &c.mode, {{"lora", Mode::kLora}, {"full", Mode::kFull}});
  r.Int("train.seed", &c.seed, 0);
  r.Int("train.steps", &c.steps, 0);
  r.Float("train.epochs", &c.epochs, 0, kInf);
  r.Int("train.micro_batch_size", &c.micro_batch_size, 1);
  r.Int("train.global_batch_size", &c.global_batch_size, 0);
  r.Int("train.grad_accum", &c.grad_accum, 0);
  r.Float("train.max_grad_norm", &c.max_grad_norm, 0, kInf);

  r.Int("lora.r", &c.lora.r, 1);
  r.Float("lora.alpha", &c.lora.alpha, 0, kInf, true);
  r.Float("lora.dropout", &c.lora.dropout, 0, 1, false, true);
  std::vector<std::string> targets = c.lora.target_modules;
  bool targets_is_string = false;
  r.StringOrList("lora.target_modules", &targets, &targets_is_string);
  if (targets_is_string) {
    c.lora.target_regex = targets.front();
    c.lora.target_modules.clear();
  } else {
    c.lora.target_modules = targets;
  }

  r.Float("optimizer.lr", &c.optimizer.lr, 0, kInf, true);
  r.FloatPair("optimizer.betas", &c.optimizer.beta1, &c.optimizer.beta2, 0, 1);
  r.Float("optimizer.eps", &c.optimizer.eps, 0, kInf, true);
  r.Float("optimizer.weight_decay", &c.optimizer.weight_decay, 0, kInf);

  r.Choice<ScheduleKind>("schedule.kind", &c.schedule.kind,
                         {{"cosine", ScheduleKind::kCosine}, {"linear", ScheduleKind::kLinear},
                          {"constant", ScheduleKind::kConstant}});
  r.Int("schedule.warmup_steps", &c.schedule.warmup_steps, 0);
  r.Float("schedule.min_lr", &c.schedule.min_lr, 0, kInf);

  std::string ckpt_dir = "checkpoints";
  r.String("checkpoint.dir", &ckpt_dir);
  r.Int("checkpoint.every_steps", &c.checkpoint.every_steps, 0);
  r.Int("checkpoint.keep_last", &c.checkpoint.keep_last, 1);

  r.Int("eval.every_steps", &c.eval.every_steps, 0);
  r.Path("eval.dataset", &c.eval.dataset);
  r.Path("eval.exact_match", &c.eval.exact_match);
  r.Int("eval.max_new_tokens", &c.eval.max_new_tokens, 1);
  r.Bool("eval.chat", &c.eval.chat);
  r.RejectUnknown();
  // Cross-field rules only once every field is valid (a rejected value would look "missing").
  if (!r.errors().empty()) return Error(Join(r.errors(), "\n"));
  if (c.version != kJobSchemaVersion)
    r.Fail("version", "version " + std::to_string(c.version) + " is not supported (this egret-train reads version " +
                          std::to_string(kJobSchemaVersion) + ")");
  if (c.model_path.empty()) r.Fail("model.path is required (a Hugging Face model directory)");
  if (c.datasets.empty()) r.Fail("data.train is required (one or more datasets from egret-data import)");
  if (c.output_dir.empty()) r.Fail("output.dir is required (where checkpoints, exports and metrics go)");
  if ((c.steps > 0) == (c.epochs > 0)) {
    if (c.steps > 0) r.Fail("train.epochs", "give train.steps or train.epochs, not both");
    else r.Fail("one of train.steps or train.epochs is required (and must be > 0)");
  }
  if (c.schedule.min_lr > c.optimizer.lr)
    r.Fail("schedule.min_lr", "schedule.min_lr (" + std::to_string(c.schedule.min_lr) +
                                  ") must not exceed optimizer.lr (" + std::to_string(c.optimizer.lr) + ")");
  if (c.mode == Mode::kLora && c.lora.target_modules.empty() && c.lora.target_regex.empty())
    r.Fail("lora.target_modules", "lora.target_modules must name at least one module");
  if (!c.adapter_path.empty() && c.mode != Mode::kLora)
    r.Fail("model.adapter", "model.adapter needs train.mode = \"lora\" (to train a full model from a merged "
                            "adapter, merge it first: egret-train export --merged)");
  if (c.eval.every_steps > 0 && c.eval.dataset.empty() && c.eval.exact_match.empty())
    r.Fail("eval.every_steps", "eval.every_steps is set but neither eval.dataset nor eval.exact_match is");
  if (!r.errors().empty()) return Error(Join(r.errors(), "\n"));

  std::filesystem::path out(c.output_dir);
  c.metrics_path = std::filesystem::path(metrics).is_absolute() ? metrics : (out / metrics).string();
  c.checkpoint.dir = std::filesystem::path(ckpt_dir).is_absolute() ? ckpt_dir : (out / ckpt_dir).string();
  return c;
}

Result<JobConfig> LoadJobConfig(const std::string& path, const std::vector<std::string>& overrides) {
  EGRET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::filesystem::path p = std::filesystem::absolute(path);
  return ParseJobConfig(text, path, p.parent_path().string(), overrides);
}

Result<BatchPlan> PlanBatches(const JobConfig& c, int ranks) {
  BatchPlan p;
  p.micro_batch_size = c.micro_batch_size;
  int64_t per_step = c.micro_batch_size * ranks;
  if (c.global_batch_size > 0) {
    if (c.global_batch_size % per_step != 0)
      return Error(c.source + ": train.global_batch_size (" + std::to_string(c.global_batch_size) +
                   ") must be a multiple of train.micro_batch_size x ranks (" + std::to_string(c.micro_batch_size) +
                   " x " + std::to_string(ranks) + " = " + std::to_string(per_step) + ")");
    p.grad_accum = c.global_batch_size / per_step;
    if (c.grad_accum > 0 && c.grad_accum != p.grad_accum)
      return Error(c.source + ": train.grad_accum (" + std::to_string(c.grad_accum) + ") disagrees with " +
                   "train.global_batch_size / (micro_batch_size x ranks) = " + std::to_string(p.grad_accum) +
                   " on " + std::to_string(ranks) + " ranks; set only one of them");
  } else {
    p.grad_accum = c.grad_accum > 0 ? c.grad_accum : 1;
  }
  p.global_batch_size = p.grad_accum * per_step;
  return p;
}

nlohmann::json TrajectorySettings(const JobConfig& c, const BatchPlan& plan) {
  nlohmann::json j;
  j["train.mode"] = ModeName(c.mode);
  j["train.seed"] = c.seed;
  j["train.steps"] = c.steps;
  j["train.epochs"] = c.epochs;
  j["train.global_batch_size"] = plan.global_batch_size;
  j["train.max_grad_norm"] = c.max_grad_norm;
  if (c.mode == Mode::kLora) {
    j["lora.r"] = c.lora.r;
    j["lora.alpha"] = c.lora.alpha;
    j["lora.dropout"] = c.lora.dropout;
    j["lora.target_modules"] = c.lora.target_regex.empty() ? Join(c.lora.target_modules, ",") : "regex:" + c.lora.target_regex;
  }
  j["optimizer.lr"] = c.optimizer.lr;
  j["optimizer.betas"] = std::to_string(c.optimizer.beta1) + "," + std::to_string(c.optimizer.beta2);
  j["optimizer.eps"] = c.optimizer.eps;
  j["optimizer.weight_decay"] = c.optimizer.weight_decay;
  j["schedule.kind"] = ScheduleKindName(c.schedule.kind);
  j["schedule.warmup_steps"] = c.schedule.warmup_steps;
  j["schedule.min_lr"] = c.schedule.min_lr;
  return j;
}

}  // namespace egret::train

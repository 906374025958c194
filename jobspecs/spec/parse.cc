#include "jobspecs/spec/parse.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <toml++/toml.h>

#include "common/fs.h"
#include "common/strings.h"
#include "jobspecs/cron/duration.h"
#include "jobspecs/spec/diagnostics.h"
#include "jobspecs/spec/overrides.h"
#include "jobspecs/spec/table_reader.h"
#include "jobspecs/spec/training_reader.h"
#include "jobspecs/spec/view_path.h"
#include "jobspecs/spec/value_text.h"
#include "jobspecs/trainer/training_keys.h"

namespace egret::jobspec {
namespace {

const std::vector<std::string> kKinds = {"finetune", "eval", "benchmark"};
const std::vector<std::string> kRootKeys = {"kind",  "name",       "tenant",     "resources",
                                            "model", "data",       "training",   "eval",
                                            "checkpoint", "preemption", "output", "benchmark"};
const std::vector<std::string> kTables = {"resources", "model",      "data",   "training", "eval",
                                          "checkpoint", "preemption", "output", "benchmark"};

const std::vector<std::string> kResourceKeys = {"partition",     "nodes",       "ranks_per_node",
                                                "gpus_per_node", "cpus_per_rank", "mem_per_cpu",
                                                "time_limit"};
const std::vector<std::string> kModelKeys = {"base", "adapter"};
const std::vector<std::string> kDataKeys = {"train"};
const std::vector<std::string> kEvalKeys = {"dataset", "exact_match", "max_new_tokens", "every_steps", "chat"};
const std::vector<std::string> kCheckpointKeys = {"dir", "every_steps", "keep_last"};
const std::vector<std::string> kPreemptionKeys = {"signal", "requeue"};
const std::vector<std::string> kOutputKeys = {"dir"};
const std::vector<std::string> kBenchmarkKeys = {"schedule", "every", "workload", "gemm_size", "repeats", "results"};

// Every table's keys, so a key written in the wrong table can say where it belongs.
const std::vector<std::pair<std::string, std::vector<std::string>>>& AllTables() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> all = {
      {"resources", kResourceKeys},
      {"model", kModelKeys},
      {"data", kDataKeys},
      {"training", trainer::TrainingTableKeys("")},
      {"training.lora", trainer::TrainingTableKeys("lora")},
      {"eval", kEvalKeys},
      {"checkpoint", kCheckpointKeys},
      {"preemption", kPreemptionKeys},
      {"output", kOutputKeys},
      {"benchmark", kBenchmarkKeys},
  };
  return all;
}

std::vector<std::string> TablesFor(Kind kind) {
  switch (kind) {
    case Kind::kFinetune:
      return {"resources", "model", "data", "training", "eval", "checkpoint", "preemption", "output"};
    case Kind::kEval:
      return {"resources", "model", "eval", "preemption", "output"};
    case Kind::kBenchmark:
      return {"resources", "model", "data", "training", "benchmark", "output"};
  }
  return {};
}

// Job, tenant and schedule names end up in Slurm job names, file names and the
// "egret-bench:<tenant>:<name>" schedule key.
bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

bool ValidPartition(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// Characters that survive an #SBATCH line and a shell word unquoted.
bool ValidHostPath(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("/._-+,=@").find(c) == std::string_view::npos)
      return false;
  return true;
}

class Parser {
 public:
  Parser(std::string source, Diagnostics& diag, const std::map<std::string, std::string>& raw)
      : source_(std::move(source)), diag_(diag), raw_(raw) {}

  std::optional<Jobspec> Run(const toml::table& root);

 private:
  std::optional<std::string> Str(TableReader& r, std::string_view key) {
    // A bare number from --set (--set name=7) is text for a string key.
    if (const toml::node* n = r.Find(key); n && !n->is_string() && (n->is_number() || n->is_boolean())) {
      auto it = raw_.find(r.Dotted(key));
      if (it != raw_.end() && n->source().begin.line == 0) return it->second;
    }
    return r.String(key);
  }
  std::optional<ViewPath> Path(TableReader& r, std::string_view key, bool checkpoints_only = false);
  void ReadResources(const toml::table* t, Jobspec& spec);
  void ReadModel(const toml::table* t, Jobspec& spec);
  void ReadData(const toml::table* t, Jobspec& spec);
  void ReadEval(const toml::table* t, Jobspec& spec);
  bool ReadCheckpoint(const toml::table* t, Jobspec& spec);  // true: dir was given
  void ReadPreemption(const toml::table* t, Jobspec& spec);
  void ReadOutput(const toml::table* t, Jobspec& spec);
  void ReadBenchmark(const toml::table* t, Jobspec& spec);

  std::string source_;
  Diagnostics& diag_;
  const std::map<std::string, std::string>& raw_;
};

std::optional<ViewPath> Parser::Path(TableReader& r, std::string_view key, bool checkpoints_only) {
  auto s = Str(r, key);
  if (!s) return std::nullopt;
  auto p = ParseViewPath(*s, checkpoints_only);
  if (p.ok()) return *p;
  r.Report(key, p.error().message());
  return std::nullopt;
}

void Parser::ReadResources(const toml::table* t, Jobspec& spec) {
  static const toml::table empty;
  TableReader r(t ? *t : empty, "resources",
kResourceKeys, diag_);
  r.CheckUnknownKeys(&AllTables());
  if (!t || !r.Find("partition")) {
    r.ReportMissing("partition", "[resources] partition = \"gpu\"");
  } else if (auto p = Str(r, "partition")) {
    if (ValidPartition(*p)) spec.resources.partition = *p;
    else r.Report("partition", "\"" + *p + "\" is not a partition name (letters, digits, - _ .)");
  }
  if (auto v = r.Integer("nodes", 1, 1024)) spec.resources.nodes = static_cast<int>(*v);
  if (auto v = r.Integer("ranks_per_node", 1, 256)) spec.resources.ranks_per_node = static_cast<int>(*v);
  if (auto v = r.Integer("gpus_per_node", 0, 64)) spec.resources.gpus_per_node = static_cast<int>(*v);
  if (auto v = r.Integer("cpus_per_rank", 1, 1024)) spec.resources.cpus_per_rank = static_cast<int>(*v);
  if (auto m = Str(r, "mem_per_cpu")) {
    std::string s = *m;
    bool ok = !s.empty() && std::isdigit(static_cast<unsigned char>(s[0]));
    size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (ok && i < s.size()) ok = i + 1 == s.size() && std::string_view("KMGTkmgt").find(s[i]) != std::string_view::npos;
    if (ok) spec.resources.mem_per_cpu = s;
    else r.Report("mem_per_cpu", "\"" + s + "\" is not a Slurm size (e.g. \"500M\", \"2G\")");
  }
  if (auto s = Str(r, "time_limit")) {
    auto tl = cron::ParseTimeLimit(*s);
    if (tl.ok()) spec.resources.time_limit_s = *tl;
    else r.Report("time_limit", tl.error().message());
  }
}

void Parser::ReadModel(const toml::table* t, Jobspec& spec) {
  bool needed = spec.kind != Kind::kBenchmark ||
                (spec.benchmark && spec.benchmark->workload == "finetune");
  static const toml::table empty;
  TableReader r(t ? *t : empty, "model", kModelKeys, diag_);
  r.CheckUnknownKeys(&AllTables());
  if (!r.Find("base")) {
    if (needed) r.ReportMissing("base", "[model] base = \"models/tiny-llama\"");
  } else {
    spec.model = Path(r, "base");
  }
  if (r.Find("adapter")) spec.adapter = Path(r, "adapter");
  if (spec.kind == Kind::kBenchmark && !needed && t)
    diag_.Add(t->source(), "model", "[model] is used only by benchmarks with workload = \"finetune\"");
}

void Parser::ReadData(const toml::table* t, Jobspec& spec) {
  bool needed = spec.kind == Kind::kFinetune ||
                (spec.benchmark && spec.benchmark->workload == "finetune");
  static const toml::table empty;
  TableReader r(t ? *t : empty, "data", kDataKeys, diag_);
  r.CheckUnknownKeys(&AllTables());
  if (const toml::node* n = r.Find("train"); !n) {
    if (needed) r.ReportMissing("train", "[data] train = \"data/train.h5\"");
  } else if (n->is_array()) {
    if (auto list = r.StringList("train")) {
      for (const auto& one : *list) {
        auto p = ParseViewPath(one, false);
        if (p.ok()) spec.train_data.push_back(*p);
        else r.Report("train", p.error().message());
      }
      if (list->empty()) r.Report("train", "the list is empty; name one or more datasets");
    }
  } else if (auto p = Path(r, "train")) {
    spec.train_data.push_back(*p);
  }
  if (spec.kind == Kind::kBenchmark && !needed && t)
    diag_.Add(t->source(), "data", "[data] is used only by benchmarks with workload = \"finetune\"");
}

void Parser::ReadEval(const toml::table* t, Jobspec& spec) {
  static const toml::table empty;
  TableReader r(t ? *t : empty, "eval", kEvalKeys, diag_);
  r.CheckUnknownKeys(&AllTables());
  if (r.Find("dataset")) spec.eval.dataset = Path(r, "dataset");
  if (r.Find("exact_match")) spec.eval.exact_match = Path(r, "exact_match");
  if (auto v = r.Integer("max_new_tokens", 1, 65536)) spec.eval.max_new_tokens = *v;
  if (auto b = r.Bool("chat")) spec.eval.chat = *b;
  if (r.Find("every_steps")) {
    if (spec.kind != Kind::kFinetune)
      r.Report("every_steps", "applies only to kind = \"finetune\" (evaluation during training)");
    else if (auto v = r.Integer("every_steps", 0, 1000000000000)) spec.eval.every_steps = *v;
  }
  const bool has_set = r.Find("dataset") || r.Find("exact_match");
  if (spec.kind == Kind::kEval && !has_set) {
    if (t) diag_.Add(t->source(), "eval", "[eval] needs dataset = \"data/eval.h5\" (loss/perplexity) or exact_match = \"data/qa.jsonl\" (or both)");
    else diag_.AddFile("kind = \"eval\" needs an [eval] table with dataset = \"data/eval.h5\" and/or exact_match = \"data/qa.jsonl\"");
  }
  if (spec.eval.every_steps > 0 && !has_set)
    r.Report("every_steps", "is set but neither eval.dataset nor eval.exact_match is");
}

bool Parser::ReadCheckpoint(const toml::table* t, Jobspec& spec) {
  if (!t) return false;
  bool dir_given = false;
  TableReader r(*t, "checkpoint", kCheckpointKeys, diag_);
  r.CheckUnknownKeys(&AllTables());
  if (auto d = Str(r, "dir")) {
    dir_given = true;
    std::string s = *d;
    // Every {placeholder} must be one we fill in.
    for (size_t i = s.find('{'); i != std::string::npos; i = s.find('{', i + 1)) {
      size_t j = s.find('}', i);
      std::string ph = j == std::string::npos ? s.substr(i) : s.substr(i, j - i + 1);
      if (ph != "{name}" && ph != "{tenant}" && ph != "{job}" && ph != "{task}") {
        r.Report("dir", "\"" + s + "\": unknown placeholder " + ph +
                            " (use {name}, {tenant}, {job}, {task})");
        return true;
      }
    }
    auto p = ParseViewPath(s, true);
    if (p.ok()) spec.checkpoint.dir = s;
    else r.Report("dir", p.error().message());
  }
  if (auto v = r.Integer("every_steps", 0, 1000000000000)) spec.checkpoint.every_steps = *v;
  if (auto v = r.Integer("keep_last", 1, 1000)) spec.checkpoint.keep_last = *v;
  return dir_given;
}

void Parser::ReadPreemption(const toml::table* t, Jobspec& spec) {
  if (spec.kind == Kind::kEval) spec.preemption.enabled = false;  // nothing to checkpoint
  if (!t) return;
  TableReader r(*t, "preemption", kPreemptionKeys, diag_);
  r.CheckUnknownKeys(&AllTables());
  if (auto s = Str(r, "signal")) {
    if (spec.kind == Kind::kEval) {
      r.Report("signal", "does not apply to kind = \"eval\" (an eval has nothing to checkpoint; "
                         "requeue = true reruns it after a preemption)");
    } else if (*s == "none") {
      spec.preemption.enabled = false;
    } else {
      std::string name = *s, secs;
      if (auto at = s->find('@'); at != std::string::npos) {
        name = s->substr(0, at);
        secs = s->substr(at + 1);
      }
      if (name.rfind("SIG", 0) == 0) name = name.substr(3);
      const std::vector<std::string> sigs = {"USR1", "TERM"};
      bool ok = std::find(sigs.begin(), sigs.end(), name) != sigs.end();
      int64_t n = 60;  // Slurm's default warning time
      if (ok && !secs.empty()) {
        ok = secs.size() <= 5 && secs.find_first_not_of("0123456789") == std::string::npos;
        if (ok) n = std::stoll(secs);
        ok = ok && n >= 1 && n <= 65535;
      }
      if (!ok) {
        r.Report("signal", "\"" + *s + "\" is not SIGNAL@SECONDS with SIGNAL one of USR1, TERM "
                           "(the signals egret-train checkpoints on) and SECONDS 1-65535, e.g. "
                           "\"USR1@120\"; or \"none\"");
      } else {
        spec.preemption.signal = name;
        spec.preemption.seconds_before = static_cast<int>(n);
      }
    }
  }
  if (auto b = r.Bool("requeue")) spec.preemption.requeue = *b;
}

void Parser::ReadOutput(const toml::table* t, Jobspec& spec) {
  if (!t) return;
  TableReader r(*t, "output", kOutputKeys, diag_);
  r.CheckUnknownKeys(&AllTables());
  if (auto d = Str(r, "dir")) {
    if (ValidHostPath(*d)) spec.output_dir = *d;
    else r.Report("dir", "\"" + *d + "\" may hold only letters, digits and / . _ - + , = @");
  }
}

void Parser::ReadBenchmark(const toml::table* t, Jobspec& spec) {
  spec.benchmark.emplace();
  if (!t) return;
  Benchmark& b = *spec.benchmark;
  TableReader r(*t, "benchmark", kBenchmarkKeys, diag_);
  r.CheckUnknownKeys(&AllTables());
  if (r.Find("schedule") && r.Find("every"))
    r.Report("every", "give either schedule (cron) or every (an interval), not both");
  else if (auto s = Str(r, "schedule")) {
    auto c = cron::ParseCron(*s);
    if (c.ok()) b.schedule = *c;
    else r.Report("schedule", c.error().message());
  } else if (auto e = Str(r, "every")) {
    auto c = cron::ParseInterval(*e);
    if (c.ok()) b.schedule = *c;
    else r.Report("every", c.error().message());
  }
  if (auto w = r.Choice("workload", {"gemm", "finetune"})) b.workload = *w;
  if (auto v = r.Integer("gemm_size", 16, 8192)) b.gemm_size = static_cast<int>(*v);
  if (auto v = r.Integer("repeats", 1, 1000)) b.repeats = static_cast<int>(*v);
  if (auto s = Str(r, "results")) {
    auto p = ParseViewPath(*s, true);
    if (p.ok()) b.results = *s;
    else r.Report("results", p.error().message());
  }
}

std::optional<Jobspec> Parser::Run(const toml::table& root) {
  Jobspec spec;
  spec.source = source_;
  TableReader r(root, "", kRootKeys, diag_);
  r.CheckUnknownKeys(&AllTables());

  if (!r.Find("kind")) {
    r.ReportMissing("kind", "kind = \"finetune\"; one of finetune, eval, benchmark");
    return std::nullopt;  // nothing else can be checked without it
  }
  auto kind = r.Choice("kind", kKinds);
  if (!kind) return std::nullopt;
  spec.kind = *kind == "finetune" ? Kind::kFinetune : *kind == "eval" ? Kind::kEval : Kind::kBenchmark;

  if (!r.Find("tenant")) r.ReportMissing("tenant", "tenant = \"acme\", the Slurm account to charge");
  else if (auto t = Str(r, "tenant")) {
    if (ValidName(*t)) spec.tenant = *t;
    else r.Report("tenant", "\"" + *t + "\" is not a tenant name (letters, digits, - _ ., at most 64)");
  }
  if (r.Find("name")) {
    if (auto n = Str(r, "name")) {
      if (ValidName(*n)) spec.name = *n;
      else r.Report("name", "\"" + *n + "\" is not a job name (start with a letter or digit; then "
                                         "letters, digits, - _ .; at most 64)");
    }
  } else {
    std::string stem = std::filesystem::path(source_).stem().string();
    if (ValidName(stem)) spec.name = stem;
    else diag_.AddFile("the file name \"" + stem + "\" is not a valid job name; set name = \"...\"");
  }

  // Tables that do not belong to this kind are errors: they would be silently ignored.
  auto allowed = TablesFor(spec.kind);
  for (const auto& table : kTables) {
    const toml::node* n = root.get(table);
    if (!n || std::find(allowed.begin(), allowed.end(), table) != allowed.end()) continue;
    diag_.Add(n->source(), table,
              "[" + table + "] does not apply to kind = \"" + *kind + "\" (its tables: " +
                  ChoiceList(allowed) + ")");
  }
  auto table = [&](const char* name) -> const toml::table* {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) return nullptr;
    return r.Table(name);
  };

  if (spec.kind == Kind::kBenchmark) ReadBenchmark(table("benchmark"), spec);
  ReadResources(table("resources"), spec);
  if (spec.kind != Kind::kBenchmark || root.get("model") || spec.benchmark->workload == "finetune")
    ReadModel(table("model"), spec);
  if (spec.kind != Kind::kEval) ReadData(table("data"), spec);
  if (spec.kind == Kind::kBenchmark && spec.benchmark->workload != "finetune" && root.get("training"))
    diag_.Add(root.get("training")->source(), "training",
              "[training] is used only by benchmarks with workload = \"finetune\"");
  else
    ReadTraining(table("training"), spec, diag_, &AllTables());
  // egret-train needs exactly one of train.steps and train.epochs: say so now, not at run time.
  const bool trains = spec.kind == Kind::kFinetune || (spec.benchmark && spec.benchmark->workload == "finetune");
  if (trains) {
    // Present in the file counts, valid or not: a bad value is reported on its own.
    bool steps = root.at_path("training.steps").node() != nullptr;
    bool epochs = root.at_path("training.epochs").node() != nullptr;
    const toml::node* tr = root.get("training");
    if (steps && epochs)
      diag_.Add(root.at_path("training.epochs").node() ? root.at_path("training.epochs").node()->source()
                                                       : toml::source_region{},
                "training.epochs", "training.epochs: give training.steps or training.epochs, not both");
    else if (!steps && !epochs) {
      std::string msg = "missing required key \"steps\" in [training] (e.g. [training] steps = 200; or epochs = 1.5)";
      if (tr && tr->source().begin.line > 0) diag_.Add(tr->source(), "training.steps", msg);
      else diag_.AddFile(msg);
    }
  }
  if (trains) CheckBatchGeometry(root, spec, diag_);
  if (spec.kind != Kind::kBenchmark) ReadEval(table("eval"), spec);
  bool dir_given = spec.kind == Kind::kFinetune && ReadCheckpoint(table("checkpoint"), spec);
  if (spec.kind != Kind::kBenchmark) ReadPreemption(table("preemption"), spec);
  else spec.preemption.enabled = spec.preemption.requeue = false;  // a link must not run twice
  ReadOutput(table("output"), spec);

  constexpr int64_t kMaxTasks = 1000;  // Slurm's default MaxArraySize is 1001 (ids 0-1000)
  if (spec.TaskCount() > kMaxTasks) {
    std::vector<std::string> sizes;
    for (const auto& st : spec.training)
      if (st.swept()) sizes.push_back(std::to_string(st.values.size()) + " " + st.key);
    diag_.AddFile("the sweep makes " + std::to_string(spec.TaskCount()) + " array tasks (" +
                  Join(sizes, " x ") + "); at most " + std::to_string(kMaxTasks) +
                  " fit Slurm's default MaxArraySize");
  }
  if (spec.IsSweep()) {
    if (!dir_given) spec.checkpoint.dir = "checkpoints/{name}/{job}/{task}";
    else if (spec.checkpoint.dir.find("{task}") == std::string::npos) {
      const toml::node* d = root.at_path("checkpoint.dir").node();
      diag_.Add(d ? d->source() : toml::source_region{}, "checkpoint.dir",
                "checkpoint.dir: \"" + spec.checkpoint.dir +
                    "\" must contain {task} in a sweep, so each array task keeps its own checkpoints");
    }
  }
  if (spec.preemption.enabled && spec.preemption.seconds_before >= spec.resources.time_limit_s) {
    const toml::node* s = root.at_path("preemption.signal").node();
    diag_.Add(s ? s->source() : toml::source_region{}, "preemption.signal",
              "preemption.signal: " + spec.preemption.signal + "@" +
                  std::to_string(spec.preemption.seconds_before) + " would fire " +
                  std::to_string(spec.preemption.seconds_before) + " s before the end of a " +
                  std::to_string(spec.resources.time_limit_s) +
                  " s time limit; lower it or raise resources.time_limit");
  }
  if (!diag_.empty()) return std::nullopt;
  return spec;
}

}  // namespace

Result<Jobspec> ParseJobspecText(std::string_view text, const std::string& source_name,
                                 const std::vector<std::string>& overrides) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return Error(source_name + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                 ": not valid TOML: " + std::string(e.description()));
  }
  std::map<std::string, std::string> raw;
  if (Status st = ApplyOverrides(root, overrides, raw); !st.ok())
    return st.error().context(source_name);
  Diagnostics diag(source_name);
  Parser parser(source_name, diag, raw);
  auto spec = parser.Run(root);
  if (!spec) {
    Status st = diag.ToStatus();
    if (!st.ok()) return st.error();
    return Error(source_name + ": invalid jobspec");
  }
  return std::move(*spec);
}

Result<Jobspec> ParseJobspecFile(const std::string& path, const std::vector<std::string>& overrides) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.error();
  return ParseJobspecText(*text, path, overrides);
}

}  // namespace egret::jobspec

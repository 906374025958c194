#include "jobspecs/spec/training_reader.h"

#include <algorithm>
#include <map>
#include <set>

#include "jobspecs/spec/table_reader.h"
#include "jobspecs/spec/value_text.h"
#include "jobspecs/trainer/training_keys.h"

namespace egret::jobspec {
namespace {

// Positions of the settings, to keep them (and the sweep's order) in file order.
using Positions = std::map<std::string, std::pair<size_t, size_t>>;

// "between 1 and 64", ">= 0", "> 0 and < 1": a training key's range, for messages.
std::string BoundsText(const trainer::TrainingKey& k) {
  const bool unbounded = k.hi >= 1e12;
  if (k.type == trainer::ValueType::kInt) {
    std::string lo = std::to_string(static_cast<int64_t>(k.lo));
    if (unbounded) return ">= " + lo;
    return "between " + lo + " and " + std::to_string(static_cast<int64_t>(k.hi));
  }
  std::string out = (k.lo_exclusive ? "> " : ">= ") + FormatNumber(k.lo);
  if (!unbounded) out += std::string(" and ") + (k.hi_exclusive ? "< " : "<= ") + FormatNumber(k.hi);
  return out;
}

void ReadSetting(TableReader& r, const std::string& key, const std::string& full_key, Jobspec& spec,
                 Diagnostics& diag, Positions& positions) {
  const trainer::TrainingKey* tk = trainer::FindTrainingKey(full_key);
  if (!tk) return;  // reported as unknown
  const toml::node* n = r.Find(key);
  const std::string dotted = "training." + full_key;
  auto check = [&](const toml::node& v) -> std::optional<Value> {
    auto wrong = [&](const char* expected) {
      diag.Add(v.source(), dotted, dotted + ": expected " + expected + ", got " + DescribeNode(v));
      return std::nullopt;
    };
    auto out_of_range = [&](const std::string& got) {
      diag.Add(v.source(), dotted, dotted + ": must be " + BoundsText(*tk) + " (got " + got + ")");
      return std::nullopt;
    };
    switch (tk->type) {
      case trainer::ValueType::kBool:
        if (!v.is_boolean()) return wrong("true or false");
        return Value(v.as_boolean()->get());
      case trainer::ValueType::kInt: {
        if (!v.is_integer()) return wrong("an integer");
        int64_t i = v.as_integer()->get();
        if (static_cast<double>(i) < tk->lo || static_cast<double>(i) > tk->hi) return out_of_range(std::to_string(i));
        return Value(i);
      }
      case trainer::ValueType::kFloat: {
        double d;
        if (v.is_floating_point()) d = v.as_floating_point()->get();
        else if (v.is_integer()) d = static_cast<double>(v.as_integer()->get());
        else return wrong("a number");
        bool lo_ok = tk->lo_exclusive ? d > tk->lo : d >= tk->lo;
        bool hi_ok = tk->hi_exclusive ? d < tk->hi : d <= tk->hi;
        if (!lo_ok || !hi_ok) return out_of_range(FormatNumber(d));
        return Value(d);
      }
      case trainer::ValueType::kString: {
        if (!v.is_string()) return wrong("a string");
        std::string s = v.as_string()->get();
        if (!tk->choices.empty() &&
            std::find(tk->choices.begin(), tk->choices.end(), s) == tk->choices.end()) {
          diag.Add(v.source(), dotted,
                    dotted + ": \"" + s + "\" is not one of " + ChoiceList(tk->choices) +
                        DidYouMean(s, tk->choices));
          return std::nullopt;
        }
        return Value(s);
      }
      case trainer::ValueType::kStringList:
      case trainer::ValueType::kStringOrList: {
        if (v.is_string() && tk->type == trainer::ValueType::kStringOrList)
          return Value(v.as_string()->get());
        const toml::array* a = v.as_array();
        if (!a) return wrong(tk->type == trainer::ValueType::kStringOrList ? "a list of strings or one string"
                                                                            : "a list of strings");
        std::vector<std::string> out;
        for (const auto& e : *a) {
          if (e.is_array()) {
            diag.Add(v.source(), dotted,
                      dotted + " cannot be swept (sweepable: " + ChoiceList(trainer::SweepableKeys()) + ")");
            return std::nullopt;
          }
          if (!e.is_string()) return wrong("a list of strings");
          out.push_back(e.as_string()->get());
        }
        if (out.empty()) {
          diag.Add(v.source(), dotted, dotted + ": the list is empty");
          return std::nullopt;
        }
        return Value(out);
      }
    }
    return std::nullopt;
  };

  Setting setting{full_key, {}};
  const bool list_typed =
      tk->type == trainer::ValueType::kStringList || tk->type == trainer::ValueType::kStringOrList;
  const toml::array* list = list_typed ? nullptr : n->as_array();
  if (list) {
    if (!tk->sweepable) {
      diag.Add(n->source(), dotted,
                dotted + " cannot be swept (sweepable: " + ChoiceList(trainer::SweepableKeys()) + ")");
      return;
    }
    if (spec.kind != Kind::kFinetune) {
      diag.Add(n->source(), dotted,
                dotted + ": a list of values (a sweep) is only for kind = \"finetune\"");
      return;
    }
    if (list->empty()) {
      diag.Add(n->source(), dotted, dotted + ": an empty list sweeps over nothing");
      return;
    }
    std::set<std::string> seen;
    for (const auto& e : *list) {
      auto v = check(e);
      if (!v) return;
      if (!seen.insert(TomlValue(*v)).second) {
        diag.Add(e.source(), dotted, dotted + ": the sweep lists " + TomlValue(*v) + " twice");
        return;
      }
      setting.values.push_back(*v);
    }
  } else {
    auto v = check(*n);
    if (!v) return;
    setting.values.push_back(*v);
  }
  positions[full_key] = {n->source().begin.line ? n->source().begin.line : SIZE_MAX,
                            n->source().begin.column};
  spec.training.push_back(std::move(setting));
}

}  // namespace

void ReadTraining(const toml::table* t, Jobspec& spec, Diagnostics& diag, const KeyTables* elsewhere) {
  Positions positions;
  if (!t) return;
  TableReader r(*t, "training", trainer::TrainingTableKeys(""), diag);
  r.CheckUnknownKeys(elsewhere);
  for (auto&& [k, v] : *t) {
    std::string key(k.str());
    if (key == "lora") continue;
    if (trainer::FindTrainingKey(key)) ReadSetting(r, key, key, spec, diag, positions);
  }
  if (const toml::table* lora = r.Table("lora")) {
    TableReader lr(*lora, "training.lora", trainer::TrainingTableKeys("lora"), diag);
    lr.CheckUnknownKeys(elsewhere);
    for (auto&& [k, v] : *lora) {
      std::string key(k.str());
      if (trainer::FindTrainingKey("lora." + key)) ReadSetting(lr, key, "lora." + key, spec, diag, positions);
    }
  }
  std::stable_sort(spec.training.begin(), spec.training.end(), [&](const Setting& a, const Setting& b) {
    return positions[a.key] < positions[b.key];
  });
}

// egret-train splits each optimizer step's rows evenly over the ranks and their
// micro-batches: global_batch_size must be a multiple of micro_batch_size x ranks, for every
// value a sweep gives them. Said at submit time rather than by the job's first rank.
void CheckBatchGeometry(const toml::table& root, const Jobspec& spec, Diagnostics& diag) {
  std::vector<Value> globals, micros = {Value(int64_t{1})};  // egret-train's default micro batch
  for (const auto& st : spec.training) {
    if (st.key == "global_batch_size") globals = st.values;
    if (st.key == "micro_batch_size") micros = st.values;
  }
  const int64_t ranks = int64_t{spec.resources.nodes} * spec.resources.ranks_per_node;
  for (const auto& g : globals)
    for (const auto& m : micros) {
      int64_t gv = std::get<int64_t>(g), mv = std::get<int64_t>(m);
      if (gv % (mv * ranks) == 0) continue;
      const toml::node* n = root.at_path("training.global_batch_size").node();
      diag.Add(n ? n->source() : toml::source_region{}, "training.global_batch_size",
                "training.global_batch_size: " + std::to_string(gv) +
                    " rows per step is not a multiple of micro_batch_size x ranks = " + std::to_string(mv) +
                    " x " + std::to_string(ranks) + " = " + std::to_string(mv * ranks) +
                    " (ranks = resources.nodes x resources.ranks_per_node)");
      return;
    }
}

}  // namespace egret::jobspec

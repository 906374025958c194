#include "jobspecs/spec/table_reader.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "jobspecs/spec/value_text.h"

namespace egret::jobspec {

std::string DescribeNode(const toml::node& node) {
  std::string what;
  switch (node.type()) {
    case toml::node_type::string: what = "a string"; break;
    case toml::node_type::integer: what = "an integer"; break;
    case toml::node_type::floating_point: what = "a float"; break;
    case toml::node_type::boolean: what = "a boolean"; break;
    case toml::node_type::array: what = "a list"; break;
    case toml::node_type::table: return "a table";
    case toml::node_type::date: what = "a date"; break;
    case toml::node_type::time: what = "a time"; break;
    case toml::node_type::date_time: what = "a date-time"; break;
    default: return "nothing";
  }
  return what + " (" + NodeText(node) + ")";
}

TableReader::TableReader(const toml::table& table, std::string path, std::vector<std::string> valid_keys,
                         Diagnostics& diag)
    : table_(table), path_(std::move(path)), valid_(std::move(valid_keys)), diag_(diag) {}

std::string TableReader::Dotted(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void TableReader::CheckUnknownKeys(
    const std::vector<std::pair<std::string, std::vector<std::string>>>* elsewhere) {
  for (auto&& [k, v] : table_) {
    std::string key(k.str());
    if (std::find(valid_.begin(), valid_.end(), key) != valid_.end()) continue;
    std::string where = path_.empty() ? "at the top level" : "in [" + path_ + "]";
    // Where it belongs (an exact key of another table) beats a near miss here.
    std::string hint;
    if (elsewhere)
      for (const auto& [table, keys] : *elsewhere)
        if (hint.empty() && table != path_ && std::find(keys.begin(), keys.end(), key) != keys.end())
          hint = "; it belongs in [" + table + "]";
    if (hint.empty()) hint = DidYouMean(key, valid_);
    if (hint.empty() && elsewhere) {
      for (const auto& [table, keys] : *elsewhere) {
        if (!hint.empty() || table == path_) continue;
        if (std::string near = DidYouMean(key, keys); !near.empty())
          hint = near.substr(0, near.size() - 1) + " in [" + table + "]?";
      }
    }
    diag_.Add(k.source().begin.line ? k.source() : v.source(), Dotted(key),
              "unknown key \"" + key + "\" " + where + hint + " (valid keys: " + ChoiceList(valid_) + ")");
  }
}

const toml::node* TableReader::Find(std::string_view key) const { return table_.get(key); }

void TableReader::Report(std::string_view key, std::string message) {
  const toml::node* n = Find(key);
  diag_.Add(n ? n->source() : table_.source(), Dotted(key), Dotted(key) + ": " + std::move(message));
}

void TableReader::ReportMissing(std::string_view key, std::string_view example) {
  std::string where = path_.empty() ? "" : " in [" + path_ + "]";
  std::string msg = "missing required key \"" + std::string(key) + "\"" + where + " (e.g. " +
                    std::string(example) + ")";
  if (table_.source().begin.line > 0 && !path_.empty())
    diag_.Add(table_.source(), Dotted(key), std::move(msg));
  else
    diag_.AddFile(std::move(msg));
}

void TableReader::WrongType(std::string_view key, const toml::node& node, std::string_view expected) {
  std::string msg = Dotted(key) + ": expected " + std::string(expected) + ", got " + DescribeNode(node);
  if (node.is_array())
    msg += "; only [training] hyperparameters take a list of values (a sweep)";
  diag_.Add(node.source(), Dotted(key), std::move(msg));
}

std::optional<std::string> TableReader::String(std::string_view key) {
  const toml::node* n = Find(key);
  if (!n) return std::nullopt;
  if (auto s = n->value<std::string>(); s && n->is_string()) return *s;
  WrongType(key, *n, "a string");
  return std::nullopt;
}

std::optional<std::string> TableReader::Choice(std::string_view key,
                                               const std::vector<std::string>& choices) {
  auto s = String(key);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  Report(key, "\"" + *s + "\" is not one of " + ChoiceList(choices) + DidYouMean(*s, choices));
  return std::nullopt;
}

std::optional<int64_t> TableReader::Integer(std::string_view key, int64_t lo, int64_t hi) {
  const toml::node* n = Find(key);
  if (!n) return std::nullopt;
  if (!n->is_integer()) {
    WrongType(key, *n, "an integer");
    return std::nullopt;
  }
  int64_t v = n->as_integer()->get();
  if (v < lo || v > hi) {
    Report(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " +
                    std::to_string(v) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<double> TableReader::Number(std::string_view key, double lo, double hi) {
  const toml::node* n = Find(key);
  if (!n) return std::nullopt;
  double v;
  if (n->is_floating_point()) v = n->as_floating_point()->get();
  else if (n->is_integer()) v = static_cast<double>(n->as_integer()->get());
  else {
    WrongType(key, *n, "a number");
    return std::nullopt;
  }
  if (!(v >= lo && v <= hi)) {
    Report(key, "must be between " + FormatNumber(lo) + " and " + FormatNumber(hi) + " (got " +
                    FormatNumber(v) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> TableReader::Bool(std::string_view key) {
  const toml::node* n = Find(key);
  if (!n) return std::nullopt;
  if (n->is_boolean()) return n->as_boolean()->get();
  WrongType(key, *n, "true or false");
  return std::nullopt;
}

std::optional<std::vector<std::string>> TableReader::StringList(std::string_view key) {
  const toml::node* n = Find(key);
  if (!n) return std::nullopt;
  std::vector<std::string> out;
  if (const toml::array* a = n->as_array()) {
    bool ok = true;
    for (const auto& e : *a) {
      if (e.is_string()) out.push_back(e.as_string()->get());
      else {
        diag_.Add(e.source(), Dotted(key),
                  Dotted(key) + ": expected a list of strings, but an element is " + DescribeNode(e));
        ok = false;
      }
    }
    if (ok) return out;
    return std::nullopt;
  }
  diag_.Add(n->source(), Dotted(key),
            Dotted(key) + ": expected a list of strings, got " + DescribeNode(*n));
  return std::nullopt;
}

const toml::table* TableReader::Table(std::string_view key) {
  const toml::node* n = Find(key);
  if (!n) return nullptr;
  if (const toml::table* t = n->as_table()) return t;
  diag_.Add(n->source(), Dotted(key),
            Dotted(key) + ": expected a table ([" + Dotted(key) + "]), got " + DescribeNode(*n));
  return nullptr;
}

}  // namespace egret::jobspec

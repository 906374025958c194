#include "scheduler/config/table_reader.h"

#include <algorithm>
#include <cmath>

namespace egret::config::internal {

Location Where(const toml::node& node) {
  const auto& src = node.source();
  return {static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
}

Location Where(const toml::key& key) {
  const auto& src = key.source();
  return {static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
}

std::string DescribeValue(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "string " + Quote(node.as_string()->get());
    case toml::node_type::integer: return std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point: return FormatNumber(node.as_floating_point()->get());
    case toml::node_type::boolean: return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

TableReader::TableReader(const toml::table& table, std::string context,
                         std::vector<std::string_view> valid, Diagnostics* diag)
    : table_(table), context_(std::move(context)), valid_(std::move(valid)), diag_(diag) {}

const toml::node* TableReader::Get(std::string_view key) {
  read_.emplace_back(key);
  return table_.get(key);
}

Location TableReader::KeyWhere(std::string_view key) const {
  auto it = table_.find(key);
  if (it == table_.end()) return Here();
  return Where(it->first);
}

void TableReader::Error(Location where, const std::string& message) {
  diag_->Error(where, context_ + message);
}

void TableReader::Missing(std::string_view key, const std::string& what) {
  diag_->Error(Here(), context_ + "missing " + std::string(key) + " (" + what + ")");
}

void TableReader::TypeError(const toml::node& node, std::string_view key, const char* expected) {
  Error(Where(node), std::string(key) + " must be " + expected + " (got " + DescribeValue(node) + ")");
}

std::optional<std::string> TableReader::String(std::string_view key) {
  const toml::node* n = Get(key);
  if (!n) return std::nullopt;
  if (!n->is_string()) {
    TypeError(*n, key, "a string");
    return std::nullopt;
  }
  return n->as_string()->get();
}

std::optional<double> TableReader::Number(std::string_view key) {
  const toml::node* n = Get(key);
  if (!n) return std::nullopt;
  if (n->is_integer()) return static_cast<double>(n->as_integer()->get());
  if (n->is_floating_point()) {
    double v = n->as_floating_point()->get();
    if (std::isnan(v)) {
      TypeError(*n, key, "a number");
      return std::nullopt;
    }
    return v;
  }
  TypeError(*n, key, "a number");
  return std::nullopt;
}

std::optional<int64_t> TableReader::Integer(std::string_view key) {
  const toml::node* n = Get(key);
  if (!n) return std::nullopt;
  if (n->is_integer()) return n->as_integer()->get();
  if (n->is_floating_point()) {
    double v = n->as_floating_point()->get();
    if (std::isfinite(v) && v == std::floor(v)) return static_cast<int64_t>(v);
  }
  TypeError(*n, key, "a whole number");
  return std::nullopt;
}

std::optional<bool> TableReader::Bool(std::string_view key) {
  const toml::node* n = Get(key);
  if (!n) return std::nullopt;
  if (!n->is_boolean()) {
    TypeError(*n, key, "true or false");
    return std::nullopt;
  }
  return n->as_boolean()->get();
}

std::optional<std::vector<std::pair<std::string, Location>>> TableReader::StringArray(
    std::string_view key) {
  const toml::node* n = Get(key);
  if (!n) return std::nullopt;
  if (!n->is_array()) {
    TypeError(*n, key, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::pair<std::string, Location>> out;
  bool ok = true;
  for (const toml::node& e : *n->as_array()) {
    if (!e.is_string()) {
      Error(Where(e), std::string(key) + " entries must be strings (got " + DescribeValue(e) + ")");
      ok = false;
      continue;
    }
    out.emplace_back(e.as_string()->get(), Where(e));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<double> TableReader::Duration(std::string_view key) {
  const toml::node* n = Get(key);
  if (!n) return std::nullopt;
  double s = 0;
  if (n->is_integer() || n->is_floating_point()) {
    s = n->value<double>().value_or(-1);
    if (s >= 0 && std::isfinite(s)) return s;
  } else if (n->is_string() && ParseDuration(n->as_string()->get(), &s) && s >= 0) {
    return s;
  }
  Error(Where(*n), std::string(key) +
                       " must be a duration such as \"7d\", \"12h\", \"1h30m\", \"90s\" or a "
                       "number of seconds >= 0 (got " + DescribeValue(*n) + ")");
  return std::nullopt;
}

const toml::table* TableReader::Table(std::string_view key) {
  const toml::node* n = Get(key);
  if (!n) return nullptr;
  if (!n->is_table()) {
    TypeError(*n, key, "a table");
    return nullptr;
  }
  return n->as_table();
}

void TableReader::Finish() {
  for (auto&& [k, v] : table_) {
    if (std::find(valid_.begin(), valid_.end(), k.str()) != valid_.end()) continue;
    diag_->Error(Where(k), context_ + UnknownKeyMessage(k.str(), valid_));
  }
}

}  // namespace egret::config::internal

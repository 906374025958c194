// Typed, located reads from one TOML table. Every key read is remembered, so what is left at
// Finish() is an unknown key, reported with the valid ones and a "did you mean".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "scheduler/config/diagnostics.h"

namespace egret::config::internal {

Location Where(const toml::node& node);
Location Where(const toml::key& key);
std::string DescribeValue(const toml::node& node);  // `string "60"`, `-2`, `a table`

class TableReader {
 public:
  // CONTEXT prefixes every message ("tenant \"acme\": "); VALID lists the keys allowed here.
  TableReader(const toml::table& table, std::string context, std::vector<std::string_view> valid,
              Diagnostics* diag);

  const toml::node* Get(std::string_view key);  // marks it read; null when absent
  Location Here() const { return Where(table_); }
  Location KeyWhere(std::string_view key) const;

  std::optional<std::string> String(std::string_view key);
  std::optional<double> Number(std::string_view key);   // integer or float
  std::optional<int64_t> Integer(std::string_view key);
  std::optional<bool> Bool(std::string_view key);
  std::optional<std::vector<std::pair<std::string, Location>>> StringArray(std::string_view key);
  std::optional<double> Duration(std::string_view key);  // seconds
  const toml::table* Table(std::string_view key);

  void Error(Location where, const std::string& message);
  void Missing(std::string_view key, const std::string& what);
  // Reports keys not in VALID as unknown.
  void Finish();

  const std::string& context() const { return context_; }

 private:
  void TypeError(const toml::node& node, std::string_view key, const char* expected);

  const toml::table& table_;
  std::string context_;
  std::vector<std::string_view> valid_;
  std::vector<std::string> read_;
  Diagnostics* diag_;
};

}  // namespace egret::config::internal

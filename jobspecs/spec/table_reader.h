// Typed reads from one TOML table of a jobspec. Every problem (unknown key, wrong type,
// value out of range) goes to the Diagnostics with its position; a read that fails returns
// nullopt so parsing goes on and reports the next problem too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "jobspecs/spec/diagnostics.h"

namespace egret::jobspec {

// "a string (\"4\")", "an integer (4)", "an array ([1, 2])": what a node is, for messages.
std::string DescribeNode(const toml::node& node);

class TableReader {
 public:
  // PATH is the table's dotted name ("" for the root, "training.lora"); VALID_KEYS are all
  // the keys it may hold.
  TableReader(const toml::table& table, std::string path, std::vector<std::string> valid_keys,
              Diagnostics& diag);

  // Reports every key not in VALID_KEYS, with a suggestion and the valid keys. ELSEWHERE
  // (table name -> its keys) lets a key written in the wrong table say where it belongs.
  void CheckUnknownKeys(const std::vector<std::pair<std::string, std::vector<std::string>>>* elsewhere = nullptr);

  const toml::node* Find(std::string_view key) const;
  std::string Dotted(std::string_view key) const;
  const std::string& path() const { return path_; }
  const toml::table& table() const { return table_; }
  Diagnostics& diag() { return diag_; }

  std::optional<std::string> String(std::string_view key);
  // CHOICES non-empty: the value must be one of them.
  std::optional<std::string> Choice(std::string_view key, const std::vector<std::string>& choices);
  std::optional<int64_t> Integer(std::string_view key, int64_t lo, int64_t hi);
  std::optional<double> Number(std::string_view key, double lo, double hi);
  std::optional<bool> Bool(std::string_view key);
  std::optional<std::vector<std::string>> StringList(std::string_view key);
  const toml::table* Table(std::string_view key);

  void ReportMissing(std::string_view key, std::string_view example);
  void Report(std::string_view key, std::string message);  // at the key's value

 private:
  void WrongType(std::string_view key, const toml::node& node, std::string_view expected);

  const toml::table& table_;
  std::string path_;
  std::vector<std::string> valid_;
  Diagnostics& diag_;
};

}  // namespace egret::jobspec

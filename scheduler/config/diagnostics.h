// Collects validation errors, each pointing at file:line:column, so check-config reports every
// problem of a file at once rather than one per edit-and-retry.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scheduler/config/config.h"

namespace egret::config::internal {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // "<file>:<line>:<col>: <message>"
  void Error(Location where, const std::string& message);
  void Warning(Location where, const std::string& message);
  bool ok() const { return errors_.empty(); }
  std::string Joined() const;  // errors in file order, one per line
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::string At(Location where) const;
  std::string file_;
  struct Entry {
    Location where;
    std::string text;
  };
  std::vector<Entry> errors_;
  std::vector<std::string> warnings_;
};

// "unknown key "shars" (did you mean "shares"? valid keys: a, b, c)"
std::string UnknownKeyMessage(std::string_view key, const std::vector<std::string_view>& valid);

// "7d", "12h", "1h30m", "90s", or a bare number of seconds. Negative or malformed: false.
bool ParseDuration(std::string_view text, double* seconds);

// POSIX-style user or group name: lowercase letters, digits, '_', '-', '.', not starting with
// '-' or '.', at most 32 characters (useradd's limit).
bool IsValidPosixName(std::string_view name);
// Slurm account / partition name as Egret accepts it: lowercase letters, digits, '_', '-', '.'.
bool IsValidSlurmName(std::string_view name);

// Quotes a value for a message: strings in double quotes, numbers as written.
std::string Quote(std::string_view s);
std::string FormatNumber(double v);

}  // namespace egret::config::internal

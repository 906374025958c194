// Collects every problem found in a jobspec, each with its file:line:column, so one run of
// `egret submit` reports all of them at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "common/result.h"

namespace egret::jobspec {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // AT is where the offending key or value is; DOTTED is its dotted key, used to say
  // "--set KEY" for values that came from the command line (they have no position).
  void Add(const toml::source_region& at, std::string_view dotted, std::string message);
  void AddFile(std::string message);  // a problem of the whole file (e.g. a missing key)

  bool empty() const { return items_.empty(); }
  // One line per problem, in file order: "FILE:LINE:COL: MESSAGE".
  Status ToStatus() const;

 private:
  struct Item {
    int line = 0, column = 0;
    std::string text;
  };
  std::string file_;
  std::vector<Item> items_;
};

// "; did you mean \"lr\"?" when WORD is a likely misspelling of one of CHOICES, else "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& choices);

// "a, b, c" (for "valid keys: ...").
std::string ChoiceList(const std::vector<std::string>& choices);

}  // namespace egret::jobspec

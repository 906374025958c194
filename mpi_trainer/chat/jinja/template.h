// A parsed chat template and its renderer. Render takes the variables (messages,
// add_generation_prompt, bos_token, ...) and records where {% generation %} blocks wrote.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "mpi_trainer/chat/jinja/value.h"

namespace egret::chat::jinja {

class Template {
 public:
  // Follows transformers: trim_blocks and lstrip_blocks on, one trailing newline dropped.
  // NAME prefixes errors: "NAME:LINE: ...".
  static Result<Template> Parse(const std::string& source, const std::string& name);

  struct Output {
    std::string text;
    std::vector<std::pair<size_t, size_t>> generation_spans;  // byte ranges of {% generation %}
  };
  Result<Output> Render(const Dict& variables) const;
  bool has_generation_blocks() const { return has_generation_; }

 private:
  std::shared_ptr<const void> root_;  // the parsed body (ast.h)
  std::string name_;
  bool has_generation_ = false;
};

}  // namespace egret::chat::jinja

// Values written back as TOML text: in messages, in the rendered job.toml and in listings.
#pragma once

#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec {

// Shortest text that reads back as the same double ("0.0003", "1e-05"); always has a '.'
// or an exponent so TOML reads it as a float.
std::string FormatNumber(double v);

// A TOML basic string: "...", with \ " and control characters escaped.
std::string TomlString(std::string_view s);

// A Value as TOML ("3e-4" -> 0.0003, "lora" -> "lora", ["q_proj"] -> ["q_proj"]).
std::string TomlValue(const Value& v);

// A Value as a person reads it in tables and sweep listings (strings unquoted).
std::string PlainValue(const Value& v);

// A parsed node as short TOML text, for messages.
std::string NodeText(const toml::node& node);

}  // namespace egret::jobspec

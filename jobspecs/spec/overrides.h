// `egret submit --set key=value`: command-line values applied to the parsed TOML tree
// before validation, so they are checked exactly like values written in the file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "common/result.h"

namespace egret::jobspec {

// Applies each "dotted.key=value" to ROOT. RAW receives each value's text by dotted key, so
// a string key given a bare number (--set name=7) can still read it as text.
Status ApplyOverrides(toml::table& root, const std::vector<std::string>& overrides,
                      std::map<std::string, std::string>& raw);

}  // namespace egret::jobspec

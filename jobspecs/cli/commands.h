// The `egret` subcommands; main.cc only dispatches. Each parses its own options
// (Boost.Program_options) and calls the jobspecs library. ARGS excludes the subcommand.
#pragma once

#include <string>
#include <vector>

namespace egret::jobspec::cli {

int RunSubmit(const std::vector<std::string>& args);
int RunStatus(const std::vector<std::string>& args);
int RunBench(const std::vector<std::string>& args);

}  // namespace egret::jobspec::cli

// egret-train's subcommands register themselves here; main.cc only dispatches.
// Each subcommand lives in its own file (cli/<name>_cmd.cc), parses its own options with
// Boost.Program_options and calls into the trainer libraries.
#pragma once

#include <string>
#include <vector>

namespace egret::trainer::cli {

using CommandFn = int (*)(const std::vector<std::string>& args);

struct CommandInfo {
  const char* name;
  const char* summary;
  CommandFn run;
};

// Used through EGRET_TRAIN_COMMAND; returns true so it can initialise a static.
bool RegisterCommand(const CommandInfo& info);
const std::vector<CommandInfo>& Commands();

}  // namespace egret::trainer::cli

// EGRET_TRAIN_COMMAND(inspect, "family, sizes, parameter count, dtypes", RunInspect);
#define EGRET_TRAIN_COMMAND(name, summary, fn)                                  \
  static const bool egret_train_command_##name##_registered =                   \
      ::egret::trainer::cli::RegisterCommand({#name, summary, fn})

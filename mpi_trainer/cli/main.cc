// egret-train: a thin dispatcher; every subcommand is in cli/<name>_cmd.cc.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "mpi_trainer/cli/command.h"

namespace egret::trainer::cli {

namespace {
std::vector<CommandInfo>& Registry() {
  static std::vector<CommandInfo> commands;
  return commands;
}
}  // namespace

bool RegisterCommand(const CommandInfo& info) {
  Registry().push_back(info);
  return true;
}
const std::vector<CommandInfo>& Commands() { return Registry(); }

}  // namespace egret::trainer::cli

static void Usage(FILE* out) {
  std::fprintf(out, "usage: egret-train COMMAND [options]   (egret-train COMMAND --help)\n\ncommands:\n");
  for (const auto& c : egret::trainer::cli::Commands())
    std::fprintf(out, "  %-12s %s\n", c.name, c.summary);
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    Usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : egret::trainer::cli::Commands()) {
    if (c.name == std::string(argv[1])) return c.run(std::vector<std::string>(argv + 2, argv + argc));
  }
  std::fprintf(stderr, "egret-train: unknown command '%s'\n", argv[1]);
  Usage(stderr);
  return 2;
}

// egret: what tenants type. `egret submit JOBSPEC`, `egret status [JOBID]`,
// `egret bench list|cancel|report`.
#include <iostream>
#include <string>
#include <vector>

#include "jobspecs/cli/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: egret COMMAND [ARGS]\n"
    "\n"
    "  submit JOBSPEC [--dry-run] [--set KEY=VALUE ...]   render a jobspec and sbatch it\n"
    "  status [JOBID] [--json]                           state, quota reason, progress, eval\n"
    "  bench list [--json]                               your scheduled benchmarks\n"
    "  bench cancel NAME [--kill-running]                stop a schedule\n"
    "  bench report NAME [--png FILE] [--json]           a schedule's history and trend plot\n"
    "\n"
    "`egret COMMAND --help` describes each; jobspecs/README.md describes the jobspec schema.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  using namespace egret::jobspec::cli;
  if (cmd == "submit") return RunSubmit(args);
  if (cmd == "status") return RunStatus(args);
  if (cmd == "bench") return RunBench(args);
  std::cerr << "egret: unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}

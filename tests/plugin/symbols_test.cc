// egret.so exports exactly what Slurm's plugin loader looks up, and needs from its host
// only Slurm's public API (spank_*, slurm_*) besides libc/libstdc++: its C++ inside and the
// static libraries it carries cannot clash with the host process or another plugin.
#include <set>

#include <gtest/gtest.h>

#include "common/process.h"
#include "common/strings.h"

namespace egret {
namespace {

// Names from `nm -D WHICH`, leaving out weak references (null when absent, never a clash).
std::vector<std::string> Symbols(const std::string& which) {
  auto r = RunProcess({"nm", "-D", which, EGRET_PLUGIN_SO});
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : r.error().message());
  std::vector<std::string> out;
  if (!r.ok()) return out;
  for (const auto& line : Split(r->out, '\n', true)) {
    auto f = Split(line, ' ', true);  // [address] type name
    if (f.size() < 2) continue;
    const std::string& type = f[f.size() - 2];
    if (type == "w" || type == "v") continue;
    out.push_back(f.back());
  }
  return out;
}

TEST(PluginSymbols, ExportsOnlyTheSpankInterface) {
  std::set<std::string> got;
  for (const auto& s : Symbols("--defined-only")) got.insert(s);
  std::set<std::string> want = {"plugin_name", "plugin_type", "plugin_version",
                                "spank_plugin_version", "slurm_spank_init",
                                "slurm_spank_init_post_opt", "slurm_spank_user_init",
                                "slurm_spank_task_init_privileged", "slurm_spank_job_epilog"};
  EXPECT_EQ(got, want);
}

TEST(PluginSymbols, TakesOnlySlurmsPublicApiFromTheHost) {
  for (const auto& s : Symbols("--undefined-only")) {
    if (s.find('@') != std::string::npos) continue;  // versioned: libc, libstdc++, libgcc
    bool slurm = s.rfind("spank_", 0) == 0 || s.rfind("slurm_", 0) == 0;
    EXPECT_TRUE(slurm) << s << " would have to come from the host process";
  }
}

}  // namespace
}  // namespace egret

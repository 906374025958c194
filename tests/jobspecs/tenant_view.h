// Where the cluster tests put a tenant's files. With egret.so loaded (the usual fixture),
// jobs see only <tenants_root>/<tenant> (from the plugstack line) and get EGRET_*_DIR from the
// plugin; the test seeds that store as root, as an admin would. Without the plugin, the view
// is a directory of the test's own, passed in the submitting environment (sbatch exports it).
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/strings.h"

namespace egret::testing {

struct TenantView {
  std::string root;  // holds data/, models/, checkpoints/
  bool plugin = false;
  // What `egret submit` needs in its environment (empty with the plugin).
  std::vector<std::string> Env() const {
    if (plugin) return {};
    return {"EGRET_DATA_DIR=" + root + "/data", "EGRET_MODELS_DIR=" + root + "/models",
            "EGRET_CKPT_DIR=" + root + "/checkpoints"};
  }
};

inline TenantView ViewFor(const std::string& tenant, const std::string& fallback) {
  TenantView v;
  std::ifstream in("/etc/slurm/plugstack.conf.d/egret.conf");
  std::string line;
  while (std::getline(in, line))
    for (const auto& w : Split(std::string(Trim(line)), ' ', true))
      if (w.rfind("tenants_root=", 0) == 0 && line.find("egret.so") != std::string::npos) {
        v.root = w.substr(13) + "/" + tenant;
        v.plugin = true;
      }
  if (!v.plugin) v.root = fallback;
  namespace fs = std::filesystem;
  for (const char* d : {"data", "models", "checkpoints"}) fs::create_directories(v.root + "/" + d);
  ::chmod(v.root.c_str(), 0755);
  ::chmod((v.root + "/data").c_str(), 0755);
  ::chmod((v.root + "/models").c_str(), 0755);
  ::chmod((v.root + "/checkpoints").c_str(), 01777);
  return v;
}

// Files a test writes into the view must be readable by the job's user.
inline void OpenUp(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path))
    for (auto& p : fs::recursive_directory_iterator(path)) ::chmod(p.path().c_str(), p.is_directory() ? 0755 : 0644);
  ::chmod(path.c_str(), fs::is_directory(path) ? 0755 : 0644);
}

}  // namespace egret::testing

#include <cstdlib>

#include "common/strings.h"
#include "scheduler/slurm/slurm_api.h"

namespace egret::quotad {

int GpuCountIn(const std::string& tres) {
  int total = -1;
  // Entries are separated by ',' or ';'; each is gres:gpu[:TYPE][:N] or gres/gpu[:TYPE]=N.
  std::string s = tres;
  for (char& c : s)
    if (c == ';') c = ',';
  for (const std::string& entry : Split(s, ',', true)) {
    std::string e = entry;
    for (char& c : e)
      if (c == '/' || c == '=') c = ':';
    auto parts = Split(e, ':');
    if (parts.size() < 2 || parts[0] != "gres" || parts[1] != "gpu") continue;
    long n = 1;  // "gres:gpu" or "gres:gpu:TYPE" without a count means one
    if (parts.size() >= 3) {
      char* end = nullptr;
      long v = std::strtol(parts.back().c_str(), &end, 10);
      if (end != parts.back().c_str() && *end == '\0') n = v;
    }
    total = (total < 0 ? 0 : total) + static_cast<int>(n < 0 ? 0 : n);
  }
  return total;
}

int GpusRequested(const std::string& tres_per_job, const std::string& tres_per_node,
                  const std::string& tres_per_task, const std::string& tres_per_socket,
                  uint32_t num_nodes, uint32_t num_tasks) {
  int n;
  if ((n = GpuCountIn(tres_per_job)) >= 0) return n;
  uint32_t nodes = num_nodes ? num_nodes : 1;
  if ((n = GpuCountIn(tres_per_node)) >= 0) return n * static_cast<int>(nodes);
  uint32_t tasks = num_tasks ? num_tasks : 1;
  if ((n = GpuCountIn(tres_per_task)) >= 0) return n * static_cast<int>(tasks);
  if ((n = GpuCountIn(tres_per_socket)) >= 0) return n * static_cast<int>(nodes);
  return 0;
}

}  // namespace egret::quotad

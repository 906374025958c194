#include "plugins/gpus.h"

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"

namespace egret::plugin {
namespace {

int64_t ParseCount(std::string_view s) {
  if (s.empty() || s.size() > 9) return -1;
  int64_t n = 0;
  for (char ch : s) {
    if (!std::isdigit(static_cast<unsigned char>(ch))) return -1;
    n = n * 10 + (ch - '0');
  }
  return n;
}

bool IsCount(std::string_view s) { return ParseCount(s) >= 0; }

// Whether a TRES list has a gpu entry at all ("gres:gpu:0" names one with no GPUs).
bool NamesGpu(std::string_view tres) {
  std::string list(tres);
  for (char& ch : list)
    if (ch == ';') ch = ',';
  for (const std::string& raw : Split(list, ',', /*skip_empty=*/true)) {
    std::string_view e = Trim(raw);
    if (e.rfind("gres:", 0) == 0 || e.rfind("gres/", 0) == 0) e.remove_prefix(5);
    if (e.substr(0, e.find_first_of(":=")) == "gpu") return true;
  }
  return false;
}

}  // namespace

int64_t GpusInTres(std::string_view tres) {
  int64_t total = 0;
  std::string list(tres);
  for (char& ch : list)
    if (ch == ';') ch = ',';
  for (const std::string& raw : Split(list, ',', /*skip_empty=*/true)) {
    std::string_view e = Trim(raw);
    if (e.rfind("gres:", 0) == 0 || e.rfind("gres/", 0) == 0) e.remove_prefix(5);
    // gpu, gpu:N, gpu:TYPE, gpu:TYPE:N, gpu=N, gpu:TYPE=N
    std::string_view name = e.substr(0, e.find_first_of(":="));
    if (name != "gpu") continue;
    std::string_view rest = e.substr(name.size());
    int64_t count = 1;
    auto eq = rest.find('=');
    if (eq != std::string_view::npos) {
      count = ParseCount(rest.substr(eq + 1));
    } else if (!rest.empty()) {  // ":N", ":TYPE" or ":TYPE:N"
      rest.remove_prefix(1);
      auto colon = rest.rfind(':');
      std::string_view last = colon == std::string_view::npos ? rest : rest.substr(colon + 1);
      if (IsCount(last)) count = ParseCount(last);
      else if (colon != std::string_view::npos) count = -1;  // "gpu:a:b" is not a count
    }
    if (count < 0) return -1;
    total += count;
  }
  return total;
}

int64_t JobGpus(std::string_view per_job, std::string_view per_node, std::string_view per_task,
                std::string_view per_socket, uint32_t num_nodes, uint32_t num_tasks) {
  int64_t nodes = num_nodes == 0 ? 1 : num_nodes;
  int64_t tasks = num_tasks == 0 ? 1 : num_tasks;
  const std::pair<std::string_view, int64_t> in_order[] = {
      {per_job, 1}, {per_node, nodes}, {per_task, tasks}, {per_socket, nodes}};
  for (const auto& [tres, times] : in_order) {
    int64_t n = GpusInTres(tres);
    if (n < 0) return -1;
    if (n > 0 || NamesGpu(tres)) return n * times;
  }
  return 0;
}

int64_t MinNodes(std::string_view nodes) {
  nodes = Trim(nodes);
  if (nodes.empty()) return 1;
  auto dash = nodes.find('-');
  int64_t n = ParseCount(dash == std::string_view::npos ? nodes : nodes.substr(0, dash));
  return n == 0 ? 1 : n;
}

int64_t SubmitGpus(std::string_view gres, std::string_view gpus, std::string_view gpus_per_node,
                   std::string_view gpus_per_task, std::string_view nodes,
                   std::string_view ntasks) {
  auto count = [](std::string_view v) -> int64_t {
    if (Trim(v).empty()) return 0;
    int64_t n = GpusInTres("gpu:" + std::string(Trim(v)));  // "4" or "a100:4"
    return n < 0 ? 0 : n;
  };
  int64_t n_nodes = MinNodes(nodes);
  if (n_nodes < 1) n_nodes = 1;
  int64_t n_tasks = ParseCount(Trim(ntasks));
  if (n_tasks < 1) n_tasks = 1;
  int64_t per_node = GpusInTres(gres);
  if (per_node < 0) per_node = 0;
  return count(gpus) + (per_node + count(gpus_per_node)) * n_nodes + count(gpus_per_task) * n_tasks;
}

}  // namespace egret::plugin

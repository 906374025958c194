#include "jobspecs/slurm/cluster.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "common/strings.h"
#include "jobspecs/spec/diagnostics.h"

namespace egret::jobspec::slurm {

int GpusInGres(const std::string& gres) {
  int total = 0;
  // Entries are separated by commas outside parentheses: name[:type]:count[(...)].
  std::string entry;
  int depth = 0;
  auto flush = [&] {
    std::string e = entry.substr(0, entry.find('('));
    entry.clear();
    auto parts = Split(e, ':');
    if (parts.size() < 2 || parts[0] != "gpu") return;
    const std::string& n = parts.back();
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos) total += std::atoi(n.c_str());
  };
  for (char c : gres) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) flush();
    else entry += c;
  }
  flush();
  return total;
}

Result<ClusterInfo> LoadClusterInfo() {
  static std::once_flag once;
  std::call_once(once, [] { slurm_init(nullptr); });
  partition_info_msg_t* parts = nullptr;
  if (slurm_load_partitions(0, &parts, SHOW_ALL) != SLURM_SUCCESS)
    return Error(std::string("cannot list partitions from slurmctld: ") + slurm_strerror(slurm_get_errno()));
  node_info_msg_t* nodes = nullptr;
  if (slurm_load_node(0, &nodes, SHOW_ALL) != SLURM_SUCCESS) {
    slurm_free_partition_info_msg(parts);
    return Error(std::string("cannot list nodes from slurmctld: ") + slurm_strerror(slurm_get_errno()));
  }
  // The node RPC carries no partition names; libslurm fills them in from the partitions.
  slurm_populate_node_partitions(nodes, parts);
  ClusterInfo info;
  std::map<std::string, PartitionInfo*> by_name;
  for (uint32_t i = 0; i < parts->record_count; ++i) {
    PartitionInfo p;
    p.name = parts->partition_array[i].name ? parts->partition_array[i].name : "";
    p.nodes = static_cast<int>(parts->partition_array[i].total_nodes);
    info.partitions.push_back(p);
  }
  for (auto& p : info.partitions) by_name[p.name] = &p;
  for (uint32_t i = 0; i < nodes->record_count; ++i) {
    const node_info_t& n = nodes->node_array[i];
    if (!n.name || !n.partitions) continue;
    int gpus = n.gres ? GpusInGres(n.gres) : 0;
    for (const auto& pname : Split(n.partitions, ',', true)) {
      auto it = by_name.find(pname);
      if (it == by_name.end()) continue;
      it->second->max_gpus_per_node = std::max(it->second->max_gpus_per_node, gpus);
      it->second->max_cpus_per_node = std::max(it->second->max_cpus_per_node, static_cast<int>(n.cpus));
    }
  }
  slurm_free_node_info_msg(nodes);
  slurm_free_partition_info_msg(parts);
  return info;
}

Status CheckResources(const Jobspec& spec, const ClusterInfo& cluster) {
  const Resources& r = spec.resources;
  std::vector<std::string> names;
  const PartitionInfo* p = nullptr;
  for (const auto& part : cluster.partitions) {
    names.push_back(part.name);
    if (part.name == r.partition) p = &part;
  }
  const std::string where = spec.source + ": ";
  if (!p)
    return Error(where + "resources.partition: \"" + r.partition + "\" is not a partition of this cluster" +
                 DidYouMean(r.partition, names) + " (partitions: " + ChoiceList(names) + ")");
  std::vector<std::string> problems;
  if (r.nodes > p->nodes)
    problems.push_back("resources.nodes: " + std::to_string(r.nodes) + " nodes asked, but partition " +
                       p->name + " has " + std::to_string(p->nodes));
  if (r.gpus_per_node > p->max_gpus_per_node) {
    std::string with;
    for (const auto& part : cluster.partitions)
      if (part.max_gpus_per_node >= r.gpus_per_node) with += (with.empty() ? "" : ", ") + part.name;
    problems.push_back("resources.gpus_per_node: " + std::to_string(r.gpus_per_node) +
                       " GPUs per node asked, but no node of partition " + p->name + " has more than " +
                       std::to_string(p->max_gpus_per_node) +
                       (with.empty() ? "" : " (partitions with enough: " + with + ")"));
  }
  int cpus = r.ranks_per_node * r.cpus_per_rank;
  if (p->max_cpus_per_node > 0 && cpus > p->max_cpus_per_node)
    problems.push_back("resources: ranks_per_node x cpus_per_rank = " + std::to_string(r.ranks_per_node) +
                       " x " + std::to_string(r.cpus_per_rank) + " = " + std::to_string(cpus) +
                       " CPUs per node, but the nodes of partition " + p->name + " have at most " +
                       std::to_string(p->max_cpus_per_node));
  if (problems.empty()) return Ok();
  for (auto& s : problems) s = where + s;
  return Error(Join(problems, "\n"));
}

}  // namespace egret::jobspec::slurm

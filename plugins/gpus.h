// How many GPUs a job asks for, from Slurm's TRES strings. Without slurmdbd the count is not
// in tres_alloc_str; it is in tres_per_job (--gpus), tres_per_node (--gres, --gpus-per-node)
// or tres_per_task (--gpus-per-task), e.g. "gres:gpu:2", "gres/gpu:a100:2", "gres:gpu".
#pragma once

#include <cstdint>
#include <string_view>

namespace egret::plugin {

// Sum of the gpu entries of one TRES list (',' or ';' separated). An entry without a count
// means 1. Entries of other resources are ignored. -1 when a gpu entry's count is malformed.
int64_t GpusInTres(std::string_view tres);

// The job's total GPU count, read the way egret-quotad reads it when it grants the lease (the
// two must agree): the first TRES string that names a gpu wins, in the order tres_per_job,
// tres_per_node x nodes, tres_per_task x tasks, tres_per_socket x nodes. -1 when malformed.
int64_t JobGpus(std::string_view per_job, std::string_view per_node, std::string_view per_task,
                std::string_view per_socket, uint32_t num_nodes, uint32_t num_tasks);

// The minimum node count of a --nodes value ("2", "2-4", "" -> 1). -1 when malformed.
int64_t MinNodes(std::string_view nodes);

// The GPUs a submission asks for in total, from sbatch/srun option values as Slurm stores
// them: --gres ("gpu:2", "gres:gpu:a100:2"), --gpus ("4", "a100:4"), --gpus-per-node,
// --gpus-per-task, --nodes ("2", "2-4") and --ntasks. Advisory (egret-quotad recounts from
// slurmctld); malformed parts count as 0.
int64_t SubmitGpus(std::string_view gres, std::string_view gpus, std::string_view gpus_per_node,
                   std::string_view gpus_per_task, std::string_view nodes,
                   std::string_view ntasks);

}  // namespace egret::plugin

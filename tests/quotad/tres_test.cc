// GPU counts from Slurm's TRES strings, in the forms Slurm 22.05 writes for --gres, --gpus,
// --gpus-per-node and --gpus-per-task.
#include <gtest/gtest.h>

#include "scheduler/slurm/queue_manager.h"
#include "scheduler/slurm/slurm_api.h"

namespace egret::quotad {
namespace {

TEST(GpuTres, CountsEveryForm) {
  EXPECT_EQ(GpuCountIn("gres:gpu:2"), 2);          // --gres=gpu:2
  EXPECT_EQ(GpuCountIn("gres/gpu:2"), 2);
  EXPECT_EQ(GpuCountIn("gres/gpu=3"), 3);
  EXPECT_EQ(GpuCountIn("gres:gpu:h100:4"), 4);     // --gres=gpu:h100:4
  EXPECT_EQ(GpuCountIn("gres:gpu"), 1);            // --gres=gpu
  EXPECT_EQ(GpuCountIn("gres:gpu:h100"), 1);
  EXPECT_EQ(GpuCountIn("gres:shard:4"), -1);
  EXPECT_EQ(GpuCountIn("cpu=4,gres:gpu:1,gres:gpu:a100:2"), 3);
  EXPECT_EQ(GpuCountIn(""), -1);
}

TEST(GpuTres, MultipliesPerNodeAndPerTaskCounts) {
  EXPECT_EQ(GpusRequested("gres:gpu:4", "", "", "", 2, 8), 4);   // --gpus=4: per job
  EXPECT_EQ(GpusRequested("", "gres:gpu:2", "", "", 3, 3), 6);   // --gres=gpu:2 -N3
  EXPECT_EQ(GpusRequested("", "", "gres:gpu:1", "", 2, 4), 4);   // --gpus-per-task=1 -n4
  EXPECT_EQ(GpusRequested("", "", "", "", 1, 1), 0);
}

TEST(QueueManager, FirstPartitionOfAList) {
  EXPECT_EQ(FirstPartition("gpu,cpu"), "gpu");
  EXPECT_EQ(FirstPartition("gpu"), "gpu");
}

}  // namespace
}  // namespace egret::quotad

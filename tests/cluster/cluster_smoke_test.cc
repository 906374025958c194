// The local cluster runs jobs for unprivileged users, reports exit states, and hands
// out the fake GPUs through GRES exactly as a real GPU node would.
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "common/strings.h"
#include "tests/support/slurm.h"

namespace egret::testing {
namespace {

TEST(ClusterSmoke, UnprivilegedBatchJobCompletesWithItsOutput) {
  std::string dir = MakeJobDir("smoke");
  auto sub = SbatchAs("alice", {"-p", "cpu", "-o", dir + "/out.txt", "-J", "smoke"},
                      "#!/bin/bash\necho \"user=$(id -un) job=$SLURM_JOB_ID\"\n");
  ASSERT_EQ(sub.exit_code, 0) << sub.err;
  ASSERT_GT(sub.job_id, 0) << sub.out;
  JobInfo job = WaitForJob(sub.job_id, 30);
  EXPECT_EQ(job.state, "COMPLETED");
  EXPECT_EQ(job.exit_code, 0);
  EXPECT_EQ(job.fields["UserId"].rfind("alice(", 0), 0u) << job.fields["UserId"];
  EXPECT_EQ(ReadText(dir + "/out.txt"), "user=alice job=" + std::to_string(sub.job_id) + "\n");
}

TEST(ClusterSmoke, FailingJobReportsItsExitCode) {
  std::string dir = MakeJobDir("smoke-fail");
  auto sub = SbatchAs("bob", {"-p", "cpu", "-o", dir + "/out.txt"}, "#!/bin/bash\nexit 3\n");
  ASSERT_GT(sub.job_id, 0) << sub.err;
  JobInfo job = WaitForJob(sub.job_id, 30);
  EXPECT_EQ(job.state, "FAILED");
  EXPECT_EQ(job.exit_code, 3);
}

TEST(ClusterSmoke, GpuJobsGetDistinctDevicesAndAThirdWaits) {
  std::string dir = MakeJobDir("smoke-gpu");
  // Two 2-GPU jobs pinned to one node fill its 4 GPUs; a third one on that node must wait.
  auto node = RunProcess({"sh", "-c", "sinfo -h -N -p gpu -o %N | head -1"});
  ASSERT_TRUE(node.ok());
  std::string n(Trim(node->out));
  // SLURM_JOB_GPUS holds the node's device indices; with ConstrainDevices the job can open
  // only its own device files (ENXIO: no driver behind the fake device) and gets EPERM on
  // the others'.
  std::string script = "#!/bin/bash\necho \"gpus=$SLURM_JOB_GPUS visible=$CUDA_VISIBLE_DEVICES\"\n"
                       "for i in 0 1 2 3; do (exec 3< " + ClusterDir() + "/dev/" + n +
                       "/nvidia$i) 2>&1 | grep -q 'not permitted' && echo \"denied $i\" "
                       "|| echo \"allowed $i\"; done\nsleep 3\n";
  std::vector<long> ids;
  for (int i = 0; i < 3; ++i) {
    auto sub = SbatchAs("alice",
                        {"-A", "acme", "-p", "gpu", "-w", n, "--gres=gpu:2", "-o", dir + "/g" + std::to_string(i) + ".txt"},
                        script);
    ASSERT_GT(sub.job_id, 0) << sub.err;
    ids.push_back(sub.job_id);
  }
  ASSERT_TRUE(WaitUntil(ids[1], [](const JobInfo& j) { return j.state == "RUNNING"; }, 20));
  auto third = GetJob(ids[2]);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->state, "PENDING");
  EXPECT_TRUE(third->reason == "Resources" || third->reason == "Priority") << third->reason;
  for (long id : ids) EXPECT_EQ(WaitForJob(id, 40).state, "COMPLETED");
  auto gpus_of = [&](int i) {
    std::string text = ReadText(dir + "/g" + std::to_string(i) + ".txt");
    auto line = Split(text, '\n')[0];
    return Split(line.substr(5, line.find(' ') - 5), ',');
  };
  auto a = gpus_of(0), b = gpus_of(1);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (const auto& g : a) EXPECT_EQ(std::count(b.begin(), b.end(), g), 0) << "GPU " << g << " given twice";
  if (access("/sys/fs/cgroup/devices", F_OK) == 0) {
    std::string out = ReadText(dir + "/g0.txt");
    for (int i = 0; i < 4; ++i) {
      bool mine = std::count(a.begin(), a.end(), std::to_string(i)) > 0;
      EXPECT_NE(out.find((mine ? "allowed " : "denied ") + std::to_string(i)), std::string::npos)
          << "device cgroup: " << out;
    }
  }
}

TEST(ClusterSmoke, NodesStayUsableAfterJobs) {
  auto r = RunProcess({"sinfo", "-h", "-N", "-o", "%T"});
  ASSERT_TRUE(r.ok());
  for (const auto& state : Split(r->out, '\n', true))
    EXPECT_TRUE(state == "idle" || state == "mixed" || state == "allocated") << state;
}

}  // namespace
}  // namespace egret::testing

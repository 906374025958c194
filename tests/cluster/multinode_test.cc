// Multi-node jobs on emulated nodes: srun spans both nodes and MPI allreduces across them.
#include <gtest/gtest.h>

#include <set>

#include "common/strings.h"
#include "tests/support/slurm.h"

namespace egret::testing {
namespace {

int NodeCount() {
  auto r = RunProcess({"sh", "-c", "sinfo -h -N -p cpu -o %N | sort -u | wc -l"});
  return r.ok() ? std::atoi(r->out.c_str()) : 0;
}

TEST(MultiNode, SrunSpansTwoNodes) {
  if (NodeCount() < 2) GTEST_SKIP() << "cluster has fewer than 2 nodes";
  std::string dir = MakeJobDir("multinode-srun");
  auto sub = SbatchAs("alice", {"-N2", "-p", "cpu", "-o", dir + "/out.txt"},
                      "#!/bin/bash\nsrun -N2 --ntasks-per-node=1 hostname\n");
  ASSERT_GT(sub.job_id, 0) << sub.err;
  JobInfo job = WaitForJob(sub.job_id, 30);
  ASSERT_EQ(job.state, "COMPLETED") << ReadText(dir + "/out.txt");
  auto lines = Split(ReadText(dir + "/out.txt"), '\n', true);
  std::set<std::string> hosts(lines.begin(), lines.end());
  EXPECT_EQ(hosts.size(), 2u) << ReadText(dir + "/out.txt");
}

TEST(MultiNode, MpiAllreduceAcrossTwoNodes) {
  if (NodeCount() < 2) GTEST_SKIP() << "cluster has fewer than 2 nodes";
  std::string dir = MakeJobDir("multinode-mpi");
  std::string probe = BuildDir() + "/tests/mpi_probe";
  auto sub = SbatchAs("bob", {"-N2", "--ntasks-per-node=1", "-p", "cpu", "-o", dir + "/out.txt"},
                      "#!/bin/bash\n"
                      "# Open MPI leaks at MPI_Init by design (matters only in asan builds).\n"
                      "export ASAN_OPTIONS=detect_leaks=0\n"
                      "srun --mpi=pmix " + probe + "\n");
  ASSERT_GT(sub.job_id, 0) << sub.err;
  JobInfo job = WaitForJob(sub.job_id, 60);
  std::string out = ReadText(dir + "/out.txt");
  ASSERT_EQ(job.state, "COMPLETED") << out;
  // 2 ranks contribute 1 and 2: every element must be 3 on both nodes.
  std::set<std::string> hosts;
  int ranks = 0;
  for (const auto& line : Split(out, '\n', true)) {
    if (line.rfind("probe ", 0) != 0) continue;
    ++ranks;
    EXPECT_NE(line.find("/2 on "), std::string::npos) << line;
    EXPECT_NE(line.find("sum=3 uniform=1"), std::string::npos) << line;
    hosts.insert(line.substr(line.find(" on ") + 4, line.find(" sum=") - line.find(" on ") - 4));
  }
  EXPECT_EQ(ranks, 2) << out;
  EXPECT_EQ(hosts.size(), 2u) << out;
}

}  // namespace
}  // namespace egret::testing

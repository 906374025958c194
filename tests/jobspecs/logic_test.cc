// The pure pieces under `egret status`, `egret submit`'s cluster check and the benchmark
// chain: progress from a metrics JSONL, quotad's reason as text, status directories from
// log paths, GRES counts, resource checks with their messages, result lines.
#include <string>

#include <gtest/gtest.h>

#include "jobspecs/bench/layout.h"
#include "jobspecs/bench/record.h"
#include "jobspecs/slurm/cluster.h"
#include "jobspecs/spec/parse.h"
#include "jobspecs/status/quota_reason.h"
#include "jobspecs/status/status.h"

namespace egret::jobspec {
namespace {

TEST(StatusLogic, ProgressFromTheLastStepLine) {
  // egret-train's metrics.jsonl (mpi_trainer/train/trainer.cc): start, train, eval, checkpoint, end.
  std::string metrics =
      "{\"type\":\"start\",\"step\":0,\"total_steps\":200,\"ranks\":2}\n"
      "{\"type\":\"train\",\"step\":1,\"loss\":3.5,\"lr\":0.0001,\"tokens_per_s\":900}\n"
      "{\"type\":\"train\",\"step\":2,\"loss\":3.25,\"lr\":0.0003,\"tokens_per_s\":1000}\n"
      "{\"type\":\"eval\",\"step\":2,\"eval_loss\":3.1,\"perplexity\":22.2}\n"
      "{\"type\":\"checkpoint\",\"step\":2,\"path\":\"x\"}\n"
      "{\"type\":\"train\",\"step\":3,\"loss\":3.0,\"tok";  // a line being written
  auto p = status::ParseProgress(metrics, 100);
  ASSERT_TRUE(p.have);
  EXPECT_EQ(p.step, 2);
  EXPECT_EQ(p.total, 200);  // the start line's total wins over the config's
  EXPECT_EQ(*p.loss, 3.25);
  EXPECT_EQ(*p.lr, 0.0003);
  EXPECT_EQ(*p.tokens_per_s, 1000);
  ASSERT_TRUE(p.last_eval);
  EXPECT_EQ((*p.last_eval)["eval_loss"], 3.1);
  EXPECT_EQ(p.end_status, "");
  // A tail without the start line takes the total from the job's config.
  auto q = status::ParseProgress("{\"type\":\"train\",\"step\":7,\"loss\":1.5}\n"
                                 "{\"type\":\"end\",\"step\":7,\"status\":\"preempted\"}\n", 100);
  EXPECT_EQ(q.total, 100);
  EXPECT_EQ(q.step, 7);
  EXPECT_FALSE(q.tokens_per_s);
  EXPECT_EQ(q.end_status, "preempted");
  EXPECT_FALSE(status::ParseProgress("", -1).have);
}

TEST(StatusLogic, StatusDirectoryFromTheLogPath) {
  slurm::Job j;
  j.std_out = "/home/alice/egret-runs/acme-lora/42.out";
  EXPECT_EQ(status::StatusDirOf(j), "/home/alice/egret-runs/acme-lora/42");
  j.std_out = "/home/alice/egret-runs/sweep/50_3.out";
  EXPECT_EQ(status::StatusDirOf(j), "/home/alice/egret-runs/sweep/50_3");
  j.std_out = "/home/alice/slurm-42.log";
  EXPECT_EQ(status::StatusDirOf(j), "");
}

TEST(StatusLogic, QuotadReasonAsOneLine) {
  EXPECT_EQ(status::FormatWhy(R"({"job_id":7,"state":"queued","position":2,
                                   "reason":"acme: 8/8 GPUs in use on gpu, cohort has 0 idle to lend"})"),
            "queued, position 2: acme: 8/8 GPUs in use on gpu, cohort has 0 idle to lend");
  EXPECT_EQ(status::FormatWhy(R"({"state":"running","reason":"holds a granted lease for 2 GPUs of acme on gpu"})"),
            "running: holds a granted lease for 2 GPUs of acme on gpu");
  EXPECT_EQ(status::FormatWhy("  plain text \n"), "plain text");
}

TEST(StatusLogic, EvalSummaryFlattensNumbers) {
  // egret-train eval's output: headline figures first.
  auto j = nlohmann::json::parse(R"({"model": "x", "eval_loss": 1.25, "eval_rows": 8, "perplexity": 3.49,
                                     "exact_match": 0.5, "exact_match_total": 20, "samples": [1, 2]})");
  EXPECT_EQ(status::EvalSummary(j, 4), "eval_loss=1.25 perplexity=3.49 exact_match=0.5 eval_rows=8 ...");
  EXPECT_EQ(status::EvalSummary(j, 2), "eval_loss=1.25 perplexity=3.49 ...");
  auto nested = nlohmann::json::parse(R"({"a": {"b": 1}, "step": 4})");
  EXPECT_EQ(status::EvalSummary(nested, 4), "a.b=1");
}

TEST(StatusLogic, ArrayTaskMatchesSplitAndPendingRecords) {
  slurm::Job split;
  split.array_job_id = 40;
  split.array_task_id = 3;
  EXPECT_TRUE(split.IsArrayTask(40, 3));
  EXPECT_FALSE(split.IsArrayTask(40, 2));
  EXPECT_FALSE(split.IsArrayTask(41, 3));
  slurm::Job pending;
  pending.array_job_id = 40;
  pending.array_tasks = "0-3,7,10-20:5%2";
  for (int t : {0, 3, 7, 10, 15, 20}) EXPECT_TRUE(pending.IsArrayTask(40, t)) << t;
  for (int t : {4, 6, 8, 11, 21}) EXPECT_FALSE(pending.IsArrayTask(40, t)) << t;
}

TEST(ClusterCheck, GresCounts) {
  EXPECT_EQ(slurm::GpusInGres("gpu:4"), 4);
  EXPECT_EQ(slurm::GpusInGres("gpu:a100:2(S:0-1),tmpfs:100G"), 2);
  EXPECT_EQ(slurm::GpusInGres("gpu:h100:4(S:0),gpu:a100:2(S:1)"), 6);
  EXPECT_EQ(slurm::GpusInGres("(null)"), 0);
  EXPECT_EQ(slurm::GpusInGres(""), 0);
}

TEST(ClusterCheck, WrongPartitionAndImpossibleCounts) {
  slurm::ClusterInfo c;
  c.partitions = {{"cpu", 2, 0, 8}, {"gpu", 2, 4, 8}};
  const char* base = "kind = \"finetune\"\ntenant = \"acme\"\n[model]\nbase = \"models/m\"\n[data]\n"
                     "train = \"data/t.h5\"\n[training]\nsteps = 5\n[resources]\n";
  auto spec = [&](const std::string& res) {
    auto r = ParseJobspecText(base + res, "t.toml");
    EXPECT_TRUE(r.ok()) << r.error().message();
    return *r;
  };
  EXPECT_TRUE(slurm::CheckResources(spec("partition = \"gpu\"\ngpus_per_node = 4\nnodes = 2\n"), c).ok());
  EXPECT_EQ(slurm::CheckResources(spec("partition = \"gpus\"\n"), c).error().message(),
            "t.toml: resources.partition: \"gpus\" is not a partition of this cluster; did you mean \"gpu\"? "
            "(partitions: cpu, gpu)");
  EXPECT_EQ(slurm::CheckResources(spec("partition = \"cpu\"\ngpus_per_node = 2\n"), c).error().message(),
            "t.toml: resources.gpus_per_node: 2 GPUs per node asked, but no node of partition cpu has more than 0 "
            "(partitions with enough: gpu)");
  EXPECT_EQ(slurm::CheckResources(spec("partition = \"gpu\"\ngpus_per_node = 8\nnodes = 3\n"), c).error().message(),
            "t.toml: resources.nodes: 3 nodes asked, but partition gpu has 2\n"
            "t.toml: resources.gpus_per_node: 8 GPUs per node asked, but no node of partition gpu has more than 4");
  EXPECT_EQ(slurm::CheckResources(spec("partition = \"cpu\"\nranks_per_node = 4\ncpus_per_rank = 4\n"), c)
                .error()
                .message(),
            "t.toml: resources: ranks_per_node x cpus_per_rank = 4 x 4 = 16 CPUs per node, but the nodes of "
            "partition cpu have at most 8");
}

TEST(BenchLogic, ScheduleNames) {
  EXPECT_EQ(bench::ScheduleJobName("acme", "nightly"), "egret-bench:acme:nightly");
  std::string t, n;
  EXPECT_TRUE(bench::ParseScheduleJobName("egret-bench:acme:nightly", &t, &n));
  EXPECT_EQ(t, "acme");
  EXPECT_EQ(n, "nightly");
  EXPECT_FALSE(bench::ParseScheduleJobName("acme-lora", &t, &n));
  EXPECT_FALSE(bench::ParseScheduleJobName("egret-bench:acme", &t, &n));
}

TEST(BenchLogic, GemmResultSumsRanks) {
  bench::RunFacts f{"egret-bench:acme:nightly", "gemm", 42, 1000, 1001, 1010, 0, "n1"};
  auto j = bench::ComposeResult(f, "{\"gflops\": 10.5, \"size\": 512}\n{\"gflops\": 11.5, \"size\": 512}\n");
  EXPECT_EQ(j["schedule"], "acme:nightly");
  EXPECT_EQ(j["value"], 22.0);
  EXPECT_EQ(j["ranks"], 2);
  EXPECT_EQ(j["unit"], "GFLOP/s");
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["fired_at"], 1000);
  auto failed = bench::ComposeResult({"egret-bench:acme:nightly", "gemm", 43, 0, 2000, 2001, 137, "n1"}, "");
  EXPECT_EQ(failed["ok"], false);
  EXPECT_EQ(failed["error"], "the benchmark exited with 137");
  EXPECT_EQ(failed["fired_at"], 2000);  // a one-off run fires when it starts
}

TEST(BenchLogic, FinetuneResultIsTheMedianStepAfterTheFirst) {
  bench::RunFacts f{"egret-bench:acme:steps", "finetune", 42, 1000, 1001, 1010, 0, "n1"};
  auto j = bench::ComposeResult(f, "{\"type\":\"start\",\"step\":0,\"total_steps\":4}\n"
                                   "{\"type\":\"train\",\"step\":1,\"tokens_per_s\":100}\n"
                                   "{\"type\":\"train\",\"step\":2,\"tokens_per_s\":950}\n"
                                   "{\"type\":\"train\",\"step\":3,\"tokens_per_s\":900}\n"
                                   "{\"type\":\"train\",\"step\":4,\"tokens_per_s\":990}\n"
                                   "{\"type\":\"end\",\"step\":4,\"status\":\"finished\"}\n");
  EXPECT_EQ(j["metric"], "tokens_per_s");
  EXPECT_EQ(j["value"], 950);
  EXPECT_EQ(j["steps"], 3);
  EXPECT_EQ(j["ok"], true);
}

}  // namespace
}  // namespace egret::jobspec

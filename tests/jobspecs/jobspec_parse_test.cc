// Jobspec parsing: every example in jobspecs/examples parses into the values it states, and
// each kind of mistake is reported with its file:line:column, the key, and what would be
// right. The expected messages are written out in full: they are the user interface.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "jobspecs/spec/parse.h"
#include "jobspecs/spec/sweep.h"
#include "jobspecs/spec/value_text.h"
#include "jobspecs/trainer/training_keys.h"

namespace egret::jobspec {
namespace {

const char* kBase = R"(kind = "finetune"
tenant = "acme"

[resources]
partition = "gpu"

[model]
base = "models/tiny"

[data]
train = "data/train.h5"

[training]
steps = 100
)";

std::string Err(const std::string& text, const std::vector<std::string>& sets = {}) {
  auto r = ParseJobspecText(text, "t.toml", sets);
  return r.ok() ? "ok" : r.error().message();
}

Jobspec Ok(const std::string& text, const std::vector<std::string>& sets = {}) {
  auto r = ParseJobspecText(text, "t.toml", sets);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : Jobspec{};
}

std::string Example(const std::string& name) {
  return std::string(EGRET_SOURCE_DIR) + "/jobspecs/examples/" + name;
}

TEST(JobspecExamples, EveryExampleParses) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(EGRET_SOURCE_DIR) + "/jobspecs/examples")) {
    if (e.path().extension() != ".toml") continue;
    auto r = ParseJobspecFile(e.path().string());
    EXPECT_TRUE(r.ok()) << e.path() << ": " << (r.ok() ? "" : r.error().message());
    ++n;
  }
  EXPECT_GE(n, 5);
}

TEST(JobspecExamples, LoraExampleHoldsItsValues) {
  auto r = ParseJobspecFile(Example("finetune-lora.toml"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Jobspec& s = *r;
  EXPECT_EQ(s.kind, Kind::kFinetune);
  EXPECT_EQ(s.name, "acme-lora");
  EXPECT_EQ(s.tenant, "acme");
  EXPECT_EQ(s.resources.partition, "gpu");
  EXPECT_EQ(s.resources.ranks_per_node, 2);
  EXPECT_EQ(s.resources.gpus_per_node, 2);
  EXPECT_EQ(s.resources.time_limit_s, 1800);
  ASSERT_TRUE(s.model);
  EXPECT_EQ(s.model->root, ViewPath::Root::kModels);
  EXPECT_EQ(s.model->rest, "tiny-llama");
  ASSERT_EQ(s.train_data.size(), 1u);
  EXPECT_EQ(s.train_data[0].root, ViewPath::Root::kData);
  EXPECT_EQ(s.preemption.signal, "USR1");
  EXPECT_EQ(s.preemption.seconds_before, 120);
  EXPECT_FALSE(s.IsSweep());
  // Settings keep the file's order; lr = 3e-4 is the double 0.0003.
  ASSERT_GE(s.training.size(), 6u);
  EXPECT_EQ(s.training[0].key, "mode");
  EXPECT_EQ(s.training[4].key, "lr");
  EXPECT_EQ(std::get<double>(s.training[4].values[0]), 3e-4);
  EXPECT_EQ(s.training.back().key, "lora.target_modules");
  EXPECT_EQ(s.eval.every_steps, 50);
  EXPECT_EQ(s.checkpoint.keep_last, 2);
}

TEST(JobspecExamples, SweepIsTheCrossProductFirstKeySlowest) {
  auto r = ParseJobspecFile(Example("finetune-sweep.toml"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->TaskCount(), 6);
  EXPECT_EQ(DescribeTask(*r, 0), "lr=1e-4 lora.r=8");
  EXPECT_EQ(DescribeTask(*r, 1), "lr=1e-4 lora.r=16");
  EXPECT_EQ(DescribeTask(*r, 2), "lr=3e-4 lora.r=8");
  EXPECT_EQ(DescribeTask(*r, 5), "lr=0.001 lora.r=16");
}

TEST(JobspecExamples, BenchmarkHasItsSchedule) {
  auto r = ParseJobspecFile(Example("benchmark-nightly.toml"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_TRUE(r->benchmark && r->benchmark->schedule);
  EXPECT_EQ(r->benchmark->schedule->text, "30 2 * * mon-fri");
  EXPECT_FALSE(r->preemption.requeue);  // a link that ran twice would fork the chain
}

TEST(JobspecDefaults, NameFromFileAndDefaults) {
  Jobspec s = Ok(kBase);
  EXPECT_EQ(s.name, "t");
  EXPECT_EQ(s.resources.nodes, 1);
  EXPECT_EQ(s.resources.time_limit_s, 3600);
  EXPECT_EQ(s.checkpoint.dir, "checkpoints/{name}/{job}");
  EXPECT_EQ(s.output_dir, "egret-runs");
  EXPECT_TRUE(s.preemption.enabled);
  EXPECT_EQ(s.preemption.seconds_before, 120);
  Jobspec two = Ok(std::string(kBase), {"data.train=[\"data/a.h5\", \"data/b.h5\"]"});
  EXPECT_EQ(two.train_data.size(), 2u);
}

// kBase ends at line 14 inside [training]; text appended starts at line 15.
std::string With(const std::string& more) { return std::string(kBase) + more; }
// kBase with "partition = \"gpu\"" (line 5) followed by EXTRA lines from line 6 on.
std::string WithResources(const std::string& extra) {
  std::string text = kBase;
  text.replace(text.find("partition = \"gpu\""), 17, "partition = \"gpu\"\n" + extra);
  return text;
}

TEST(JobspecErrors, UnknownKeySuggestsAndListsChoices) {
  EXPECT_EQ(Err(With("learning_rate = 1e-4\n")),
            "t.toml:15:1: unknown key \"learning_rate\" in [training] (valid keys: mode, steps, epochs, "
            "global_batch_size, micro_batch_size, grad_accum, max_grad_norm, seed, lr, beta1, beta2, eps, "
            "weight_decay, schedule, warmup_steps, min_lr, lora)");
  EXPECT_EQ(Err(With("warmup_step = 10\n")),
            "t.toml:15:1: unknown key \"warmup_step\" in [training]; did you mean \"warmup_steps\"? (valid keys: "
            "mode, steps, epochs, global_batch_size, micro_batch_size, grad_accum, max_grad_norm, seed, lr, beta1, "
            "beta2, eps, weight_decay, schedule, warmup_steps, min_lr, lora)");
  EXPECT_EQ(Err("tennant = \"acme\"\n" + std::string(kBase)),
            "t.toml:1:1: unknown key \"tennant\" at the top level; did you mean \"tenant\"? (valid keys: kind, "
            "name, tenant, resources, model, data, training, eval, checkpoint, preemption, output, benchmark)");
  EXPECT_EQ(Err(WithResources("gpu_per_node = 2")),
            "t.toml:6:1: unknown key \"gpu_per_node\" in [resources]; did you mean \"gpus_per_node\"? (valid "
            "keys: partition, nodes, ranks_per_node, gpus_per_node, cpus_per_rank, mem_per_cpu, time_limit)");
  // A key in the wrong table says where it belongs.
  EXPECT_EQ(Err(With("gpus_per_nod = 2\nr = 8\n")),
            "t.toml:15:1: unknown key \"gpus_per_nod\" in [training]; did you mean \"gpus_per_node\" in "
            "[resources]? (valid keys: mode, steps, epochs, global_batch_size, micro_batch_size, grad_accum, "
            "max_grad_norm, seed, lr, beta1, beta2, eps, weight_decay, schedule, warmup_steps, min_lr, lora)\n"
            "t.toml:16:1: unknown key \"r\" in [training]; it belongs in [training.lora] (valid keys: mode, steps, "
            "epochs, global_batch_size, micro_batch_size, grad_accum, max_grad_norm, seed, lr, beta1, beta2, eps, "
            "weight_decay, schedule, warmup_steps, min_lr, lora)");
}

TEST(JobspecErrors, WrongTypesNameTheKeyAndTheValue) {
  EXPECT_EQ(Err(WithResources("nodes = \"2\"")),
            "t.toml:6:9: resources.nodes: expected an integer, got a string (\"2\")");
  EXPECT_EQ(Err(With("lr = \"fast\"\n")), "t.toml:15:6: training.lr: expected a number, got a string (\"fast\")");
  EXPECT_EQ(Err(With("\n[preemption]\nrequeue = 1\n")),
            "t.toml:17:11: preemption.requeue: expected true or false, got an integer (1)");
  EXPECT_EQ(Err("kind = \"finetune\"\ntenant = \"acme\"\nresources = 4\n"),
            "t.toml:3:13: resources: expected a table ([resources]), got an integer (4)\n"
            "t.toml: missing required key \"partition\" in [resources] (e.g. [resources] partition = \"gpu\")\n"
            "t.toml: missing required key \"base\" in [model] (e.g. [model] base = \"models/tiny-llama\")\n"
            "t.toml: missing required key \"train\" in [data] (e.g. [data] train = \"data/train.h5\")\n"
            "t.toml: missing required key \"steps\" in [training] (e.g. [training] steps = 200; or epochs = 1.5)");
}

TEST(JobspecErrors, MissingRequiredKeys) {
  EXPECT_EQ(Err("tenant = \"acme\"\n"),
            "t.toml: missing required key \"kind\" (e.g. kind = \"finetune\"; one of finetune, eval, benchmark)");
  std::string text = kBase;
  text.erase(text.find("tenant = \"acme\"\n"), 16);
  EXPECT_EQ(Err(text), "t.toml: missing required key \"tenant\" (e.g. tenant = \"acme\", the Slurm account to charge)");
  text = kBase;
  text.erase(text.find("steps = 100\n"));
  EXPECT_EQ(Err(text + "lr = 1e-4\n"),
            "t.toml:13:1: missing required key \"steps\" in [training] (e.g. [training] steps = 200; or epochs = "
            "1.5)");
  EXPECT_EQ(Err(With("epochs = 2\n")), "t.toml:15:10: training.epochs: give training.steps or training.epochs, not both");
  EXPECT_EQ(Err("kind = \"eval\"\ntenant = \"acme\"\n[resources]\npartition = \"gpu\"\n[model]\nbase = \"models/m\"\n"),
            "t.toml: kind = \"eval\" needs an [eval] table with dataset = \"data/eval.h5\" and/or exact_match = "
            "\"data/qa.jsonl\"");
}

TEST(JobspecErrors, KindAndChoices) {
  EXPECT_EQ(Err("kind = \"finetun\"\n"),
            "t.toml:1:8: kind: \"finetun\" is not one of finetune, eval, benchmark; did you mean \"finetune\"?");
  EXPECT_EQ(Err(With("mode = \"qlora\"\n")),
            "t.toml:15:8: training.mode: \"qlora\" is not one of lora, full; did you mean \"lora\"?");
  EXPECT_EQ(Err("kind = \"eval\"\ntenant = \"acme\"\n[resources]\npartition = \"gpu\"\n[model]\nbase = \"models/m\"\n"
                "[eval]\ndataset = \"data/e.h5\"\n[checkpoint]\nevery_steps = 5\n"),
            "t.toml:9:1: [checkpoint] does not apply to kind = \"eval\" (its tables: resources, model, eval, "
            "preemption, output)");
}

TEST(JobspecErrors, HyperparameterRanges) {
  EXPECT_EQ(Err(With("lr = 0\n")), "t.toml:15:6: training.lr: must be > 0.0 (got 0.0)");
  EXPECT_EQ(Err(With("beta2 = 1.0\n")), "t.toml:15:9: training.beta2: must be >= 0.0 and < 1.0 (got 1.0)");
  EXPECT_EQ(Err(With("[training.lora]\nr = 0\n")), "t.toml:16:5: training.lora.r: must be between 1 and 65536 (got 0)");
  EXPECT_EQ(Err(With("warmup_steps = -5\n")), "t.toml:15:16: training.warmup_steps: must be >= 0 (got -5)");
}

TEST(JobspecErrors, BatchGeometryMustSplitOverTheRanks) {
  EXPECT_EQ(Err(WithResources("nodes = 2\nranks_per_node = 2") + "global_batch_size = 12\nmicro_batch_size = 2\n"),
            "t.toml:17:21: training.global_batch_size: 12 rows per step is not a multiple of micro_batch_size x "
            "ranks = 2 x 4 = 8 (ranks = resources.nodes x resources.ranks_per_node)");
  EXPECT_EQ(Err(WithResources("ranks_per_node = 2") + "global_batch_size = 16\nmicro_batch_size = [2, 3]\n"),
            "t.toml:16:21: training.global_batch_size: 16 rows per step is not a multiple of micro_batch_size x "
            "ranks = 3 x 2 = 6 (ranks = resources.nodes x resources.ranks_per_node)");
  EXPECT_EQ(Err(WithResources("ranks_per_node = 2") + "global_batch_size = 16\nmicro_batch_size = [2, 4]\n"), "ok");
}

TEST(JobspecErrors, PartitionAndCounts) {
  std::string text = kBase;
  text.replace(text.find("\"gpu\""), 5, "\"gpu nodes\"");
  EXPECT_EQ(Err(text), "t.toml:5:13: resources.partition: \"gpu nodes\" is not a partition name (letters, digits, - _ .)");
  EXPECT_EQ(Err(WithResources("gpus_per_node = -1\nnodes = 0")),
            "t.toml:6:17: resources.gpus_per_node: must be between 0 and 64 (got -1)\n"
            "t.toml:7:9: resources.nodes: must be between 1 and 1024 (got 0)");
  EXPECT_EQ(Err(WithResources("time_limit = \"ninety\"")),
            "t.toml:6:14: resources.time_limit: \"ninety\" is not a duration (write e.g. \"30s\", \"5m\", \"1h30m\", "
            "\"2d\")");
}

TEST(JobspecErrors, BadCronSchedule) {
  const char* head = "kind = \"benchmark\"\ntenant = \"acme\"\n[resources]\npartition = \"cpu\"\n[benchmark]\n";
  EXPECT_EQ(Err(std::string(head) + "schedule = \"61 * * * *\"\n"),
            "t.toml:6:12: benchmark.schedule: minute field \"61\": 61 is out of range 0-59");
  EXPECT_EQ(Err(std::string(head) + "schedule = \"0 0 * * mon-sun\"\n"),
            "t.toml:6:12: benchmark.schedule: day-of-week field \"mon-sun\": range mon-sun runs backwards (1 > 0); "
            "Sunday is 0 or 7, so write e.g. mon-7");
  EXPECT_EQ(Err(std::string(head) + "schedule = \"@hourly\"\nevery = \"30s\"\n"),
            "t.toml:7:9: benchmark.every: give either schedule (cron) or every (an interval), not both");
  EXPECT_EQ(Err(std::string(head) + "every = \"30\"\n"),
            "t.toml:6:9: benchmark.every: \"30\" is not a duration (write e.g. \"30s\", \"5m\", \"1h30m\", \"2d\")");
  auto ok = ParseJobspecText(std::string(head) + "every = \"30s\"\n", "t.toml");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->benchmark->schedule->every_s, 30);
}

TEST(JobspecErrors, SweepOverANonSweepableKey) {
  EXPECT_EQ(Err(With("mode = [\"lora\", \"full\"]\n")),
            "t.toml:15:8: training.mode cannot be swept (sweepable: steps, epochs, global_batch_size, "
            "micro_batch_size, grad_accum, max_grad_norm, seed, lr, beta1, beta2, eps, weight_decay, schedule, "
            "warmup_steps, min_lr, lora.r, lora.alpha, lora.dropout)");
  EXPECT_EQ(Err(WithResources("nodes = [1, 2]")),
            "t.toml:6:9: resources.nodes: expected an integer, got a list ([1, 2]); only [training] hyperparameters "
            "take a list of values (a sweep)");
  EXPECT_EQ(Err(With("lr = [1e-4, 1e-4]\n")), "t.toml:15:13: training.lr: the sweep lists 1e-4 twice");
  EXPECT_EQ(Err(With("lr = [1e-4, 3e-4]\n[checkpoint]\ndir = \"checkpoints/x/{job}\"\n")),
            "t.toml:17:7: checkpoint.dir: \"checkpoints/x/{job}\" must contain {task} in a sweep, so each array task "
            "keeps its own checkpoints");
  const char* bench = "kind = \"benchmark\"\ntenant = \"acme\"\n[resources]\npartition = \"cpu\"\n[model]\n"
                      "base = \"models/m\"\n[data]\ntrain = \"data/t.h5\"\n[training]\nsteps = [5, 10]\n"
                      "[benchmark]\nworkload = \"finetune\"\n";
  EXPECT_EQ(Err(bench), "t.toml:10:9: training.steps: a list of values (a sweep) is only for kind = \"finetune\"");
}

TEST(JobspecErrors, PathsStayInTheTenantsView) {
  std::string text = kBase;
  text.replace(text.find("\"data/train.h5\""), 15, "\"/home/bob/../x.h5\"");
  EXPECT_EQ(Ok(text).train_data.size(), 1u);  // absolute paths are the user's business
  text = kBase;
  text.replace(text.find("\"data/train.h5\""), 15, "\"data/../../globex/train.h5\"");
  EXPECT_EQ(Err(text), "t.toml:11:9: data.train: \"data/../../globex/train.h5\" leaves the tenant's view with \"..\"");
  text = kBase;
  text.replace(text.find("\"data/train.h5\""), 15, "\"train.h5\"");
  EXPECT_EQ(Err(text),
            "t.toml:11:9: data.train: \"train.h5\" is not in the tenant's view: start it with data/..., models/..., "
            "checkpoints/... (resolved inside the job from EGRET_DATA_DIR, EGRET_MODELS_DIR, EGRET_CKPT_DIR), or "
            "give an absolute path");
}

TEST(JobspecErrors, PreemptionSignal) {
  EXPECT_EQ(Err(With("\n[preemption]\nsignal = \"HUP@60\"\n")),
            "t.toml:17:10: preemption.signal: \"HUP@60\" is not SIGNAL@SECONDS with SIGNAL one of USR1, TERM (the "
            "signals egret-train checkpoints on) and SECONDS 1-65535, e.g. \"USR1@120\"; or \"none\"");
  EXPECT_EQ(Err(WithResources("time_limit = \"1m\"") + "\n[preemption]\nsignal = \"SIGUSR1@120\"\n"),
            "t.toml:18:10: preemption.signal: USR1@120 would fire 120 s before the end of a 60 s time limit; lower "
            "it or raise resources.time_limit");
  Jobspec s = Ok(With("\n[preemption]\nsignal = \"TERM\"\n"));
  EXPECT_EQ(s.preemption.signal, "TERM");
  EXPECT_EQ(s.preemption.seconds_before, 60);  // Slurm's default warning time
}

TEST(JobspecErrors, EveryProblemIsReportedAtOnce) {
  EXPECT_EQ(Err("kind = \"finetune\"\ntenant = \"a b\"\nfoo = 1\n[resources]\npartition = \"gpu\"\nnodes = 0\n"
                "[model]\nbase = \"x\"\n[data]\ntrain = \"data/t.h5\"\n[training]\nsteps = 1\n"),
            "t.toml:2:10: tenant: \"a b\" is not a tenant name (letters, digits, - _ ., at most 64)\n"
            "t.toml:3:1: unknown key \"foo\" at the top level (valid keys: kind, name, tenant, resources, model, "
            "data, training, eval, checkpoint, preemption, output, benchmark)\n"
            "t.toml:6:9: resources.nodes: must be between 1 and 1024 (got 0)\n"
            "t.toml:8:8: model.base: \"x\" is not in the tenant's view: start it with data/..., models/..., "
            "checkpoints/... (resolved inside the job from EGRET_DATA_DIR, EGRET_MODELS_DIR, EGRET_CKPT_DIR), or "
            "give an absolute path");
}

TEST(JobspecErrors, TomlSyntax) {
  EXPECT_EQ(Err("kind = \"finetune\nx = 1\n").substr(0, 28), "t.toml:1:17: not valid TOML:");
}

TEST(JobspecOverrides, SetReplacesAddsAndIsValidated) {
  Jobspec s = Ok(kBase, {"training.lr=1e-4", "resources.nodes=2", "name=7", "tenant=globex"});
  EXPECT_EQ(s.resources.nodes, 2);
  EXPECT_EQ(s.name, "7");
  EXPECT_EQ(s.tenant, "globex");
  ASSERT_EQ(s.training.size(), 2u);
  EXPECT_EQ(s.training[1].key, "lr");  // from --set: after the file's settings
  EXPECT_EQ(std::get<double>(s.training[1].values[0]), 1e-4);
  Jobspec sweep = Ok(kBase, {"training.lr=[1e-4,3e-4]", "training.lora.r=[4,8]"});
  EXPECT_EQ(sweep.TaskCount(), 4);
  EXPECT_EQ(sweep.checkpoint.dir, "checkpoints/{name}/{job}/{task}");
  EXPECT_EQ(Err(kBase, {"training.lrr=1"}),
            "t.toml (--set training.lrr): unknown key \"lrr\" in [training]; did you mean \"lr\"? (valid keys: "
            "mode, steps, epochs, global_batch_size, micro_batch_size, grad_accum, max_grad_norm, seed, lr, beta1, "
            "beta2, eps, weight_decay, schedule, warmup_steps, min_lr, lora)");
  EXPECT_EQ(Err(kBase, {"resources.nodes=two"}),
            "t.toml (--set resources.nodes): resources.nodes: expected an integer, got a string (\"two\")");
  EXPECT_EQ(Err(kBase, {"nodes"}), "t.toml: --set nodes: expected KEY=VALUE (e.g. --set training.lr=1e-4)");
  EXPECT_EQ(Err(kBase, {"tenant.x=1"}),
            "t.toml: --set tenant.x=1: \"tenant\" is not a table, so it has no key \"x\"");
}

TEST(JobspecLimits, HugeSweepsAreRefused) {
  EXPECT_EQ(Err(kBase, {"training.lr=[1e-1,1e-2,1e-3,1e-4,1e-5,1e-6,1e-7,1e-8,1e-9,1e-10,1e-11]",
                        "training.seed=[1,2,3,4,5,6,7,8,9,10,11]", "training.warmup_steps=[1,2,3,4,5,6,7,8,9,10]"}),
            "t.toml: the sweep makes 1210 array tasks (11 lr x 11 seed x 10 warmup_steps); at most 1000 fit "
            "Slurm's default MaxArraySize");
}

}  // namespace
}  // namespace egret::jobspec

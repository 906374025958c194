// Helpers for the fine-tuning tests: run the real egret-train / egret-data binaries (alone or
// under mpirun), write job files and datasets, and read checkpoints and metrics back.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/process.h"

namespace egret::testing {

std::string Bin(const std::string& name);  // build/<preset>/bin/NAME
std::string SourcePath(const std::string& rel);

// Runs egret-train ARGS, under `mpirun -np NP` when NP > 1 (with the test mpirun environment).
ProcessResult RunTrain(const std::vector<std::string>& args, int np = 1, double timeout_s = 240);
ProcessResult RunData(const std::vector<std::string>& args);
// The environment mpirun needs in tests (root, oversubscription, no binding).
std::vector<std::string> MpirunEnv();

// Starts egret-train ARGS (under mpirun when NP > 1) in the background; stdout+stderr go to LOG.
pid_t SpawnTrain(const std::vector<std::string>& args, int np, const std::string& log);
// Waits for PID; returns its exit status (128+signal when killed).
int WaitExit(pid_t pid);
// Direct children of PID (the ranks mpirun started).
std::vector<pid_t> Children(pid_t pid);

// JSONL lines as objects.
std::vector<nlohmann::json> ReadJsonl(const std::string& path);
// {"type": "train"} records of a metrics file.
std::vector<nlohmann::json> TrainRecords(const std::string& metrics_path);

// A checkpoint group ("params", "adam_m", "adam_v") as name -> values; the /state attrs.
std::map<std::string, std::vector<float>> ReadCheckpointGroup(const std::string& path, const std::string& group);
std::map<std::string, int64_t> ReadCheckpointState(const std::string& path);
// ||a - b||_2 / ||a||_2 over all tensors together (the gradient as one vector).
double GlobalRelL2Diff(const std::map<std::string, std::vector<float>>& a,
                       const std::map<std::string, std::vector<float>>& b);
// max over tensors of ||a - b||_2 / ||a||_2.
double MaxRelL2Diff(const std::map<std::string, std::vector<float>>& a,
                    const std::map<std::string, std::vector<float>>& b);
// max over tensors of max|a - b| / max(max|a|, tiny); fails the test on different name sets.
double MaxRelDiff(const std::map<std::string, std::vector<float>>& a,
                  const std::map<std::string, std::vector<float>>& b);

// Lines of an alphabet task ({"text": "klmnop..."}: each letter follows the previous one):
// learnable in a few dozen steps by a tiny model.
std::vector<std::string> AlphabetLines(int n, uint64_t seed);
void WriteLines(const std::string& path, const std::vector<std::string>& lines);

// A job directory: a tiny llama (byte tokenizer), train.h5 and eval.h5 imported from the
// alphabet task with egret-data, and job.toml (LoRA, 12 steps, global batch 8 of micro 2,
// output in DIR/out); tests vary it with --set.
struct TinyJob {
  std::string dir, model, train, eval, job, out;
};
TinyJob MakeTinyJob(const std::string& name, int lines = 120, int seq_len = 48);

}  // namespace egret::testing

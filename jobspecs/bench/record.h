// One benchmark run's result line, as appended to the tenant's results file and to the
// schedule directory's results.jsonl:
//   {"schedule":"acme:nightly","tenant":"acme","name":"nightly","job":42,"host":"n1",
//    "fired_at":1764102600,"started_at":...,"finished_at":...,"workload":"gemm",
//    "ok":true,"exit_code":0,"metric":"gflops","value":35.1,"unit":"GFLOP/s","ranks":2}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace egret::jobspec::bench {

struct RunFacts {
  std::string schedule_job_name;  // egret-bench:<tenant>:<name>
  std::string workload;           // gemm | finetune
  uint32_t job = 0;
  int64_t fired_at = 0, started_at = 0, finished_at = 0;
  int exit_code = 0;
  std::string host;
};

// Pure: the result line from the run's facts and its raw output (gemm: one JSON object per
// rank; finetune: the trainer's metrics JSONL, whose last throughput figure counts).
nlohmann::json ComposeResult(const RunFacts& facts, const std::string& raw_output);

// Appends LINE + "\n" to PATH in one write (O_APPEND), then fsyncs.
Status AppendLine(const std::string& path, const std::string& line);

}  // namespace egret::jobspec::bench

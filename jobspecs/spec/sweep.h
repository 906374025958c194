// A sweep's array tasks: task i takes one value of each swept setting, the first swept
// setting (in file order) varying slowest, like nested loops written in that order.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec {

// The (key, value) of every swept setting for array task TASK (0 <= TASK < TaskCount()).
std::vector<std::pair<std::string, Value>> SweepValues(const Jobspec& spec, int64_t task);

// "lr=0.0001 lora.rank=8": a task's values as a person reads them.
std::string DescribeTask(const Jobspec& spec, int64_t task);

}  // namespace egret::jobspec

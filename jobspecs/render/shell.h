// Quoting for the shell contexts an sbatch script is made of: plain words, double-quoted
// strings, and the unquoted heredocs that write job.toml (where ${VAR} must still expand).
#pragma once

#include <string>
#include <string_view>

#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec::render {

// Inside an unquoted heredoc: \ $ and ` escaped, everything else literal.
std::string HeredocText(std::string_view s);
// Inside "...": \ $ ` and " escaped.
std::string DoubleQuoted(std::string_view s);

// The variable egret.so sets for a root of the tenant's view.
const char* RootVariable(ViewPath::Root root);
// The path as heredoc text: ${EGRET_DATA_DIR}/acme/train.h5 (absolute paths as they are).
std::string HeredocPath(const ViewPath& p);
// The path as one double-quoted shell word: "${EGRET_DATA_DIR}/acme/train.h5".
std::string ShellPath(const ViewPath& p);

// Shell variable holding a swept setting's value in a task: "lora.rank" -> SWEEP_LORA_RANK.
std::string SweepVariable(std::string_view key);

// A checkpoint/results template ("checkpoints/{name}/{job}") as a double-quoted shell word,
// {job} and {task} taken from $JOB and $TASK in the job.
std::string TemplatePath(std::string_view tmpl, const Jobspec& spec);

}  // namespace egret::jobspec::render

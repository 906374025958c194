// What one process of the plugin knows. Each sbatch, srun and slurmstepd loads the plugin
// afresh; in slurmstepd the step's decision is taken once in the parent and inherited by
// every task child through fork(). No threads touch it.
#pragma once

#include <cstdint>
#include <string>

#include "plugins/admission.h"
#include "plugins/config.h"

namespace egret::plugin {

struct StepDecision {
  enum class Kind {
    kUndecided,        // init_post_opt did not run: refuse
    kAllowed,          // lease (or unmanaged partition without tenant) checked
    kCheckMembership,  // the job has a tenant: ask quotad, as the user, in user_init
    kDenied,
  };
  Kind kind = Kind::kUndecided;
  std::string message;  // refusal, in the "egret: ...; job N not started" shape
};

struct PluginState {
  bool config_parsed = false;
  std::string config_error;  // non-empty: the plugstack.conf line is wrong
  Config config;

  std::string tenant_option;  // --tenant, submit side only (the node never trusts it)

  JobFacts job;               // from slurmctld, remote side
  std::string tenant;         // the verified tenant, empty for none
  bool managed = false;       // the job's partition needs an admission lease
  std::string host;           // this node's name
  StepDecision decision;
};

PluginState& State();

// Parses the plugstack.conf words once per process; false (with State().config_error set)
// when they are wrong.
bool LoadConfig(int argc, char** argv);

}  // namespace egret::plugin

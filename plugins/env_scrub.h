// What a job's environment may keep. sbatch copies the submitter's whole environment into
// the job, so it can carry another tenant's paths (a shell that last worked on another
// tenant's data) or credentials (tokens, agent sockets). The plan is pure: the remote side
// applies it with spank_unsetenv/spank_setenv before the task execs.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace egret::plugin {

struct EnvRules {
  std::string tenants_root;                // paths below it, outside TENANT's dir, must go
  std::string tenant;                      // empty: the job has no tenant, every tenant path goes
  std::vector<std::string> private_roots;  // host paths of every job's private dirs: always go
  std::vector<std::string> keep;           // credential-like names admins let through
};

struct EnvPlan {
  std::vector<std::string> unset;                            // names, with the reason below
  std::vector<std::string> reasons;                          // parallel to unset
  std::vector<std::pair<std::string, std::string>> set;     // EGRET_* for this tenant
};

// Credential-like names: *TOKEN*, *SECRET*, *PASSWORD*, *API_KEY*, *ACCESS_KEY*, agent
// sockets, Kerberos caches and the like (case-insensitive).
bool IsCredentialName(std::string_view name);

// Whether VALUE mentions a path below TENANTS_ROOT that is not TENANT's own directory, in
// any of its ':'/','/';'/whitespace/'='-separated words, after resolving "." and "..".
bool MentionsForeignTenantPath(std::string_view value, std::string_view tenants_root,
                               std::string_view tenant);

// ENV holds "NAME=VALUE" entries. Unsets credential-like names (unless kept), values naming
// another tenant's path or any private job directory, and every EGRET_* variable (the plugin
// alone sets those); sets EGRET_TENANT, EGRET_DATA_DIR, EGRET_MODELS_DIR, EGRET_CKPT_DIR
// when the job has a tenant.
EnvPlan PlanEnvironment(const std::vector<std::string>& env, const EnvRules& rules);

}  // namespace egret::plugin

#include "plugins/env_scrub.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "plugins/paths.h"

namespace egret::plugin {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

bool IsSeparator(char ch) {
  return ch == ':' || ch == ',' || ch == ';' || ch == '=' || ch == '"' || ch == '\'' ||
         std::isspace(static_cast<unsigned char>(ch));
}

// Every maximal run of non-separator characters in VALUE that contains ROOT as a path start.
// URLs ("file:///srv/...") reach here as "///srv/..." after the ':' split, which normalizes.
template <typename F>
bool AnyWord(std::string_view value, F&& pred) {
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && IsSeparator(value[i])) ++i;
    size_t j = i;
    while (j < value.size() && !IsSeparator(value[j])) ++j;
    if (j > i && pred(value.substr(i, j - i))) return true;
    i = j;
  }
  return false;
}

// A word names a path below ROOT when, normalized, it is within ROOT. Words that only
// start somewhere inside another word ("x/srv/egret/...") are also checked from each '/'.
template <typename F>
bool AnyPathSuffix(std::string_view word, F&& pred) {
  for (size_t k = 0; k < word.size(); ++k)
    if (word[k] == '/' && (k == 0 || word[k - 1] != '/') && pred(word.substr(k))) return true;
  return false;
}

bool MentionsRoot(std::string_view value, std::string_view root) {
  return AnyWord(value, [&](std::string_view w) {
    return AnyPathSuffix(w, [&](std::string_view p) { return IsWithin(NormalizePath(p), root); });
  });
}

}  // namespace

bool IsCredentialName(std::string_view name) {
  static const char* const kExact[] = {
      "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "KRB5CCNAME", "KRB5_KTNAME",
      "XAUTHORITY", "NETRC", "PGPASSFILE", "AWS_PROFILE", "AWS_CONFIG_FILE", "SLURM_JWT",
      "DOCKER_CONFIG", "DOCKER_AUTH_CONFIG", "KUBECONFIG", "VAULT_ADDR", "MUNGE_SOCKET",
  };
  // Matched per '_'-separated word, so HF_TOKEN and PGPASSWORD go but
  // TOKENIZERS_PARALLELISM stays.
  static const char* const kWordEndings[] = {
      "TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASSPHRASE",
      "CREDENTIAL", "CREDENTIALS", "APIKEY", "COOKIE", "COOKIES",
  };
  // Two-word names: WANDB_API_KEY, AWS_ACCESS_KEY_ID, SSH_PRIVATE_KEY.
  static const char* const kKeyQualifiers[] = {"API", "ACCESS", "PRIVATE", "SESSION", "AUTH",
                                               "SECRET", "SIGNING", "ENCRYPTION"};
  std::string up = Upper(name);
  for (const char* e : kExact)
    if (up == e) return true;
  std::vector<std::string> words;
  size_t i = 0;
  while (i <= up.size()) {
    size_t j = up.find('_', i);
    if (j == std::string::npos) j = up.size();
    words.push_back(up.substr(i, j - i));
    i = j + 1;
  }
  for (size_t w = 0; w < words.size(); ++w) {
    const std::string& word = words[w];
    for (const char* end : kWordEndings) {
      size_t n = std::char_traits<char>::length(end);
      if (word.size() >= n && word.compare(word.size() - n, n, end) == 0) return true;
    }
    if (word == "KEY" && w > 0)
      for (const char* q : kKeyQualifiers)
        if (words[w - 1] == q) return true;
  }
  return false;
}

bool MentionsForeignTenantPath(std::string_view value, std::string_view tenants_root,
                               std::string_view tenant) {
  std::string root = NormalizePath(tenants_root);
  std::string own = tenant.empty() ? std::string() : root + "/" + std::string(tenant);
  return AnyWord(value, [&](std::string_view w) {
    return AnyPathSuffix(w, [&](std::string_view p) {
      std::string n = NormalizePath(p);
      if (!IsWithin(n, root) || n == root) return false;  // the root itself shows only our own
      return own.empty() || !IsWithin(n, own);
    });
  });
}

EnvPlan PlanEnvironment(const std::vector<std::string>& env, const EnvRules& rules) {
  EnvPlan plan;
  auto drop = [&](std::string name, std::string why) {
    if (std::find(plan.unset.begin(), plan.unset.end(), name) != plan.unset.end()) return;
    plan.unset.push_back(std::move(name));
    plan.reasons.push_back(std::move(why));
  };
  for (const std::string& entry : env) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string name = entry.substr(0, eq);
    std::string_view value = std::string_view(entry).substr(eq + 1);
    if (name.rfind("EGRET_", 0) == 0) {
      drop(name, "EGRET_* variables are set by egret.so only");
    } else if (IsCredentialName(name) &&
               std::find(rules.keep.begin(), rules.keep.end(), name) == rules.keep.end()) {
      drop(name, "credential-like name");
    } else if (MentionsForeignTenantPath(value, rules.tenants_root, rules.tenant)) {
      drop(name, "names another tenant's path");
    } else {
      for (const std::string& root : rules.private_roots) {
        if (MentionsRoot(value, root)) {
          drop(name, "names a private job directory");
          break;
        }
      }
    }
  }
  if (!rules.tenant.empty()) {
    std::string dir = NormalizePath(rules.tenants_root) + "/" + rules.tenant;
    plan.set = {{"EGRET_TENANT", rules.tenant},
                {"EGRET_DATA_DIR", dir + "/data"},
                {"EGRET_MODELS_DIR", dir + "/models"},
                {"EGRET_CKPT_DIR", dir + "/checkpoints"}};
  }
  return plan;
}

}  // namespace egret::plugin

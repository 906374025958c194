// Verifies a MUNGE credential from a TCP request: munged checks its signature, its expiry
// (the credential's TTL) and replay (a credential decodes once), and yields the uid and gid of
// the process that created it plus the payload it carries (here: the request itself, so a
// credential cannot be re-attached to another request).
#pragma once

#include <string>
#include <sys/types.h>

#include "common/result.h"

namespace egret::quotad {

struct MungeIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string payload;
};

Result<MungeIdentity> DecodeMungeCredential(const std::string& credential);

// For tests and the TCP client path in-process: encodes PAYLOAD with TTL_S (0: munged's default).
Result<std::string> EncodeMungeCredential(const std::string& payload, int ttl_s = 0);

}  // namespace egret::quotad

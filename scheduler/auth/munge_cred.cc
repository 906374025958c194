#include "scheduler/auth/munge_cred.h"

#include <munge.h>

#include <cstdlib>

namespace egret::quotad {

Result<MungeIdentity> DecodeMungeCredential(const std::string& credential) {
  void* buf = nullptr;
  int len = 0;
  MungeIdentity id;
  munge_err_t rc = munge_decode(credential.c_str(), nullptr, &buf, &len, &id.uid, &id.gid);
  std::string payload = buf ? std::string(static_cast<char*>(buf), static_cast<size_t>(len)) : "";
  std::free(buf);
  switch (rc) {
    case EMUNGE_SUCCESS:
      id.payload = std::move(payload);
      return id;
    case EMUNGE_CRED_REPLAYED:
      return Error("MUNGE credential was already used (replayed); each request needs a fresh one");
    case EMUNGE_CRED_EXPIRED:
      return Error("MUNGE credential has expired (check the clocks of both nodes)");
    case EMUNGE_CRED_REWOUND:
      return Error("MUNGE credential is from the future (check the clocks of both nodes)");
    default:
      return Error(std::string("MUNGE credential rejected: ") + munge_strerror(rc));
  }
}

Result<std::string> EncodeMungeCredential(const std::string& payload, int ttl_s) {
  munge_ctx_t ctx = munge_ctx_create();
  if (!ctx) return Error("cannot create a MUNGE context");
  if (ttl_s > 0) munge_ctx_set(ctx, MUNGE_OPT_TTL, ttl_s);
  char* cred = nullptr;
  munge_err_t rc = munge_encode(&cred, ctx, payload.data(), static_cast<int>(payload.size()));
  munge_ctx_destroy(ctx);
  if (rc != EMUNGE_SUCCESS) {
    std::free(cred);
    return Error(std::string("cannot create a MUNGE credential (is munged running?): ") +
                 munge_strerror(rc));
  }
  std::string out = cred;
  std::free(cred);
  return out;
}

}  // namespace egret::quotad

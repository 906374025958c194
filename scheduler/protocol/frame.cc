#include "scheduler/protocol/frame.h"

#include <cstring>

namespace egret::quotad {

HeaderStatus DecodeHeader(const char* data, FrameKind expected, uint32_t max_body,
                          FrameHeader* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  out->version = p[4];
  out->kind = static_cast<FrameKind>(p[5]);
  out->length = (uint32_t{p[8]} << 24) | (uint32_t{p[9]} << 16) | (uint32_t{p[10]} << 8) |
                uint32_t{p[11]};
  if (std::memcmp(data, kMagic, 4) != 0) return HeaderStatus::kBadMagic;
  if (out->version != kProtocolVersion) return HeaderStatus::kBadVersion;
  if (out->kind != expected) return HeaderStatus::kBadKind;
  if (p[6] != 0 || p[7] != 0) return HeaderStatus::kBadReserved;
  if (out->length > max_body) return HeaderStatus::kTooLarge;
  return HeaderStatus::kOk;
}

std::string DescribeHeaderStatus(HeaderStatus s, const FrameHeader& h, uint32_t max_body) {
  switch (s) {
    case HeaderStatus::kOk:
      return "ok";
    case HeaderStatus::kBadMagic:
      return "not an egret-quotad message (bad magic; expected \"EGQD\")";
    case HeaderStatus::kBadVersion:
      return "unsupported protocol version " + std::to_string(h.version) + " (this side speaks " +
             std::to_string(kProtocolVersion) + "; upgrade the older side)";
    case HeaderStatus::kBadKind:
      return "unexpected message kind " + std::to_string(static_cast<int>(h.kind));
    case HeaderStatus::kBadReserved:
      return "reserved header bytes must be zero";
    case HeaderStatus::kTooLarge:
      return "message of " + std::to_string(h.length) + " bytes exceeds the limit of " +
             std::to_string(max_body) + " bytes";
  }
  return "unknown header problem";
}

void AppendFrame(FrameKind kind, std::string_view body, std::string* out) {
  const auto n = static_cast<uint32_t>(body.size());
  char h[kHeaderSize] = {kMagic[0], kMagic[1], kMagic[2], kMagic[3],
                         static_cast<char>(kProtocolVersion), static_cast<char>(kind), 0, 0,
                         static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                         static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(h, kHeaderSize);
  out->append(body);
}

}  // namespace egret::quotad

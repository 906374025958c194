// egret-quotad's wire framing: every message, in both directions, is a 12-byte header and a
// JSON body (UTF-8, one object).
//
//   offset  size  field
//   0       4     magic "EGQD"
//   4       1     protocol version (kProtocolVersion)
//   5       1     kind: 'Q' request, 'R' reply
//   6       2     reserved, zero
//   8       4     body length in bytes, big-endian (<= kMaxRequestBody / kMaxReplyBody)
//
// The length comes first so a reader knows how much to buffer before parsing anything, and
// the limit is checked on the header alone, so an oversized message is refused without
// reading it. A connection carries any number of request/reply pairs, strictly in order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace egret::quotad {

inline constexpr char kMagic[4] = {'E', 'G', 'Q', 'D'};
inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kHeaderSize = 12;
// Requests are small (a job id, a tenant, a partition); replies may carry a whole view.
inline constexpr uint32_t kMaxRequestBody = 64 * 1024;
inline constexpr uint32_t kMaxReplyBody = 16 * 1024 * 1024;

enum class FrameKind : uint8_t { kRequest = 'Q', kReply = 'R' };

enum class HeaderStatus {
  kOk,
  kBadMagic,       // not our protocol at all (or a desynchronised stream)
  kBadVersion,     // ours, but a version this side does not speak
  kBadKind,
  kBadReserved,
  kTooLarge,
};

struct FrameHeader {
  uint8_t version = 0;
  FrameKind kind = FrameKind::kRequest;
  uint32_t length = 0;
};

// Decodes the first kHeaderSize bytes of DATA (the caller guarantees that many).
HeaderStatus DecodeHeader(const char* data, FrameKind expected, uint32_t max_body,
                          FrameHeader* out);

// A human-readable sentence for a header problem, used in error replies and logs.
std::string DescribeHeaderStatus(HeaderStatus s, const FrameHeader& h, uint32_t max_body);

// Appends a complete frame (header + body) to OUT.
void AppendFrame(FrameKind kind, std::string_view body, std::string* out);

}  // namespace egret::quotad

// The wire format's pure parts: frame headers (each way a header can be wrong is named), and
// the JSON the daemon writes by hand (escaping, invalid UTF-8, numbers that read back exactly),
// checked against an independent parser (nlohmann::json).
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "scheduler/protocol/frame.h"
#include "scheduler/protocol/json_text.h"

namespace egret::quotad {
namespace {

std::string Header(uint32_t len, uint8_t version = kProtocolVersion, char kind = 'Q') {
  std::string f;
  AppendFrame(FrameKind::kRequest, std::string(len, 'x'), &f);
  f[4] = static_cast<char>(version);
  f[5] = kind;
  return f.substr(0, kHeaderSize);
}

TEST(Frame, DecodesWhatItEncodes) {
  std::string f;
  AppendFrame(FrameKind::kReply, R"({"ok":true})", &f);
  ASSERT_EQ(f.size(), kHeaderSize + 11);
  EXPECT_EQ(f.substr(0, 4), "EGQD");
  FrameHeader h;
  EXPECT_EQ(DecodeHeader(f.data(), FrameKind::kReply, kMaxReplyBody, &h), HeaderStatus::kOk);
  EXPECT_EQ(h.length, 11u);
  // Big-endian length: 0x00010203.
  std::string big = Header(0);
  big[8] = 0, big[9] = 1, big[10] = 2, big[11] = 3;
  EXPECT_EQ(DecodeHeader(big.data(), FrameKind::kRequest, UINT32_MAX, &h), HeaderStatus::kOk);
  EXPECT_EQ(h.length, 0x00010203u);
}

TEST(Frame, NamesEachProblem) {
  FrameHeader h;
  std::string bad = Header(5);
  bad[0] = 'X';
  EXPECT_EQ(DecodeHeader(bad.data(), FrameKind::kRequest, kMaxRequestBody, &h), HeaderStatus::kBadMagic);
  std::string v2 = Header(5, 2);
  EXPECT_EQ(DecodeHeader(v2.data(), FrameKind::kRequest, kMaxRequestBody, &h), HeaderStatus::kBadVersion);
  EXPECT_EQ(DescribeHeaderStatus(HeaderStatus::kBadVersion, h, kMaxRequestBody),
            "unsupported protocol version 2 (this side speaks 1; upgrade the older side)");
  std::string reply = Header(5, kProtocolVersion, 'R');
  EXPECT_EQ(DecodeHeader(reply.data(), FrameKind::kRequest, kMaxRequestBody, &h), HeaderStatus::kBadKind);
  std::string reserved = Header(5);
  reserved[7] = 1;
  EXPECT_EQ(DecodeHeader(reserved.data(), FrameKind::kRequest, kMaxRequestBody, &h), HeaderStatus::kBadReserved);
  std::string big = Header(0);
  big[8] = 1;  // 16 MiB
  EXPECT_EQ(DecodeHeader(big.data(), FrameKind::kRequest, kMaxRequestBody, &h), HeaderStatus::kTooLarge);
  EXPECT_EQ(DescribeHeaderStatus(HeaderStatus::kTooLarge, h, kMaxRequestBody),
            "message of 16777216 bytes exceeds the limit of 65536 bytes");
}

TEST(JsonText, EscapesAndReadsBackExactly) {
  std::string s;
  JsonObject o(&s);
  std::string tricky = "q\"uo\\te\n\t\x01 caf\xc3\xa9 \xe2\x82\xac end";
  o.Str("s", tricky).Num("t", 1795641289.069).Num("small", 0.1).Num("big", 1e300).Int("i", -42)
      .Int("max", std::numeric_limits<int64_t>::max()).Bool("b", true).Null("n").Raw("r", "[1,2]");
  o.Close();
  auto j = nlohmann::json::parse(s);
  EXPECT_EQ(j["s"], tricky);
  EXPECT_EQ(j["t"].get<double>(), 1795641289.069);
  EXPECT_EQ(j["small"].get<double>(), 0.1);
  EXPECT_EQ(j["big"].get<double>(), 1e300);
  EXPECT_EQ(j["i"], -42);
  EXPECT_EQ(j["max"].get<int64_t>(), std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(j["n"].is_null());
  EXPECT_EQ(j["r"].size(), 2u);
}

TEST(JsonText, ReplacesInvalidUtf8AndNeverWritesNonFiniteNumbers) {
  std::string s;
  JsonObject o(&s);
  o.Str("s", std::string("a\xff" "b\xc3", 4)).Num("inf", std::numeric_limits<double>::infinity())
      .Num("nan", std::nan(""));
  o.Close();
  auto j = nlohmann::json::parse(s);  // would throw on invalid UTF-8 or a bare inf/nan
  EXPECT_EQ(j["s"], "a\xef\xbf\xbd" "b\xef\xbf\xbd");
  EXPECT_TRUE(j["inf"].is_null());
  EXPECT_TRUE(j["nan"].is_null());
}

}  // namespace
}  // namespace egret::quotad

// The TCP listener for other nodes: each request travels inside a MUNGE credential whose uid is
// the caller; replayed and expired credentials, and requests without one, are refused. Needs
// munged, which the cluster fixture runs (hence the slurm label).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "scheduler/auth/munge_cred.h"
#include "scheduler/protocol/frame.h"
#include "tests/quotad/daemon_harness.h"
#include "tests/quotad/test_config.h"

namespace egret::quotad {
namespace {

using nlohmann::json;
using testing::Daemon;

class MungeTcp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    d_ = new Daemon("tcp", testing::kUnitConfig, {"--tcp", "127.0.0.1:0"});
    Status s = d_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message();
    std::smatch m;
    std::string log = d_->log();
    ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(tcp 127\.0\.0\.1:0 \(port (\d+)\))"))) << log;
    port_ = std::stoi(m[1]);
  }
  static void TearDownTestSuite() { delete d_; }
  static std::string Address() { return "tcp://127.0.0.1:" + std::to_string(port_); }

  // Sends BODY as one frame over a new TCP connection and returns the reply body.
  static json RawCall(const std::string& body) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {{"connect", false}};
    std::string f;
    AppendFrame(FrameKind::kRequest, body, &f);
    (void)!::send(fd, f.data(), f.size(), MSG_NOSIGNAL);
    std::string buf;
    char tmp[4096];
    ssize_t n;
    while ((n = ::recv(fd, tmp, sizeof tmp, 0)) > 0) {
      buf.append(tmp, static_cast<size_t>(n));
      if (buf.size() >= kHeaderSize) {
        FrameHeader h;
        DecodeHeader(buf.data(), FrameKind::kReply, kMaxReplyBody, &h);
        if (buf.size() >= kHeaderSize + h.length) break;
      }
    }
    ::close(fd);
    if (buf.size() < kHeaderSize) return {{"eof", true}};
    return json::parse(buf.substr(kHeaderSize), nullptr, false);
  }

  static Daemon* d_;
  static int port_;
};
Daemon* MungeTcp::d_ = nullptr;
int MungeTcp::port_ = 0;

TEST_F(MungeTcp, TheCredentialsUidIsTheCaller) {
  auto c = Connection::Open(Address(), 5);
  ASSERT_TRUE(c.ok()) << c.error().message();
  auto r = (*c)->Call({{"op", "ping"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ((*r)["uid"], 0);
  EXPECT_EQ((*r)["admin"], true);
  std::string out = testing::AsUser("nobody", [&]() -> std::string {
    auto c2 = Connection::Open(Address(), 5);
    if (!c2.ok()) return c2.error().message();
    auto p = (*c2)->Call({{"op", "ping"}});
    auto a = (*c2)->Call({{"op", "acquire"}, {"job_id", 3}, {"tenant", "acme"}, {"partition", "gpu"}, {"gpus", 1}});
    if (!p.ok() || !a.ok()) return "transport error";
    return std::to_string((*p)["uid"].get<int>()) + " " + (*a).value("code", "");
  });
  EXPECT_EQ(out, std::to_string(::getpwnam("nobody")->pw_uid) + " forbidden");
}

TEST_F(MungeTcp, ReplayedCredentialsAreRefused) {
  auto cred = EncodeMungeCredential(R"({"op":"acquire","job_id":5,"tenant":"acme","partition":"gpu","gpus":1})");
  ASSERT_TRUE(cred.ok()) << cred.error().message();
  std::string body = json{{"munge", *cred}}.dump();
  json first = RawCall(body);
  EXPECT_EQ(first.value("decision", ""), "granted") << first.dump();
  json replay = RawCall(body);
  EXPECT_EQ(replay.value("code", ""), "forbidden") << replay.dump();
  EXPECT_NE(replay.value("error", "").find("replayed"), std::string::npos) << replay.dump();
}

TEST_F(MungeTcp, ExpiredCredentialsAreRefused) {
  auto cred = EncodeMungeCredential(R"({"op":"ping"})", /*ttl_s=*/1);
  ASSERT_TRUE(cred.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  json r = RawCall(json{{"munge", *cred}}.dump());
  EXPECT_EQ(r.value("code", ""), "forbidden") << r.dump();
  EXPECT_NE(r.value("error", "").find("expired"), std::string::npos) << r.dump();
}

TEST_F(MungeTcp, RequestsWithoutACredentialAreRefused) {
  json r = RawCall(R"({"op":"query","view":"leases","uid":0})");
  EXPECT_EQ(r.value("code", ""), "forbidden") << r.dump();
  EXPECT_NE(r.value("error", "").find("MUNGE credential"), std::string::npos);
  json forged = RawCall(json{{"munge", "MUNGE:not-a-credential:"}}.dump());
  EXPECT_EQ(forged.value("code", ""), "forbidden") << forged.dump();
}

}  // namespace
}  // namespace egret::quotad

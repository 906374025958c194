// Bad input on the wire: garbage, oversized and truncated messages, a wrong version, bodies
// that are not what they claim, a client that sends slowly (slowloris), and a user opening too
// many connections. Each is refused with an error reply where one can be sent, and the daemon
// keeps serving everyone else.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "scheduler/client/quotad_client.h"
#include "scheduler/protocol/frame.h"
#include "tests/quotad/daemon_harness.h"
#include "tests/quotad/test_config.h"

namespace egret::quotad {
namespace {

using nlohmann::json;
using testing::Daemon;

// A raw client socket, to send what Connection never would.
class Raw {
 public:
  explicit Raw(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Raw() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& bytes) { (void)!::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // Reads one reply frame (or what arrives before EOF / TIMEOUT_S). Returns its JSON body, or
  // "EOF"/"TIMEOUT"/"BADFRAME".
  std::string ReadReply(double timeout_s = 5) {
    std::string& buf = pending_;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      if (buf.size() >= kHeaderSize) {
        FrameHeader h;
        if (DecodeHeader(buf.data(), FrameKind::kReply, kMaxReplyBody, &h) != HeaderStatus::kOk) return "BADFRAME";
        if (buf.size() >= kHeaderSize + h.length) {
          std::string body = buf.substr(kHeaderSize, h.length);
          buf.erase(0, kHeaderSize + h.length);  // replies to pipelined requests may share a read
          return body;
        }
      }
      int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now()).count());
      if (ms <= 0) return "TIMEOUT";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, ms) <= 0) return "TIMEOUT";
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return "EOF";
      buf.append(tmp, static_cast<size_t>(n));
    }
  }
  bool ClosedByPeer(double timeout_s = 5) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_s * 1000)) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string pending_;
};

std::string Frame(const std::string& body, uint8_t version = kProtocolVersion) {
  std::string f;
  AppendFrame(FrameKind::kRequest, body, &f);
  f[4] = static_cast<char>(version);
  return f;
}

json Body(const std::string& reply) {
  json j = json::parse(reply, nullptr, false);
  return j.is_discarded() ? json{{"unparsed", reply}} : j;
}

class ProtocolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = new Daemon("proto", testing::kUnitConfig,
                         {"--request-timeout", "1", "--max-connections-per-user", "8"});
    Status s = daemon_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
  }
  void TearDown() override {
    // Whatever a test sent, the daemon still serves a normal request.
    auto r = daemon_->Call({{"op", "ping"}});
    ASSERT_TRUE(r.ok()) << r.error().message() << "\n" << daemon_->log();
    EXPECT_TRUE((*r)["ok"].get<bool>());
    EXPECT_TRUE(daemon_->Alive());
  }
  static Daemon* daemon_;
};
Daemon* ProtocolTest::daemon_ = nullptr;

TEST_F(ProtocolTest, GarbageGetsAnErrorReplyAndTheConnectionClosed) {
  Raw r(daemon_->socket());
  ASSERT_TRUE(r.connected());
  r.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  json reply = Body(r.ReadReply());
  EXPECT_EQ(reply.value("ok", true), false);
  EXPECT_EQ(reply.value("code", ""), "bad_request");
  EXPECT_NE(reply.value("error", "").find("bad magic"), std::string::npos) << reply.dump();
  EXPECT_TRUE(r.ClosedByPeer());
}

TEST_F(ProtocolTest, OversizedMessageIsRefusedFromItsHeaderAlone) {
  Raw r(daemon_->socket());
  std::string header = Frame("");
  uint32_t n = 100u * 1024 * 1024;
  header[8] = static_cast<char>(n >> 24);
  header[9] = static_cast<char>(n >> 16);
  header[10] = static_cast<char>(n >> 8);
  header[11] = static_cast<char>(n);
  r.Send(header);
  json reply = Body(r.ReadReply());
  EXPECT_EQ(reply.value("ok", true), false);
  EXPECT_NE(reply.value("error", "").find("exceeds the limit of 65536 bytes"), std::string::npos) << reply.dump();
  EXPECT_TRUE(r.ClosedByPeer());
}

TEST_F(ProtocolTest, WrongVersionIsNamed) {
  Raw r(daemon_->socket());
  r.Send(Frame(R"({"op":"ping"})", 2));
  json reply = Body(r.ReadReply());
  EXPECT_NE(reply.value("error", "").find("unsupported protocol version 2"), std::string::npos) << reply.dump();
  EXPECT_TRUE(r.ClosedByPeer());
}

TEST_F(ProtocolTest, TruncatedMessageIsDroppedWithoutHarm) {
  {
    Raw r(daemon_->socket());
    std::string f = Frame(R"({"op":"acquire","job_id":1,"tenant":"acme","partition":"gpu","gpus":1})");
    r.Send(f.substr(0, f.size() - 10));
  }  // closed mid-message
  auto leases = daemon_->Call({{"op", "get_lease"}, {"job_id", 1}});
  ASSERT_TRUE(leases.ok());
  EXPECT_EQ((*leases)["code"], "not_found") << "a truncated acquire must not be acted on";
}

TEST_F(ProtocolTest, MalformedBodiesAreRefusedAndTheConnectionStaysUsable) {
  Raw r(daemon_->socket());
  struct Case {
    std::string body, expect;
  } cases[] = {
      {"{not json", "not valid JSON"},
      {"[1,2,3]", "must be a JSON object"},
      {R"({"no_op":1})", "lacks \"op\""},
      {R"({"op":42})", "lacks \"op\""},
      {R"({"op":"teleport"})", "unknown op 'teleport'"},
      {R"({"op":"acquire","job_id":"7","tenant":"acme","partition":"gpu","gpus":1})", "acquire needs job_id"},
      {R"({"op":"acquire","job_id":-7,"tenant":"acme","partition":"gpu","gpus":1})", "acquire needs job_id"},
      {R"({"op":"acquire","job_id":99999999999,"tenant":"acme","partition":"gpu","gpus":1})", "acquire needs job_id"},
      {R"({"op":"release","job_id":7})", "release needs job_id"},
      {R"({"op":"heartbeat","job_ids":"7"})", "heartbeat needs job_ids"},
      {R"({"op":"query","view":"passwords"})", "unknown view 'passwords'"},
      {std::string("{\"op\":\"ping\",\"x\":\"\xff\xfe\"}"), "not valid JSON"},
  };
  for (const Case& c : cases) {
    r.Send(Frame(c.body));
    json reply = Body(r.ReadReply());
    EXPECT_EQ(reply.value("ok", true), false) << c.body;
    EXPECT_NE(reply.value("error", "").find(c.expect), std::string::npos)
        << c.body << " -> " << reply.dump();
  }
  r.Send(Frame(R"({"op":"ping"})"));
  EXPECT_EQ(Body(r.ReadReply()).value("ok", false), true) << "the connection must still work";
}

TEST_F(ProtocolTest, PipelinedRequestsAreAnsweredInOrder) {
  Raw r(daemon_->socket());
  r.Send(Frame(R"({"op":"query","view":"why:77"})") + Frame(R"({"op":"ping"})") +
         Frame(R"({"op":"query","view":"tenants"})"));
  EXPECT_EQ(Body(r.ReadReply()).value("code", ""), "not_found");
  EXPECT_EQ(Body(r.ReadReply()).value("ok", false), true);
  json third = Body(r.ReadReply());
  EXPECT_EQ(third.value("view", ""), "tenants");
}

TEST_F(ProtocolTest, ASlowClientIsCutOffWhileOthersAreServed) {
  Raw slow(daemon_->socket());
  std::string f = Frame(R"({"op":"ping"})");
  slow.Send(f.substr(0, 5));  // and then nothing more
  // Meanwhile, others are served at once.
  for (int i = 0; i < 20; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = daemon_->Call({{"op", "ping"}});
    ASSERT_TRUE(r.ok());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  }
  // After the request timeout (1 s here) the slow one gets an error and is closed.
  json reply = Body(slow.ReadReply(5));
  EXPECT_NE(reply.value("error", "").find("not received whole within 1 s"), std::string::npos) << reply.dump();
  EXPECT_TRUE(slow.ClosedByPeer());
}

TEST_F(ProtocolTest, ManyConnectionsOfOneUserDoNotLockOthersOut) {
  std::string out = testing::AsUser("nobody", [&]() -> std::string {
    std::vector<std::unique_ptr<Raw>> held;
    int refused = 0;
    for (int i = 0; i < 20; ++i) {
      auto r = std::make_unique<Raw>(daemon_->socket());
      r->Send(Frame(R"({"op":"ping"})"));
      json reply = Body(r->ReadReply(2));
      if (reply.value("ok", false)) held.push_back(std::move(r));
      else if (reply.value("error", "").find("connections to egret-quotad (limit 8)") != std::string::npos) refused++;
    }
    return std::to_string(held.size()) + " " + std::to_string(refused);
  });
  EXPECT_EQ(out, "8 12") << "nobody may hold 8 connections; the rest are refused";
}

TEST_F(ProtocolTest, ABadClientCannotCrashTheClientLibraryEither) {
  // The reverse direction: a server that answers garbage. The client must return an error,
  // never throw or crash (it runs inside slurmstepd).
  std::string path = daemon_->dir() + "/fake.sock";
  int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);
  std::thread server([&] {
    for (const std::string& reply : {std::string("garbage garbage"), [] {
                                      std::string f;
                                      AppendFrame(FrameKind::kReply, "{\"ok\":true,\"lease\":{\"job_id\":\"x\"}}", &f);
                                      return f;
                                    }()}) {
      int c = ::accept(lfd, nullptr, nullptr);
      char buf[4096];
      (void)!::recv(c, buf, sizeof buf, 0);
      (void)!::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  });
  auto c1 = Client::Connect(path, 2);
  ASSERT_TRUE(c1.ok());
  auto l1 = (*c1)->GetLease(5);
  EXPECT_FALSE(l1.ok());
  auto c2 = Client::Connect(path, 2);
  ASSERT_TRUE(c2.ok());
  auto l2 = (*c2)->GetLease(5);
  EXPECT_FALSE(l2.ok());
  server.join();
  ::close(lfd);
}

TEST(ClientErrors, NameTheSocketAndTheCause) {
  auto c = Client::Connect("/tmp/egret-no-such-dir/quotad.sock", 1);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("/tmp/egret-no-such-dir/quotad.sock"), std::string::npos);
  EXPECT_NE(c.error().message().find("no such socket"), std::string::npos) << c.error().message();
}

}  // namespace
}  // namespace egret::quotad

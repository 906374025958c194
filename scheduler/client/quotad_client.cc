#include "scheduler/client/quotad_client.h"

#include "scheduler/client/connection.h"
#include "scheduler/protocol/messages.h"

namespace egret::quotad {

using nlohmann::json;

namespace {

// Every entry point catches everything: this code runs inside sbatch, srun and slurmstepd,
// where an escaping exception would take the process down.
template <typename F>
auto Guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error(std::string("egret-quotad client: ") + e.what());
  } catch (...) {
    return Error("egret-quotad client: unexpected failure");
  }
}

class SocketClient final : public Client {
 public:
  explicit SocketClient(std::unique_ptr<Connection> c) : conn_(std::move(c)) {}

  Result<SubmitVerdict> CheckSubmit(const std::string& account, const std::string& partition,
                                    int gpus) override {
    return Guard([&]() -> Result<SubmitVerdict> {
      EGRET_ASSIGN_OR_RETURN(json r, conn_->CallOk({{"op", "check_submit"},
                                                    {"account", account},
                                                    {"partition", partition},
                                                    {"gpus", gpus}}));
      SubmitVerdict v;
      v.allowed = GetBool(r, "allowed").value_or(false);
      v.reason = GetString(r, "reason").value_or("");
      return v;
    });
  }

  Result<Lease> GetLease(uint32_t job_id) override {
    return Guard([&]() -> Result<Lease> {
      EGRET_ASSIGN_OR_RETURN(json r, conn_->CallOk({{"op", "get_lease"}, {"job_id", job_id}}));
      auto it = r.find("lease");
      if (it == r.end()) return Error("egret-quotad reply lacks the lease");
      return LeaseFromJson(*it);
    });
  }

  Status ReleaseLease(uint32_t job_id, int64_t end_time_s) override {
    return Guard([&]() -> Status {
      EGRET_TRY(conn_->CallOk({{"op", "release"}, {"job_id", job_id}, {"end_time", end_time_s}}));
      return Ok();
    });
  }

  Result<std::string> Query(const std::string& view) override {
    return Guard([&]() -> Result<std::string> {
      EGRET_ASSIGN_OR_RETURN(json r, conn_->CallOk({{"op", "query"}, {"view", view}}));
      auto it = r.find("result");
      if (it == r.end()) return Error("egret-quotad reply lacks the result");
      return it->dump(-1, ' ', false, json::error_handler_t::replace);
    });
  }

 private:
  std::unique_ptr<Connection> conn_;
};

}  // namespace

Result<std::unique_ptr<Client>> Client::Connect(const std::string& socket_path,
                                                double timeout_s) {
  return Guard([&]() -> Result<std::unique_ptr<Client>> {
    EGRET_ASSIGN_OR_RETURN(auto conn, Connection::Open(socket_path, timeout_s));
    return std::unique_ptr<Client>(new SocketClient(std::move(conn)));
  });
}

}  // namespace egret::quotad

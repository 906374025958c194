#include "scheduler/daemon/service.h"

#include <algorithm>

#include "common/strings.h"
#include "scheduler/core/charging.h"
#include "scheduler/core/submit_check.h"
#include "scheduler/core/views.h"
#include "scheduler/protocol/frame.h"
#include "scheduler/protocol/json_text.h"
#include "scheduler/protocol/messages.h"

namespace egret::quotad {

using nlohmann::json;

namespace {

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::optional<uint32_t> JobIdOf(const json& req) {
  auto v = GetInt(req, "job_id");
  if (!v || *v <= 0 || *v > static_cast<int64_t>(UINT32_MAX)) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

}  // namespace

Service::Service(Engine* engine, ServiceOptions options)
    : engine_(engine), options_(std::move(options)) {}

Service::Caller Service::Resolve(const Peer& peer) {
  uint64_t gen = engine_->config_generation();
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> l(callers_mu_);
    auto it = callers_.find(peer.uid);
    if (it != callers_.end() && it->second.generation == gen && now - it->second.at < std::chrono::seconds(60))
      return it->second.caller;
  }
  Caller c = ResolveUncached(peer);
  std::lock_guard<std::mutex> l(callers_mu_);
  if (callers_.size() > 65536) callers_.clear();
  callers_[peer.uid] = CachedCaller{c, gen, now};
  return c;
}

Service::Caller Service::ResolveUncached(const Peer& peer) {
  Caller c;
  c.uid = peer.uid;
  c.id = identities_.Lookup(peer.uid);
  auto cfg = engine_->Read([](const QuotaState& s) { return s.config_ptr(); });
  c.admin = peer.uid == 0 || (!c.id->user.empty() && cfg->IsAdmin(c.id->user, c.id->groups));
  c.lease_rights = c.admin || std::find(options_.lease_uids.begin(), options_.lease_uids.end(),
                                        peer.uid) != options_.lease_uids.end();
  return c;
}

std::string Service::Describe(const Caller& c) const {
  return "uid " + std::to_string(c.uid) + (c.id->user.empty() ? "" : " (" + c.id->user + ")");
}

void Service::Handle(const Peer& peer, const std::string& op, const json& req, ReplyToken token) {
  Caller c = Resolve(peer);
  if (op == "ping") {
    token.Send(Dump({{"ok", true}, {"uid", c.uid}, {"user", c.id->user}, {"admin", c.admin},
                     {"protocol", kProtocolVersion}}));
  } else if (op == "check_submit") {
    CheckSubmit(c, req, token);
  } else if (op == "acquire" || op == "release" || op == "heartbeat" || op == "get_lease") {
    if (!c.lease_rights) {
      engine_->audit()->Record("refused", {{"op", op}, {"uid", c.uid}, {"user", c.id->user}},
                               Seconds(engine_->NowMs()));
      token.Send(ErrorBody(code::kForbidden, "only root, the SlurmUser or an egret admin may " + op +
                                                 " leases; " + Describe(c) + " may not"));
      return;
    }
    if (op == "acquire") Acquire(c, req, token);
    else if (op == "release") Release(c, req, token);
    else if (op == "heartbeat") Heartbeat(c, req, token);
    else GetLease(c, req, token);
  } else if (op == "query") {
    Query(c, req, token);
  } else if (op == "reload") {
    Reload(c, token);
  } else {
    token.Send(ErrorBody(code::kBadRequest,
                         "unknown op '" + op +
                             "' (known: ping, check_submit, acquire, release, heartbeat, "
                             "get_lease, query, reload)"));
  }
}

void Service::CheckSubmit(const Caller& c, const json& req, ReplyToken token) {
  auto account = GetString(req, "account");
  auto partition = GetString(req, "partition");
  auto gpus = GetInt(req, "gpus");
  if (!account || !partition || !gpus || *gpus < 0) {
    token.Send(ErrorBody(code::kBadRequest,
                         "check_submit needs account (string), partition (string), gpus (>= 0)"));
    return;
  }
  int64_t now = engine_->NowMs();
  SubmitVerdict v = engine_->Read([&](const QuotaState& s) {
    return CheckSubmitFor(s, c.id->user, c.id->groups, c.admin, *account, *partition,
                          static_cast<int>(*gpus), now);
  });
  if (!v.allowed)
    engine_->audit()->Record("submit_refused",
                             {{"user", c.id->user}, {"uid", c.uid}, {"tenant", *account},
                              {"partition", *partition}, {"gpus", *gpus}, {"reason", v.reason}},
                             Seconds(now));
  token.Send(Dump({{"ok", true}, {"allowed", v.allowed}, {"reason", v.reason}}));
}

void Service::Acquire(const Caller& c, const json& req, ReplyToken token) {
  auto job = JobIdOf(req);
  auto tenant = GetString(req, "tenant");
  auto partition = GetString(req, "partition");
  auto gpus = GetInt(req, "gpus");
  if (!job || !tenant || !partition || !gpus || *gpus < 0 || *gpus > 1'000'000) {
    token.Send(ErrorBody(code::kBadRequest,
                         "acquire needs job_id (1..4294967295), tenant, partition, gpus (>= 0)"));
    return;
  }
  AcquireRequest r;
  r.job_id = *job;
  r.tenant = *tenant;
  r.partition = *partition;
  r.gpus = static_cast<int>(*gpus);
  r.time_limit_s = GetNumber(req, "time_limit_s").value_or(0);
  int64_t now = engine_->NowMs();
  auto result = std::make_shared<Result<AcquireResult>>(Error(""));
  Engine* engine = engine_;
  std::string user = c.id->user;
  // The reply is built after the commit, from the decision made under the lock.
  engine_->Mutate(
      [&](QuotaState& s, std::vector<LedgerOp>* ops) {
        *result = s.Acquire(r, now, ops);
        return 0;
      },
      [result, token, engine, now, user](const Status& st) {
        if (!st.ok()) {
          token.Send(ErrorBody(code::kInternal, "ledger failure: " + st.error().message()));
          return;
        }
        if (!result->ok()) {
          token.Send(ErrorBody(code::kBadRequest, result->error().message()));
          return;
        }
        const AcquireResult& a = **result;
        std::string reply;
        reply.reserve(512);
        JsonObject o(&reply);
        o.Bool("ok", true).Str("decision", DecisionName(a.decision)).Str("reason", a.reason).Bool("existing", a.existing);
        if (a.decision != Decision::kDenied) o.Raw("lease", LeaseJsonText(a.lease, now));
        o.Close();
        if (!a.existing) {
          engine->Count(DecisionName(a.decision));
          engine->audit()->RecordFields("acquire", Seconds(now), [&](JsonObject& f) {
            f.Int("job_id", a.lease.job_id)
                .Str("decision", DecisionName(a.decision))
                .Str("reason", a.reason)
                .Str("tenant", a.lease.tenant)
                .Str("partition", a.lease.partition)
                .Int("gpus", a.lease.gpus)
                .Str("by", user);
          });
        }
        token.Send(std::move(reply));
      });
}

void Service::Release(const Caller& c, const json& req, ReplyToken token) {
  auto job = JobIdOf(req);
  auto end = GetNumber(req, "end_time");
  if (!job || !end || *end < 0) {
    token.Send(ErrorBody(code::kBadRequest, "release needs job_id (1..4294967295) and end_time (unix seconds)"));
    return;
  }
  int64_t now = engine_->NowMs();
  int64_t end_ms = Millis(*end);
  Engine* engine = engine_;
  std::string user = c.id->user;
  auto result = std::make_shared<ReleaseResult>();
  engine_->Mutate(
      [&](QuotaState& s, std::vector<LedgerOp>* ops) {
        *result = s.Release(*job, end_ms, "released", now, ops);
        return 0;
      },
      [result, token, engine, now, user, job = *job](const Status& st) {
        if (!st.ok()) {
          token.Send(ErrorBody(code::kInternal, "ledger failure: " + st.error().message()));
          return;
        }
        if (result->closed) {
          engine->Count("released");
          engine->audit()->RecordFields("release", Seconds(now), [&](JsonObject& f) {
            f.Int("job_id", job)
                .Str("tenant", result->lease->tenant)
                .Num("charged_units", result->units)
                .Str("by", user)
                .Num("end_time", Seconds(result->lease->closed_ms));
          });
        }
        std::string reply;
        JsonObject o(&reply);
        o.Bool("ok", true).Bool("closed", result->closed).Num("charged", result->units).Str("message", result->message);
        o.Close();
        token.Send(std::move(reply));
      });
}

void Service::Heartbeat(const Caller&, const json& req, ReplyToken token) {
  auto it = req.find("job_ids");
  if (it == req.end() || !it->is_array() || it->size() > 10000) {
    token.Send(ErrorBody(code::kBadRequest, "heartbeat needs job_ids (an array of at most 10000 job ids)"));
    return;
  }
  std::vector<uint32_t> jobs;
  for (const auto& v : *it) {
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > UINT32_MAX) {
      token.Send(ErrorBody(code::kBadRequest, "heartbeat: job_ids must be positive integers"));
      return;
    }
    jobs.push_back(static_cast<uint32_t>(v.get<int64_t>()));
  }
  int64_t now = engine_->NowMs();
  auto alive = std::make_shared<json>(json::array());
  auto unknown = std::make_shared<json>(json::array());
  engine_->Mutate(
      [&](QuotaState& s, std::vector<LedgerOp>* ops) {
        for (uint32_t j : jobs) (s.Touch(j, now, 0, ops) ? alive : unknown)->push_back(j);
        return 0;
      },
      [token, alive, unknown](const Status& st) {
        if (!st.ok()) {
          token.Send(ErrorBody(code::kInternal, "ledger failure: " + st.error().message()));
          return;
        }
        token.Send(Dump({{"ok", true}, {"alive", *alive}, {"unknown", *unknown}}));
      });
}

void Service::GetLease(const Caller&, const json& req, ReplyToken token) {
  auto job = JobIdOf(req);
  if (!job) {
    token.Send(ErrorBody(code::kBadRequest, "get_lease needs job_id (1..4294967295)"));
    return;
  }
  int64_t now = engine_->NowMs();
  std::string body = engine_->Read([&](const QuotaState& s) {
    if (const LeaseRecord* l = s.OpenLease(*job)) return "{\"ok\":true,\"lease\":" + LeaseJsonText(*l, now) + "}";
    std::string id = std::to_string(*job);
    if (const LeaseRecord* l = s.LastClosedLease(*job))
      return ErrorBody(code::kNotFound, "job " + id + " holds no admission lease: its lease was closed (" +
                                            l->close_reason + ")");
    for (const QueueEntry& q : s.queue())
      if (q.job_id == *job)
        return ErrorBody(code::kNotFound, "job " + id + " holds no admission lease: it waits for egret-quotad (" +
                                              q.reason + ")");
    return ErrorBody(code::kNotFound, "job " + id +
                                          " holds no admission lease: it was not released by egret-quotad");
  });
  token.Send(std::move(body));
}

void Service::Query(const Caller& c, const json& req, ReplyToken token) {
  auto view = GetString(req, "view");
  if (!view || view->size() > 64) {
    token.Send(ErrorBody(code::kBadRequest, std::string("query needs view: one of ") + kViews));
    return;
  }
  Scope scope;
  scope.all = c.admin;
  std::string scope_key = "*";
  if (!scope.all) {
    auto cfg = engine_->Read([](const QuotaState& s) { return s.config_ptr(); });
    scope_key.clear();
    for (const auto* t : cfg->TenantsOf(c.id->user, c.id->groups)) {
      scope.tenants.insert(t->name);
      scope_key += t->name + ",";
    }
  }
  int64_t now = engine_->NowMs();
  std::string key = *view + "|" + scope_key;
  uint64_t version = engine_->Read([](const QuotaState& s) { return s.version(); });
  {
    std::lock_guard<std::mutex> l(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.version == version && now - it->second.built_ms < 1000) {
      token.Send(it->second.body);
      return;
    }
  }
  std::string err_code;
  std::string body;
  engine_->Read([&](const QuotaState& s) {
    version = s.version();
    auto r = BuildView(s, *view, scope, now, &err_code);
    body = r.ok() ? Dump({{"ok", true}, {"view", *view}, {"result", *r}})
                  : ErrorBody(err_code, r.error().message());
    return 0;
  });
  if (body.size() > kMaxReplyBody)
    body = ErrorBody(code::kInternal, "view " + *view + " is larger than a reply may be");
  {
    std::lock_guard<std::mutex> l(cache_mu_);
    if (cache_.size() > 4096) cache_.clear();
    cache_[key] = CachedView{version, now, body};
  }
  token.Send(std::move(body));
}

void Service::Reload(const Caller& c, ReplyToken token) {
  if (!c.admin) {
    token.Send(ErrorBody(code::kForbidden, "only root or an egret admin may reload; " + Describe(c) + " may not"));
    return;
  }
  if (!options_.reload) {
    token.Send(ErrorBody(code::kUnavailable, "this egret-quotad cannot reload"));
    return;
  }
  Status s = options_.reload();
  if (!s.ok()) {
    token.Send(ErrorBody(code::kBadRequest, "kept the old config: " + s.error().message()));
    return;
  }
  identities_.Clear();
  token.Send(Dump({{"ok", true}, {"message", "config reloaded"}}));
}

}  // namespace egret::quotad

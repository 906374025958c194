// Serves GET /metrics (Prometheus text) on a TCP address, normally 127.0.0.1:PORT. One small
// thread, one request at a time with short timeouts: it is for a local scraper, not the world.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/result.h"

namespace egret::metrics {

class HttpExporter {
 public:
  // ADDRESS is HOST:PORT (PORT 0 picks a free port; see port()). RENDER produces the body.
  static Result<std::unique_ptr<HttpExporter>> Start(const std::string& address,
                                                     std::function<std::string()> render);
  ~HttpExporter();
  int port() const { return port_; }

 private:
  HttpExporter(int fd, int port, std::function<std::string()> render);
  void Run();
  void Serve(int client);

  int fd_;
  int port_;
  std::function<std::string()> render_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace egret::metrics

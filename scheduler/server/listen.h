// The daemon's listening sockets.
#pragma once

#include <string>

#include "common/result.h"

namespace egret::quotad {

// A Unix stream socket at PATH, mode 0666 (who may do what is decided per request from
// SO_PEERCRED), replacing a stale socket file.
Result<int> ListenUnix(const std::string& path);
// A TCP socket on "HOST:PORT" (PORT 0: any free port, written to *PORT).
Result<int> ListenTcp(const std::string& address, int* port);

}  // namespace egret::quotad

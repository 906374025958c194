// Small file-system helpers whose errors name the path.
#pragma once

#include <string>

#include "common/result.h"

namespace egret {

Result<std::string> ReadFile(const std::string& path);

// Writes to PATH.tmp.<pid>, fsyncs it, renames over PATH and fsyncs the directory,
// so a reader sees the old content or the new, never a torn file.
Status WriteFileAtomic(const std::string& path, const std::string& data, int mode = 0644);

// Fsyncs a directory so a rename or create inside it survives a crash.
Status SyncDirectory(const std::string& dir);

}  // namespace egret

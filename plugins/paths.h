// Path and name rules the isolation relies on. Pure: no file system access.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace egret::plugin {

// Lexically normalizes an absolute path: collapses "//" and ".", resolves "..", drops a
// trailing "/". "/a/b/../c/" -> "/a/c". Relative input is returned unchanged.
std::string NormalizePath(std::string_view path);

// True when PATH (normalized) is DIR or below it. "/srv/t2" is not within "/srv/t".
bool IsWithin(std::string_view path, std::string_view dir);

// A tenant (Slurm account) name usable as one path component: 1-64 characters of
// [A-Za-z0-9_.-], starting with a letter, digit or '_' (so never "." or "..").
bool ValidTenantName(std::string_view name);

// A node name usable in a file name: 1-64 characters of [A-Za-z0-9_.-], not starting with '.'.
bool ValidHostName(std::string_view name);

// The name of a job's private directory on one node: "<job>-<start>-<host>". The start time
// makes a requeued or reused job id get a fresh, empty directory.
std::string JobDirName(uint32_t job_id, int64_t start_time, std::string_view host);

// Whether NAME is a private directory of JOB_ID on HOST (any start time).
bool IsJobDirOf(std::string_view name, uint32_t job_id, std::string_view host);

}  // namespace egret::plugin

// Shared helpers for the tokenizer tests: the real tokenizer files (installed by
// tools/install-deps into /var/cache/egret/tokenizers), each loaded once per test binary,
// and the JSON fixtures written by tests/reference/tokenizers/make_fixtures.mjs.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "mpi_trainer/tokenizer/tokenizer.h"

namespace egret::tokenizer::testing {

std::string CacheDir();
// The installed tokenizer NAME, loaded once; fails the test (with what to run) if missing.
const Tokenizer* Installed(const std::string& name);
const nlohmann::json& Fixture(const std::string& file);  // tests/fixtures/tokenizers/FILE
std::string ReadText(const std::string& path);

}  // namespace egret::tokenizer::testing

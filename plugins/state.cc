#include "plugins/state.h"

#include <vector>

namespace egret::plugin {

PluginState& State() {
  static PluginState state;
  return state;
}

bool LoadConfig(int argc, char** argv) {
  PluginState& s = State();
  if (!s.config_parsed) {
    std::vector<std::string> args;
    for (int i = 0; i < argc; ++i) args.emplace_back(argv[i] ? argv[i] : "");
    auto c = ParseConfig(args);
    if (c.ok()) s.config = std::move(c).value();
    else s.config_error = "egret: " + c.error().message();
    s.config_parsed = true;
  }
  return s.config_error.empty();
}

}  // namespace egret::plugin

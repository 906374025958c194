#include "jobspecs/spec/view_path.h"

#include "common/strings.h"

namespace egret::jobspec {

Result<ViewPath> ParseViewPath(const std::string& s, bool checkpoints_only) {
  const std::string roots =
      checkpoints_only ? "checkpoints/..." : "data/..., models/..., checkpoints/...";
  auto bad = [&](const std::string& why) { return Error("\"" + s + "\" " + why); };
  if (s.find_first_of("'\n\r") != std::string::npos)
    return bad("holds a quote or a line break; paths may not");
  ViewPath p;
  if (!s.empty() && s[0] == '/') {
    p.root = ViewPath::Root::kAbsolute;
    p.rest = s;
    return p;
  }
  auto slash = s.find('/');
  std::string head = s.substr(0, slash);
  std::string rest = slash == std::string::npos ? "" : s.substr(slash + 1);
  if (head == "checkpoints") p.root = ViewPath::Root::kCheckpoints;
  else if (head == "data" && !checkpoints_only) p.root = ViewPath::Root::kData;
  else if (head == "models" && !checkpoints_only) p.root = ViewPath::Root::kModels;
  else
    return bad("is not in the tenant's view: start it with " + roots +
               " (resolved inside the job from EGRET_DATA_DIR, EGRET_MODELS_DIR, "
               "EGRET_CKPT_DIR), or give an absolute path");
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty()) return bad("names a whole root; name a file or directory below it");
  for (const auto& part : Split(rest, '/'))
    if (part == "..") return bad("leaves the tenant's view with \"..\"");
  p.rest = rest;
  return p;
}

}  // namespace egret::jobspec

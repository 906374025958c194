#include "jobspecs/render/shell.h"

#include <cctype>

namespace egret::jobspec::render {

std::string HeredocText(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '$' || c == '`') out += '\\';
    out += c;
  }
  return out;
}

std::string DoubleQuoted(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '$' || c == '`' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

const char* RootVariable(ViewPath::Root root) {
  switch (root) {
    case ViewPath::Root::kData: return "EGRET_DATA_DIR";
    case ViewPath::Root::kModels: return "EGRET_MODELS_DIR";
    case ViewPath::Root::kCheckpoints: return "EGRET_CKPT_DIR";
    case ViewPath::Root::kAbsolute: return "";
  }
  return "";
}

std::string HeredocPath(const ViewPath& p) {
  if (p.root == ViewPath::Root::kAbsolute) return HeredocText(p.rest);
  return std::string("${") + RootVariable(p.root) + "}/" + HeredocText(p.rest);
}

std::string ShellPath(const ViewPath& p) {
  if (p.root == ViewPath::Root::kAbsolute) return "\"" + DoubleQuoted(p.rest) + "\"";
  return std::string("\"${") + RootVariable(p.root) + "}/" + DoubleQuoted(p.rest) + "\"";
}

std::string SweepVariable(std::string_view key) {
  std::string out = "SWEEP_";
  for (char c : key) out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string TemplatePath(std::string_view tmpl, const Jobspec& spec) {
  std::string t(tmpl);
  std::string out = "\"";
  if (t.rfind("checkpoints/", 0) == 0) {
    out += "${EGRET_CKPT_DIR}/";
    t = t.substr(std::string("checkpoints/").size());
  }
  for (size_t i = 0; i < t.size();) {
    auto sub = [&](std::string_view ph, const std::string& with) {
      if (t.compare(i, ph.size(), ph) != 0) return false;
      out += with;
      i += ph.size();
      return true;
    };
    if (sub("{name}", DoubleQuoted(spec.name)) || sub("{tenant}", DoubleQuoted(spec.tenant)) ||
        sub("{job}", "${JOB}") || sub("{task}", "${TASK}"))
      continue;
    out += DoubleQuoted(std::string_view(&t[i], 1));
    ++i;
  }
  return out + "\"";
}

}  // namespace egret::jobspec::render

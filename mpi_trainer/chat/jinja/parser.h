// Lexing (with Jinja2's whitespace control, trim_blocks and lstrip_blocks) and parsing of a
// template into ast.h nodes. Throws TemplateError naming the line and the construct.
#pragma once

#include <memory>
#include <string>

#include "mpi_trainer/chat/jinja/ast.h"

namespace egret::chat::jinja {

std::shared_ptr<Body> ParseTemplate(const std::string& source, bool* has_generation);

}  // namespace egret::chat::jinja

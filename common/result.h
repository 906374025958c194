// Errors as values. A fallible call returns Result<T>; the error carries a
// message that names the thing, the value and the fix, and callers add context
// as it propagates ("tenants.toml:14: tenant \"acme\": ...").
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace egret {

class Error {
 public:
  explicit Error(std::string message) : message_(std::move(message)) {}
  const std::string& message() const { return message_; }
  // Prefixes context: Error("bad dtype").context("model.safetensors") ->
  // "model.safetensors: bad dtype".
  Error context(const std::string& where) const& { return Error(where + ": " + message_); }

 private:
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{""};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status Ok() { return Status(); }

}  // namespace egret

// Propagate an error from an expression returning Result<...>/Status.
#define EGRET_TRY(expr)                          \
  do {                                           \
    auto egret_try_result_ = (expr);             \
    if (!egret_try_result_.ok()) return egret_try_result_.error(); \
  } while (0)

#define EGRET_CONCAT_INNER_(a, b) a##b
#define EGRET_CONCAT_(a, b) EGRET_CONCAT_INNER_(a, b)
// EGRET_ASSIGN_OR_RETURN(auto x, Foo()) binds x to the value or returns the error.
#define EGRET_ASSIGN_OR_RETURN(decl, expr)                                  \
  auto EGRET_CONCAT_(egret_res_, __LINE__) = (expr);                        \
  if (!EGRET_CONCAT_(egret_res_, __LINE__).ok())                            \
    return EGRET_CONCAT_(egret_res_, __LINE__).error();                     \
  decl = std::move(EGRET_CONCAT_(egret_res_, __LINE__)).value()

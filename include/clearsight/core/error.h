// Typed errors raised at ClearSight's library boundary, and the CS_CHECK family of macros.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace clearsight {

/// The category of an Error; the CLI prints it and maps it to an exit code.
enum class ErrorKind { kGeneric, kConfig, kIo, kFormat, kShape, kUnknownName, kNumeric, kRuntime };

/// Short lower-case name of an ErrorKind ("config", "io", ...).
std::string_view error_kind_name(ErrorKind kind);

/// Base class of every error ClearSight throws on purpose: one readable line in what().
class Error : public std::runtime_error {
 public:
  /// Creates an error of the given kind with a user-facing message.
  explicit Error(std::string message, ErrorKind kind = ErrorKind::kGeneric);
  /// The error's category.
  ErrorKind kind() const noexcept { return kind_; }
  /// Source location "file:line" where the error was raised, if known (for -vv logs).
  const std::string& where() const noexcept { return where_; }
  /// Records the source location; used by the CS_CHECK macros.
  void set_where(std::string where) { where_ = std::move(where); }

 private:
  ErrorKind kind_;
  std::string where_;
};

/// A configuration value or key is invalid (unknown key, wrong type, out of range).
class ConfigError : public Error {
 public:
  /// Creates a configuration error.
  explicit ConfigError(std::string message) : Error(std::move(message), ErrorKind::kConfig) {}
};

/// A file or directory could not be read, written, created or renamed.
class IoError : public Error {
 public:
  /// Creates an I/O error.
  explicit IoError(std::string message) : Error(std::move(message), ErrorKind::kIo) {}
};

/// A file's content does not follow its format (corrupt, truncated, inconsistent).
class FormatError : public Error {
 public:
  /// Creates a format error.
  explicit FormatError(std::string message) : Error(std::move(message), ErrorKind::kFormat) {}
};

/// A tensor or array has a shape or dtype other than the one expected.
class ShapeError : public Error {
 public:
  /// Creates a shape error.
  explicit ShapeError(std::string message) : Error(std::move(message), ErrorKind::kShape) {}
};

/// A name (environment, algorithm, hook, tensor...) is not known; the message lists near names.
class UnknownNameError : public Error {
 public:
  /// Creates an unknown-name error.
  explicit UnknownNameError(std::string message)
      : Error(std::move(message), ErrorKind::kUnknownName) {}
};

/// A value is not finite (NaN or infinity) where a finite one was required.
class NumericError : public Error {
 public:
  /// Creates a numeric error.
  explicit NumericError(std::string message) : Error(std::move(message), ErrorKind::kNumeric) {}
};

/// The runtime cannot do what was asked (e.g. a CUDA device on a machine without one).
class RuntimeError : public Error {
 public:
  /// Creates a runtime error.
  explicit RuntimeError(std::string message) : Error(std::move(message), ErrorKind::kRuntime) {}
};

namespace detail {

/// Concatenates the arguments with operator<< into one string.
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

/// Throws an error of type E with the message and source location.
template <typename E, typename... Args>
[[noreturn]] void throw_at(const char* file, int line, const Args&... args) {
  E error(concat(args...));
  error.set_where(concat(file, ":", line));
  throw error;
}

}  // namespace detail
}  // namespace clearsight

/// Throws clearsight::Error with the concatenated message when cond is false.
#define CS_CHECK(cond, ...)                                                                 \
  do {                                                                                      \
    if (!(cond)) [[unlikely]]                                                               \
      ::clearsight::detail::throw_at<::clearsight::Error>(__FILE__, __LINE__, __VA_ARGS__); \
  } while (false)

/// Throws the given error type (e.g. clearsight::FormatError) when cond is false.
#define CS_CHECK_AS(ErrorType, cond, ...)                                         \
  do {                                                                            \
    if (!(cond)) [[unlikely]]                                                     \
      ::clearsight::detail::throw_at<ErrorType>(__FILE__, __LINE__, __VA_ARGS__); \
  } while (false)

/// Throws the given error type unconditionally.
#define CS_THROW(ErrorType, ...) \
  ::clearsight::detail::throw_at<ErrorType>(__FILE__, __LINE__, __VA_ARGS__)

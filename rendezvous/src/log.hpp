// rendezvous — one readable line per event, filtered by level.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "netcore/address.hpp"

namespace rendezvous {

/// How much to say. Each level includes the ones before it.
enum class LogLevel : std::uint8_t { error, warn, info, debug };

[[nodiscard]] const char* to_string(LogLevel level);
/// "error", "warn", "info" or "debug"; nothing for anything else.
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view text);

/// Receives one finished line, without a trailing newline.
using LogSink = std::function<void(LogLevel, std::string_view line)>;

/// A sink that writes each line to stderr in one call, so lines never interleave.
[[nodiscard]] LogSink stderr_sink();

/// Formats and filters log lines. Parts are concatenated: strings, integers and addresses.
/// A line below the threshold costs one comparison: nothing is formatted.
class Log {
  public:
    /// Logs at info and below to stderr.
    Log() : Log(LogLevel::info, stderr_sink()) {}
    Log(LogLevel threshold, LogSink sink) : threshold_(threshold), sink_(std::move(sink)) {}

    [[nodiscard]] bool enabled(LogLevel level) const { return level <= threshold_ && sink_; }

    template <typename... Parts>
    void write(LogLevel level, const Parts&... parts) const {
        if (!enabled(level)) return;
        std::string line;
        (append(line, parts), ...);
        sink_(level, line);
    }
    template <typename... Parts>
    void error(const Parts&... parts) const {
        write(LogLevel::error, parts...);
    }
    template <typename... Parts>
    void warn(const Parts&... parts) const {
        write(LogLevel::warn, parts...);
    }
    template <typename... Parts>
    void info(const Parts&... parts) const {
        write(LogLevel::info, parts...);
    }
    template <typename... Parts>
    void debug(const Parts&... parts) const {
        write(LogLevel::debug, parts...);
    }

  private:
    static void append(std::string& line, std::string_view text) { line += text; }
    static void append(std::string& line, netcore::Address address) { line += address.to_string(); }
    template <std::integral T>
    static void append(std::string& line, T value) {
        line += std::to_string(value);
    }

    LogLevel threshold_;
    LogSink sink_;
};

}  // namespace rendezvous

// Log levels and the stderr sink.
#include "log.hpp"

#include <cstdio>

namespace rendezvous {

const char* to_string(LogLevel level) {
    switch (level) {
        case LogLevel::error:
            return "error";
        case LogLevel::warn:
            return "warn";
        case LogLevel::info:
            return "info";
        case LogLevel::debug:
            return "debug";
    }
    return "?";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
    for (const auto level : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug}) {
        if (text == to_string(level)) return level;
    }
    return std::nullopt;
}

LogSink stderr_sink() {
    return [](LogLevel, std::string_view line) {
        std::string out(line);
        out += '\n';
        std::fwrite(out.data(), 1, out.size(), stderr);
    };
}

}  // namespace rendezvous

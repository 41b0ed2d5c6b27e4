// Hex text of fixed-size binary values: the server key a game pins (keys.cpp) and the
// resumption ticket a game stores (ticket.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace netcore::detail {

/// `bytes` as lowercase hex digits.
[[nodiscard]] std::string to_hex_text(std::span<const std::uint8_t> bytes);

/// Reads exactly `out.size()` bytes of hex digits (either case) from `text`, once surrounding
/// whitespace is trimmed. False for anything else (another length, a non-hex character).
[[nodiscard]] bool from_hex_text(std::string_view text, std::span<std::uint8_t> out);

}  // namespace netcore::detail

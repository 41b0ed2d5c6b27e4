// squares — the game's own messages, carried inside netcore's ENet channels.
//
// Every message: [version (1) = 1][kind (1)][payload]. Integers and floats little-endian.
//   Hello  (1): [name length (1)][name (1..32 printable ASCII)][r (1)][g (1)][b (1)]   reliable
//   State  (2): [tick (4)][x (4, float)][y (4, float)]                                 unreliable
//   Leave  (3): (nothing)                                                              reliable
// Decoding checks every length and value (finite, inside the arena) and rejects trailing bytes:
// the bytes come from another machine.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "host/canvas.hpp"

namespace squares {

inline constexpr std::uint8_t kWireVersion = 1;
inline constexpr std::size_t kMaxNameLength = 32;  // bytes, as netcore's names

enum class Kind : std::uint8_t { hello = 1, state = 2, leave = 3 };

/// Who I am: sent reliably when the session starts.
struct Hello {
    std::string name;
    host::Color color;
    friend bool operator==(const Hello&, const Hello&) = default;
};

/// Where my square is at my simulation tick `tick`: sent unreliably at kStateRate.
struct StateUpdate {
    std::uint32_t tick = 0;
    float x = 0.0f;
    float y = 0.0f;
    friend bool operator==(const StateUpdate&, const StateUpdate&) = default;
};

/// I am leaving the game: sent reliably just before disconnecting.
struct Leave {
    friend bool operator==(const Leave&, const Leave&) = default;
};

using Message = std::variant<Hello, StateUpdate, Leave>;

/// The bytes of `message`; empty when it cannot be encoded (a name that is empty, too long,
/// or not printable ASCII).
[[nodiscard]] std::vector<std::uint8_t> encode(const Message& message);

/// The message in `bytes`, or nothing when they are not a valid message.
[[nodiscard]] std::optional<Message> decode(std::span<const std::uint8_t> bytes);

}  // namespace squares

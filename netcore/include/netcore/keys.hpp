// netcore — the X25519 public keys a game pins (the rendezvous server's, PROTOCOL.md §11).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace netcore {

inline constexpr std::size_t kKeySize = 32;  // bytes: an X25519 key
/// An X25519 public key.
using PublicKey = std::array<std::uint8_t, kKeySize>;
/// An X25519 secret key.
using SecretKey = std::array<std::uint8_t, kKeySize>;

/// 64 hex digits (either case; surrounding whitespace trimmed) -> key; anything else: nothing.
[[nodiscard]] std::optional<PublicKey> parse_key(std::string_view hex);
/// 64 lowercase hex digits.
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t, kKeySize> key);

}  // namespace netcore

// netcore — the public key a game build pins to trust its rendezvous server (issue 10).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace netcore {

/// Bytes in a key: an X25519 (Curve25519) public or secret key, RFC 7748 §5.
inline constexpr std::size_t kKeySize = 32;

/// An X25519 public key, such as the rendezvous server's (`rendezvous --print-public-key`).
using PublicKey = std::array<std::uint8_t, kKeySize>;
/// An X25519 secret key. Only the server holds one; netcore never prints or logs it.
using SecretKey = std::array<std::uint8_t, kKeySize>;

/// 64 hex digits (either case) and nothing else, once surrounding whitespace is trimmed: the key.
/// Anything else (another length, a non-hex character, inner whitespace): nothing.
[[nodiscard]] std::optional<PublicKey> parse_key(std::string_view hex);

/// The key as 64 lowercase hex digits, the form parse_key reads back.
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t, kKeySize> key);

}  // namespace netcore

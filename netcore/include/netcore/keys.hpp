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

/// A secret key kept in a file (a rendezvous' `--key-file`, a player's name key): 64 hex digits
/// and an optional newline, readable by its owner only.
struct KeyFile {
    std::optional<SecretKey> key;  ///< nothing when the file could not be read or made
    bool created = false;          ///< there was no file: it was made now, with a random key
    std::string error;             ///< why there is no key, one sentence naming the file
};

/// Reads the key in `path`, or, when there is no such file, makes one with 32 random bytes
/// (libsodium): mode 0600 from the start, written and synced in full before it appears under
/// its name, and never over a file another process made meanwhile (that one is read instead).
/// A file that others may read, or that holds anything else, is refused and left as it is.
[[nodiscard]] KeyFile load_or_create_key_file(const std::string& path);

}  // namespace netcore

// rendezvous — the server's long-term X25519 key pair, kept in a file like an SSH host key.
// Game builds pin its public key (netcore/keys.hpp); docs/RENDEZVOUS.md "The key file".
#pragma once

#include <optional>
#include <string>

#include "netcore/keys.hpp"

namespace rendezvous {

/// The server's key pair. The secret is wiped when the value goes away, and is never logged.
struct ServerKey {
    netcore::PublicKey public_key{};
    netcore::SecretKey secret_key{};

    ServerKey() = default;
    ServerKey(const ServerKey&) = default;
    ServerKey& operator=(const ServerKey&) = default;
    /// Overwrites secret_key with zeros (sodium_memzero: not optimised away).
    ~ServerKey();
};

/// Reads the key file at `path`, or creates it when there is none (netcore::
/// load_or_create_key_file). The file holds the secret key alone, as 64 hex digits and an
/// optional newline; the public key is derived from it. A file readable or writable by group or
/// others is refused (chmod 600), as ssh refuses a private key. A new file is written privately
/// (mode 0600) and atomically (a temporary file beside it, fsync, link), so a crash never leaves
/// half a key, and two servers started at once on one file both take the key of the first.
/// @retval key   `*created` (if given) says whether the file was made just now.
/// @retval empty `*error` (if given) holds one sentence naming the file.
[[nodiscard]] std::optional<ServerKey> load_or_create_key(const std::string& path, bool* created,
                                                          std::string* error);

/// A fresh key pair held in memory only: for tests, and for a run without --key-file.
[[nodiscard]] ServerKey make_ephemeral_key();

}  // namespace rendezvous

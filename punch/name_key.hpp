// punch — the owner key of our name (--name-key): a file of 64 hex digits, the Ed25519 seed
// that netcore::Config::name_key takes (docs/PROTOCOL.md §4.13).
#pragma once

#include <optional>
#include <string>

#include "netcore/keys.hpp"

namespace punch {

/// Reads the seed in `path`, or, when there is no such file, creates it (mode 0600) with a fresh
/// random seed and sets `created`. A file that others may read, or that holds anything but 64 hex
/// digits and an optional newline, is refused: nothing, and `error` says why in one sentence.
[[nodiscard]] std::optional<netcore::SecretKey> load_or_create_name_key(const std::string& path,
                                                                        bool& created,
                                                                        std::string& error);

}  // namespace punch

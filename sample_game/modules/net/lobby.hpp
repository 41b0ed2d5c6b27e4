// net — what the lobby checks while the player types. Pure functions, tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <netcore/address.hpp>

namespace net {

/// Why `name` cannot be used as a netcore name, as a short sentence; empty when it can.
/// Agrees with netcore::protocol::valid_name.
[[nodiscard]] std::string name_problem(std::string_view name);

/// Why the friend's name cannot be used; empty when it can. Empty means "wait to be reached".
[[nodiscard]] std::string peer_problem(std::string_view peer, std::string_view own_name);

/// Why `party` cannot be joined, as a short sentence; empty when it can. Empty means "no party":
/// play with the friend `peer` instead; a party and a friend's name together are refused.
[[nodiscard]] std::string party_problem(std::string_view party, std::string_view peer);

/// The server address when `text` is an IPv4 literal with an optional port (no look-up).
[[nodiscard]] std::optional<netcore::Address> literal_server(std::string_view text);

}  // namespace net

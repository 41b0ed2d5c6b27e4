#include "modules/net/lobby.hpp"

#include <netcore/protocol.hpp>

namespace net {

std::string name_problem(std::string_view name) {
    if (name.empty()) return "enter a name";
    if (name.size() > netcore::protocol::kMaxNameLength) {
        return "too long: at most " + std::to_string(netcore::protocol::kMaxNameLength) +
               " characters";
    }
    for (char c : name) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!allowed) {
            const std::string shown = c == ' ' ? "a space" : "'" + std::string(1, c) + "'";
            return shown + " is not allowed: use letters, digits, _ . -";
        }
    }
    // The library is the authority; the reasons above only explain its verdict.
    if (!netcore::protocol::valid_name(name)) return "not a valid name";
    return {};
}

std::string peer_problem(std::string_view peer, std::string_view own_name) {
    if (peer.empty()) return {};
    if (peer == own_name) return "that is your own name";
    return name_problem(peer);
}

std::string party_problem(std::string_view party, std::string_view peer) {
    if (party.empty()) return {};
    if (!peer.empty()) return "a friend's name or a party, not both";
    return name_problem(party);  // party names follow the rules of player names
}

std::optional<netcore::Address> literal_server(std::string_view text) {
    return netcore::parse_address(text, netcore::protocol::kDefaultPort);
}

}  // namespace net

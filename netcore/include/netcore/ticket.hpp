// netcore — a resumption ticket: what one Session learnt from the rendezvous, handed to the next
// one so that it registers without the Challenge round trip (PROTOCOL.md §6 step 1, §9).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "netcore/address.hpp"
#include "netcore/keys.hpp"

namespace netcore {

/// What a registered Session knows about its rendezvous (Session::resume_ticket()), to be given
/// back as Config::resume to the next Session from the same local port. It holds no secret of
/// ours: the server's public key and salt, and an address-validation cookie that the server
/// accepts only from `observed`, and only within 30 to 60 s of the Challenge that brought it.
/// A ticket that no longer fits (the server restarted, the cookie expired, another public
/// address) costs one datagram more than registering without it, never a failure.
struct ResumeTicket {
    Address server;        ///< the rendezvous the ticket is for (Config::server must match)
    PublicKey server_key;  ///< its long-term key (Config::server_key, when pinned, must match)
    std::array<std::uint8_t, 16> salt{};    ///< its run's salt (PROTOCOL.md §11.2)
    std::array<std::uint8_t, 16> cookie{};  ///< the last cookie it gave us (§4.10, §9)
    Address observed;                       ///< our public address, the one the cookie is valid for

    friend bool operator==(const ResumeTicket&, const ResumeTicket&) = default;

    /// Bytes in the ticket's binary form: magic "NCRT", version 1, then the fields above in
    /// order (addresses as on the wire: 4 bytes of IPv4, 2 of port, big-endian).
    static constexpr std::size_t kSize = 4 + 1 + 6 + 32 + 16 + 16 + 6;  // 81

    /// The ticket as 162 lowercase hex digits (its binary form), the form parse() reads back:
    /// one line a game may store in a file or its settings.
    [[nodiscard]] std::string to_text() const;
    /// The ticket in `text` (surrounding whitespace ignored), or nothing when it is not one:
    /// another length, a non-hex digit, another magic or version, a zero address, port or cookie.
    [[nodiscard]] static std::optional<ResumeTicket> parse(std::string_view text);
};

}  // namespace netcore

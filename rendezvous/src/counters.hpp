// rendezvous — what the server has done since it started, for --stats-interval and tests.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "netcore/protocol.hpp"

namespace rendezvous {

/// Totals since start, plus two gauges sampled when Server::counters() is called.
struct Counters {
    // Gauges.
    std::uint64_t names = 0;                  ///< names in the table (expired ones until swept)
    std::uint64_t pending_introductions = 0;  ///< introductions remembered (30 s)
    std::uint64_t sources = 0;                ///< source IPs in the rate limiter's table
    std::uint64_t owned_names = 0;            ///< names bound to an owner key (§4.13)
    std::uint64_t pending_requests = 0;       ///< requests waiting for consent (§4.12)
    std::uint64_t parties = 0;                ///< parties with at least one member (§4.15)
    std::uint64_t party_members = 0;          ///< players in a party
    std::uint64_t longest_probe = 0;          ///< slots the name table's longest lookup reads

    // Traffic. `in` counts every datagram handled; `out` counts datagrams actually sent.
    std::uint64_t packets_in = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t packets_out = 0;
    std::uint64_t bytes_out = 0;

    // Outcomes of valid requests.
    std::uint64_t registered = 0;      ///< new names, and names that moved to a new address
    std::uint64_t refreshed = 0;       ///< Register from the same instance and address
    std::uint64_t refreshed_fast = 0;  ///< of those, opened with the entry's key: no X25519
    std::uint64_t name_taken = 0;      ///< RegisterError name_taken sent
    std::uint64_t server_full = 0;     ///< RegisterError server_full sent
    std::uint64_t not_registered = 0;  ///< RegisterError not_registered sent
    std::uint64_t introduced = 0;      ///< new pairings (a fresh token)
    std::uint64_t reintroduced = 0;    ///< a pending pairing sent again (retry, or both asked)
    std::uint64_t peer_unknown = 0;    ///< PeerUnknown sent
    std::uint64_t unregistered = 0;    ///< names removed by Unregister
    std::uint64_t released = 0;        ///< names dropped by a rename or a new run on their socket
    std::uint64_t expired = 0;         ///< names dropped for want of a refresh
    // Owned names (PROTOCOL.md §4.13).
    std::uint64_t name_owned = 0;  ///< RegisterError name_owned sent: bound to another key
    std::uint64_t owner_proofs_invalid = 0;  ///< of those, the proof did not verify
    std::uint64_t reclaimed = 0;      ///< live entries replaced by a new run of their name's owner
    std::uint64_t owned_expired = 0;  ///< bindings dropped name_hold after their owner left
    std::uint64_t names_file_errors = 0;  ///< writes of the names file that failed

    // Drops. `dropped` is indexed by protocol::DecodeError; index 0 (ok) stays 0.
    std::array<std::uint64_t, netcore::protocol::kDecodeErrorCount> dropped{};
    std::uint64_t unexpected =
        0;                      ///< valid messages a server never receives (RegisterAck, Probe...)
    std::uint64_t ignored = 0;  ///< valid requests with no effect (Unregister by a non-holder)
    std::uint64_t unauthenticated = 0;  ///< sealed signals that did not open (or a bad key)
    std::uint64_t replayed = 0;         ///< sealed signals that opened but were seen already
    std::uint64_t version_refused = 0;  ///< datagrams of an older wire version: told so

    // Address validation and limits (PROTOCOL.md §7.1, §9).
    std::uint64_t challenged = 0;   ///< Challenge sent: a Hello, or a signal without a valid cookie
    std::uint64_t bad_cookies = 0;  ///< of those, a cookie was sent but stale or not for the source
    std::uint64_t rate_limited = 0;           ///< datagrams dropped by the per-IP token bucket
    std::uint64_t answers_limited = 0;        ///< answers larger than the request, over the cap
    std::uint64_t amplification_refused = 0;  ///< larger answers to an unproven source (a bug)
    std::uint64_t introductions_full = 0;     ///< requests dropped at --max-introductions
    std::uint64_t sources_evicted = 0;        ///< IPs the rate limiter forgot to stay bounded
    // Consent (PROTOCOL.md §4.12). Every request not stored is answered as an unknown name.
    std::uint64_t requests_stored = 0;          ///< new requests waiting for consent
    std::uint64_t introductions_asked = 0;      ///< IntroductionAsked sent to the asked side
    std::uint64_t requests_ip_capped = 0;       ///< not stored: --max-requests-per-ip
    std::uint64_t requests_name_capped = 0;     ///< not stored: --max-requests-per-name
    std::uint64_t requests_full = 0;            ///< not stored: --max-requests
    std::uint64_t introductions_ip_capped = 0;  ///< dropped at --max-introductions-per-ip
    std::uint64_t lan_dropped = 0;              ///< LAN candidates outside the LAN ranges, not kept
    // Relays (PROTOCOL.md §4.11).
    std::uint64_t relay_grants = 0;          ///< credentials issued in Introductions (one a side)
    std::uint64_t relay_grants_refused = 0;  ///< grants and renewals refused by a limit
    std::uint64_t relay_renewals = 0;        ///< RelayRenews answered with fresh credentials
    std::uint64_t relay_renewals_not_registered = 0;  ///< dropped: the sender holds no name there
    std::uint64_t relay_renewals_unknown_introduction = 0;  ///< dropped: no grant for that pair
    std::uint64_t relay_renewals_token_mismatch = 0;  ///< dropped: another token than the pair's
    std::uint64_t relay_offers_forwarded = 0;         ///< RelayOffers passed on as PeerRelay
    /// Of those, past the introduction's window, on the pair's grant record (a re-offer).
    std::uint64_t relay_offers_granted = 0;
    std::uint64_t relay_offers_not_registered = 0;  ///< dropped: the sender holds no name there
    std::uint64_t relay_offers_unknown_introduction = 0;  ///< dropped: no such introduction (now)
    std::uint64_t relay_offers_token_mismatch = 0;  ///< dropped: another token than the pair's
    // Standing relays (PROTOCOL.md §4.11, token 0): scoped to a registration, not to a pair.
    std::uint64_t standing_grants = 0;  ///< RelayRenew{0, own name} answered: credentials issued
    std::uint64_t relay_renewals_no_turn = 0;  ///< RelayRenew{0} dropped: no TURN configured
    std::uint64_t standing_offers_stored = 0;  ///< RelayOffer{0, own name} stored
    std::uint64_t relay_offers_no_standing_grant = 0;  ///< RelayOffer{0} dropped: no live grant
    std::uint64_t standing_relays_forwarded = 0;       ///< PeerRelays sent with Introductions
    // Parties (PROTOCOL.md §4.15).
    std::uint64_t parties_created = 0;  ///< PartyJoins that created a party
    std::uint64_t party_joins = 0;      ///< players who joined a party that existed
    std::uint64_t party_left = 0;       ///< members gone by PartyLeave
    std::uint64_t party_expired = 0;    ///< members dropped: no PartyJoin for --party-ttl-ms
    std::uint64_t party_released = 0;   ///< members dropped: their name left or changed hands
    /// PartyRefused sent, indexed by protocol::PartyRefusedCode (index 0 stays 0).
    std::array<std::uint64_t, 6> party_refused{};
    std::uint64_t party_join_asked = 0;     ///< PartyJoinAsked sent to an admit-party's host
    std::uint64_t party_asks_capped = 0;    ///< join asks not stored: --max-party-asks
    std::uint64_t party_admitted = 0;       ///< players let in by their party's host
    std::uint64_t party_admit_ignored = 0;  ///< PartyAdmits dropped: not the host, no live ask
    std::uint64_t party_members_sent = 0;   ///< PartyMembers sent (pushes and epoch answers)

    // STUN Binding on the same port (docs/PROTOCOL.md §10).
    std::uint64_t stun_requests = 0;   ///< Binding requests answered
    std::uint64_t stun_malformed = 0;  ///< STUN header, bad length/attributes/FINGERPRINT
    std::uint64_t stun_ignored = 0;    ///< valid STUN we do not answer (CHANGE-REQUEST, ...)
    std::uint64_t stun_oversized = 0;  ///< longer than stun::kMaxRequestSize: dropped unparsed

    // Socket trouble.
    std::uint64_t receive_errors = 0;
    std::uint64_t send_errors = 0;

    [[nodiscard]] std::uint64_t dropped_by(netcore::protocol::DecodeError reason) const {
        return dropped[static_cast<std::size_t>(reason)];
    }
    [[nodiscard]] std::uint64_t party_refused_by(netcore::protocol::PartyRefusedCode code) const {
        return party_refused[static_cast<std::size_t>(code)];
    }
    void count_drop(netcore::protocol::DecodeError reason) {
        ++dropped[static_cast<std::size_t>(reason)];
    }
};

/// A PartyRefused code as the stats line and the metrics name it: "full", "waiting"...
[[nodiscard]] const char* refusal_name(netcore::protocol::PartyRefusedCode code);

/// One greppable line of key=value pairs, starting with "stats:".
[[nodiscard]] std::string to_string(const Counters& c);

}  // namespace rendezvous

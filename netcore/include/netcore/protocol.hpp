// netcore — the wire protocol, as specified in docs/PROTOCOL.md (the single source of truth).
//
//   client                      rendezvous                      client
//     |-- Register (no cookie) ---->|                              |
//     |<---------- Challenge(cookie)|   (§4.10: proves the address) |
//     |-- Register (cookie) ------->|                              |
//     |<-------------- RegisterAck--|                              |
//     |-- IntroduceRequest(peer) -->|                              |
//     |<- Introduction(initiator) --|-- Introduction(responder) -->|
//     |<================ Probe / ProbeAck (token) ================>|
//     |==================== ENet connect (initiator) ============>|
//     |-- RelayOffer (our TURN relay) ->|-- PeerRelay --------------->|   (§4.11, only when
//     |<------------------- PeerRelay --|<--------------- RelayOffer --|    the server grants
//     |<============ Probe / ENet through the peers' relays ==========>|    a TURN relay)
//
// Every datagram starts with a 6-byte header: magic "NCRV" (4), version (1), type (1).
// Integers are big-endian (network byte order). Decoding is bounds-checked, never trusts a
// length field, and never allocates: names in decoded messages are views into the datagram.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "netcore/address.hpp"

namespace netcore::protocol {

// PROTOCOL.md §2: the header.
inline constexpr std::array<std::uint8_t, 4> kMagic = {'N', 'C', 'R', 'V'};
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 6;  // bytes: magic + version + type

// PROTOCOL.md §3: limits.
inline constexpr std::size_t kMaxNameLength = 32;        // bytes
inline constexpr std::size_t kMaxLanAddresses = 4;       // LAN candidates a client may report
inline constexpr std::size_t kMaxDatagramSize = 256;     // bytes; our largest message is 222
inline constexpr std::uint16_t kDefaultPort = 7777;      // the rendezvous' default UDP port
inline constexpr std::size_t kCookieSize = 16;           // bytes; a truncated MAC (§4.10)
inline constexpr std::size_t kMaxRelayServers = 2;       // TURN servers in one RelayGrant (§4.11)
inline constexpr std::size_t kMaxCredentialLength = 64;  // bytes of a TURN username or password

enum class MessageType : std::uint8_t {
    register_request = 0x01,
    register_ack = 0x02,
    register_error = 0x03,
    introduce_request = 0x04,
    peer_unknown = 0x05,
    introduction = 0x06,
    unregister = 0x07,
    challenge = 0x08,
    relay_offer = 0x09,
    peer_relay = 0x0A,
    probe = 0x10,
    probe_ack = 0x11,
};

/// Why the rendezvous refused a request (PROTOCOL.md §4.3).
enum class RegisterErrorCode : std::uint8_t {
    name_taken = 1,      ///< another live client holds the name
    name_invalid = 2,    ///< empty, too long, or a character outside [A-Za-z0-9_.-]
    server_full = 3,     ///< the server's name table is at its cap
    not_registered = 4,  ///< an IntroduceRequest from an address that holds no name
};

enum class Role : std::uint8_t { responder = 0, initiator = 1 };

/// A fixed-capacity list of LAN candidate addresses (no allocation).
struct AddressList {
    std::array<Address, kMaxLanAddresses> items{};
    std::uint8_t count = 0;

    [[nodiscard]] std::span<const Address> view() const { return {items.data(), count}; }
    bool push(Address a) {
        if (count == items.size()) return false;
        items[count++] = a;
        return true;
    }
    friend bool operator==(const AddressList& a, const AddressList& b) {
        return std::equal(a.view().begin(), a.view().end(), b.view().begin(), b.view().end());
    }
};

/// A stateless address-validation cookie (PROTOCOL.md §4.10); all zeros means "none yet".
using Cookie = std::array<std::uint8_t, kCookieSize>;

struct RegisterRequest {
    /// Random per client run, and the secret that owns the name (PROTOCOL.md §9).
    std::uint64_t instance = 0;
    Cookie cookie{};  ///< from the last Challenge, or zeros
    std::string_view name;
    AddressList lan;
    friend bool operator==(const RegisterRequest&, const RegisterRequest&) = default;
};
struct RegisterAck {
    std::uint64_t instance = 0;
    Address observed;              ///< the client's address as the server saw it
    std::uint32_t refresh_ms = 0;  ///< send Register again this often
    std::uint32_t expiry_ms = 0;   ///< the name is dropped after this long without one
    friend bool operator==(const RegisterAck&, const RegisterAck&) = default;
};
struct RegisterError {
    std::uint64_t instance = 0;
    RegisterErrorCode code = RegisterErrorCode::name_invalid;
    friend bool operator==(const RegisterError&, const RegisterError&) = default;
};
struct IntroduceRequest {
    std::uint64_t instance = 0;
    std::string_view peer;
    friend bool operator==(const IntroduceRequest&, const IntroduceRequest&) = default;
};
struct PeerUnknown {
    std::string_view peer;
    friend bool operator==(const PeerUnknown&, const PeerUnknown&) = default;
};
/// TURN servers and short-lived TURN-REST credentials for them (PROTOCOL.md §4.11). No servers
/// means the rendezvous offers no relay; then the credentials are empty.
struct RelayGrant {
    std::array<Address, kMaxRelayServers> servers{};
    std::uint8_t count = 0;
    std::string_view username;  ///< "<unix expiry>:<name>", as coturn's use-auth-secret wants
    std::string_view password;  ///< base64(HMAC-SHA1(shared secret, username))

    [[nodiscard]] std::span<const Address> view() const { return {servers.data(), count}; }
    friend bool operator==(const RelayGrant& a, const RelayGrant& b) {
        return std::equal(a.view().begin(), a.view().end(), b.view().begin(), b.view().end()) &&
               a.username == b.username && a.password == b.password;
    }
};
struct Introduction {
    std::uint64_t token = 0;      ///< secret of this pairing; every Probe carries it
    Role role = Role::responder;  ///< only the initiator calls enet_host_connect
    std::string_view peer;
    Address peer_public;   ///< server-reflexive address of the peer
    AddressList peer_lan;  ///< the peer's own LAN addresses
    RelayGrant relay;      ///< where and how this client may allocate a TURN relay
    friend bool operator==(const Introduction&, const Introduction&) = default;
};
struct Unregister {
    std::uint64_t instance = 0;
    friend bool operator==(const Unregister&, const Unregister&) = default;
};
struct Challenge {
    std::uint64_t instance = 0;  ///< echoed from the Register, so the client can match it
    Cookie cookie{};             ///< send it back in the next Register
    friend bool operator==(const Challenge&, const Challenge&) = default;
};
/// A client's own TURN relay, for the server to pass to the peer it was introduced to.
struct RelayOffer {
    std::uint64_t instance = 0;  ///< as in Register: proves the sender holds its name
    std::uint64_t token = 0;     ///< of the introduction
    std::string_view peer;       ///< the name it was introduced to
    Address relayed;             ///< XOR-RELAYED-ADDRESS of the sender's allocation
    Address mapped;              ///< the sender's address as its TURN server saw it
    friend bool operator==(const RelayOffer&, const RelayOffer&) = default;
};
/// The peer's relay, forwarded by the server: send to `relayed`, permit `mapped`'s IP.
struct PeerRelay {
    std::uint64_t token = 0;
    Address relayed;
    Address mapped;
    friend bool operator==(const PeerRelay&, const PeerRelay&) = default;
};
struct Probe {
    std::uint64_t token = 0;
    std::uint32_t sequence = 0;
    friend bool operator==(const Probe&, const Probe&) = default;
};
struct ProbeAck {
    std::uint64_t token = 0;
    std::uint32_t sequence = 0;  ///< the sequence of the Probe being answered
    Address observed;            ///< where that Probe came from, as the answerer saw it
    friend bool operator==(const ProbeAck&, const ProbeAck&) = default;
};

using Message =
    std::variant<RegisterRequest, RegisterAck, RegisterError, IntroduceRequest, PeerUnknown,
                 Introduction, Unregister, Challenge, RelayOffer, PeerRelay, Probe, ProbeAck>;

/// Why a datagram was dropped (PROTOCOL.md §5). Counted by reason.
enum class DecodeError : std::uint8_t {
    ok = 0,
    not_ours,  ///< shorter than the magic, or another magic: not a netcore datagram
    bad_version,
    unknown_type,
    truncated,       ///< a field runs past the end
    bad_name,        ///< length 0, over kMaxNameLength, or a character outside the alphabet
    bad_field,       ///< an enum, count or credential out of range
    trailing_bytes,  ///< bytes left after the last field
};
inline constexpr std::size_t kDecodeErrorCount = 8;

[[nodiscard]] const char* to_string(DecodeError e);
[[nodiscard]] const char* to_string(RegisterErrorCode c);
[[nodiscard]] const char* to_string(MessageType t);

/// True when the datagram starts with our magic: it is ours to consume (even if invalid).
[[nodiscard]] bool has_magic(std::span<const std::uint8_t> datagram);

/// A valid name: 1..kMaxNameLength bytes of [A-Za-z0-9_.-]. Names are case-sensitive.
[[nodiscard]] bool valid_name(std::string_view name);

/// Decodes one datagram. On success `out` holds the message, whose names view `datagram`.
[[nodiscard]] DecodeError decode(std::span<const std::uint8_t> datagram, Message& out);

/// Encodes `msg` into `out`. Returns the size written, or 0 if `out` is too small or a field
/// is out of range (an invalid name, say).
[[nodiscard]] std::size_t encode(const Message& msg, std::span<std::uint8_t> out);

/// The type a message encodes as.
[[nodiscard]] MessageType type_of(const Message& msg);

}  // namespace netcore::protocol

// netcore — the wire protocol, as specified in docs/PROTOCOL.md (the single source of truth).
//
//   client                      rendezvous                      client
//     |-- Hello (client key) ------>|                              |   clear (§4.10)
//     |<------- Challenge(salt, cookie)   (proves the address)     |   clear
//     |== Register (cookie) =======>|        == : sealed under the signal key (§11.2)
//     |<============== RegisterAck==|                              |
//     |== IntroduceRequest(peer) ==>|                              |
//     |<= Introduction(initiator) ==|== Introduction(responder) ==>|   with the peer's key
//     |<=========== Probe / ProbeAck (introduction key, §11.3) ===>|
//     |<=========== ENet datagrams (session data key, §11.3) =====>|
//     |== RelayOffer ==============>|== PeerRelay ================>|   (§4.11, when the server
//     |<================ PeerRelay ==|<================ RelayOffer ==|    grants a TURN relay)
//
// Every datagram starts with a 6-byte header: magic "NCRV" (4), version (1), type (1); the type
// names an envelope (§2.2). Only Hello, Challenge and VersionRefused travel in clear; every
// Message is sealed, and nothing inside a box is parsed before the box opened. Integers are
// big-endian (network byte order). Decoding is bounds-checked, never trusts a length field, and
// never allocates: names in decoded messages are views into the datagram.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "netcore/address.hpp"
#include "netcore/keys.hpp"

namespace netcore::protocol {

// PROTOCOL.md §2: the header.
inline constexpr std::array<std::uint8_t, 4> kMagic = {'N', 'C', 'R', 'V'};
inline constexpr std::uint8_t kVersion = 5;    // 5: CONNECT in the probe; 4: parties
inline constexpr std::size_t kHeaderSize = 6;  // bytes: magic + version + type

// PROTOCOL.md §3: limits.
inline constexpr std::size_t kMaxNameLength = 32;      // bytes
inline constexpr std::size_t kMaxLanAddresses = 4;     // LAN candidates a client may report
inline constexpr std::size_t kMaxDatagramSize = 1200;  // bytes; our largest signal is PartyMembers
inline constexpr std::size_t kMaxPartyMembers = 16;    // players in one party (§4.15)
inline constexpr std::uint16_t kDefaultPort = 7777;    // the rendezvous' default UDP port
inline constexpr std::size_t kCookieSize = 16;         // bytes; a truncated MAC (§4.10)
inline constexpr std::size_t kSaltSize = 16;           // bytes; the server's per-run salt (§11.2)
inline constexpr std::size_t kPeerNonceSize = 16;      // bytes; a side's per-session nonce (§11.3)
inline constexpr std::size_t kMaxRelayServers = 2;     // TURN servers in one RelayGrant (§4.11)
inline constexpr std::size_t kMaxCredentialLength = 64;  // bytes of a TURN username or password

enum class MessageType : std::uint8_t {
    register_request = 0x01,
    register_ack = 0x02,
    register_error = 0x03,
    introduce_request = 0x04,
    peer_unknown = 0x05,
    introduction = 0x06,
    unregister = 0x07,
    relay_offer = 0x09,
    peer_relay = 0x0A,
    introduction_asked = 0x0B,  ///< server -> client: someone asked to be introduced to you
    relay_renew = 0x0C,         ///< client -> server: fresh relay credentials for a live pair
    relay_credentials = 0x0D,   ///< server -> client: the answer to a RelayRenew
    party_join = 0x0E,          ///< client -> server: join (or keep joined) a party (§4.15)
    party_leave = 0x0F,         ///< client -> server: leave a party
    party_members = 0x12,       ///< server -> client: a party's members, in join order
    party_refused = 0x13,       ///< server -> client: a PartyJoin that was not taken
    party_admit = 0x14,         ///< client (the party's host) -> server: let a player in
    party_join_asked = 0x15,    ///< server -> the party's host: a player asks to join
    probe = 0x10,
    probe_ack = 0x11,
};

/// Why the rendezvous refused a request (PROTOCOL.md §4.3).
enum class RegisterErrorCode : std::uint8_t {
    name_taken = 1,      ///< another live client holds the name
    name_invalid = 2,    ///< empty, too long, or a character outside [A-Za-z0-9_.-]
    server_full = 3,     ///< the server's name table is at its cap
    not_registered = 4,  ///< an IntroduceRequest from an address that holds no name
    name_owned = 5,      ///< the name is bound to another owner key (PROTOCOL.md §4.13)
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
/// The rendezvous' random salt for one run of the server: part of every signal key (§11.2).
using Salt = std::array<std::uint8_t, kSaltSize>;
/// A side's random nonce for one peer session: part of the session's data keys (§11.3).
using PeerNonce = std::array<std::uint8_t, kPeerNonceSize>;

/// An Ed25519 public key that owns a name beyond one run (PROTOCOL.md §4.13).
using OwnerKey = std::array<std::uint8_t, 32>;
/// An Ed25519 signature by the owner key over the name and this connection (§4.13).
using OwnerProof = std::array<std::uint8_t, 64>;

/// RegisterRequest::flags. Any other bit is a bad_field.
struct RegisterFlags {
    /// Introduce anyone who asks (an open host). Without it: only players this one asked for.
    static constexpr std::uint8_t open = 0x01;
    /// Hide my addresses: my introductions are relay-only, for both sides (§4.14).
    static constexpr std::uint8_t hidden = 0x02;
    /// `owner` and `proof` follow: the name is bound to that key (§4.13).
    static constexpr std::uint8_t owned = 0x04;
    static constexpr std::uint8_t all = open | hidden | owned;
};

struct RegisterRequest {
    /// Random per client run, and the secret that owns the name (PROTOCOL.md §9).
    std::uint64_t instance = 0;
    std::string_view name;
    AddressList lan;
    std::uint8_t flags = 0;  ///< RegisterFlags
    OwnerKey owner{};        ///< when flags has `owned`; else all zeros
    OwnerProof proof{};      ///< when flags has `owned`; else all zeros
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
    Address peer_public;     ///< server-reflexive address of the peer
    AddressList peer_lan;    ///< the peer's own LAN addresses
    RelayGrant relay;        ///< where and how this client may allocate a TURN relay
    PublicKey peer_key{};    ///< the peer's per-run public key: the session's keys come from it
    std::uint8_t flags = 0;  ///< IntroductionFlags
    friend bool operator==(const Introduction&, const Introduction&) = default;
};
/// Introduction::flags. Any other bit is a bad_field.
struct IntroductionFlags {
    /// One side hides its addresses: peer_public and peer_lan are empty, and both sides use
    /// only their TURN relays, sending through their own allocation (§4.14).
    static constexpr std::uint8_t relay_only = 0x01;
    /// The peer is a member of the party the recipient joined (§4.15): joining was consent.
    static constexpr std::uint8_t party = 0x02;
    static constexpr std::uint8_t all = relay_only | party;
};
/// Someone asked to be introduced to the recipient, who has not consented yet (§4.12). Asking
/// for `peer` in return consents; nothing about the recipient was revealed to `peer`.
struct IntroductionAsked {
    std::string_view peer;
    friend bool operator==(const IntroductionAsked&, const IntroductionAsked&) = default;
};
/// Asks for fresh relay credentials for a pair the server introduced (§4.11).
struct RelayRenew {
    std::uint64_t instance = 0;  ///< as in Register
    std::uint64_t token = 0;     ///< of the introduction
    std::string_view peer;       ///< the name it was introduced to
    friend bool operator==(const RelayRenew&, const RelayRenew&) = default;
};
/// The answer to a RelayRenew: a new grant for the same pair.
struct RelayCredentials {
    std::uint64_t token = 0;
    RelayGrant relay;
    friend bool operator==(const RelayCredentials&, const RelayCredentials&) = default;
};
struct Unregister {
    std::uint64_t instance = 0;
    friend bool operator==(const Unregister&, const Unregister&) = default;
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
/// PartyJoin::flags and PartyMembers::flags. Any other bit is a bad_field.
struct PartyFlags {
    /// The party's host admits who joins (PartyJoinAsked, PartyAdmit). Set by whoever creates
    /// the party; ignored when the party exists already.
    static constexpr std::uint8_t admit = 0x01;
    static constexpr std::uint8_t all = admit;
};
/// Joins a party, creating it when nobody is in it, and keeps the membership alive: a member
/// sends it every party refresh (§4.15). `epoch`: of the member list the client holds (0: none);
/// the server answers with PartyMembers when its own differs.
struct PartyJoin {
    std::uint64_t instance = 0;  ///< as in Register
    std::string_view party;
    std::uint8_t flags = 0;  ///< PartyFlags
    std::uint32_t epoch = 0;
    friend bool operator==(const PartyJoin&, const PartyJoin&) = default;
};
struct PartyLeave {
    std::uint64_t instance = 0;
    std::string_view party;
    friend bool operator==(const PartyLeave&, const PartyLeave&) = default;
};
/// A party's members in the order they joined; the first is its host (§4.15). The recipient is
/// one of them. Sent to every member when the list changes, and to a member whose epoch differs.
struct PartyMembers {
    std::string_view party;
    std::uint32_t epoch = 0;  ///< grows with every change of the list (never 0)
    std::uint8_t flags = 0;   ///< PartyFlags
    std::array<std::string_view, kMaxPartyMembers> members{};
    std::uint8_t count = 0;  ///< 1..kMaxPartyMembers

    [[nodiscard]] std::span<const std::string_view> view() const { return {members.data(), count}; }
    bool push(std::string_view name) {
        if (count == members.size()) return false;
        members[count++] = name;
        return true;
    }
    friend bool operator==(const PartyMembers& a, const PartyMembers& b) {
        return a.party == b.party && a.epoch == b.epoch && a.flags == b.flags &&
               std::equal(a.view().begin(), a.view().end(), b.view().begin(), b.view().end());
    }
};
/// Why a PartyJoin was not taken.
enum class PartyRefusedCode : std::uint8_t {
    full = 1,            ///< the party has kMaxPartyMembers (or the server's smaller cap)
    server_full = 2,     ///< the server holds its most parties (or members) already
    waiting = 3,         ///< the party's host has not admitted you (yet): keep asking
    other_party = 4,     ///< you are in another party: leave it first
    not_registered = 5,  ///< the sender holds no name
};
struct PartyRefused {
    std::string_view party;
    PartyRefusedCode code = PartyRefusedCode::full;
    friend bool operator==(const PartyRefused&, const PartyRefused&) = default;
};
/// The party's host lets `player` in (it asked to join a party with PartyFlags::admit).
struct PartyAdmit {
    std::uint64_t instance = 0;
    std::string_view party;
    std::string_view player;
    friend bool operator==(const PartyAdmit&, const PartyAdmit&) = default;
};
/// To the party's host: `player` asks to join; PartyAdmit lets it in. Re-sent while it asks.
struct PartyJoinAsked {
    std::string_view party;
    std::string_view player;
    friend bool operator==(const PartyJoinAsked&, const PartyJoinAsked&) = default;
};
/// The largest ENet datagram a Probe carries (§4.8): ENet's CONNECT is 56 bytes (its 4-byte
/// header with the sent time, the 4-byte checksum slot, the 48-byte command).
inline constexpr std::size_t kMaxProbeConnect = 64;
struct Probe {
    std::uint64_t token = 0;
    std::uint32_t sequence = 0;
    /// The initiator's ENet CONNECT riding the probe (§4.8, §6 step 4), or empty. A view into
    /// the buffer the probe was decoded from (or is encoded from).
    std::span<const std::uint8_t> connect{};
    friend bool operator==(const Probe& a, const Probe& b) {
        return a.token == b.token && a.sequence == b.sequence &&
               std::equal(a.connect.begin(), a.connect.end(), b.connect.begin(), b.connect.end());
    }
};
struct ProbeAck {
    std::uint64_t token = 0;
    std::uint32_t sequence = 0;  ///< the sequence of the Probe being answered
    Address observed;            ///< where that Probe came from, as the answerer saw it
    friend bool operator==(const ProbeAck&, const ProbeAck&) = default;
};

/// What travels inside a sealed envelope (§2.3): the signals between a client and the server,
/// and the probes between peers.
using Message =
    std::variant<RegisterRequest, RegisterAck, RegisterError, IntroduceRequest, PeerUnknown,
                 Introduction, Unregister, RelayOffer, PeerRelay, IntroductionAsked, RelayRenew,
                 RelayCredentials, PartyJoin, PartyLeave, PartyMembers, PartyRefused, PartyAdmit,
                 PartyJoinAsked, Probe, ProbeAck>;

/// What an owner key signs to prove it holds `name` on this connection (§4.13): a label, the
/// server's key, this server run's salt, the client's run key and the name. Tied to the salt and
/// run key, a proof is worth nothing on another connection or to another server.
/// Returns the bytes written into `out` (at most kOwnerStatementMax), or 0.
inline constexpr std::size_t kOwnerStatementMax =
    16 + kKeySize + kSaltSize + kKeySize + 1 + kMaxNameLength;
std::size_t owner_statement(const PublicKey& server_key, const Salt& salt,
                            const PublicKey& client_key, std::string_view name,
                            std::span<std::uint8_t> out);

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

// ---- PROTOCOL.md §2.2: envelopes, what the wire carries ---------------------------------------

/// The envelope types (the header's type byte). Inner messages only travel sealed.
enum class EnvelopeType : std::uint8_t {
    hello = 0x30,            ///< client -> server, clear: the client's key; asks for a Challenge
    challenge = 0x31,        ///< server -> client, clear: the server's salt and a cookie
    client_sealed = 0x32,    ///< client -> server: a Message sealed under the signal key
    server_sealed = 0x33,    ///< server -> client: a Message sealed under the signal key
    version_refused = 0x3F,  ///< server -> client, clear: the versions the server speaks
    peer_probe = 0x40,       ///< peer -> peer: a Probe or ProbeAck under the introduction key
    peer_data = 0x41,        ///< peer -> peer: one ENet datagram under the session's data key
};

inline constexpr std::size_t kTagSize = 16;         // bytes: Poly1305
inline constexpr std::size_t kProbeNonceSize = 24;  // bytes: XChaCha20 nonce
/// A Challenge: header, the server's key, salt, cookie. A Hello is padded to the same size, so
/// the server never answers a source nobody proved with more than it sent (§9).
inline constexpr std::size_t kChallengeSize =
    kHeaderSize + kKeySize + kSaltSize + kCookieSize;      // 70
inline constexpr std::size_t kHelloSize = kChallengeSize;  // 70: header, key, 32 zero bytes
inline constexpr std::size_t kVersionRefusedSize = kHeaderSize + 2;  // 8
/// The clear part of a client_sealed envelope: header, key, cookie, counter.
inline constexpr std::size_t kClientSealedHead = kHeaderSize + kKeySize + kCookieSize + 8;  // 62
/// The clear part of a server_sealed envelope: header, counter.
inline constexpr std::size_t kServerSealedHead = kHeaderSize + 8;  // 14
/// The clear part of a peer_probe envelope: header, nonce.
inline constexpr std::size_t kProbeHead = kHeaderSize + kProbeNonceSize;  // 30
/// What a peer_probe's plaintext carries before its Message: channel, nonce, echo (§4.8).
inline constexpr std::size_t kProbePreamble = 4 + 2 * kPeerNonceSize;  // 36
/// The clear part of a peer_data envelope: header, channel, counter.
inline constexpr std::size_t kDataHead = kHeaderSize + 4 + 8;  // 18
/// Bytes a peer_data envelope adds to the ENet datagram it carries.
inline constexpr std::size_t kDataOverhead = kDataHead + kTagSize;  // 34

/// A decoded envelope: the clear fields of its type, and views of its authenticated header
/// (`ad`) and its box (ciphertext + tag) inside the datagram. Only its type's fields are set.
struct Envelope {
    EnvelopeType type = EnvelopeType::hello;
    PublicKey client_key{};     ///< hello, client_sealed
    PublicKey server_key{};     ///< challenge
    Cookie cookie{};            ///< challenge, client_sealed
    Salt salt{};                ///< challenge
    std::uint64_t counter = 0;  ///< client_sealed, server_sealed, peer_data: the nonce's counter
    std::uint32_t channel = 0;  ///< peer_data: which of the receiver's sessions it is for
    std::array<std::uint8_t, kProbeNonceSize> probe_nonce{};  ///< peer_probe
    std::uint8_t min_version = 0;                             ///< version_refused
    std::uint8_t max_version = 0;                             ///< version_refused
    std::span<const std::uint8_t> ad;   ///< the clear bytes the box authenticates
    std::span<const std::uint8_t> box;  ///< ciphertext + tag (empty for clear envelopes)
};

/// The version byte of a datagram with our magic, or 0 if it has none.
[[nodiscard]] std::uint8_t wire_version(std::span<const std::uint8_t> datagram);

/// Decodes an envelope's clear part, bounds-checked. Opening the box is the caller's (with its
/// key); nothing in the box is parsed before it opened.
[[nodiscard]] DecodeError decode_envelope(std::span<const std::uint8_t> datagram, Envelope& out);

/// Writes a clear envelope; each returns its size, or 0 when `out` is too small.
std::size_t encode_hello(const PublicKey& client_key, std::span<std::uint8_t> out);
std::size_t encode_challenge(const PublicKey& server_key, const Salt& salt, const Cookie& cookie,
                             std::span<std::uint8_t> out);
std::size_t encode_version_refused(std::span<std::uint8_t> out);
/// Writes the clear head of a sealed envelope; the box follows it. Returns the head's size, or 0.
std::size_t encode_client_sealed_head(const PublicKey& client_key, const Cookie& cookie,
                                      std::uint64_t counter, std::span<std::uint8_t> out);
std::size_t encode_server_sealed_head(std::uint64_t counter, std::span<std::uint8_t> out);
std::size_t encode_probe_head(const std::array<std::uint8_t, kProbeNonceSize>& nonce,
                              std::span<std::uint8_t> out);
std::size_t encode_data_head(std::uint32_t channel, std::uint64_t counter,
                             std::span<std::uint8_t> out);

/// Decodes a Message from an opened box: type byte, then the body (§4). Names view `plaintext`.
[[nodiscard]] DecodeError decode_inner(std::span<const std::uint8_t> plaintext, Message& out);
/// Encodes a Message for a box: type byte, then the body. Returns the size, or 0.
[[nodiscard]] std::size_t encode_inner(const Message& msg, std::span<std::uint8_t> out);

[[nodiscard]] const char* to_string(DecodeError e);
[[nodiscard]] const char* to_string(RegisterErrorCode c);
[[nodiscard]] const char* to_string(MessageType t);
[[nodiscard]] const char* to_string(EnvelopeType t);

/// True when the datagram starts with our magic: it is ours to consume (even if invalid).
[[nodiscard]] bool has_magic(std::span<const std::uint8_t> datagram);

/// A valid name: 1..kMaxNameLength bytes of [A-Za-z0-9_.-]. Names are case-sensitive.
[[nodiscard]] bool valid_name(std::string_view name);
/// A character a name may hold: [A-Za-z0-9_.-].
[[nodiscard]] constexpr bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/// The type a message encodes as.
[[nodiscard]] MessageType type_of(const Message& msg);

}  // namespace netcore::protocol

// STUN (RFC 8489) and TURN (RFC 8656) messages: the one codec of netcore's TURN client and of
// the rendezvous' Binding answers (rendezvous/src/stun_binding.*). Messages are built into a
// caller's buffer and parsed as views into the datagram; MESSAGE-INTEGRITY with long-term
// credentials, FINGERPRINT, and ChannelData framing (docs/TURN.md, docs/PROTOCOL.md §10).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |0 0|     STUN Message Type     |         Message Length        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   Magic Cookie 0x2112A442                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                Transaction ID (96 bits)                       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  attributes: type (16), length (16), value, padded to 4 bytes |
//
//  ChannelData (RFC 8656 §12.4): channel number (16, 0x4000-0x4FFF), length (16), data.
//
// IPv4 only, like ENet 1.3. FINGERPRINT (RFC 8489 §14.7) is checked wherever it appears: it must
// be the last attribute and its CRC must match, or parse() refuses the message. Only the
// rendezvous adds one (to answer a request that had one); the TURN client never does: it tells
// STUN from other protocols multiplexed on one port, coturn does not require it, and we only
// parse what comes from the TURN server's address. Parsing is bounds-checked, trusts no length
// field and never allocates. A private library (netcore_stun): no public header includes this.
#pragma once

#include <nettle/hmac.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "netcore/address.hpp"

namespace netcore::detail::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;  // RFC 8489 §5
inline constexpr std::size_t kHeaderSize = 20;             // bytes
inline constexpr std::size_t kAttributeHeaderSize = 4;     // bytes: type, length
inline constexpr std::size_t kIntegritySize = 20;          // bytes: an HMAC-SHA1
inline constexpr std::size_t kFingerprintSize = 4;         // bytes: a CRC-32
// RFC 8489 §14.7: FINGERPRINT is the CRC-32 of the message up to it, XORed with "STUN".
inline constexpr std::uint32_t kFingerprintXor = 0x5354554e;
// RFC 8489 §14.3/§14.9/§14.10: USERNAME fewer than 509 bytes, REALM and NONCE fewer than 128
// characters, "which can be as long as 763 bytes". Longer ones are refused, so every request
// we build fits kMaxRequestSize.
inline constexpr std::size_t kMaxUsernameSize = 508;  // bytes
inline constexpr std::size_t kMaxRealmSize = 763;     // bytes
inline constexpr std::size_t kMaxNonceSize = 763;     // bytes
/// The largest request we build: USERNAME, REALM, NONCE at their limits (padded), plus
/// REQUESTED-TRANSPORT or LIFETIME, XOR-PEER-ADDRESS, CHANNEL-NUMBER and MESSAGE-INTEGRITY.
inline constexpr std::size_t kMaxRequestSize =
    kHeaderSize + 4 + 508 + 4 + 764 + 4 + 764 + 8 + 12 + 8 + kAttributeHeaderSize + kIntegritySize;

using TransactionId = std::array<std::uint8_t, 12>;  // 96 bits (RFC 8489 §5)
/// Bytes 4..19 of a header: RFC 3489's 128-bit transaction id, which RFC 8489 splits into the
/// magic cookie and a 96-bit id. A response echoes them whole (RFC 8489 §12).
using LegacyTransactionId = std::array<std::uint8_t, 16>;

/// STUN/TURN methods (RFC 8489 §18.2, RFC 8656 §17).
enum class Method : std::uint16_t {
    binding = 0x001,
    allocate = 0x003,
    refresh = 0x004,
    send = 0x006,
    data = 0x007,
    create_permission = 0x008,
    channel_bind = 0x009,
};

/// The class of a message: its two class bits (RFC 8489 §5).
enum class Class : std::uint8_t { request = 0, indication = 1, success = 2, error = 3 };

/// Attribute types (RFC 8489 §18.3, RFC 8656 §18). Values from the wire may be any other.
enum class Attr : std::uint16_t {
    mapped_address = 0x0001,
    change_request = 0x0003,  // RFC 5780 §7.2
    username = 0x0006,
    message_integrity = 0x0008,
    error_code = 0x0009,
    channel_number = 0x000C,
    lifetime = 0x000D,
    xor_peer_address = 0x0012,
    data = 0x0013,
    realm = 0x0014,
    nonce = 0x0015,
    xor_relayed_address = 0x0016,
    requested_transport = 0x0019,
    message_integrity_sha256 = 0x001C,
    xor_mapped_address = 0x0020,
    software = 0x8022,
    fingerprint = 0x8028,
};

/// REQUESTED-TRANSPORT's protocol number for UDP (RFC 8656 §18.8: an IANA protocol number).
inline constexpr std::uint8_t kTransportUdp = 17;

/// CRC-32 (ISO-HDLC: the one of Ethernet and zlib) of `data`, from a 256-entry table built at
/// compile time: FINGERPRINT's checksum.
[[nodiscard]] std::uint32_t crc32(std::span<const std::uint8_t> data);

/// The 14-bit message type of a method and a class: M11..M7 C1 M6..M4 C0 M3..M0.
[[nodiscard]] constexpr std::uint16_t message_type(Method m, Class c) {
    const auto method = static_cast<unsigned>(m);
    const auto cls = static_cast<unsigned>(c);
    return static_cast<std::uint16_t>((method & 0x000Fu) | ((method & 0x0070u) << 1) |
                                      ((method & 0x0F80u) << 2) | ((cls & 1u) << 4) |
                                      ((cls & 2u) << 7));
}

// ---- MESSAGE-INTEGRITY -------------------------------------------------------------------

/// The MD5 key of the long-term credential mechanism: MD5(username ":" realm ":" password)
/// (RFC 8489 §9.2.2). The password is used as given: OpaqueString preparation is the
/// caller's (TURN REST passwords are base64, which it leaves unchanged).
[[nodiscard]] std::array<std::uint8_t, 16> long_term_key(std::string_view username,
                                                         std::string_view realm,
                                                         std::string_view password);

/// An HMAC-SHA1 key for MESSAGE-INTEGRITY, prepared once: nettle keeps the hash states of the
/// inner and outer padded keys, so each message costs only its own blocks.
class IntegrityKey {
  public:
    IntegrityKey() = default;
    /// Any key: the 16-byte long-term key, or a short-term password's bytes (RFC 8489 §9.1).
    explicit IntegrityKey(std::span<const std::uint8_t> key);
    /// The long-term credential key of `username`, `realm`, `password`.
    [[nodiscard]] static IntegrityKey long_term(std::string_view username, std::string_view realm,
                                                std::string_view password);

    [[nodiscard]] bool empty() const { return !set_; }

    /// HMAC-SHA1 of a 20-byte STUN header with its length field replaced by `length`, then
    /// `body`: the input RFC 8489 §14.5 defines.
    void sign(std::span<const std::uint8_t> header, std::uint16_t length,
              std::span<const std::uint8_t> body,
              std::span<std::uint8_t, kIntegritySize> out) const;
    /// Plain HMAC-SHA1 of `data`.
    void mac(std::span<const std::uint8_t> data, std::span<std::uint8_t, kIntegritySize> out) const;

  private:
    hmac_sha1_ctx ctx_{};
    bool set_ = false;
};

// ---- Building ---------------------------------------------------------------------------

/// Builds one message into a caller's buffer. Each add_ appends an attribute with its padding
/// (zeros); running out of room makes ok() false and bytes() empty, never writes past the end.
class Writer {
  public:
    Writer(std::span<std::uint8_t> buffer, Method method, Class cls, const TransactionId& id);
    /// A message whose bytes 4..19 are `id` as is: the answer to a request echoes them, cookie
    /// and id, or an RFC 3489 client's 128-bit id.
    [[nodiscard]] static Writer echoing(std::span<std::uint8_t> buffer, Method method, Class cls,
                                        const LegacyTransactionId& id);

    void add(Attr type, std::span<const std::uint8_t> value);
    void add(Attr type, std::string_view value);
    void add_u32(Attr type, std::uint32_t value);
    /// MAPPED-ADDRESS (RFC 8489 §14.1), IPv4: for RFC 3489 clients, which know no XOR.
    void add_address(Attr type, Address address);
    /// XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS (RFC 8489 §14.2), IPv4.
    void add_xor_address(Attr type, Address address);
    /// REQUESTED-TRANSPORT with UDP (RFC 8656 §18.8).
    void add_requested_transport_udp();
    /// CHANNEL-NUMBER (RFC 8656 §18.1): the number, then two reserved zero bytes.
    void add_channel_number(std::uint16_t channel);
    /// ERROR-CODE (RFC 8489 §14.8) with `code` 300..699. Servers send it; tests build it.
    void add_error_code(int code, std::string_view reason);
    /// MESSAGE-INTEGRITY over everything added so far. Add it last, or before FINGERPRINT.
    void add_integrity(const IntegrityKey& key);
    /// FINGERPRINT over everything added so far (RFC 8489 §14.7). Always the last attribute.
    void add_fingerprint();

    [[nodiscard]] bool ok() const { return ok_; }
    /// The message so far (header length up to date), or empty when it did not fit.
    [[nodiscard]] std::span<const std::uint8_t> bytes() const;

  private:
    explicit Writer(std::span<std::uint8_t> buffer) : buffer_(buffer) {}
    /// Reserves an attribute of `length` value bytes (plus padding); nullptr when it does not fit.
    std::uint8_t* reserve(Attr type, std::size_t length);
    void begin(Method method, Class cls, std::span<const std::uint8_t, 16> bytes_4_to_19);

    std::span<std::uint8_t> buffer_;
    std::size_t size_ = 0;
    bool ok_ = true;
};

// ---- Parsing ----------------------------------------------------------------------------

/// Why parse() refused a datagram.
enum class ParseError : std::uint8_t {
    ok = 0,
    too_short,        ///< fewer than 20 bytes
    not_stun,         ///< the first two bits are not 0
    bad_cookie,       ///< no magic cookie (an RFC 3489 message, or not STUN)
    bad_length,       ///< the length field is not a multiple of 4 or disagrees with the size
    bad_attribute,    ///< an attribute (with its padding) runs past the end of the message, or
                      ///< MESSAGE-INTEGRITY is not 20 bytes
    bad_fingerprint,  ///< FINGERPRINT not last, not 4 bytes, or its CRC does not match
};

[[nodiscard]] const char* to_string(ParseError e);

/// ERROR-CODE's value: the number (300..699) and the reason phrase as sent (not sanitised).
struct ErrorCode {
    int code = 0;
    std::string_view reason;
};

class Message;

/// Whether parse() takes an RFC 3489 Binding request: no magic cookie, a 128-bit transaction
/// id. A Binding server answers those (RFC 8489 §12); nothing else needs them.
enum class Classic : std::uint8_t { refuse, accept_binding_request };

/// Parses one datagram holding one STUN message. `out` is only meaningful on ParseError::ok.
/// Every attribute is walked, after MESSAGE-INTEGRITY too, so "malformed" is one rule.
[[nodiscard]] ParseError parse(std::span<const std::uint8_t> datagram, Message& out,
                               Classic classic = Classic::refuse);

/// A parsed message: views into the datagram, valid as long as the datagram is.
class Message {
  public:
    [[nodiscard]] Method method() const { return method_; }
    [[nodiscard]] Class cls() const { return class_; }
    [[nodiscard]] const TransactionId& transaction() const { return id_; }
    /// Bytes 4..19: the cookie and transaction(), or an RFC 3489 request's 128-bit id.
    [[nodiscard]] LegacyTransactionId legacy_transaction() const;
    /// No magic cookie: an RFC 3489 Binding request (parsed with Classic::accept_binding_request).
    [[nodiscard]] bool classic() const { return classic_; }

    /// The value of the first attribute of `type`. Attributes after MESSAGE-INTEGRITY are
    /// ignored, as RFC 8489 §14.5 asks.
    [[nodiscard]] std::optional<std::span<const std::uint8_t>> find(Attr type) const;
    [[nodiscard]] std::optional<std::string_view> text(Attr type) const;
    /// A 4-byte attribute (LIFETIME) as a number.
    [[nodiscard]] std::optional<std::uint32_t> u32(Attr type) const;
    /// An XOR-...-ADDRESS of the IPv4 family; nothing for IPv6 or a malformed value.
    [[nodiscard]] std::optional<Address> xor_address(Attr type) const;
    /// CHANNEL-NUMBER's number.
    [[nodiscard]] std::optional<std::uint16_t> channel_number() const;
    /// ERROR-CODE, when well formed (class 3..6, number 0..99).
    [[nodiscard]] std::optional<ErrorCode> error_code() const;

    [[nodiscard]] bool has_integrity() const { return integrity_at_ != 0; }
    /// True when MESSAGE-INTEGRITY is present and its HMAC under `key` matches.
    [[nodiscard]] bool check_integrity(const IntegrityKey& key) const;
    /// FINGERPRINT is present (parse() checked it: last, and its CRC matches).
    [[nodiscard]] bool has_fingerprint() const { return fingerprint_; }

  private:
    friend ParseError parse(std::span<const std::uint8_t> datagram, Message& out, Classic classic);

    std::span<const std::uint8_t> bytes_;  // the whole message
    std::size_t attributes_end_ = 0;       // where find() stops: MESSAGE-INTEGRITY or the end
    std::size_t integrity_at_ = 0;         // offset of MESSAGE-INTEGRITY's header; 0 if none
    Method method_ = Method::binding;
    Class class_ = Class::request;
    TransactionId id_{};
    bool classic_ = false;
    bool fingerprint_ = false;
};

// ---- ChannelData ------------------------------------------------------------------------

inline constexpr std::uint16_t kFirstChannel = 0x4000;  // RFC 8656 §12
inline constexpr std::uint16_t kLastChannel = 0x4FFF;
inline constexpr std::size_t kChannelHeaderSize = 4;  // bytes: channel number, length

/// A ChannelData message: the channel and a view of its data (never the padding).
struct ChannelData {
    std::uint16_t channel = 0;
    std::span<const std::uint8_t> data;
};

/// True when the first byte says ChannelData rather than STUN (RFC 8656 §12: 0b01).
[[nodiscard]] inline bool looks_like_channel_data(std::span<const std::uint8_t> datagram) {
    return !datagram.empty() && (datagram[0] & 0xC0) == 0x40;
}

/// Parses ChannelData. Over UDP the padding to 4 bytes is optional (RFC 8656 §12.5), so the
/// datagram may end right after the data or after its padding; anything else is refused, as
/// are channel numbers outside 0x4000-0x4FFF.
[[nodiscard]] bool parse_channel_data(std::span<const std::uint8_t> datagram, ChannelData& out);

/// Writes ChannelData without padding (none is needed over UDP). Returns its size, or 0 when
/// `out` is too small, the channel is not valid or the payload exceeds 65535 bytes.
[[nodiscard]] std::size_t write_channel_data(std::uint16_t channel,
                                             std::span<const std::uint8_t> payload,
                                             std::span<std::uint8_t> out);

}  // namespace netcore::detail::stun

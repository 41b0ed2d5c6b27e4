// rendezvous — what it answers to STUN on its port (RFC 8489 Binding; docs/PROTOCOL.md §10).
// The messages themselves are netcore's STUN codec (netcore/src/stun_message.hpp); this is the
// policy: which requests are answered, how large a request may be, what the answer holds.
//
// A STUN message never starts with our "NCRV" magic (its first two bits are 0, 'N' is 0x4E),
// so both share one socket. The response is the smallest useful one (XOR-MAPPED-ADDRESS, plus
// FINGERPRINT when the request had one), so it is never much larger than its request
// (docs/RENDEZVOUS.md, "Amplification").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "netcore/address.hpp"
#include "stun_message.hpp"

namespace rendezvous::stun {

// The largest request parsed; a longer one is dropped before any other work. A Binding request
// we answer needs 20 bytes (28 with FINGERPRINT); 548 is RFC 8489 §6.1's bound for a STUN
// message over IPv4 when the path MTU is unknown (576 - IP and UDP headers), room for any
// client's SOFTWARE or ICE attributes. Beyond it a datagram is only cost: an attribute walk and
// a CRC over up to 64 KiB.
inline constexpr std::size_t kMaxRequestSize = 548;  // bytes
// The largest response we build: header, one (XOR-)MAPPED-ADDRESS, FINGERPRINT.
inline constexpr std::size_t kMaxResponseSize = 20 + 12 + 8;  // bytes

/// What parse() made of a datagram.
enum class Result : std::uint8_t {
    binding_request = 0,  ///< a valid Binding request: answer it
    not_stun,             ///< no STUN header: hand it to the netcore decoder
    not_binding_request,  ///< valid STUN, but an indication, a response or another method
    change_request,       ///< asks for an answer from another address or port: we have none
    bad_length,           ///< the length field is not a multiple of 4 or disagrees with the size
    bad_attribute,        ///< an attribute runs past the end, or MESSAGE-INTEGRITY is malformed
    bad_fingerprint,      ///< FINGERPRINT not last, not 4 bytes, or its CRC does not match
    too_large,            ///< longer than kMaxRequestSize: dropped before any parsing
};

[[nodiscard]] const char* to_string(Result r);

/// What a response needs from a Binding request.
struct BindingRequest {
    /// Bytes 4..19 of the request: the magic cookie and the 96-bit transaction id (RFC 8489),
    /// or the 128-bit transaction id of an RFC 3489 client, echoed as is.
    netcore::detail::stun::LegacyTransactionId transaction{};
    /// No magic cookie: an RFC 3489 client, answered with MAPPED-ADDRESS (RFC 8489 §12).
    bool classic = false;
    /// The request carried FINGERPRINT, so the response carries one too (RFC 8489 §14.7).
    bool fingerprint = false;
};

/// True when the datagram has a STUN header: at least 20 bytes, the first two bits 0, and
/// either the magic cookie or (RFC 3489, no cookie) the Binding request type 0x0001.
[[nodiscard]] bool looks_like_stun(std::span<const std::uint8_t> datagram);

/// Parses one datagram. Unknown attributes, comprehension-required or not, are skipped: see
/// docs/PROTOCOL.md §10 for why we answer rather than send 420.
[[nodiscard]] Result parse(std::span<const std::uint8_t> datagram, BindingRequest& out);

/// Writes the Binding success response telling `request`'s sender it was seen at `mapped`.
/// Returns the size written (32, 40 with FINGERPRINT; 32 for an RFC 3489 client), or 0 when
/// `out` is too small.
[[nodiscard]] std::size_t write_binding_response(const BindingRequest& request,
                                                 netcore::Address mapped,
                                                 std::span<std::uint8_t> out);

}  // namespace rendezvous::stun

// STUN Binding: parsing a request, writing the success response (RFC 8489, written from the RFC).
#include "stun.hpp"

#include <algorithm>

namespace rendezvous::stun {

namespace {

// RFC 8489 §5: a message type is a 12-bit method and a 2-bit class interleaved in 14 bits.
constexpr std::uint16_t kBindingRequest = 0x0001;  // method 0x001, class request
constexpr std::uint16_t kBindingSuccess = 0x0101;  // method 0x001, class success response

// RFC 8489 §18.3 (and RFC 5780 §7.2 for CHANGE-REQUEST).
constexpr std::uint16_t kMappedAddress = 0x0001;
constexpr std::uint16_t kChangeRequest = 0x0003;
constexpr std::uint16_t kXorMappedAddress = 0x0020;
constexpr std::uint16_t kFingerprint = 0x8028;

constexpr std::uint8_t kFamilyIPv4 = 0x01;
constexpr std::size_t kAttributeHeaderSize = 4;  // bytes: type, length
constexpr std::size_t kAddressValueSize = 8;     // bytes: 0, family, port, IPv4 address
constexpr std::size_t kFingerprintSize = kAttributeHeaderSize + 4;  // bytes
// RFC 5780 §7.2: the "change IP" and "change port" flags of CHANGE-REQUEST's value.
constexpr std::uint32_t kChangeFlags = 0x06;

std::uint16_t u16_at(std::span<const std::uint8_t> d, std::size_t at) {
    return static_cast<std::uint16_t>((d[at] << 8) | d[at + 1]);
}
std::uint32_t u32_at(std::span<const std::uint8_t> d, std::size_t at) {
    return (std::uint32_t{u16_at(d, at)} << 16) | u16_at(d, at + 2);
}
void put16(std::span<std::uint8_t> out, std::size_t at, std::uint16_t v) {
    out[at] = static_cast<std::uint8_t>(v >> 8);
    out[at + 1] = static_cast<std::uint8_t>(v);
}
void put32(std::span<std::uint8_t> out, std::size_t at, std::uint32_t v) {
    put16(out, at, static_cast<std::uint16_t>(v >> 16));
    put16(out, at + 2, static_cast<std::uint16_t>(v));
}

bool has_cookie(std::span<const std::uint8_t> d) {
    return u32_at(d, 4) == kMagicCookie;
}

// Writes an address attribute (MAPPED-ADDRESS or XOR-MAPPED-ADDRESS) at `at`; returns its end.
std::size_t put_address(std::span<std::uint8_t> out, std::size_t at, std::uint16_t type,
                        std::uint16_t port, std::uint32_t ip) {
    put16(out, at, type);
    put16(out, at + 2, static_cast<std::uint16_t>(kAddressValueSize));
    out[at + 4] = 0;
    out[at + 5] = kFamilyIPv4;
    put16(out, at + 6, port);
    put32(out, at + 8, ip);
    return at + kAttributeHeaderSize + kAddressValueSize;
}

}  // namespace

const char* to_string(Result r) {
    switch (r) {
        case Result::binding_request:
            return "binding_request";
        case Result::not_stun:
            return "not_stun";
        case Result::not_binding_request:
            return "not_binding_request";
        case Result::change_request:
            return "change_request";
        case Result::bad_length:
            return "bad_length";
        case Result::bad_attribute:
            return "bad_attribute";
        case Result::bad_fingerprint:
            return "bad_fingerprint";
        case Result::too_large:
            return "too_large";
    }
    return "?";
}

namespace {

// The CRC-32 of every byte value, the reflected polynomial 0xEDB88320 applied bit by bit: 256
// entries computed by the compiler, so crc32() costs one lookup and two shifts a byte.
constexpr std::array<std::uint32_t, 256> kCrcTable = [] {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < table.size(); ++i) {
        std::uint32_t crc = i;
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
        table[i] = crc;
    }
    return table;
}();
static_assert(kCrcTable[1] == 0x77073096U && kCrcTable[255] == 0x2D02EF8DU);

}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> data) {
    std::uint32_t crc = 0xFFFFFFFF;
    for (const auto byte : data) crc = (crc >> 8) ^ kCrcTable[(crc ^ byte) & 0xFFU];
    return ~crc;
}

bool looks_like_stun(std::span<const std::uint8_t> d) {
    if (d.size() < kHeaderSize) return false;
    if ((d[0] & 0xC0) != 0) return false;  // RFC 8489 §5: the two most significant bits are 0
    return has_cookie(d) || u16_at(d, 0) == kBindingRequest;
}

Result parse(std::span<const std::uint8_t> d, BindingRequest& out) {
    if (!looks_like_stun(d)) return Result::not_stun;
    if (d.size() > kMaxRequestSize) return Result::too_large;  // before any other work
    const std::size_t length = u16_at(d, 2);
    if (length % 4 != 0 || length != d.size() - kHeaderSize) return Result::bad_length;

    // Walk every attribute, even for messages we will not answer, so "malformed" is one rule.
    bool fingerprint = false;
    bool change = false;
    for (std::size_t at = kHeaderSize; at < d.size();) {
        if (fingerprint) return Result::bad_fingerprint;  // RFC 8489 §14.7: it must be last
        if (d.size() - at < kAttributeHeaderSize) return Result::bad_attribute;
        const std::uint16_t type = u16_at(d, at);
        const std::size_t value_size = u16_at(d, at + 2);
        const std::size_t padded = (value_size + 3) & ~std::size_t{3};  // to a 4-byte boundary
        const std::size_t value_at = at + kAttributeHeaderSize;
        if (d.size() - value_at < padded) return Result::bad_attribute;
        if (type == kFingerprint) {
            if (value_size != 4) return Result::bad_fingerprint;
            const auto crc = crc32(d.first(at)) ^ kFingerprintXor;
            if (u32_at(d, value_at) != crc) return Result::bad_fingerprint;
            fingerprint = true;
        } else if (type == kChangeRequest && value_size == 4) {
            change = (u32_at(d, value_at) & kChangeFlags) != 0;
        }
        // Any other attribute, known or not, is skipped (docs/PROTOCOL.md §10).
        at = value_at + padded;
    }

    if (u16_at(d, 0) != kBindingRequest) return Result::not_binding_request;
    if (change) return Result::change_request;
    std::copy(d.begin() + 4, d.begin() + kHeaderSize, out.transaction.begin());
    out.classic = !has_cookie(d);
    out.fingerprint = fingerprint;
    return Result::binding_request;
}

std::size_t write_binding_response(const BindingRequest& request, netcore::Address mapped,
                                   std::span<std::uint8_t> out) {
    const std::size_t size = kHeaderSize + kAttributeHeaderSize + kAddressValueSize +
                             (request.fingerprint ? kFingerprintSize : 0);
    if (out.size() < size) return 0;

    put16(out, 0, kBindingSuccess);
    put16(out, 2, static_cast<std::uint16_t>(size - kHeaderSize));
    std::copy(request.transaction.begin(), request.transaction.end(), out.begin() + 4);
    std::size_t at = kHeaderSize;
    if (request.classic) {
        // RFC 3489 predates XOR-MAPPED-ADDRESS; RFC 8489 §12 answers such clients with this.
        at = put_address(out, at, kMappedAddress, mapped.port, mapped.ip);
    } else {
        // RFC 8489 §14.2: port XOR the cookie's high 16 bits, address XOR the whole cookie.
        at = put_address(out, at, kXorMappedAddress,
                         static_cast<std::uint16_t>(mapped.port ^ (kMagicCookie >> 16)),
                         mapped.ip ^ kMagicCookie);
    }
    if (request.fingerprint) {
        // The length field already counts FINGERPRINT, as the CRC must see (RFC 8489 §14.7).
        put16(out, at, kFingerprint);
        put16(out, at + 2, 4);
        put32(out, at + 4, crc32(out.first(at)) ^ kFingerprintXor);
        at += kFingerprintSize;
    }
    return at;
}

}  // namespace rendezvous::stun

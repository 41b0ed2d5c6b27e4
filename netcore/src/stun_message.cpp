// STUN/TURN message codec (RFC 8489, RFC 8656), written from the RFCs: netcore's TURN client and
// the rendezvous' Binding answers both use it.
#include "stun_message.hpp"

#include <nettle/md5.h>

#include <algorithm>
#include <cstring>

namespace netcore::detail::stun {

namespace {

constexpr std::uint8_t kFamilyIPv4 = 0x01;         // RFC 8489 §14.1
constexpr std::uint16_t kBindingRequest = 0x0001;  // message_type(binding, request)
constexpr std::size_t kIPv4AddressValue = 8;       // bytes: 0, family, port, address
constexpr std::size_t kIntegrityAttribute = kAttributeHeaderSize + kIntegritySize;  // bytes

std::uint16_t u16_at(std::span<const std::uint8_t> d, std::size_t at) {
    return static_cast<std::uint16_t>((d[at] << 8) | d[at + 1]);
}
std::uint32_t u32_at(std::span<const std::uint8_t> d, std::size_t at) {
    return (std::uint32_t{u16_at(d, at)} << 16) | u16_at(d, at + 2);
}
void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    put16(p, static_cast<std::uint16_t>(v >> 16));
    put16(p + 2, static_cast<std::uint16_t>(v));
}

constexpr std::size_t padded(std::size_t length) {
    return (length + 3) & ~std::size_t{3};
}

// The class and method of a 14-bit message type (the inverse of message_type()).
Class class_of(std::uint16_t type) {
    return static_cast<Class>(((type >> 4) & 1u) | ((type >> 7) & 2u));
}
Method method_of(std::uint16_t type) {
    return static_cast<Method>((type & 0x000Fu) | ((type & 0x00E0u) >> 1) |
                               ((type & 0x3E00u) >> 2));
}

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

// ---- MESSAGE-INTEGRITY -------------------------------------------------------------------

std::array<std::uint8_t, 16> long_term_key(std::string_view username, std::string_view realm,
                                           std::string_view password) {
    md5_ctx md5{};
    md5_init(&md5);
    const auto feed = [&md5](std::string_view s) {
        md5_update(&md5, s.size(), reinterpret_cast<const std::uint8_t*>(s.data()));
    };
    feed(username);
    feed(":");
    feed(realm);
    feed(":");
    feed(password);
    std::array<std::uint8_t, 16> key{};
    md5_digest(&md5, key.size(), key.data());
    return key;
}

IntegrityKey::IntegrityKey(std::span<const std::uint8_t> key) : set_(true) {
    hmac_sha1_set_key(&ctx_, key.size(), key.data());
}

IntegrityKey IntegrityKey::long_term(std::string_view username, std::string_view realm,
                                     std::string_view password) {
    const auto key = long_term_key(username, realm, password);
    return IntegrityKey(key);
}

void IntegrityKey::sign(std::span<const std::uint8_t> header, std::uint16_t length,
                        std::span<const std::uint8_t> body,
                        std::span<std::uint8_t, kIntegritySize> out) const {
    std::array<std::uint8_t, kHeaderSize> h{};
    std::copy_n(header.begin(), std::min(header.size(), h.size()), h.begin());
    put16(h.data() + 2, length);
    // A copy starts from the prepared key state; digesting would reset ctx_ anyway, but this
    // keeps sign() const and safe to call from anywhere.
    hmac_sha1_ctx ctx = ctx_;
    hmac_sha1_update(&ctx, h.size(), h.data());
    hmac_sha1_update(&ctx, body.size(), body.data());
    hmac_sha1_digest(&ctx, out.size(), out.data());
}

void IntegrityKey::mac(std::span<const std::uint8_t> data,
                       std::span<std::uint8_t, kIntegritySize> out) const {
    hmac_sha1_ctx ctx = ctx_;
    hmac_sha1_update(&ctx, data.size(), data.data());
    hmac_sha1_digest(&ctx, out.size(), out.data());
}

// ---- Building ---------------------------------------------------------------------------

Writer::Writer(std::span<std::uint8_t> buffer, Method method, Class cls, const TransactionId& id)
    : buffer_(buffer) {
    LegacyTransactionId whole{};
    put32(whole.data(), kMagicCookie);
    std::copy(id.begin(), id.end(), whole.begin() + 4);
    begin(method, cls, whole);
}

Writer Writer::echoing(std::span<std::uint8_t> buffer, Method method, Class cls,
                       const LegacyTransactionId& id) {
    Writer w(buffer);
    w.begin(method, cls, id);
    return w;
}

void Writer::begin(Method method, Class cls, std::span<const std::uint8_t, 16> bytes_4_to_19) {
    if (buffer_.size() < kHeaderSize) {
        ok_ = false;
        return;
    }
    put16(buffer_.data(), message_type(method, cls));
    put16(buffer_.data() + 2, 0);
    std::copy(bytes_4_to_19.begin(), bytes_4_to_19.end(), buffer_.begin() + 4);
    size_ = kHeaderSize;
}

std::uint8_t* Writer::reserve(Attr type, std::size_t length) {
    const std::size_t need = kAttributeHeaderSize + padded(length);
    if (!ok_ || length > 0xFFFF || buffer_.size() - size_ < need ||
        size_ - kHeaderSize + need > 0xFFFF) {
        ok_ = false;
        return nullptr;
    }
    std::uint8_t* p = buffer_.data() + size_;
    put16(p, static_cast<std::uint16_t>(type));
    put16(p + 2, static_cast<std::uint16_t>(length));
    std::fill(p + kAttributeHeaderSize + length, p + need, std::uint8_t{0});  // padding
    size_ += need;
    put16(buffer_.data() + 2, static_cast<std::uint16_t>(size_ - kHeaderSize));
    return p + kAttributeHeaderSize;
}

void Writer::add(Attr type, std::span<const std::uint8_t> value) {
    if (std::uint8_t* p = reserve(type, value.size())) std::copy(value.begin(), value.end(), p);
}

void Writer::add(Attr type, std::string_view value) {
    add(type, std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
}

void Writer::add_u32(Attr type, std::uint32_t value) {
    if (std::uint8_t* p = reserve(type, 4)) put32(p, value);
}

void Writer::add_address(Attr type, Address address) {
    std::uint8_t* p = reserve(type, kIPv4AddressValue);
    if (p == nullptr) return;
    p[0] = 0;
    p[1] = kFamilyIPv4;
    put16(p + 2, address.port);
    put32(p + 4, address.ip);
}

void Writer::add_xor_address(Attr type, Address address) {
    std::uint8_t* p = reserve(type, kIPv4AddressValue);
    if (p == nullptr) return;
    p[0] = 0;
    p[1] = kFamilyIPv4;
    put16(p + 2, static_cast<std::uint16_t>(address.port ^ (kMagicCookie >> 16)));
    put32(p + 4, address.ip ^ kMagicCookie);
}

void Writer::add_requested_transport_udp() {
    add_u32(Attr::requested_transport, std::uint32_t{kTransportUdp} << 24);  // then RFFU zeros
}

void Writer::add_channel_number(std::uint16_t channel) {
    add_u32(Attr::channel_number, std::uint32_t{channel} << 16);
}

void Writer::add_error_code(int code, std::string_view reason) {
    std::uint8_t* p = reserve(Attr::error_code, 4 + reason.size());
    if (p == nullptr) return;
    p[0] = 0;
    p[1] = 0;
    p[2] = static_cast<std::uint8_t>((code / 100) & 0x07);
    p[3] = static_cast<std::uint8_t>(code % 100);
    std::copy(reason.begin(), reason.end(), p + 4);
}

void Writer::add_integrity(const IntegrityKey& key) {
    const std::size_t at = size_;
    std::uint8_t* p = reserve(Attr::message_integrity, kIntegritySize);
    if (p == nullptr) return;
    // RFC 8489 §14.5: the HMAC covers the message up to MESSAGE-INTEGRITY, with the header's
    // length already counting MESSAGE-INTEGRITY itself (and nothing after it) -- which is
    // what reserve() just wrote, since it is the last attribute.
    const std::span<const std::uint8_t> all(buffer_.data(), size_);
    key.sign(all.first(kHeaderSize), u16_at(all, 2), all.subspan(kHeaderSize, at - kHeaderSize),
             std::span<std::uint8_t, kIntegritySize>(p, kIntegritySize));
}

void Writer::add_fingerprint() {
    const std::size_t at = size_;
    std::uint8_t* p = reserve(Attr::fingerprint, kFingerprintSize);
    if (p == nullptr) return;
    // The header's length already counts FINGERPRINT, as the CRC must see (RFC 8489 §14.7).
    put32(p, crc32(std::span<const std::uint8_t>(buffer_.data(), at)) ^ kFingerprintXor);
}

std::span<const std::uint8_t> Writer::bytes() const {
    if (!ok_) return {};
    return {buffer_.data(), size_};
}

// ---- Parsing ----------------------------------------------------------------------------

const char* to_string(ParseError e) {
    switch (e) {
        case ParseError::ok:
            return "ok";
        case ParseError::too_short:
            return "too_short";
        case ParseError::not_stun:
            return "not_stun";
        case ParseError::bad_cookie:
            return "bad_cookie";
        case ParseError::bad_length:
            return "bad_length";
        case ParseError::bad_attribute:
            return "bad_attribute";
        case ParseError::bad_fingerprint:
            return "bad_fingerprint";
    }
    return "?";
}

ParseError parse(std::span<const std::uint8_t> d, Message& out, Classic classic) {
    if (d.size() < kHeaderSize) return ParseError::too_short;
    if ((d[0] & 0xC0) != 0) return ParseError::not_stun;
    const bool cookie = u32_at(d, 4) == kMagicCookie;
    // RFC 3489 had no cookie: bytes 4..7 were part of its 128-bit transaction id.
    if (!cookie && (classic != Classic::accept_binding_request || u16_at(d, 0) != kBindingRequest))
        return ParseError::bad_cookie;
    const std::size_t length = u16_at(d, 2);
    if (length % 4 != 0 || kHeaderSize + length != d.size()) return ParseError::bad_length;

    std::size_t integrity_at = 0;
    std::size_t attributes_end = d.size();
    bool fingerprint = false;
    for (std::size_t at = kHeaderSize; at < d.size();) {
        if (fingerprint) return ParseError::bad_fingerprint;  // RFC 8489 §14.7: it must be last
        if (d.size() - at < kAttributeHeaderSize) return ParseError::bad_attribute;
        const auto type = static_cast<Attr>(u16_at(d, at));
        const std::size_t value = u16_at(d, at + 2);
        if (padded(value) > d.size() - at - kAttributeHeaderSize) return ParseError::bad_attribute;
        if (type == Attr::message_integrity && integrity_at == 0) {
            if (value != kIntegritySize) return ParseError::bad_attribute;
            integrity_at = at;
            attributes_end = at;
        } else if (type == Attr::fingerprint) {
            if (value != kFingerprintSize) return ParseError::bad_fingerprint;
            const std::uint32_t crc = crc32(d.first(at)) ^ kFingerprintXor;
            if (u32_at(d, at + kAttributeHeaderSize) != crc) return ParseError::bad_fingerprint;
            fingerprint = true;
        }
        at += kAttributeHeaderSize + padded(value);
    }

    const std::uint16_t type = u16_at(d, 0);
    out.bytes_ = d;
    out.attributes_end_ = attributes_end;
    out.integrity_at_ = integrity_at;
    out.method_ = method_of(type);
    out.class_ = class_of(type);
    std::copy_n(d.begin() + 8, out.id_.size(), out.id_.begin());
    out.classic_ = !cookie;
    out.fingerprint_ = fingerprint;
    return ParseError::ok;
}

LegacyTransactionId Message::legacy_transaction() const {
    LegacyTransactionId id{};
    std::copy_n(bytes_.begin() + 4, id.size(), id.begin());
    return id;
}

std::optional<std::span<const std::uint8_t>> Message::find(Attr type) const {
    // parse() checked every attribute's bounds, so the walk needs no checks of its own.
    for (std::size_t at = kHeaderSize; at < attributes_end_;) {
        const std::size_t value = u16_at(bytes_, at + 2);
        if (static_cast<Attr>(u16_at(bytes_, at)) == type)
            return bytes_.subspan(at + kAttributeHeaderSize, value);
        at += kAttributeHeaderSize + padded(value);
    }
    return std::nullopt;
}

std::optional<std::string_view> Message::text(Attr type) const {
    const auto v = find(type);
    if (!v) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

std::optional<std::uint32_t> Message::u32(Attr type) const {
    const auto v = find(type);
    if (!v || v->size() != 4) return std::nullopt;
    return u32_at(*v, 0);
}

std::optional<Address> Message::xor_address(Attr type) const {
    const auto v = find(type);
    if (!v || v->size() != kIPv4AddressValue || (*v)[1] != kFamilyIPv4) return std::nullopt;
    return Address{u32_at(*v, 4) ^ kMagicCookie,
                   static_cast<std::uint16_t>(u16_at(*v, 2) ^ (kMagicCookie >> 16))};
}

std::optional<std::uint16_t> Message::channel_number() const {
    const auto v = find(Attr::channel_number);
    if (!v || v->size() != 4) return std::nullopt;
    return u16_at(*v, 0);
}

std::optional<ErrorCode> Message::error_code() const {
    const auto v = find(Attr::error_code);
    if (!v || v->size() < 4) return std::nullopt;
    const int cls = (*v)[2] & 0x07;
    const int number = (*v)[3];
    if (cls < 3 || cls > 6 || number > 99) return std::nullopt;
    return ErrorCode{cls * 100 + number,
                     std::string_view(reinterpret_cast<const char*>(v->data() + 4), v->size() - 4)};
}

bool Message::check_integrity(const IntegrityKey& key) const {
    if (integrity_at_ == 0 || key.empty()) return false;
    std::array<std::uint8_t, kIntegritySize> mac{};
    const auto length =
        static_cast<std::uint16_t>(integrity_at_ + kIntegrityAttribute - kHeaderSize);
    key.sign(bytes_.first(kHeaderSize), length,
             bytes_.subspan(kHeaderSize, integrity_at_ - kHeaderSize), mac);
    // Compared in constant time, so a forger learns nothing from how fast we refuse.
    const auto sent = bytes_.subspan(integrity_at_ + kAttributeHeaderSize, kIntegritySize);
    std::uint8_t diff = 0;
    for (std::size_t i = 0; i < mac.size(); ++i)
        diff |= static_cast<std::uint8_t>(mac[i] ^ sent[i]);
    return diff == 0;
}

// ---- ChannelData ------------------------------------------------------------------------

bool parse_channel_data(std::span<const std::uint8_t> d, ChannelData& out) {
    if (d.size() < kChannelHeaderSize) return false;
    const std::uint16_t channel = u16_at(d, 0);
    if (channel < kFirstChannel || channel > kLastChannel) return false;
    const std::size_t length = u16_at(d, 2);
    const std::size_t room = d.size() - kChannelHeaderSize;
    if (room < length || room > padded(length)) return false;
    out.channel = channel;
    out.data = d.subspan(kChannelHeaderSize, length);
    return true;
}

std::size_t write_channel_data(std::uint16_t channel, std::span<const std::uint8_t> payload,
                               std::span<std::uint8_t> out) {
    if (channel < kFirstChannel || channel > kLastChannel || payload.size() > 0xFFFF ||
        out.size() < kChannelHeaderSize + payload.size())
        return 0;
    put16(out.data(), channel);
    put16(out.data() + 2, static_cast<std::uint16_t>(payload.size()));
    if (!payload.empty())
        std::memcpy(out.data() + kChannelHeaderSize, payload.data(), payload.size());
    return kChannelHeaderSize + payload.size();
}

}  // namespace netcore::detail::stun

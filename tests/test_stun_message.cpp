// The STUN/TURN codec of the TURN client and the rendezvous: RFC 5769's test vectors, our own
// messages read back, FINGERPRINT and its CRC-32, RFC 3489 Binding requests, ChannelData framing,
// and malformed input refused. (Random input is the fuzzer's: fuzz/fuzz_stun_message.cpp.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rfc5769.hpp"
#include "stun_message.hpp"

using namespace netcore;
namespace stun = netcore::detail::stun;
using Bytes = std::vector<std::uint8_t>;

namespace {

using rfc5769::kLongTermPassword;
using rfc5769::kLongTermUser;
using rfc5769::kSampleLongTerm;
using rfc5769::kSampleRequest;
using rfc5769::kSampleResponse;
using rfc5769::kShortTermPassword;

stun::IntegrityKey short_term(std::string_view password) {
    return stun::IntegrityKey(
        std::span(reinterpret_cast<const std::uint8_t*>(password.data()), password.size()));
}

stun::ParseError parse(const Bytes& b) {
    stun::Message m;
    return stun::parse(b, m);
}

// A message with the given attributes region; the header's length field says its real size.
Bytes message_with(const Bytes& attributes) {
    const Bytes header = {0x01, 0x03, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
                          3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
    // Sized first, then copied: GCC 12 warns wrongly (-Warray-bounds) on vector::insert here.
    Bytes b(header.size() + attributes.size());
    std::copy(header.begin(), header.end(), b.begin());
    std::copy(attributes.begin(), attributes.end(), b.begin() + 20);
    b[2] = static_cast<std::uint8_t>(attributes.size() >> 8);
    b[3] = static_cast<std::uint8_t>(attributes.size());
    return b;
}

const stun::TransactionId kId = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

}  // namespace

TEST_CASE("message types interleave the method's bits with the class's", "[stun]") {
    using stun::Class;
    using stun::Method;
    CHECK(stun::message_type(Method::binding, Class::request) == 0x0001);
    CHECK(stun::message_type(Method::binding, Class::success) == 0x0101);
    CHECK(stun::message_type(Method::allocate, Class::request) == 0x0003);
    CHECK(stun::message_type(Method::allocate, Class::success) == 0x0103);
    CHECK(stun::message_type(Method::allocate, Class::error) == 0x0113);
    CHECK(stun::message_type(Method::send, Class::indication) == 0x0016);
    CHECK(stun::message_type(Method::data, Class::indication) == 0x0017);
    CHECK(stun::message_type(Method::channel_bind, Class::success) == 0x0109);
}

TEST_CASE("RFC 5769 sample request: MESSAGE-INTEGRITY verifies with the short-term password",
          "[stun]") {
    stun::Message m;
    REQUIRE(stun::parse(kSampleRequest, m) == stun::ParseError::ok);
    CHECK(m.method() == stun::Method::binding);
    CHECK(m.cls() == stun::Class::request);
    CHECK(m.transaction() == stun::TransactionId{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
                                                 0xfa, 0x87, 0xdf, 0xae});
    CHECK(m.text(stun::Attr::username) == "evtj:h6vY");
    CHECK(m.text(stun::Attr::software) == "STUN test client");
    // FINGERPRINT follows MESSAGE-INTEGRITY: the length used for the HMAC excludes it.
    CHECK(m.has_integrity());
    CHECK(m.check_integrity(short_term(kShortTermPassword)));
    CHECK_FALSE(m.check_integrity(short_term("VOkJxbRl1RmTxUk/WvJxBu")));
    CHECK_FALSE(m.check_integrity(stun::IntegrityKey{}));
    // Attributes after MESSAGE-INTEGRITY are not looked at (RFC 8489 §14.5).
    CHECK_FALSE(m.find(stun::Attr::fingerprint));

    // A change inside SOFTWARE: FINGERPRINT refuses it; without FINGERPRINT, the HMAC does.
    Bytes tampered = kSampleRequest;
    tampered[30] ^= 0x01;
    CHECK(stun::parse(tampered, m) == stun::ParseError::bad_fingerprint);
    tampered.resize(tampered.size() - 8);
    tampered[3] = static_cast<std::uint8_t>(tampered[3] - 8);
    REQUIRE(stun::parse(tampered, m) == stun::ParseError::ok);
    CHECK_FALSE(m.has_fingerprint());
    CHECK_FALSE(m.check_integrity(short_term(kShortTermPassword)));
}

TEST_CASE("RFC 5769 sample response: 192.0.2.1:32853, and its MESSAGE-INTEGRITY verifies",
          "[stun]") {
    stun::Message m;
    REQUIRE(stun::parse(kSampleResponse, m) == stun::ParseError::ok);
    CHECK(m.method() == stun::Method::binding);
    CHECK(m.cls() == stun::Class::success);
    CHECK(m.text(stun::Attr::software) == "test vector");
    CHECK(m.xor_address(stun::Attr::xor_mapped_address) == Address{0xC0000201u, 32853});
    CHECK(m.check_integrity(short_term(kShortTermPassword)));
}

TEST_CASE("RFC 5769 long-term sample: the MD5 key verifies it, and we build it byte for byte",
          "[stun]") {
    const auto key = stun::IntegrityKey::long_term(kLongTermUser, "example.org", kLongTermPassword);
    stun::Message m;
    REQUIRE(stun::parse(kSampleLongTerm, m) == stun::ParseError::ok);
    CHECK(m.text(stun::Attr::username) == kLongTermUser);
    CHECK(m.text(stun::Attr::realm) == "example.org");
    CHECK(m.text(stun::Attr::nonce) == "f//499k954d6OL34oL9FSTvy64sA");
    CHECK(m.check_integrity(key));
    CHECK_FALSE(m.check_integrity(
        stun::IntegrityKey::long_term(kLongTermUser, "example.org", "TheMatrIx")));

    // The same request from our Writer: attributes in the sample's order, zero padding.
    std::array<std::uint8_t, stun::kMaxRequestSize> buffer{};
    stun::Writer w(buffer, stun::Method::binding, stun::Class::request,
                   {0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e});
    w.add(stun::Attr::username, kLongTermUser);
    w.add(stun::Attr::nonce, std::string_view("f//499k954d6OL34oL9FSTvy64sA"));
    w.add(stun::Attr::realm, std::string_view("example.org"));
    w.add_integrity(key);
    REQUIRE(w.ok());
    const auto built = w.bytes();
    CHECK(Bytes(built.begin(), built.end()) == kSampleLongTerm);
}

TEST_CASE("a request we build reads back attribute by attribute and verifies", "[stun]") {
    const auto key = stun::IntegrityKey::long_term("1700000000:alice", "netcore.test", "pw");
    std::array<std::uint8_t, stun::kMaxRequestSize> buffer{};
    stun::Writer w(buffer, stun::Method::channel_bind, stun::Class::request, kId);
    w.add_requested_transport_udp();
    w.add_u32(stun::Attr::lifetime, 600);
    w.add_channel_number(0x4001);
    w.add_xor_address(stun::Attr::xor_peer_address, {0xC0000201u, 32853});
    w.add_xor_address(stun::Attr::xor_relayed_address, {0x7F000001u, 50000});
    w.add_error_code(438, "Stale Nonce");
    w.add(stun::Attr::username, std::string_view("1700000000:alice"));
    w.add_integrity(key);
    REQUIRE(w.ok());
    CHECK(w.bytes().size() % 4 == 0);

    stun::Message m;
    REQUIRE(stun::parse(w.bytes(), m) == stun::ParseError::ok);
    CHECK(m.method() == stun::Method::channel_bind);
    CHECK(m.cls() == stun::Class::request);
    CHECK(m.transaction() == kId);
    const auto transport = m.find(stun::Attr::requested_transport);
    REQUIRE(transport);
    CHECK(Bytes(transport->begin(), transport->end()) == Bytes{17, 0, 0, 0});
    CHECK(m.u32(stun::Attr::lifetime) == 600u);
    CHECK(m.channel_number() == 0x4001);
    CHECK(m.xor_address(stun::Attr::xor_peer_address) == Address{0xC0000201u, 32853});
    CHECK(m.xor_address(stun::Attr::xor_relayed_address) == Address{0x7F000001u, 50000});
    const auto e = m.error_code();
    REQUIRE(e);
    CHECK(e->code == 438);
    CHECK(e->reason == "Stale Nonce");
    CHECK(m.text(stun::Attr::username) == "1700000000:alice");
    CHECK(m.check_integrity(key));
    CHECK_FALSE(m.find(stun::Attr::data));
}

TEST_CASE("the Writer refuses what does not fit, rather than write past its buffer", "[stun]") {
    std::array<std::uint8_t, 40> buffer{};
    stun::Writer w(buffer, stun::Method::allocate, stun::Class::request, kId);
    w.add_requested_transport_udp();  // 28 bytes
    CHECK(w.ok());
    w.add(stun::Attr::username, std::string_view("alice"));  // 12 more: 40, fits exactly
    CHECK(w.ok());
    CHECK(w.bytes().size() == 40);
    w.add_u32(stun::Attr::lifetime, 1);
    CHECK_FALSE(w.ok());
    CHECK(w.bytes().empty());

    std::array<std::uint8_t, 10> tiny{};
    stun::Writer t(tiny, stun::Method::allocate, stun::Class::request, kId);
    CHECK_FALSE(t.ok());
}

TEST_CASE("malformed STUN is refused: truncated, bad lengths, bad padding, wrong cookie",
          "[stun]") {
    using E = stun::ParseError;
    // Every truncation of a valid message.
    for (std::size_t n = 0; n < kSampleRequest.size(); ++n) {
        const Bytes cut(kSampleRequest.begin(), kSampleRequest.begin() + static_cast<long>(n));
        CHECK(parse(cut) != E::ok);
    }
    CHECK(parse(Bytes(19, 0)) == E::too_short);

    Bytes b = kSampleRequest;
    b[4] = 0x21, b[7] = 0x43;  // wrong magic cookie
    CHECK(parse(b) == E::bad_cookie);
    b = kSampleRequest;
    b[0] = 0x80;  // first two bits not 0: RTP, ChannelData ...
    CHECK(parse(b) == E::not_stun);
    b = kSampleRequest;
    b[3] = 0x59;  // not a multiple of 4
    CHECK(parse(b) == E::bad_length);
    b[3] = 0x5C;  // more than the datagram holds
    CHECK(parse(b) == E::bad_length);
    b[3] = 0x54;  // less than the datagram holds
    CHECK(parse(b) == E::bad_length);
    b = kSampleRequest;
    b.push_back(0);  // a trailing byte after the message
    CHECK(parse(b) == E::bad_length);

    // An attribute longer than what is left.
    CHECK(parse(message_with({0x00, 0x06, 0x00, 0x09, 'a', 'b', 'c', 'd'})) == E::bad_attribute);
    // A 5-byte value whose padding is missing: 4+5 bytes fit, 4+8 do not.
    CHECK(parse(message_with({0x00, 0x06, 0x00, 0x05, 'a',  'b',  'c', 'd', 'e', 0,
                              0,    0,    0x00, 0x06, 0x00, 0x05, 'a', 'b', 'c', 'd'})) ==
          E::bad_attribute);
    // A length field of 0xFFFF.
    CHECK(parse(message_with({0x00, 0x06, 0xFF, 0xFF})) == E::bad_attribute);
    // MESSAGE-INTEGRITY of the wrong size.
    CHECK(parse(message_with({0x00, 0x08, 0x00, 0x04, 1, 2, 3, 4})) == E::bad_attribute);
    // Empty attributes region and zero-length attributes are fine.
    CHECK(parse(message_with({})) == E::ok);
    CHECK(parse(message_with({0x00, 0x13, 0x00, 0x00})) == E::ok);
}

TEST_CASE("attribute values of the wrong shape decode to nothing", "[stun]") {
    stun::Message m;
    // XOR-RELAYED-ADDRESS with the IPv6 family, LIFETIME of 3 bytes, ERROR-CODE of class 7.
    const Bytes b = message_with(
        {0x00, 0x16, 0x00, 0x14, 0x00, 0x02, 0x21, 0x12, 0x21, 0x12, 0xa4, 0x42, 1,    2,    3, 4,
         5,    6,    7,    8,    9,    10,   11,   12,   0x00, 0x0D, 0x00, 0x03, 0,    0,    1, 0,
         0x00, 0x09, 0x00, 0x04, 0,    0,    7,    1,    0x00, 0x0C, 0x00, 0x02, 0x40, 0x00, 0, 0});
    REQUIRE(stun::parse(b, m) == stun::ParseError::ok);
    CHECK_FALSE(m.xor_address(stun::Attr::xor_relayed_address));
    CHECK_FALSE(m.u32(stun::Attr::lifetime));
    CHECK_FALSE(m.error_code());
    CHECK_FALSE(m.channel_number());
}

TEST_CASE("any one corrupted byte of a fingerprinted message is refused or loses FINGERPRINT",
          "[stun]") {
    // RFC 5769's sample request ends with MESSAGE-INTEGRITY, then FINGERPRINT. Whatever byte
    // changes, and however, the message is refused, or has lost its FINGERPRINT: a changed
    // FINGERPRINT type leaves an unknown attribute, which MESSAGE-INTEGRITY does not cover.
    std::size_t refused = 0;
    for (std::size_t at = 0; at < kSampleRequest.size(); ++at) {
        for (const int mask : {0x01, 0x10, 0x80, 0xFF}) {
            Bytes b = kSampleRequest;
            b[at] ^= static_cast<std::uint8_t>(mask);
            stun::Message m;
            INFO("byte " << at << " ^ " << mask);
            if (stun::parse(b, m) != stun::ParseError::ok) {
                ++refused;
                continue;
            }
            CHECK(at >= kSampleRequest.size() - 8);  // only FINGERPRINT's own header
            CHECK_FALSE(m.has_fingerprint());
        }
    }
    // All but the changes of FINGERPRINT's type (bytes 100 and 101) are refused outright.
    CHECK(refused == 4 * (kSampleRequest.size() - 2));
}

TEST_CASE("crc32 is the CRC-32 of zlib and Ethernet, and its table the bitwise definition",
          "[stun]") {
    const std::string check = "123456789";
    CHECK(stun::crc32({reinterpret_cast<const std::uint8_t*>(check.data()), check.size()}) ==
          0xCBF43926u);
    CHECK(stun::crc32({}) == 0);

    // The CRC-32 by its definition, bit by bit (reflected polynomial 0xEDB88320).
    const auto bitwise = [](std::span<const std::uint8_t> data) {
        std::uint32_t crc = 0xFFFFFFFF;
        for (const auto byte : data) {
            crc ^= byte;
            for (int bit = 0; bit < 8; ++bit)
                crc = (crc & 1U) != 0 ? (crc >> 1) ^ 0xEDB88320U : crc >> 1;
        }
        return ~crc;
    };
    // Every single byte value (each table entry), then every length up to 600 over varied bytes.
    for (int b = 0; b < 256; ++b) {
        const auto one = static_cast<std::uint8_t>(b);
        INFO(b);
        CHECK(stun::crc32({&one, 1}) == bitwise({&one, 1}));
    }
    Bytes data;
    std::uint32_t x = 0x12345678;
    for (std::size_t n = 0; n <= 600; ++n) {
        INFO(n);
        CHECK(stun::crc32(data) == bitwise(data));
        x = x * 1664525U + 1013904223U;  // any bytes will do: a linear congruential sequence
        data.push_back(static_cast<std::uint8_t>(x >> 24));
    }
    // RFC 5769's sample FINGERPRINT.
    const auto body = std::span(kSampleRequest).first(kSampleRequest.size() - 8);
    CHECK((stun::crc32(body) ^ stun::kFingerprintXor) == 0xe57a3bcfU);
}

TEST_CASE("FINGERPRINT is checked where it appears: last, 4 bytes, and its CRC", "[stun]") {
    stun::Message m;
    REQUIRE(stun::parse(kSampleRequest, m) == stun::ParseError::ok);
    CHECK(m.has_fingerprint());
    REQUIRE(stun::parse(kSampleResponse, m) == stun::ParseError::ok);
    CHECK(m.has_fingerprint());
    REQUIRE(stun::parse(kSampleLongTerm, m) == stun::ParseError::ok);
    CHECK_FALSE(m.has_fingerprint());

    using E = stun::ParseError;
    Bytes wrong = kSampleRequest;
    wrong.back() ^= 1;
    CHECK(parse(wrong) == E::bad_fingerprint);
    // FINGERPRINT, then another attribute.
    Bytes not_last = kSampleRequest;
    not_last.insert(not_last.end(), {0x80, 0x22, 0x00, 0x00});
    not_last[3] += 4;
    CHECK(parse(not_last) == E::bad_fingerprint);
    // A FINGERPRINT of 8 bytes.
    CHECK(parse(message_with({0x80, 0x28, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8})) ==
          E::bad_fingerprint);
    CHECK(std::string(stun::to_string(E::bad_fingerprint)) == "bad_fingerprint");
}

TEST_CASE("a message we sign and fingerprint reads back with both verified", "[stun]") {
    const auto key = stun::IntegrityKey::long_term("1700000000:alice", "netcore.test", "pw");
    std::array<std::uint8_t, 128> buffer{};
    stun::Writer w(buffer, stun::Method::binding, stun::Class::success, kId);
    w.add_xor_address(stun::Attr::xor_mapped_address, {0xC0000201u, 32853});
    w.add_integrity(key);
    w.add_fingerprint();
    REQUIRE(w.ok());
    const auto built = w.bytes();
    REQUIRE(built.size() == 20 + 12 + 24 + 8);
    CHECK(Bytes(built.end() - 8, built.end() - 4) == Bytes{0x80, 0x28, 0x00, 0x04});
    stun::Message m;
    REQUIRE(stun::parse(built, m) == stun::ParseError::ok);
    CHECK(m.has_fingerprint());
    CHECK(m.check_integrity(key));  // its HMAC ignores the FINGERPRINT after it
    CHECK(m.xor_address(stun::Attr::xor_mapped_address) == Address{0xC0000201u, 32853});
    // No room for FINGERPRINT: nothing half written.
    stun::Writer tight(std::span(buffer.data(), 32), stun::Method::binding, stun::Class::success,
                       kId);
    tight.add_xor_address(stun::Attr::xor_mapped_address, {0xC0000201u, 32853});
    tight.add_fingerprint();
    CHECK(tight.bytes().empty());
}

TEST_CASE("an RFC 3489 Binding request, without the cookie, parses only when asked for", "[stun]") {
    // Its 128-bit transaction id: AB 12 A4 42 01 .. 0C. CHANGE-REQUEST asking for no change.
    const Bytes classic = {0x00, 0x01, 0x00, 0x08, 0xAB, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6,
                           7,    8,    9,    10,   11,   12,   0,    3,    0, 4, 0, 0, 0, 0};
    stun::Message m;
    CHECK(stun::parse(classic, m) == stun::ParseError::bad_cookie);
    REQUIRE(stun::parse(classic, m, stun::Classic::accept_binding_request) == stun::ParseError::ok);
    CHECK(m.classic());
    CHECK(m.method() == stun::Method::binding);
    CHECK(m.cls() == stun::Class::request);
    CHECK(m.u32(stun::Attr::change_request) == 0u);
    const auto id = m.legacy_transaction();
    CHECK(Bytes(id.begin(), id.end()) == Bytes(classic.begin() + 4, classic.begin() + 20));
    // Anything else without the cookie is not STUN of ours, however it is parsed.
    Bytes indication = classic;
    indication[1] = 0x11;
    CHECK(stun::parse(indication, m, stun::Classic::accept_binding_request) ==
          stun::ParseError::bad_cookie);

    // The answer echoes the 128 bits whole, with a plain MAPPED-ADDRESS.
    std::array<std::uint8_t, 64> buffer{};
    auto w = stun::Writer::echoing(buffer, stun::Method::binding, stun::Class::success, id);
    w.add_address(stun::Attr::mapped_address, {0xC0000201u, 32853});
    REQUIRE(w.ok());
    const auto built = w.bytes();
    CHECK(Bytes(built.begin(), built.end()) ==
          Bytes{0x01, 0x01, 0x00, 0x0C, 0xAB, 0x12, 0xA4, 0x42, 1,    2,    3,
                4,    5,    6,    7,    8,    9,    10,   11,   12,   0x00, 0x01,
                0x00, 0x08, 0x00, 0x01, 0x80, 0x55, 0xC0, 0x00, 0x02, 0x01});
}

TEST_CASE("ChannelData: with or without padding, the payload view excludes the padding", "[stun]") {
    const Bytes payload = {'h', 'e', 'l', 'l', 'o'};
    std::array<std::uint8_t, 64> out{};
    const std::size_t n = stun::write_channel_data(0x4001, payload, out);
    REQUIRE(n == 9);  // no padding sent over UDP
    CHECK(Bytes(out.begin(), out.begin() + 4) == Bytes{0x40, 0x01, 0x00, 0x05});
    CHECK(stun::looks_like_channel_data(std::span(out.data(), n)));

    stun::ChannelData cd;
    REQUIRE(stun::parse_channel_data(std::span(out.data(), n), cd));
    CHECK(cd.channel == 0x4001);
    CHECK(Bytes(cd.data.begin(), cd.data.end()) == payload);

    Bytes padded(out.begin(), out.begin() + 12);  // padded to 4 bytes, as over TCP
    REQUIRE(stun::parse_channel_data(padded, cd));
    CHECK(cd.data.size() == 5);
    CHECK(cd.data.data() == padded.data() + 4);  // a view into the datagram

    CHECK_FALSE(stun::parse_channel_data(std::span(out.data(), 8), cd));   // truncated
    CHECK_FALSE(stun::parse_channel_data(std::span(out.data(), 13), cd));  // more than padding
    CHECK_FALSE(stun::parse_channel_data(std::span(out.data(), 3), cd));
    Bytes reserved(out.begin(), out.begin() + 9);
    reserved[0] = 0x50;  // 0x5000-0x7FFF are reserved, not channels
    CHECK_FALSE(stun::parse_channel_data(reserved, cd));
    const Bytes empty = {0x4F, 0xFF, 0x00, 0x00};
    REQUIRE(stun::parse_channel_data(empty, cd));
    CHECK(cd.channel == 0x4FFF);
    CHECK(cd.data.empty());

    CHECK(stun::write_channel_data(0x3FFF, payload, out) == 0);
    CHECK(stun::write_channel_data(0x5000, payload, out) == 0);
    CHECK(stun::write_channel_data(0x4000, payload, std::span(out.data(), 8)) == 0);
}

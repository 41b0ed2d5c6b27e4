// The STUN/TURN codec of the TURN client: RFC 5769's test vectors, our own messages read back,
// ChannelData framing, and malformed input refused without a crash.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "stun_message.hpp"

using namespace netcore;
namespace stun = netcore::detail::stun;
using Bytes = std::vector<std::uint8_t>;

namespace {

// RFC 5769 §2.1: a Binding request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
// MESSAGE-INTEGRITY (short-term password) and FINGERPRINT. Padding is spaces (0x20).
const Bytes kSampleRequest = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

// RFC 5769 §2.2: the Binding success response, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const Bytes kSampleResponse = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

// RFC 5769 §2.4: a request with long-term authentication (USERNAME, NONCE, REALM, zero padding).
const Bytes kSampleLongTerm = {
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72,
    0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88,
    0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00,
    0x15, 0x00, 0x1c, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
    0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73,
    0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72,
    0x67, 0x00, 0x00, 0x08, 0x00, 0x14, 0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02,
    0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66};

constexpr std::string_view kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";
// "マトリックス" in UTF-8, and the password after SASLprep ("The<U+00AD>M<U+00AA>tr<U+2168>").
constexpr std::string_view kLongTermUser =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
constexpr std::string_view kLongTermPassword = "TheMatrIX";

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

    Bytes tampered = kSampleRequest;
    tampered[30] ^= 0x01;  // inside SOFTWARE
    REQUIRE(stun::parse(tampered, m) == stun::ParseError::ok);
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

TEST_CASE("random corruption of valid messages never crashes the parser", "[stun]") {
    std::mt19937 rng(5769);
    const auto key = short_term(kShortTermPassword);
    for (int i = 0; i < 20000; ++i) {
        Bytes b = (i % 2) ? kSampleRequest : kSampleLongTerm;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        if (rng() % 4 == 0) b.resize(rng() % (b.size() + 1));
        stun::Message m;
        if (stun::parse(b, m) != stun::ParseError::ok) continue;
        // Whatever parses can be queried without reading out of bounds (ASan would tell).
        (void)m.text(stun::Attr::username);
        (void)m.xor_address(stun::Attr::xor_mapped_address);
        (void)m.error_code();
        (void)m.check_integrity(key);
        stun::ChannelData cd;
        (void)stun::parse_channel_data(b, cd);
    }
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

#include <catch2/catch.hpp>

#include <vector>

#include "netcore/protocol.hpp"

using namespace netcore;
using namespace netcore::protocol;

namespace {

std::vector<std::uint8_t> encoded(const Message& m) {
    std::vector<std::uint8_t> buf(kMaxDatagramSize);
    const auto n = encode(m, buf);
    REQUIRE(n > 0);
    buf.resize(n);
    return buf;
}

AddressList lan(std::initializer_list<Address> items) {
    AddressList l;
    for (auto a : items) l.push(a);
    return l;
}

RelayGrant grant(std::initializer_list<Address> servers, std::string_view user,
                 std::string_view password) {
    RelayGrant g;
    for (auto a : servers) g.servers[g.count++] = a;
    g.username = user;
    g.password = password;
    return g;
}

// One of each message, with every field set to something other than its default.
std::vector<Message> samples() {
    return {
        RegisterRequest{0x0102030405060708ull,
                        {0xF0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0x0F},
                        "alice",
                        lan({{0xC0A80102u, 40000}, {0x0A000005u, 1}})},
        RegisterAck{42, {0xCB007107u, 61000}, 15000, 45000},
        RegisterError{7, RegisterErrorCode::name_taken},
        IntroduceRequest{9, "bob.the-2nd_"},
        PeerUnknown{"carol"},
        Introduction{0xDEADBEEFCAFEF00Dull,
                     Role::initiator,
                     "dave",
                     {0xC6336401u, 5000},
                     lan({{0xC0A80002u, 5001}}),
                     {}},
        Introduction{0x0102030405060708ull,
                     Role::responder,
                     "erin",
                     {0xC6336403u, 5002},
                     {},
                     grant({{0xCB00710Au, 3478}, {0xCB00710Bu, 3479}}, "1767225600:erin",
                           "c2VjcmV0IHBhc3N3b3JkIGhlcmU=")},
        Unregister{77},
        Challenge{0x0A0B0C0D0E0F1011ull, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
        RelayOffer{5, 0x0102030405060708ull, "frank", {0xCB00710Au, 50000}, {0xC6336404u, 7000}},
        PeerRelay{0x0102030405060708ull, {0xCB00710Au, 50001}, {0xC6336405u, 7001}},
        Probe{0x1122334455667788ull, 3},
        ProbeAck{0x1122334455667788ull, 3, {0xC6336402u, 6000}},
    };
}

}  // namespace

TEST_CASE("every message survives an encode/decode round trip", "[protocol]") {
    for (const auto& m : samples()) {
        const auto bytes = encoded(m);
        Message back;
        INFO(to_string(type_of(m)));
        REQUIRE(decode(bytes, back) == DecodeError::ok);
        CHECK(back == m);
        CHECK(bytes.size() <= kMaxDatagramSize);
    }
}

TEST_CASE("the header is magic, version and type, and integers are big-endian", "[protocol]") {
    const auto bytes = encoded(Probe{0x0102030405060708ull, 0x0A0B0C0Du});
    const std::vector<std::uint8_t> expected = {'N', 'C', 'R', 'V', 1, 0x10, 1,    2,    3,
                                                4,   5,   6,   7,   8, 0x0A, 0x0B, 0x0C, 0x0D};
    CHECK(bytes == expected);
}

TEST_CASE("every truncation of every message is refused as truncated", "[protocol]") {
    for (const auto& m : samples()) {
        const auto bytes = encoded(m);
        for (std::size_t len = kMagic.size(); len < bytes.size(); ++len) {
            Message back;
            INFO(to_string(type_of(m)) << " cut to " << len);
            CHECK(decode(std::span(bytes.data(), len), back) == DecodeError::truncated);
        }
    }
}

TEST_CASE("datagrams without our magic are not ours", "[protocol]") {
    auto bytes = encoded(Unregister{1});
    Message back;
    CHECK(decode(std::span(bytes.data(), 3), back) == DecodeError::not_ours);
    bytes[0] = 'X';
    CHECK_FALSE(has_magic(bytes));
    CHECK(decode(bytes, back) == DecodeError::not_ours);
    CHECK(decode({}, back) == DecodeError::not_ours);
}

TEST_CASE("another version or an unknown type is refused", "[protocol]") {
    auto bytes = encoded(Unregister{1});
    Message back;
    bytes[4] = 2;
    CHECK(decode(bytes, back) == DecodeError::bad_version);
    bytes[4] = kVersion;
    bytes[5] = 0x7F;
    CHECK(decode(bytes, back) == DecodeError::unknown_type);
}

TEST_CASE("bytes after the last field are refused", "[protocol]") {
    for (const auto& m : samples()) {
        auto bytes = encoded(m);
        bytes.push_back(0);
        Message back;
        INFO(to_string(type_of(m)));
        CHECK(decode(bytes, back) == DecodeError::trailing_bytes);
    }
}

TEST_CASE("a name length that lies is refused, never read past the end", "[protocol]") {
    auto bytes = encoded(PeerUnknown{"carol"});
    Message back;
    bytes[kHeaderSize] = 200;  // claims 200 bytes, 5 follow
    CHECK(decode(bytes, back) == DecodeError::truncated);
    bytes[kHeaderSize] = 0;  // an empty name, then 5 stray bytes
    CHECK(decode(bytes, back) == DecodeError::bad_name);
}

TEST_CASE("names outside the alphabet or over the limit are refused both ways", "[protocol]") {
    CHECK(valid_name("a"));
    CHECK(valid_name(std::string(kMaxNameLength, 'z')));
    CHECK_FALSE(valid_name(""));
    CHECK_FALSE(valid_name(std::string(kMaxNameLength + 1, 'z')));
    using namespace std::string_view_literals;
    for (const auto bad : {"a b"sv, "a/b"sv, "\xC3\xA4"sv, "a\nb"sv, "a:b"sv, "a\0b"sv}) {
        INFO(bad);
        CHECK_FALSE(valid_name(bad));
    }
    std::vector<std::uint8_t> buf(kMaxDatagramSize);
    CHECK(encode(PeerUnknown{"has space"}, buf) == 0);
    CHECK(encode(PeerUnknown{std::string(40, 'x')}, buf) == 0);

    auto bytes = encoded(PeerUnknown{"carol"});
    bytes[kHeaderSize + 2] = ' ';
    Message back;
    CHECK(decode(bytes, back) == DecodeError::bad_name);
}

TEST_CASE("an address count over the limit is a bad field", "[protocol]") {
    auto bytes = encoded(RegisterRequest{1, {}, "eve", {}});
    bytes.back() = static_cast<std::uint8_t>(kMaxLanAddresses + 1);
    for (std::size_t i = 0; i <= kMaxLanAddresses; ++i)
        for (int j = 0; j < 6; ++j) bytes.push_back(1);
    Message back;
    CHECK(decode(bytes, back) == DecodeError::bad_field);
}

TEST_CASE("out-of-range enums are bad fields", "[protocol]") {
    auto err = encoded(RegisterError{1, RegisterErrorCode::server_full});
    err.back() = 9;
    Message back;
    CHECK(decode(err, back) == DecodeError::bad_field);
    err.back() = 0;
    CHECK(decode(err, back) == DecodeError::bad_field);

    auto intro = encoded(Introduction{1, Role::responder, "x", {1, 2}, {}, {}});
    intro[kHeaderSize + 8] = 2;  // the role byte
    CHECK(decode(intro, back) == DecodeError::bad_field);
}

TEST_CASE("encoding into a buffer that is too small writes nothing", "[protocol]") {
    const Message m = Introduction{1, Role::responder, "somebody", {1, 2}, lan({{3, 4}}), {}};
    const auto full = encoded(m);
    std::vector<std::uint8_t> small(full.size() - 1);
    CHECK(encode(m, small) == 0);
    std::vector<std::uint8_t> exact(full.size());
    CHECK(encode(m, exact) == full.size());
}

TEST_CASE("a Register carries its cookie after the instance, and a Challenge is instance + cookie",
          "[protocol]") {
    const Cookie cookie{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const auto reg = encoded(RegisterRequest{0x0102030405060708ull, cookie, "a", {}});
    std::vector<std::uint8_t> expected = {'N', 'C', 'R', 'V', 1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8};
    expected.insert(expected.end(), cookie.begin(), cookie.end());
    expected.insert(expected.end(), {1, 'a', 0});
    CHECK(reg == expected);

    const auto challenge = encoded(Challenge{0x0102030405060708ull, cookie});
    CHECK(challenge.size() == kHeaderSize + 8 + kCookieSize);
    CHECK(challenge[5] == 0x08);
}

TEST_CASE("a Challenge is never larger than the smallest Register it answers", "[protocol]") {
    // The smallest valid Register: a one-byte name, no LAN address. PROTOCOL.md §9.
    const auto smallest = encoded(RegisterRequest{1, {}, "a", {}});
    const auto challenge = encoded(Challenge{1, {}});
    CHECK(challenge.size() <= smallest.size());
}

TEST_CASE("an Introduction without a relay ends with a zero server count", "[protocol]") {
    const auto bytes = encoded(Introduction{1, Role::responder, "x", {1, 2}, {}, {}});
    CHECK(bytes.back() == 0);             // the relay grant's count; no credentials follow
    CHECK(bytes[bytes.size() - 2] == 0);  // the LAN list's count
}

TEST_CASE("the largest message still fits kMaxDatagramSize", "[protocol]") {
    const std::string name(kMaxNameLength, 'n');
    const std::string credential(kMaxCredentialLength, 'c');
    AddressList full_lan;
    while (full_lan.push({1, 1})) {
    }
    const auto bytes = encoded(Introduction{1,
                                            Role::initiator,
                                            name,
                                            {1, 2},
                                            full_lan,
                                            grant({{3, 4}, {5, 6}}, credential, credential)});
    CHECK(bytes.size() == 222);
    CHECK(bytes.size() <= kMaxDatagramSize);
}

TEST_CASE("a relay grant is refused with too many servers or a bad credential", "[protocol]") {
    Message back;
    auto bytes = encoded(Introduction{1, Role::responder, "x", {1, 2}, {}, {}});
    bytes.back() = static_cast<std::uint8_t>(kMaxRelayServers + 1);
    for (std::size_t i = 0; i < 6 * (kMaxRelayServers + 1) + 4; ++i) bytes.push_back('a');
    CHECK(decode(bytes, back) == DecodeError::bad_field);

    // A space (or any byte outside printable ASCII) in a credential.
    auto with_space =
        encoded(Introduction{1, Role::responder, "x", {1, 2}, {}, grant({{3, 4}}, "1:x", "abcd")});
    with_space[with_space.size() - 2] = ' ';
    CHECK(decode(with_space, back) == DecodeError::bad_field);

    // Encoding refuses what decoding would refuse.
    std::vector<std::uint8_t> buf(kMaxDatagramSize);
    CHECK(encode(Introduction{1, Role::responder, "x", {1, 2}, {}, grant({{3, 4}}, "", "p")},
                 buf) == 0);
    CHECK(encode(Introduction{1,
                              Role::responder,
                              "x",
                              {1, 2},
                              {},
                              grant({{3, 4}}, "u", std::string(kMaxCredentialLength + 1, 'p'))},
                 buf) == 0);
}

TEST_CASE("a PeerRelay is never larger than the RelayOffer it forwards", "[protocol]") {
    // PROTOCOL.md §9: the server forwards an offer; it must not amplify.
    const auto offer = encoded(RelayOffer{1, 2, "a", {3, 4}, {5, 6}});
    const auto forwarded = encoded(PeerRelay{2, {3, 4}, {5, 6}});
    CHECK(forwarded.size() < offer.size());
}

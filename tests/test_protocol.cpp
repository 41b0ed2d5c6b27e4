// Wire version 2 (PROTOCOL.md §2, §4): the inner messages' codec, and the envelopes that are all
// the wire carries.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "netcore/protocol.hpp"

using namespace netcore;
using namespace netcore::protocol;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes inner(const Message& m) {
    Bytes buf(kMaxDatagramSize);
    const auto n = encode_inner(m, buf);
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

PublicKey key_of(std::uint8_t first) {
    PublicKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(first + i);
    return k;
}

OwnerKey owner_of(std::uint8_t first) {
    OwnerKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(first + i);
    return k;
}
OwnerProof proof_of(std::uint8_t first) {
    OwnerProof p{};
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(first + i);
    return p;
}

PartyMembers members(std::initializer_list<std::string_view> names, std::uint32_t epoch,
                     std::uint8_t flags) {
    PartyMembers m{"friday-night", epoch, flags, {}, 0};
    for (const auto n : names) m.push(n);
    return m;
}

// One of each message, with every field set to something other than its default.
std::vector<Message> samples() {
    return {
        RegisterRequest{0x0102030405060708ull, "alice",
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
                     {},
                     key_of(0x40)},
        Introduction{0x0102030405060708ull,
                     Role::responder,
                     "erin",
                     {0xC6336403u, 5002},
                     {},
                     grant({{0xCB00710Au, 3478}, {0xCB00710Bu, 3479}}, "1767225600:erin",
                           "c2VjcmV0IHBhc3N3b3JkIGhlcmU="),
                     key_of(0x80),
                     IntroductionFlags::relay_only},
        RegisterRequest{5, "gina", {}, RegisterFlags::open | RegisterFlags::hidden},
        RegisterRequest{6, "hank", lan({{0x0A000005u, 2}}), RegisterFlags::owned, owner_of(0x20),
                        proof_of(0x60)},
        Unregister{77},
        RelayOffer{5, 0x0102030405060708ull, "frank", {0xCB00710Au, 50000}, {0xC6336404u, 7000}},
        PeerRelay{0x0102030405060708ull, {0xCB00710Au, 50001}, {0xC6336405u, 7001}},
        IntroductionAsked{"ivan"},
        RelayRenew{8, 0x0102030405060708ull, "judy"},
        RelayCredentials{0x0102030405060708ull,
                         grant({{0xCB00710Au, 3478}}, "1767225600:judy.1f", "cGFzc3dvcmQ=")},
        Probe{0x1122334455667788ull, 3},
        ProbeAck{0x1122334455667788ull, 3, {0xC6336402u, 6000}},
        Introduction{0x0A0B0C0D0E0F1011ull,
                     Role::initiator,
                     "kate",
                     {0xC6336406u, 5003},
                     {},
                     {},
                     key_of(0x90),
                     IntroductionFlags::party | IntroductionFlags::relay_only},
        PartyJoin{0x0102030405060708ull, "friday-night", PartyFlags::admit, 0x0A0B0C0Du},
        PartyJoin{3, "f", 0, 0},
        PartyLeave{4, "friday-night"},
        members({"alice", "bob", "carol"}, 0x01020304u, PartyFlags::admit),
        members({"solo"}, 1, 0),
        PartyRefused{"friday-night", PartyRefusedCode::waiting},
        PartyRefused{"p", PartyRefusedCode::not_registered},
        PartyAdmit{0x0102030405060708ull, "friday-night", "mallory"},
        PartyJoinAsked{"friday-night", "mallory"},
    };
}

const Salt kSalt{0xA0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xAF};
const Cookie kCookie{0xC0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xCF};
const std::array<std::uint8_t, kProbeNonceSize> kProbeNonce{
    0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 0x5F};

// A sealed envelope: its head, then a "box" of `box` bytes (any bytes: decoding never opens it).
Bytes sealed(std::size_t (*head)(std::span<std::uint8_t>), std::size_t box) {
    Bytes b(kMaxDatagramSize);
    const auto n = head(b);
    REQUIRE(n > 0);
    b.resize(n);
    for (std::size_t i = 0; i < box; ++i) b.push_back(static_cast<std::uint8_t>(0xB0 + i));
    return b;
}
Bytes client_sealed(std::size_t box = kTagSize + 5) {
    return sealed(
        [](std::span<std::uint8_t> o) {
            return encode_client_sealed_head(key_of(1), kCookie, 0x0102030405060708ull, o);
        },
        box);
}
Bytes server_sealed(std::size_t box = kTagSize + 5) {
    return sealed([](std::span<std::uint8_t> o) { return encode_server_sealed_head(77, o); }, box);
}
Bytes peer_probe(std::size_t box = kTagSize + 5) {
    return sealed([](std::span<std::uint8_t> o) { return encode_probe_head(kProbeNonce, o); }, box);
}
Bytes peer_data(std::size_t box = kTagSize + 5) {
    return sealed(
        [](std::span<std::uint8_t> o) { return encode_data_head(0xA1B2C3D4u, 0xFFull << 40, o); },
        box);
}
Bytes hello() {
    Bytes b(kMaxDatagramSize);
    b.resize(encode_hello(key_of(1), b));
    return b;
}
Bytes challenge() {
    Bytes b(kMaxDatagramSize);
    b.resize(encode_challenge(key_of(2), kSalt, kCookie, b));
    return b;
}
Bytes version_refused() {
    Bytes b(kMaxDatagramSize);
    b.resize(encode_version_refused(b));
    return b;
}

Envelope decoded(const Bytes& b) {
    Envelope e;
    REQUIRE(decode_envelope(b, e) == DecodeError::ok);
    return e;
}

}  // namespace

// ---- inner messages --------------------------------------------------------------------------

TEST_CASE("every inner message survives an encode_inner/decode_inner round trip", "[protocol]") {
    for (const auto& m : samples()) {
        const auto bytes = inner(m);
        INFO(to_string(type_of(m)));
        CHECK(bytes[0] == static_cast<std::uint8_t>(type_of(m)));
        Message back;
        REQUIRE(decode_inner(bytes, back) == DecodeError::ok);
        CHECK(back == m);
    }
}

TEST_CASE("an inner message is its type byte, then big-endian fields", "[protocol]") {
    const auto bytes = inner(Probe{0x0102030405060708ull, 0x0A0B0C0Du});
    const Bytes expected = {0x10, 1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x0B, 0x0C, 0x0D};
    CHECK(bytes == expected);
    // A Register has no cookie any more (it is in the envelope): instance, name, LAN list,
    // flags; an owner key and its proof only when the flags say so.
    const Bytes reg = {0x01, 1, 2, 3, 4, 5, 6, 7, 8, 1, 'a', 0, 0};
    CHECK(inner(RegisterRequest{0x0102030405060708ull, "a", {}}) == reg);
    const auto owned =
        inner(RegisterRequest{1, "a", {}, RegisterFlags::owned, owner_of(0x20), proof_of(0x60)});
    CHECK(owned.size() == reg.size() + 32 + 64);
    CHECK(owned[12] == RegisterFlags::owned);
    CHECK(owned[13] == 0x20);
    CHECK(owned.back() == 0x60 + 63);
}

TEST_CASE("unknown flag bits are bad fields", "[protocol]") {
    Message back;
    auto reg = inner(RegisterRequest{1, "a", {}, RegisterFlags::open});
    reg.back() = 0x08;
    CHECK(decode_inner(reg, back) == DecodeError::bad_field);
    auto intro = inner(Introduction{1, Role::responder, "x", {1, 2}, {}, {}, key_of(3)});
    intro.back() = 0x04;
    CHECK(decode_inner(intro, back) == DecodeError::bad_field);
    // An owned flag promises 96 more bytes: without them the Register is truncated.
    auto cut = inner(RegisterRequest{1, "a", {}});
    cut.back() = RegisterFlags::owned;
    CHECK(decode_inner(cut, back) == DecodeError::truncated);
}

TEST_CASE("an owner statement binds the label, server key, salt, client key and name",
          "[protocol]") {
    std::array<std::uint8_t, kOwnerStatementMax> a{};
    std::array<std::uint8_t, kOwnerStatementMax> b{};
    const auto n = owner_statement(key_of(1), kSalt, key_of(2), "alice", a);
    CHECK(n == 16 + 32 + 16 + 32 + 1 + 5);
    CHECK(std::string_view(reinterpret_cast<const char*>(a.data()), 15) == "netcore v3 name");
    CHECK(owner_statement(key_of(1), kSalt, key_of(3), "alice", b) == n);
    CHECK(a != b);  // another client key: another statement
    CHECK(owner_statement(key_of(1), kSalt, key_of(2), "bad name", b) == 0);
    CHECK(owner_statement(key_of(1), kSalt, key_of(2), "alice", std::span(b).first(n - 1)) == 0);
}

TEST_CASE("an Introduction ends with the peer's public key and the flags", "[protocol]") {
    const auto bytes = inner(Introduction{
        1, Role::responder, "x", {1, 2}, {}, {}, key_of(0x10), IntroductionFlags::relay_only});
    const auto key = key_of(0x10);
    REQUIRE(bytes.size() > kKeySize + 1);
    CHECK(bytes.back() == IntroductionFlags::relay_only);
    CHECK(std::equal(key.begin(), key.end(), bytes.end() - kKeySize - 1));
    CHECK(bytes[bytes.size() - kKeySize - 2] == 0);  // the relay grant's count: no credentials
    CHECK(bytes[bytes.size() - kKeySize - 3] == 0);  // the LAN list's count
}

TEST_CASE("every truncation of every inner message is refused as truncated", "[protocol]") {
    for (const auto& m : samples()) {
        const auto bytes = inner(m);
        for (std::size_t len = 0; len < bytes.size(); ++len) {
            Message back;
            INFO(to_string(type_of(m)) << " cut to " << len);
            CHECK(decode_inner(std::span(bytes.data(), len), back) == DecodeError::truncated);
        }
    }
}

TEST_CASE("an unknown inner type is refused, and envelope types are not inner types",
          "[protocol]") {
    auto bytes = inner(Unregister{1});
    Message back;
    for (const std::uint8_t t :
         std::initializer_list<std::uint8_t>{0x00, 0x08, 0x16, 0x30, 0x32, 0x41, 0xFF}) {
        bytes[0] = t;
        INFO(int(t));
        CHECK(decode_inner(bytes, back) == DecodeError::unknown_type);
    }
}

TEST_CASE("bytes after the last field of an inner message are refused", "[protocol]") {
    for (const auto& m : samples()) {
        if (std::holds_alternative<Probe>(m)) continue;  // its last field is the rest (below)
        auto bytes = inner(m);
        bytes.push_back(0);
        Message back;
        INFO(to_string(type_of(m)));
        CHECK(decode_inner(bytes, back) == DecodeError::trailing_bytes);
    }
}

TEST_CASE("a Probe carries the initiator's CONNECT as its last field, at most 64 bytes",
          "[protocol]") {
    Bytes connect(56);
    for (std::size_t i = 0; i < connect.size(); ++i) connect[i] = static_cast<std::uint8_t>(i);
    const auto bytes = inner(Probe{0x0102030405060708ull, 9, connect});
    REQUIRE(bytes.size() == 13 + 56);  // type, token, sequence, then the datagram as it is
    CHECK(Bytes(bytes.begin() + 13, bytes.end()) == connect);
    Message back;
    REQUIRE(decode_inner(bytes, back) == DecodeError::ok);
    const auto& probe = std::get<Probe>(back);
    CHECK(probe.sequence == 9);
    CHECK(Bytes(probe.connect.begin(), probe.connect.end()) == connect);
    CHECK(back == Message{Probe{0x0102030405060708ull, 9, connect}});
    CHECK_FALSE(back == Message{Probe{0x0102030405060708ull, 9}});
    // A bare probe is 13 bytes; 64 bytes of datagram decode, 65 are bad_field.
    Bytes longest = inner(Probe{1, 1});
    longest.resize(13 + kMaxProbeConnect, 0xAB);
    CHECK(decode_inner(longest, back) == DecodeError::ok);
    longest.push_back(0xAB);
    CHECK(decode_inner(longest, back) == DecodeError::bad_field);
}

TEST_CASE("a name length that lies is refused, never read past the end", "[protocol]") {
    auto bytes = inner(PeerUnknown{"carol"});
    Message back;
    bytes[1] = 200;  // claims 200 bytes, 5 follow
    CHECK(decode_inner(bytes, back) == DecodeError::truncated);
    bytes[1] = 0;  // an empty name, then 5 stray bytes
    CHECK(decode_inner(bytes, back) == DecodeError::bad_name);
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
    Bytes buf(kMaxDatagramSize);
    CHECK(encode_inner(PeerUnknown{"has space"}, buf) == 0);
    const std::string long_name(40, 'x');
    CHECK(encode_inner(PeerUnknown{long_name}, buf) == 0);
    CHECK(encode_inner(RegisterRequest{1, "", {}}, buf) == 0);

    auto bytes = inner(PeerUnknown{"carol"});
    bytes[3] = ' ';
    Message back;
    CHECK(decode_inner(bytes, back) == DecodeError::bad_name);
    // A bad name is reported as such even when bytes follow it.
    bytes.push_back(0);
    CHECK(decode_inner(bytes, back) == DecodeError::bad_name);
}

TEST_CASE("an address count over the limit is a bad field", "[protocol]") {
    auto bytes = inner(RegisterRequest{1, "eve", {}});
    bytes.pop_back();  // the flags: the count is then the last byte
    bytes.back() = static_cast<std::uint8_t>(kMaxLanAddresses + 1);
    for (std::size_t i = 0; i <= kMaxLanAddresses; ++i)
        for (int j = 0; j < 6; ++j) bytes.push_back(1);
    Message back;
    CHECK(decode_inner(bytes, back) == DecodeError::bad_field);
}

TEST_CASE("out-of-range enums are bad fields", "[protocol]") {
    auto err = inner(RegisterError{1, RegisterErrorCode::server_full});
    err.back() = 9;
    Message back;
    CHECK(decode_inner(err, back) == DecodeError::bad_field);
    err.back() = 0;
    CHECK(decode_inner(err, back) == DecodeError::bad_field);

    auto intro = inner(Introduction{1, Role::responder, "x", {1, 2}, {}, {}, key_of(3)});
    intro[1 + 8] = 2;  // the role byte
    CHECK(decode_inner(intro, back) == DecodeError::bad_field);
}

TEST_CASE("encoding into a buffer that is too small writes nothing", "[protocol]") {
    const Message m =
        Introduction{1, Role::responder, "somebody", {1, 2}, lan({{3, 4}}), {}, key_of(5)};
    const auto full = inner(m);
    Bytes small(full.size() - 1);
    CHECK(encode_inner(m, small) == 0);
    Bytes exact(full.size());
    CHECK(encode_inner(m, exact) == full.size());
    CHECK(exact == full);
}

TEST_CASE("a relay grant is refused with too many servers or a bad credential", "[protocol]") {
    Message back;
    // The grant's count sits right before the key and the flags.
    auto bytes = inner(Introduction{1, Role::responder, "x", {1, 2}, {}, {}, key_of(6)});
    bytes[bytes.size() - kKeySize - 2] = static_cast<std::uint8_t>(kMaxRelayServers + 1);
    CHECK(decode_inner(bytes, back) == DecodeError::bad_field);

    // A space (or any byte outside printable ASCII) in a credential: the password "abcd" is the
    // last thing before the key.
    auto with_space = inner(Introduction{
        1, Role::responder, "x", {1, 2}, {}, grant({{3, 4}}, "1:x", "abcd"), key_of(7)});
    with_space[with_space.size() - kKeySize - 3] = ' ';
    CHECK(decode_inner(with_space, back) == DecodeError::bad_field);
    with_space[with_space.size() - kKeySize - 2] = 0x7F;
    CHECK(decode_inner(with_space, back) == DecodeError::bad_field);

    // Encoding refuses what decoding would refuse.
    Bytes buf(kMaxDatagramSize);
    CHECK(
        encode_inner(
            Introduction{1, Role::responder, "x", {1, 2}, {}, grant({{3, 4}}, "", "p"), key_of(8)},
            buf) == 0);
    const std::string too_long(kMaxCredentialLength + 1, 'p');
    CHECK(encode_inner(
              Introduction{
                  1, Role::responder, "x", {1, 2}, {}, grant({{3, 4}}, "u", too_long), key_of(9)},
              buf) == 0);
}

TEST_CASE("a PeerRelay is never larger than the RelayOffer it forwards", "[protocol]") {
    // PROTOCOL.md §9: the server forwards an offer; it must not amplify. Both are sealed the same
    // way, so comparing the inner messages compares the datagrams (a server_sealed head is
    // smaller than a client_sealed one, too).
    const auto offer = inner(RelayOffer{1, 2, "a", {3, 4}, {5, 6}});
    const auto forwarded = inner(PeerRelay{2, {3, 4}, {5, 6}});
    CHECK(forwarded.size() < offer.size());
    CHECK(kServerSealedHead < kClientSealedHead);
}

TEST_CASE("the largest Introduction, sealed, still fits kMaxDatagramSize", "[protocol]") {
    const std::string name(kMaxNameLength, 'n');
    const std::string credential(kMaxCredentialLength, 'c');
    AddressList full_lan;
    while (full_lan.push({1, 1})) {
    }
    const auto bytes = inner(Introduction{1,
                                          Role::initiator,
                                          name,
                                          {1, 2},
                                          full_lan,
                                          grant({{3, 4}, {5, 6}}, credential, credential),
                                          key_of(1),
                                          IntroductionFlags::relay_only});
    // type 1, token 8, role 1, name 1+32, public 6, LAN 1+4*6, grant 1+2*6+1+64+1+64, key 32,
    // flags 1.
    CHECK(bytes.size() == 250);
    // It travels server -> client: a server_sealed head, the box, the tag.
    const std::size_t datagram = kServerSealedHead + bytes.size() + kTagSize;
    CHECK(datagram == 280);
    CHECK(datagram <= kMaxDatagramSize);
}

TEST_CASE("the largest signals a client seals still fit kMaxDatagramSize", "[protocol]") {
    const std::string name(kMaxNameLength, 'n');
    AddressList full_lan;
    while (full_lan.push({1, 1})) {
    }
    const auto reg = inner(RegisterRequest{1, name, full_lan, RegisterFlags::all});
    CHECK(reg.size() == 68 + 96);
    CHECK(kClientSealedHead + reg.size() + kTagSize == 242);
    const auto offer = inner(RelayOffer{1, 2, name, {3, 4}, {5, 6}});
    CHECK(kClientSealedHead + offer.size() + kTagSize == 140);
    // The largest probe: a ProbeAck after its preamble.
    const auto ack = inner(ProbeAck{1, 2, {3, 4}});
    CHECK(kProbeHead + kProbePreamble + ack.size() + kTagSize == 101);
}

TEST_CASE("party messages are their fields in order, big-endian", "[protocol][party]") {
    const Bytes join = {0x0E, 1, 2, 3, 4, 5, 6, 7, 8, 2, 'f', 'r', PartyFlags::admit, 0, 0, 0, 9};
    CHECK(inner(PartyJoin{0x0102030405060708ull, "fr", PartyFlags::admit, 9}) == join);
    const Bytes leave = {0x0F, 1, 2, 3, 4, 5, 6, 7, 8, 2, 'f', 'r'};
    CHECK(inner(PartyLeave{0x0102030405060708ull, "fr"}) == leave);
    const Bytes list = {0x12, 2, 'f', 'r', 0, 0, 1, 2, 0, 2, 1, 'a', 2, 'b', 'c'};
    PartyMembers m{"fr", 258, 0, {}, 0};
    m.push("a");
    m.push("bc");
    CHECK(inner(m) == list);
    const Bytes refused = {0x13, 2, 'f', 'r', 4};
    CHECK(inner(PartyRefused{"fr", PartyRefusedCode::other_party}) == refused);
    const Bytes admit = {0x14, 0, 0, 0, 0, 0, 0, 0, 7, 2, 'f', 'r', 1, 'x'};
    CHECK(inner(PartyAdmit{7, "fr", "x"}) == admit);
    const Bytes asked = {0x15, 2, 'f', 'r', 1, 'x'};
    CHECK(inner(PartyJoinAsked{"fr", "x"}) == asked);
}

TEST_CASE(
    "party messages with a count of 0 or 17, an epoch of 0, unknown flags or an unknown "
    "code are bad fields",
    "[protocol][party]") {
    Message back;
    // PartyMembers: type, name (1 + 2), epoch at 4..7, flags at 8, count at 9.
    PartyMembers one{"fr", 5, 0, {}, 0};
    one.push("a");
    const auto good = inner(one);
    REQUIRE(decode_inner(good, back) == DecodeError::ok);
    auto bad = good;
    bad[9] = 0;
    CHECK(decode_inner(bad, back) == DecodeError::bad_field);
    bad[9] = static_cast<std::uint8_t>(kMaxPartyMembers + 1);
    CHECK(decode_inner(bad, back) == DecodeError::bad_field);
    bad = good;
    bad[7] = 0;  // epoch 0
    CHECK(decode_inner(bad, back) == DecodeError::bad_field);
    bad = good;
    bad[8] = 0x02;  // flags
    CHECK(decode_inner(bad, back) == DecodeError::bad_field);
    // A count of 17 whose names all follow is still refused: the list never exceeds 16.
    Bytes seventeen(good.begin(), good.begin() + 9);
    seventeen.push_back(static_cast<std::uint8_t>(kMaxPartyMembers + 1));
    for (std::size_t i = 0; i <= kMaxPartyMembers; ++i) {
        seventeen.push_back(1);
        seventeen.push_back('a');
    }
    CHECK(decode_inner(seventeen, back) == DecodeError::bad_field);
    // A count that promises more names than follow.
    bad = good;
    bad[9] = 2;
    CHECK(decode_inner(bad, back) == DecodeError::truncated);

    auto join = inner(PartyJoin{1, "fr", 0, 1});
    join[12] = 0x80;  // the flags byte
    CHECK(decode_inner(join, back) == DecodeError::bad_field);
    auto refused = inner(PartyRefused{"fr", PartyRefusedCode::full});
    refused.back() = 0;
    CHECK(decode_inner(refused, back) == DecodeError::bad_field);
    refused.back() = 6;
    CHECK(decode_inner(refused, back) == DecodeError::bad_field);
    auto admit = inner(PartyAdmit{1, "fr", "x"});
    admit.back() = ' ';  // the player's name
    CHECK(decode_inner(admit, back) == DecodeError::bad_name);
}

TEST_CASE("the largest PartyMembers, sealed, fits kMaxDatagramSize", "[protocol][party]") {
    const std::string party(kMaxNameLength, 'p');
    std::vector<std::string> names;
    for (std::size_t i = 0; i < kMaxPartyMembers; ++i)
        names.push_back(std::string(kMaxNameLength - 2, 'm') + static_cast<char>('a' + i) + "z");
    PartyMembers m{party, 0xFFFFFFFFu, PartyFlags::admit, {}, 0};
    for (const auto& n : names) REQUIRE(m.push(n));
    CHECK_FALSE(m.push("one-too-many"));
    const auto bytes = inner(m);
    // type 1, party 1+32, epoch 4, flags 1, count 1, 16 names of 1+32.
    CHECK(bytes.size() == 568);
    const std::size_t datagram = kServerSealedHead + bytes.size() + kTagSize;
    CHECK(datagram == 598);
    CHECK(datagram <= kMaxDatagramSize);
    Message back;
    REQUIRE(decode_inner(bytes, back) == DecodeError::ok);
    CHECK(std::get<PartyMembers>(back) == m);
    // What a client seals for parties: PartyAdmit is the largest.
    const auto admit = inner(PartyAdmit{1, party, names[0]});
    CHECK(kClientSealedHead + admit.size() + kTagSize == 153);
    const auto join = inner(PartyJoin{1, party, PartyFlags::admit, 1});
    CHECK(kClientSealedHead + join.size() + kTagSize == 125);
}

// ---- envelopes -------------------------------------------------------------------------------

TEST_CASE("the envelope sizes are the ones the protocol names", "[protocol]") {
    CHECK(hello().size() == 70);
    CHECK(challenge().size() == 70);
    CHECK(kHelloSize == kChallengeSize);  // the server never answers with more than it got
    CHECK(version_refused().size() == 8);
    CHECK(kClientSealedHead == 62);
    CHECK(kServerSealedHead == 14);
    CHECK(kProbeHead == 30);
    CHECK(kDataHead == 18);
    CHECK(kDataOverhead == 34);
    CHECK(client_sealed(0).size() == 62);
    CHECK(server_sealed(0).size() == 14);
    CHECK(peer_probe(0).size() == 30);
    CHECK(peer_data(0).size() == 18);
}

TEST_CASE("every envelope starts with magic, version 4 and its type", "[protocol]") {
    const std::vector<std::pair<Bytes, EnvelopeType>> all = {
        {hello(), EnvelopeType::hello},
        {challenge(), EnvelopeType::challenge},
        {version_refused(), EnvelopeType::version_refused},
        {client_sealed(), EnvelopeType::client_sealed},
        {server_sealed(), EnvelopeType::server_sealed},
        {peer_probe(), EnvelopeType::peer_probe},
        {peer_data(), EnvelopeType::peer_data},
    };
    for (const auto& [bytes, type] : all) {
        INFO(to_string(type));
        const Bytes head(bytes.begin(), bytes.begin() + kHeaderSize);
        CHECK(head == Bytes{'N', 'C', 'R', 'V', 5, static_cast<std::uint8_t>(type)});
        CHECK(has_magic(bytes));
        CHECK(wire_version(bytes) == kVersion);
        CHECK(decoded(bytes).type == type);
    }
}

TEST_CASE("a Hello carries the client's key and 32 zero bytes of padding", "[protocol]") {
    const auto bytes = hello();
    const auto e = decoded(bytes);
    CHECK(e.client_key == key_of(1));
    CHECK(std::all_of(bytes.begin() + kHeaderSize + kKeySize, bytes.end(),
                      [](std::uint8_t b) { return b == 0; }));
    CHECK(e.box.empty());
}

TEST_CASE("a Hello whose padding is not zero is a bad field", "[protocol]") {
    for (std::size_t i = kHeaderSize + kKeySize; i < kHelloSize; ++i) {
        auto bytes = hello();
        bytes[i] = 1;
        Envelope e;
        INFO("byte " << i);
        CHECK(decode_envelope(bytes, e) == DecodeError::bad_field);
    }
}

TEST_CASE("a Challenge carries the server's key, salt and cookie", "[protocol]") {
    const auto e = decoded(challenge());
    CHECK(e.server_key == key_of(2));
    CHECK(e.salt == kSalt);
    CHECK(e.cookie == kCookie);
    CHECK(e.box.empty());
}

TEST_CASE("a VersionRefused carries the versions the sender speaks", "[protocol]") {
    const auto e = decoded(version_refused());
    CHECK(e.min_version == kVersion);
    CHECK(e.max_version == kVersion);
}

TEST_CASE("a sealed envelope's head is its authenticated data, and the rest its box",
          "[protocol]") {
    SECTION("client_sealed") {
        const auto bytes = client_sealed();
        const auto e = decoded(bytes);
        CHECK(e.client_key == key_of(1));
        CHECK(e.cookie == kCookie);
        CHECK(e.counter == 0x0102030405060708ull);
        CHECK(e.ad.data() == bytes.data());
        CHECK(e.ad.size() == kClientSealedHead);
        CHECK(e.box.data() == bytes.data() + kClientSealedHead);
        CHECK(e.box.size() == kTagSize + 5);
    }
    SECTION("server_sealed") {
        const auto bytes = server_sealed();
        const auto e = decoded(bytes);
        CHECK(e.counter == 77);
        CHECK(e.ad.size() == kServerSealedHead);
        CHECK(e.box.size() == bytes.size() - kServerSealedHead);
    }
    SECTION("peer_probe") {
        const auto bytes = peer_probe();
        const auto e = decoded(bytes);
        CHECK(e.probe_nonce == kProbeNonce);
        CHECK(e.ad.size() == kProbeHead);
        CHECK(e.box.size() == bytes.size() - kProbeHead);
    }
    SECTION("peer_data") {
        const auto bytes = peer_data();
        const auto e = decoded(bytes);
        CHECK(e.channel == 0xA1B2C3D4u);
        CHECK(e.counter == 0xFFull << 40);
        CHECK(e.ad.size() == kDataHead);
        CHECK(e.box.size() == bytes.size() - kDataHead);
        // The head is big-endian: channel then counter.
        CHECK(Bytes(bytes.begin() + kHeaderSize, bytes.begin() + kDataHead) ==
              Bytes{0xA1, 0xB2, 0xC3, 0xD4, 0, 0, 0xFF, 0, 0, 0, 0, 0});
    }
}

TEST_CASE("every truncation of every envelope is refused as truncated", "[protocol]") {
    // Clear envelopes: every cut. Sealed ones: every cut that leaves less than a tag of box.
    const std::vector<std::pair<Bytes, std::size_t>> all = {
        {hello(), kHelloSize},
        {challenge(), kChallengeSize},
        {version_refused(), kVersionRefusedSize},
        {client_sealed(kTagSize), kClientSealedHead + kTagSize},
        {server_sealed(kTagSize), kServerSealedHead + kTagSize},
        {peer_probe(kTagSize), kProbeHead + kTagSize},
        {peer_data(kTagSize), kDataHead + kTagSize},
    };
    for (const auto& [bytes, smallest] : all) {
        REQUIRE(bytes.size() == smallest);
        for (std::size_t len = kMagic.size(); len < bytes.size(); ++len) {
            Envelope e;
            INFO(to_string(static_cast<EnvelopeType>(bytes[5])) << " cut to " << len);
            CHECK(decode_envelope(std::span(bytes.data(), len), e) == DecodeError::truncated);
        }
        Envelope e;
        CHECK(decode_envelope(bytes, e) == DecodeError::ok);
    }
}

TEST_CASE("a box shorter than a tag is truncated, and one of exactly a tag is accepted",
          "[protocol]") {
    for (const auto& make : {client_sealed, server_sealed, peer_probe, peer_data}) {
        Envelope e;
        CHECK(decode_envelope(make(0), e) == DecodeError::truncated);
        CHECK(decode_envelope(make(kTagSize - 1), e) == DecodeError::truncated);
        REQUIRE(decode_envelope(make(kTagSize), e) == DecodeError::ok);
        CHECK(e.box.size() == kTagSize);
    }
}

TEST_CASE("bytes after a clear envelope are refused", "[protocol]") {
    for (auto bytes : {hello(), challenge(), version_refused()}) {
        bytes.push_back(0);
        Envelope e;
        INFO(to_string(static_cast<EnvelopeType>(bytes[5])));
        CHECK(decode_envelope(bytes, e) == DecodeError::trailing_bytes);
    }
}

TEST_CASE("datagrams without our magic are not ours", "[protocol]") {
    auto bytes = hello();
    Envelope e;
    CHECK(decode_envelope(std::span(bytes.data(), 3), e) == DecodeError::not_ours);
    CHECK(decode_envelope({}, e) == DecodeError::not_ours);
    CHECK(wire_version(std::span(bytes.data(), 3)) == 0);
    bytes[0] = 'X';
    CHECK_FALSE(has_magic(bytes));
    CHECK(decode_envelope(bytes, e) == DecodeError::not_ours);
    CHECK(wire_version(bytes) == 0);
}

TEST_CASE("a version-1 datagram is refused as bad_version, and wire_version says 1", "[protocol]") {
    // A version-1 Register: header with version 1 and type 0x01, instance, cookie, name, LAN.
    Bytes v1 = {'N', 'C', 'R', 'V', 1, 0x01, 0, 0, 0, 0, 0, 0, 0, 42};
    v1.insert(v1.end(), kCookieSize, 0);
    v1.insert(v1.end(), {5, 'a', 'l', 'i', 'c', 'e', 0});
    Envelope e;
    CHECK(decode_envelope(v1, e) == DecodeError::bad_version);
    CHECK(wire_version(v1) == 1);
    // Any other version, too, and already with a bare header.
    auto bytes = hello();
    bytes[4] = 2;  // issue 10's version: the consent fields are missing
    CHECK(decode_envelope(bytes, e) == DecodeError::bad_version);
    CHECK(wire_version(bytes) == 2);
    bytes[4] = 3;  // issue 11's version: no parties
    CHECK(decode_envelope(bytes, e) == DecodeError::bad_version);
    CHECK(wire_version(bytes) == 3);
    bytes[4] = 4;  // issue 14's version: no CONNECT in the probe
    CHECK(decode_envelope(bytes, e) == DecodeError::bad_version);
    CHECK(wire_version(bytes) == 4);
    bytes[4] = 6;
    CHECK(decode_envelope(bytes, e) == DecodeError::bad_version);
    CHECK(wire_version(bytes) == 6);
    CHECK(wire_version(std::span(bytes.data(), kHeaderSize - 1)) == 0);
}

TEST_CASE("an unknown envelope type is refused, inner types included", "[protocol]") {
    auto bytes = client_sealed();
    Envelope e;
    for (const std::uint8_t t : std::initializer_list<std::uint8_t>{0x00, 0x01, 0x06, 0x10, 0x11,
                                                                    0x2F, 0x34, 0x3E, 0x42, 0xFF}) {
        bytes[5] = t;
        INFO(int(t));
        CHECK(decode_envelope(bytes, e) == DecodeError::unknown_type);
    }
    // A bare header of an unknown type is unknown too, not truncated.
    bytes.resize(kHeaderSize);
    CHECK(decode_envelope(bytes, e) == DecodeError::unknown_type);
}

TEST_CASE("envelope encoders write nothing into a buffer that is too small", "[protocol]") {
    std::array<std::uint8_t, kHelloSize - 1> small{};
    CHECK(encode_hello(key_of(1), small) == 0);
    CHECK(encode_challenge(key_of(1), kSalt, kCookie, small) == 0);
    std::array<std::uint8_t, kVersionRefusedSize - 1> tiny{};
    CHECK(encode_version_refused(tiny) == 0);
    CHECK(encode_server_sealed_head(1, tiny) == 0);
    CHECK(encode_client_sealed_head(key_of(1), kCookie, 1, std::span(small).first(61)) == 0);
    CHECK(encode_probe_head(kProbeNonce, std::span(small).first(29)) == 0);
    CHECK(encode_data_head(1, 1, std::span(small).first(17)) == 0);
    CHECK(encode_data_head(1, 1, std::span(small).first(18)) == 18);
}

TEST_CASE("every drop reason and type has a name", "[protocol]") {
    for (std::size_t i = 0; i < kDecodeErrorCount; ++i)
        CHECK(std::string_view(to_string(static_cast<DecodeError>(i))) != "?");
    for (const auto t : {EnvelopeType::hello, EnvelopeType::challenge, EnvelopeType::client_sealed,
                         EnvelopeType::server_sealed, EnvelopeType::version_refused,
                         EnvelopeType::peer_probe, EnvelopeType::peer_data})
        CHECK(std::string_view(to_string(t)) != "?");
    for (const auto& m : samples()) CHECK(std::string_view(to_string(type_of(m))) != "?");
}

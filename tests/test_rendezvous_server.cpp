// The rendezvous protocol logic, driven through Server::handle with time stepped by hand.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <set>

#include "rendezvous_test_support.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;
using netcore::Address;
using std::chrono::milliseconds;

namespace {

const Address kAliceRebound{0xCB007107u, 5999};  // the same router after a NAT rebinding

AddressList lan(std::initializer_list<Address> items) {
    AddressList l;
    for (const auto a : items) l.push(a);
    return l;
}

// `from` asks for `peer`; requires an Introduction to each. Returns (to `from`, to `peer`).
std::pair<OwnedIntroduction, OwnedIntroduction> introduce(Harness& h, Address from,
                                                          std::uint64_t run, std::string_view peer,
                                                          Address peer_at) {
    const auto sent = h.send(from, IntroduceRequest{run, peer});
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].to == from);
    CHECK(sent[1].to == peer_at);
    return {OwnedIntroduction(sent[0].as<Introduction>()),
            OwnedIntroduction(sent[1].as<Introduction>())};
}

}  // namespace

// ---- registration ------------------------------------------------------------------------------

TEST_CASE("a Register is acknowledged with the address the server saw and the intervals",
          "[unit][server]") {
    Config c;
    c.refresh = milliseconds(12000);
    c.expiry = milliseconds(40000);
    Harness h(c);
    const auto ack = h.registered(kAlice, kAliceRun, "alice");
    CHECK(ack.instance == kAliceRun);
    CHECK(ack.observed == kAlice);
    CHECK(ack.refresh_ms == 12000);
    CHECK(ack.expiry_ms == 40000);
    CHECK(h.logged("registered alice at 203.0.113.7:5000"));
    CHECK(h.server.counters().names == 1);
    CHECK(h.server.counters().registered == 1);
}

TEST_CASE("the default intervals are a 15 s refresh and a 45 s expiry", "[unit][server]") {
    Harness h;
    const auto ack = h.registered(kAlice, kAliceRun, "alice");
    CHECK(ack.refresh_ms == 15000);
    CHECK(ack.expiry_ms == 45000);
}

TEST_CASE("a name held by another live instance is refused as name_taken", "[unit][server]") {
    Harness h;
    h.registered(kCarol, kCarolRun, "alice");
    const auto sent = h.send(kAlice, RegisterRequest{kAliceRun, "alice", {}});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kAlice);
    CHECK(sent[0].as<RegisterError>() == RegisterError{kAliceRun, RegisterErrorCode::name_taken});
    CHECK(h.logged("name taken: alice (held by 203.0.113.8:6000)"));
    CHECK(h.server.counters().name_taken == 1);
    // The holder keeps it: its refresh is still a refresh.
    CHECK(h.registered(kCarol, kCarolRun, "alice").observed == kCarol);
    CHECK(h.server.counters().refreshed == 1);
}

TEST_CASE("the same instance from a new address keeps its name, which moves there",
          "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    h.advance(milliseconds(15000));

    const auto ack = h.registered(kAliceRebound, kAliceRun, "alice");
    CHECK(ack.observed == kAliceRebound);
    CHECK(h.logged("registered alice at 203.0.113.7:5999 (moved from 203.0.113.7:5000)"));

    // Bob is now told the new address; the old one holds nothing.
    const auto [to_bob, to_alice] = introduce(h, kBob, kBobRun, "alice", kAliceRebound);
    CHECK(to_bob.peer_public == kAliceRebound);
    const auto stale = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(stale.size() == 1);
    CHECK(stale[0].as<RegisterError>().code == RegisterErrorCode::not_registered);
    CHECK(h.server.counters().names == 2);
}

TEST_CASE("a refresh is logged only at debug level", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.advance(milliseconds(15000));
    h.registered(kAlice, kAliceRun, "alice");
    CHECK(h.logged("refreshed alice at 203.0.113.7:5000"));

    std::vector<std::string> info_lines;
    Server quiet(
        {}, Log(LogLevel::info, [&](LogLevel, std::string_view l) { info_lines.emplace_back(l); }));
    SignalChannel alice(quiet.public_key());
    Outbox out;
    quiet.handle(hello_bytes(alice), kAlice, h.now, out);  // a Challenge, logged at debug
    REQUIRE(out.size() == 1);
    Envelope challenge;
    REQUIRE(decode_envelope(out.datagrams()[0].view(), challenge) == DecodeError::ok);
    REQUIRE(alice.on_challenge(challenge, true) == SignalChannel::ChallengeOutcome::new_salt);
    const RegisterRequest request{kAliceRun, "alice", {}};
    std::array<std::uint8_t, kMaxDatagramSize> sealed{};
    quiet.handle({sealed.data(), alice.seal(request, sealed)}, kAlice, h.now, out);
    quiet.handle({sealed.data(), alice.seal(request, sealed)}, kAlice, h.now + milliseconds(15000),
                 out);
    CHECK(out.size() == 3);  // the Challenge and two acknowledgements
    CHECK(info_lines == std::vector<std::string>{"registered alice at 203.0.113.7:5000"});
}

TEST_CASE("a name expires expiry_ms after its last Register", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");

    // Bob keeps refreshing; alice goes silent.
    h.advance(milliseconds(30000));
    h.registered(kBob, kBobRun, "bob");
    h.advance(milliseconds(14999));
    introduce(h, kBob, kBobRun, "alice", kAlice);  // 44.999 s: still there

    h.advance(milliseconds(1));  // 45 s after her Register
    const auto sent = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<PeerUnknown>().peer == "alice");

    // The sweep drops her and says so.
    h.server.tick(h.now);
    CHECK(h.logged("expired alice"));
    CHECK(h.server.counters().expired == 1);
    CHECK(h.server.counters().names == 1);
}

TEST_CASE("refreshes keep a name alive well past one expiry period", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    for (int i = 0; i < 12; ++i) {  // three minutes of 15 s refreshes
        h.advance(milliseconds(15000));
        h.registered(kAlice, kAliceRun, "alice");
        h.registered(kBob, kBobRun, "bob");
        h.server.tick(h.now);
    }
    CHECK(h.server.counters().expired == 0);
    CHECK(h.server.counters().names == 2);
    introduce(h, kBob, kBobRun, "alice", kAlice);
}

TEST_CASE("an expired name can be taken by another instance before the sweep runs",
          "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.advance(milliseconds(45000));
    const auto ack = h.registered(kCarol, kCarolRun, "alice");
    CHECK(ack.observed == kCarol);
    CHECK(h.logged("expired alice"));
    CHECK(h.server.counters().names == 1);
}

TEST_CASE("the sweep runs about once a second, not on every tick", "[unit][server]") {
    Config c;
    c.refresh = milliseconds(100);
    c.expiry = milliseconds(300);
    Harness h(c);
    h.server.tick(h.now);  // the first tick sweeps and schedules the next one second later
    h.registered(kAlice, kAliceRun, "alice");
    h.advance(milliseconds(500));
    h.server.tick(h.now);
    CHECK(h.server.counters().names == 1);  // expired, but the next sweep is not due yet
    h.advance(milliseconds(500));
    h.server.tick(h.now);
    CHECK(h.server.counters().names == 0);
}

TEST_CASE("a new name beyond max_names is refused as server_full", "[unit][server]") {
    Config c;
    c.max_names = 2;
    Harness h(c);
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto sent = h.send(kCarol, RegisterRequest{kCarolRun, "carol", {}});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<RegisterError>() == RegisterError{kCarolRun, RegisterErrorCode::server_full});
    CHECK(h.server.counters().server_full == 1);
    CHECK(h.server.counters().names == 2);
    // Holders still refresh at the cap.
    h.registered(kAlice, kAliceRun, "alice");
}

TEST_CASE("registering another name from the same address and instance releases the old one",
          "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    h.registered(kAlice, kAliceRun, "alicia");
    CHECK(h.logged("released alice: renamed to alicia at 203.0.113.7:5000"));
    CHECK(h.server.counters().names == 2);
    const auto sent = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<PeerUnknown>().peer == "alice");
}

TEST_CASE("another instance registering from an address replaces the old run's name",
          "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kAlice, kAliceRun + 1, "alice");
    CHECK(h.logged("released alice: new instance at 203.0.113.7:5000"));
    CHECK(h.server.counters().names == 1);
    // The old run's instance no longer holds anything.
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<RegisterError>().code == RegisterErrorCode::not_registered);
}

// ---- introductions -----------------------------------------------------------------------------

TEST_CASE(
    "an introduction reaches both sides with one token, opposite roles and each other's "
    "addresses",
    "[unit][server]") {
    Harness h;
    const auto alice_lan = lan({{0xC0A80002u, 5000}, {0x0A000002u, 5000}});
    const auto bob_lan = lan({{0xC0A80105u, 6000}});
    h.registered(kAlice, kAliceRun, "alice", alice_lan);
    h.registered(kBob, kBobRun, "bob", bob_lan);

    const auto [to_alice, to_bob] = introduce(h, kAlice, kAliceRun, "bob", kBob);
    CHECK(to_alice.token == to_bob.token);
    CHECK(to_alice.token != 0);
    CHECK(to_alice.role == Role::initiator);  // the requester
    CHECK(to_bob.role == Role::responder);
    CHECK(to_alice.peer == "bob");
    CHECK(to_alice.peer_public == kBob);
    CHECK(to_alice.peer_lan == bob_lan);
    CHECK(to_bob.peer == "alice");
    CHECK(to_bob.peer_public == kAlice);
    CHECK(to_bob.peer_lan == alice_lan);
    CHECK(h.logged("introduced alice (initiator) <-> bob"));
    CHECK(h.server.counters().introduced == 1);
    CHECK(h.server.counters().pending_introductions == 1);
}

TEST_CASE("two clients naming each other at once get one token, and the first to ask initiates",
          "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto [a_to_alice, a_to_bob] = introduce(h, kAlice, kAliceRun, "bob", kBob);
    h.advance(milliseconds(3));
    const auto [b_to_bob, b_to_alice] = introduce(h, kBob, kBobRun, "alice", kAlice);
    CHECK(b_to_bob.token == a_to_alice.token);
    CHECK(b_to_alice == a_to_alice);
    CHECK(b_to_bob == a_to_bob);
    CHECK(b_to_bob.role == Role::responder);
    CHECK(h.server.counters().introduced == 1);
    CHECK(h.server.counters().reintroduced == 1);
}

TEST_CASE("a retried IntroduceRequest gets the same introduction again", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto first = introduce(h, kAlice, kAliceRun, "bob", kBob);
    h.advance(milliseconds(9999));
    const auto retry = introduce(h, kAlice, kAliceRun, "bob", kBob);
    CHECK(retry == first);
}

TEST_CASE("once intro_ttl has passed a pair gets a fresh token", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto first = introduce(h, kAlice, kAliceRun, "bob", kBob);
    h.advance(milliseconds(10000));
    const auto [to_bob, to_alice] = introduce(h, kBob, kBobRun, "alice", kAlice);
    CHECK(to_bob.token != first.first.token);
    CHECK(to_bob.role == Role::initiator);  // a new introduction: the new requester initiates
    CHECK(h.server.counters().introduced == 2);
}

TEST_CASE("different pairs get different tokens", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    h.registered(kCarol, kCarolRun, "carol");
    const auto ab = introduce(h, kAlice, kAliceRun, "bob", kBob);
    const auto ac = introduce(h, kAlice, kAliceRun, "carol", kCarol);
    const auto bc = introduce(h, kBob, kBobRun, "carol", kCarol);
    const std::set<std::uint64_t> tokens{ab.first.token, ac.first.token, bc.first.token};
    CHECK(tokens.size() == 3);
}

TEST_CASE("a pending introduction is dropped when a side re-registers from a new address",
          "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto first = introduce(h, kAlice, kAliceRun, "bob", kBob);
    h.registered(kAliceRebound, kAliceRun, "alice");
    CHECK(h.server.counters().pending_introductions == 0);
    const auto [to_alice, to_bob] = introduce(h, kAliceRebound, kAliceRun, "bob", kBob);
    CHECK(to_alice.token != first.first.token);
    CHECK(to_bob.peer_public == kAliceRebound);
}

TEST_CASE("a pending introduction is dropped when a side restarts as a new instance",
          "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto first = introduce(h, kAlice, kAliceRun, "bob", kBob);
    h.registered(kBob, kBobRun + 1, "bob");
    const auto [to_alice, to_bob] = introduce(h, kAlice, kAliceRun, "bob", kBob);
    CHECK(to_alice.token != first.first.token);
}

TEST_CASE("a refresh from the same address keeps the pending introduction", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto first = introduce(h, kAlice, kAliceRun, "bob", kBob);
    h.registered(kBob, kBobRun, "bob");
    CHECK(introduce(h, kBob, kBobRun, "alice", kAlice).first.token == first.first.token);
}

TEST_CASE("asking for a name nobody holds gets PeerUnknown", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "carol"});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kAlice);
    CHECK(sent[0].as<PeerUnknown>().peer == "carol");
    CHECK(h.logged("unknown peer carol asked by alice"));
    CHECK(h.server.counters().peer_unknown == 1);
}

TEST_CASE("asking for yourself gets PeerUnknown", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "alice"});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<PeerUnknown>().peer == "alice");
    CHECK(h.server.counters().introduced == 0);
}

TEST_CASE("an IntroduceRequest from an address without a name gets not_registered",
          "[unit][server]") {
    Harness h;
    h.registered(kBob, kBobRun, "bob");
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kAlice);
    CHECK(sent[0].as<RegisterError>() ==
          RegisterError{kAliceRun, RegisterErrorCode::not_registered});
    CHECK(h.server.counters().not_registered == 1);
}

TEST_CASE("an IntroduceRequest under another instance than the address's gets not_registered",
          "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun + 1, "bob"});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<RegisterError>() ==
          RegisterError{kAliceRun + 1, RegisterErrorCode::not_registered});
}

// ---- unregister --------------------------------------------------------------------------------

TEST_CASE("Unregister from the holder frees the name without a reply", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    introduce(h, kAlice, kAliceRun, "bob", kBob);
    CHECK(h.send(kAlice, Unregister{kAliceRun}).empty());
    CHECK(h.logged("unregistered alice"));
    CHECK(h.server.counters().names == 1);
    CHECK(h.server.counters().pending_introductions == 0);
    const auto sent = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<PeerUnknown>().peer == "alice");
    h.registered(kCarol, kCarolRun, "alice");  // free for anyone
}

TEST_CASE("Unregister under another instance or from another address changes nothing",
          "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    CHECK(h.send(kAlice, Unregister{kAliceRun + 1}).empty());
    CHECK(h.send(kBob, Unregister{kAliceRun}).empty());
    CHECK(h.server.counters().names == 1);
    CHECK(h.server.counters().ignored == 2);
    CHECK(h.server.counters().unregistered == 0);
}

// ---- what is not a request ---------------------------------------------------------------------

TEST_CASE("each kind of malformed datagram is dropped without a reply and counted by reason",
          "[unit][server]") {
    // Clear envelopes, judged before any key is used: a Hello made by hand, then broken.
    const SignalChannel someone(std::nullopt);
    const auto hello = hello_bytes(someone);
    // Sealed ones whose box opens but whose plaintext is malformed: the decoder of the signals.
    const auto reg = inner_bytes(RegisterRequest{kAliceRun, "alice", lan({{0x0A000002u, 5000}})});
    struct Case {
        const char* what;
        std::vector<std::uint8_t> bytes;
        DecodeError reason;
        bool sealed = false;  // the bytes are a plaintext, to be sealed after a Hello
    };
    std::vector<Case> cases;
    cases.push_back({"not ours", {'h', 'e', 'l', 'l', 'o', '!', '!'}, DecodeError::not_ours});
    cases.push_back({"one byte", {'N'}, DecodeError::not_ours});
    {
        auto b = hello;
        b[4] = kVersion + 1;  // a newer version: not answered (an older one is told:
                              // see test_rendezvous_sealed)
        cases.push_back({"another version", b, DecodeError::bad_version});
    }
    {
        auto b = hello;
        b[5] = 0x7F;  // envelope type
        cases.push_back({"unknown type", b, DecodeError::unknown_type});
    }
    cases.push_back({"truncated", {hello.begin(), hello.end() - 3}, DecodeError::truncated});
    cases.push_back({"header only", {hello.begin(), hello.begin() + 6}, DecodeError::truncated});
    {
        auto b = hello;
        b.back() = 1;  // the padding must be zeros
        cases.push_back({"bad padding", b, DecodeError::bad_field});
    }
    {
        auto b = hello;
        b.push_back(0);
        cases.push_back({"trailing bytes", b, DecodeError::trailing_bytes});
    }
    {
        std::vector<std::uint8_t> b(kClientSealedHead + kTagSize - 1);
        REQUIRE(encode_client_sealed_head(someone.key_pair().public_key, {}, 1, b) ==
                kClientSealedHead);
        cases.push_back({"a box shorter than its tag", b, DecodeError::truncated});
    }
    {
        auto b = reg;
        b[0] = 0x7F;  // message type
        cases.push_back({"sealed: unknown type", b, DecodeError::unknown_type, true});
    }
    cases.push_back(
        {"sealed: truncated", {reg.begin(), reg.end() - 3}, DecodeError::truncated, true});
    {
        auto b = reg;
        b[1 + 8 + 1] = '!';  // the name's first character, after type, instance, length
        cases.push_back({"sealed: bad name", b, DecodeError::bad_name, true});
    }
    {
        auto b = reg;
        b[1 + 8 + 1 + 5] = 5;  // LAN count above kMaxLanAddresses
        cases.push_back({"sealed: bad field", b, DecodeError::bad_field, true});
    }
    {
        auto b = reg;
        b.push_back(0);
        cases.push_back({"sealed: trailing bytes", b, DecodeError::trailing_bytes, true});
    }

    for (const auto& c : cases) {
        INFO(c.what);
        Harness h;
        auto bytes = c.bytes;
        std::uint64_t before = 0;  // the Hello's bytes, if one was sent
        if (c.sealed) {
            const auto challenge = h.hello(kAlice, kAliceRun).challenge();
            before = kHelloSize;
            bytes = hand_sealed(h.signal_key(kAliceRun, challenge.salt),
                                h.channel(kAliceRun).key_pair().public_key, challenge.cookie, 1,
                                c.bytes);
        }
        CHECK(h.raw(kAlice, bytes).empty());
        const auto counters = h.server.counters();
        CHECK(counters.dropped_by(c.reason) == 1);
        std::uint64_t all_drops = 0;
        for (const auto d : counters.dropped) all_drops += d;
        CHECK(all_drops == 1);
        CHECK(counters.unauthenticated == 0);
        CHECK(counters.names == 0);
        CHECK(counters.packets_in == (c.sealed ? 2 : 1));
        CHECK(counters.bytes_in == before + bytes.size());
    }
}

TEST_CASE("messages only clients receive are dropped and counted as unexpected", "[unit][server]") {
    Harness h;
    const std::vector<Message> unexpected = {
        RegisterAck{1, kAlice, 15000, 45000},
        RegisterError{1, RegisterErrorCode::name_taken},
        PeerUnknown{"bob"},
        Introduction{7, Role::initiator, "bob", kBob, {}, {}, {}},
        PeerRelay{7, kAlice, kBob},
        Probe{7, 1},
        ProbeAck{7, 1, kAlice},
    };
    for (const auto& m : unexpected) CHECK(h.send_as(kAlice, kAliceRun, m).empty());
    // And the envelopes a server never receives, in clear or with a box it has no key for.
    std::vector<std::vector<std::uint8_t>> envelopes;
    std::vector<std::uint8_t> b(kMaxDatagramSize);
    b.resize(encode_challenge(h.server.public_key(), {}, {}, b));
    envelopes.push_back(b);
    b.assign(kMaxDatagramSize, 0);
    b.resize(encode_version_refused(b));
    envelopes.push_back(b);
    b.assign(kMaxDatagramSize, 0);
    b.resize(encode_server_sealed_head(1, b) + kTagSize);
    envelopes.push_back(b);
    b.assign(kMaxDatagramSize, 0);
    b.resize(encode_probe_head({}, b) + kTagSize);
    envelopes.push_back(b);
    b.assign(kMaxDatagramSize, 0);
    b.resize(encode_data_head(1, 1, b) + kTagSize);
    envelopes.push_back(b);
    for (const auto& e : envelopes) CHECK(h.raw(kAlice, e).empty());
    CHECK(h.server.counters().unexpected == unexpected.size() + envelopes.size());
    CHECK(h.server.counters().dropped_by(DecodeError::ok) == 0);
}

TEST_CASE(
    "random bytes and mutated requests never crash the server, and random bytes are "
    "never answered",
    "[unit][server]") {
    Config c;
    c.limits.rate = 1e9;  // every datagram must reach the decoder, not the rate limiter
    c.limits.burst = 1e9;
    Harness h(c);
    std::mt19937 rng(20261125);  // fixed: a failure must reproduce
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(0, 300);

    for (int i = 0; i < 5000; ++i) {
        std::vector<std::uint8_t> junk(length(rng));
        for (auto& b : junk) b = static_cast<std::uint8_t>(byte(rng));
        CHECK(h.raw(kCarol, junk).empty());
    }
    // Valid envelopes, sealed by a real client, mutated: they reach every decoder path, and the
    // box check before it; some may still open (a flip in nothing it covers) and be answered.
    std::vector<std::vector<std::uint8_t>> seeds = {
        hello_bytes(h.channel(kAliceRun)),
        h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", lan({{1, 2}, {3, 4}})}),
        h.sealed(kAlice, IntroduceRequest{kAliceRun, "bob"}),
        h.sealed(kAlice, Unregister{kAliceRun}),
    };
    for (int i = 0; i < 5000; ++i) {
        auto b = seeds[static_cast<std::size_t>(i) % seeds.size()];
        const auto flips = 1 + i % 4;
        for (int f = 0; f < flips; ++f) {
            const auto at = std::uniform_int_distribution<std::size_t>(4, b.size() - 1)(rng);
            b[at] = static_cast<std::uint8_t>(byte(rng));
        }
        b.resize(std::min(b.size(), length(rng) + 6));
        h.raw(kAlice, b);
    }
    h.registered(kBob, kBobRun, "bob");
}

TEST_CASE("tokens never appear in the log", "[unit][server]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto token = introduce(h, kAlice, kAliceRun, "bob", kBob).first.token;
    introduce(h, kBob, kBobRun, "alice", kAlice);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(token));
    const std::string dec = std::to_string(token);
    REQUIRE_FALSE(h.log.empty());
    for (const auto& line : h.log) {
        INFO(line);
        CHECK(line.find(dec) == std::string::npos);
        CHECK(line.find(hex) == std::string::npos);
    }
}

TEST_CASE("a Config is valid only when expiry exceeds refresh and every limit is positive",
          "[unit][server]") {
    CHECK(validate(Config{}).empty());
    Config c;
    c.expiry = c.refresh;
    CHECK(validate(c) == "--expiry-ms (15000) must exceed --refresh-ms (15000)");
    c = Config{};
    c.refresh = milliseconds(0);
    CHECK_FALSE(validate(c).empty());
    c = Config{};
    c.max_names = 0;
    CHECK_FALSE(validate(c).empty());
    c.max_names = Registry::kMaxNames;  // entry numbers fit 24 bits (registry.hpp)
    CHECK(validate(c).empty());
    c.max_names = Registry::kMaxNames + 1;
    CHECK(validate(c) == "--max-names must be at most 16777215");
    c = Config{};
    c.expiry = milliseconds(std::int64_t{1} << 33);  // does not fit the wire's 32 bits
    CHECK_FALSE(validate(c).empty());
}

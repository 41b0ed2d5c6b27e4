// Address validation and limits: cookies, no amplification, token buckets, bounded tables, and
// honest clients served while one source floods (PROTOCOL.md §7.1, §9).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "cookies.hpp"
#include "rate_limiter.hpp"
#include "rendezvous_test_support.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;
using netcore::Address;
using std::chrono::milliseconds;

namespace {

constexpr std::uint32_t kMallory = 0xC0000201u;  // 192.0.2.1

const TimePoint kStart = TimePoint{} + std::chrono::hours(1);

std::size_t total_size(const std::vector<Sent>& sent) {
    std::size_t n = 0;
    for (const auto& s : sent) n += s.bytes.size();
    return n;
}

}  // namespace

// ---- cookies -----------------------------------------------------------------------------------

TEST_CASE("a cookie is valid only for the address it was made for", "[unit][limits]") {
    Cookies cookies(milliseconds(30000));
    const auto c = cookies.make(kAlice, kStart);
    CHECK(cookies.valid(c, kAlice, kStart));
    CHECK_FALSE(cookies.valid(c, Address{kAlice.ip, static_cast<std::uint16_t>(kAlice.port + 1)},
                              kStart));                                          // another port
    CHECK_FALSE(cookies.valid(c, Address{kAlice.ip + 1, kAlice.port}, kStart));  // another IP
    CHECK_FALSE(cookies.valid(Cookie{}, kAlice, kStart));                        // none at all
    auto flipped = c;
    flipped[15] ^= 1;
    CHECK_FALSE(cookies.valid(flipped, kAlice, kStart));
}

TEST_CASE("a cookie is accepted in its window and the next, and refused after", "[unit][limits]") {
    Cookies cookies(milliseconds(30000));
    const auto c = cookies.make(kAlice, kStart);  // kStart is on a window boundary
    CHECK(cookies.valid(c, kAlice, kStart + milliseconds(29999)));  // same window
    CHECK(cookies.valid(c, kAlice, kStart + milliseconds(30000)));  // the previous window's
    CHECK(cookies.valid(c, kAlice, kStart + milliseconds(59999)));
    CHECK_FALSE(cookies.valid(c, kAlice, kStart + milliseconds(60000)));  // expired
    CHECK_FALSE(cookies.valid(c, kAlice, kStart));  // its key is gone: time never goes back
}

TEST_CASE("each window has its own key: a cookie for the same address changes every window",
          "[unit][limits]") {
    Cookies cookies(milliseconds(30000));
    const auto first = cookies.make(kAlice, kStart);
    CHECK(cookies.make(kAlice, kStart + milliseconds(29999)) == first);  // same window, same key
    const auto second = cookies.make(kAlice, kStart + milliseconds(30000));
    CHECK(second != first);
    CHECK(cookies.valid(first, kAlice, kStart + milliseconds(30000)));  // previous key kept
    CHECK(cookies.valid(second, kAlice, kStart + milliseconds(30000)));
    // A long idle gap: both keys are fresh, nothing older is accepted.
    const auto later = kStart + std::chrono::hours(2);
    CHECK_FALSE(cookies.valid(second, kAlice, later));
    CHECK(cookies.valid(cookies.make(kAlice, later), kAlice, later));
}

TEST_CASE("another server's cookie is refused: the key is random per start", "[unit][limits]") {
    Cookies one(milliseconds(30000));
    Cookies other(milliseconds(30000));
    CHECK_FALSE(other.valid(one.make(kAlice, kStart), kAlice, kStart));
}

// ---- token buckets -----------------------------------------------------------------------------

TEST_CASE("a token bucket allows a burst, then the rate, never more than the burst saved",
          "[unit][limits]") {
    TokenBucket b{40, kStart};
    for (int i = 0; i < 40; ++i) CHECK(b.take(20, 40, kStart));
    CHECK_FALSE(b.take(20, 40, kStart));
    CHECK_FALSE(b.take(20, 40, kStart + milliseconds(49)));  // 0.98 of a token
    CHECK(b.take(20, 40, kStart + milliseconds(50)));        // 20/s: one every 50 ms
    CHECK_FALSE(b.take(20, 40, kStart + milliseconds(50)));
    // An hour idle saves up the burst, not more.
    const auto later = kStart + std::chrono::hours(1);
    int taken = 0;
    while (b.take(20, 40, later)) ++taken;
    CHECK(taken == 40);
}

TEST_CASE("the rate limiter counts by IP, so rotating ports does not escape it", "[unit][limits]") {
    RateLimiter limiter(RateLimits{});
    int admitted = 0;
    for (int port = 0; port < 1000; ++port) admitted += limiter.admit(kMallory, kStart);
    CHECK(admitted == 40);
    CHECK(limiter.admit(kAlice.ip, kStart));  // another IP has its own bucket
}

TEST_CASE("the rate limiter's table is bounded and forgets the least recently seen IP",
          "[unit][limits]") {
    RateLimits limits;
    limits.max_sources = 3;
    limits.burst = 1;
    RateLimiter limiter(limits);
    CHECK(limiter.admit(1, kStart));
    CHECK(limiter.admit(2, kStart));
    CHECK(limiter.admit(3, kStart));
    CHECK_FALSE(limiter.admit(1, kStart));  // 1 is now the most recently seen
    CHECK(limiter.admit(4, kStart));        // evicts 2, the least recently seen
    CHECK(limiter.size() == 3);
    CHECK(limiter.evicted() == 1);
    CHECK_FALSE(limiter.admit(1, kStart));  // still remembered: still empty
    CHECK(limiter.admit(2, kStart));        // forgotten: a fresh bucket (evicts 3)
    CHECK(limiter.evicted() == 2);
}

// ---- address validation at the server ---------------------------------------------------------

TEST_CASE(
    "a sealed Register without a cookie gets a Challenge no larger than itself, stores nothing",
    "[unit][limits]") {
    Harness h;
    const auto challenge = h.hello(kAlice, kAliceRun).challenge();
    CHECK(h.server.counters().challenged == 1);
    // Sealed under the right key, but with no cookie in its head: the server spends no X25519 on
    // a source that has not proved its address (server.cpp, on_sealed: cookies_.valid()).
    const auto key = h.signal_key(kAliceRun, challenge.salt);
    const auto& client_key = h.channel(kAliceRun).key_pair().public_key;
    const auto request =
        hand_sealed(key, client_key, Cookie{}, 1, inner_bytes(RegisterRequest{kAliceRun, "a", {}}));
    const auto sent = h.raw(kAlice, request);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kAlice);
    CHECK(sent[0].challenge().cookie == challenge.cookie);  // the same window: the same cookie
    CHECK(sent[0].bytes.size() <= request.size());
    CHECK(h.server.counters().names == 0);
    CHECK(h.server.counters().challenged == 2);
    CHECK(h.server.counters().bad_cookies == 0);

    // Echoing the cookie registers the name.
    const auto ack = h.raw(kAlice, hand_sealed(key, client_key, challenge.cookie, 2,
                                               inner_bytes(RegisterRequest{kAliceRun, "a", {}})));
    REQUIRE(ack.size() == 1);
    CHECK(ack[0].as<RegisterAck>().observed == kAlice);
    CHECK(h.server.counters().names == 1);
}

TEST_CASE("a cookie made for another address or an expired window only earns a new Challenge",
          "[unit][limits]") {
    Harness h;
    const auto cookie = h.hello(kAlice, kAliceRun).challenge().cookie;

    // Alice's own sealed Register, carrying her cookie, arriving from elsewhere (another port,
    // another IP): nothing opens it before the cookie proves the source.
    for (const Address elsewhere : {Address{kAlice.ip, 5001}, kBob}) {
        const auto sent =
            h.raw(elsewhere, h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", {}}));
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].to == elsewhere);
        CHECK(sent[0].challenge().cookie != cookie);
    }
    h.advance(h.server.config().cookie_window * 2);
    const auto stale = h.raw(kAlice, h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", {}}));
    REQUIRE(stale.size() == 1);
    CHECK(stale[0].challenge().cookie != cookie);
    CHECK(h.server.counters().names == 0);
    CHECK(h.server.counters().bad_cookies == 3);
    CHECK(h.server.counters().unauthenticated == 0);
}

TEST_CASE(
    "a refresh from the entry's own address opens with the entry's key, without any cookie check",
    "[unit][limits]") {
    Harness h;
    CHECK(h.registered(kAlice, kAliceRun, "alice").observed == kAlice);  // the X25519: registered
    CHECK(h.server.counters().registered == 1);
    CHECK(h.server.counters().refreshed_fast == 0);

    // Refreshes every 15 s: acknowledged on the fast path, long past the cookie's two windows
    // (30 to 60 s), since the key kept in the entry proves the sender. The new LAN list is taken.
    AddressList alice_lan;
    alice_lan.push(Address{0xC0A80002u, 5000});
    for (int i = 1; i <= 6; ++i) {  // at 15, 30, ... 90 s
        h.advance(milliseconds(15000));
        const auto sent =
            h.send(kAlice, RegisterRequest{kAliceRun, "alice", alice_lan, RegisterFlags::open});
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].as<RegisterAck>() == RegisterAck{kAliceRun, kAlice, 15000, 45000});
        CHECK(h.server.counters().refreshed_fast == static_cast<std::uint64_t>(i));
    }
    CHECK(h.server.counters().refreshed == 6);
    CHECK(h.server.counters().challenged == 1);  // only the first Hello
    CHECK(h.rechallenged == 0);
    h.registered(kBob, kBobRun, "bob");
    const auto to_bob = h.send(kBob, IntroduceRequest{kBobRun, "alice"}).at(0).as<Introduction>();
    CHECK(to_bob.peer_lan == alice_lan);

    // Even a head whose cookie is garbage: it is not read on the fast path (the box is the proof).
    const auto challenge_salt = h.hello(Address{1, 1}, kCarolRun).challenge().salt;
    const auto key = h.signal_key(kAliceRun, challenge_salt);
    const Cookie garbage{1, 2, 3};
    const auto sent =
        h.raw(kAlice, hand_sealed(key, h.channel(kAliceRun).key_pair().public_key, garbage, 1000,
                                  inner_bytes(RegisterRequest{kAliceRun, "alice", alice_lan,
                                                              RegisterFlags::open})));
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<RegisterAck>().observed == kAlice);
    CHECK(h.server.counters().refreshed_fast == 7);
    CHECK(h.server.counters().bad_cookies == 0);
}

TEST_CASE("a refresh with a forged cookie or from another address is refused, fast path or not",
          "[unit][limits]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    h.advance(milliseconds(30000));

    // Alice's sealed refresh, captured on the path and sent from elsewhere (another port, another
    // IP); and one sealed from her address under another key with a forged cookie: Challenges
    // only, to the sender.
    const auto captured = h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", {}});
    const auto challenge = h.hello(kCarol, kCarolRun).challenge();
    auto cookie = challenge.cookie;
    cookie[15] ^= 1;
    const auto forged = hand_sealed(h.signal_key(kCarolRun, challenge.salt),
                                    h.channel(kAliceRun).key_pair().public_key, cookie, 99,
                                    inner_bytes(RegisterRequest{kAliceRun, "alice", {}}));
    const std::vector<std::pair<Address, std::vector<std::uint8_t>>> attempts = {
        {kAlice, forged}, {Address{kAlice.ip, 5001}, captured}, {kCarol, captured}};
    for (const auto& [from, bytes] : attempts) {
        INFO(from.to_string());
        const auto sent = h.raw(from, bytes);
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].to == from);
        CHECK(sent[0].is_challenge());
    }
    const auto c = h.server.counters();
    CHECK(c.refreshed == 0);
    CHECK(c.refreshed_fast == 0);
    CHECK(c.bad_cookies == 3);
    // None of them refreshed the name: it expires 45 s after the last real Register.
    h.registered(kBob, kBobRun, "bob");  // Bob stays
    h.advance(milliseconds(15000));
    CHECK(h.send(kBob, IntroduceRequest{kBobRun, "alice"}).at(0).as<PeerUnknown>().peer == "alice");
}

TEST_CASE("only a refresh takes the fast path: a rename or a new run goes through the registry",
          "[unit][limits]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    // The same run renames: its key opens on the fast path, but it is no refresh.
    CHECK(h.registered(kAlice, kAliceRun, "alicia").observed == kAlice);
    CHECK(h.logged("released alice: renamed to alicia at 203.0.113.7:5000"));
    // A new run on the same socket: another key, so a Hello, a cookie and an X25519.
    CHECK(h.registered(kAlice, kCarolRun, "alicia").observed == kAlice);
    CHECK(h.logged("released alicia: new instance at 203.0.113.7:5000"));
    CHECK(h.server.counters().refreshed == 0);
    CHECK(h.server.counters().refreshed_fast == 0);
    CHECK(h.server.counters().registered == 3);
}

TEST_CASE("to an unproven source every answer is no larger than the request", "[unit][limits]") {
    Harness h;
    h.registered(kBob, kBobRun, "bob");  // a real peer, so a request could be worth answering
    // Carol's Hello: answered with a Challenge of the same size, which proves nothing yet.
    const auto hello = hello_bytes(h.channel(kCarolRun));
    const auto challenged = h.raw(kCarol, hello);
    REQUIRE(challenged.size() == 1);
    CHECK(challenged[0].bytes.size() == hello.size());
    const auto salt = challenged[0].challenge().salt;

    const std::string longest(kMaxNameLength, 'x');
    AddressList four;
    for (std::uint16_t i = 1; i <= kMaxLanAddresses; ++i) four.push(Address{0x0A000001u, i});
    const std::vector<Message> requests = {
        RegisterRequest{kCarolRun, "a", {}},        // the smallest Register
        RegisterRequest{kCarolRun, longest, four},  // the largest
        IntroduceRequest{kCarolRun, "b"},           // the smallest, not registered
        IntroduceRequest{kCarolRun, "bob"},         // for a real peer
        IntroduceRequest{kBobRun, "bob"},           // with Bob's instance, from elsewhere
        Unregister{kBobRun},
        Unregister{kCarolRun},
    };
    // Each sealed under Carol's real signal key, without a cookie and with a forged one.
    std::uint64_t counter = 0;
    for (const Cookie& cookie : {Cookie{}, Cookie{1, 2, 3}}) {
        for (const auto& m : requests) {
            INFO(to_string(type_of(m)));
            const auto request = hand_sealed(h.signal_key(kCarolRun, salt),
                                             h.channel(kCarolRun).key_pair().public_key, cookie,
                                             ++counter, inner_bytes(m));
            const auto sent = h.raw(kCarol, request);
            CHECK(total_size(sent) <= request.size());
            for (const auto& s : sent) CHECK(s.to == kCarol);  // and never to anyone else
        }
    }
    CHECK(h.server.counters().names == 1);
    CHECK(h.server.counters().amplification_refused == 0);
}

TEST_CASE("a name moves to a new address only with its instance and key", "[unit][limits]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    // Another run (another key) from another address, with a valid cookie: name_taken.
    const auto stolen = h.send(kCarol, RegisterRequest{kCarolRun, "alice", {}});
    REQUIRE(stolen.size() == 1);
    CHECK(stolen[0].as<RegisterError>().code == RegisterErrorCode::name_taken);
    // The same run after a NAT rebinding proves the new address, and the name follows.
    const Address rebound{kAlice.ip, 7000};
    CHECK(h.registered(rebound, kAliceRun, "alice").observed == rebound);
    CHECK(h.rechallenged == 1);  // its cookie was for the old address
    // Unregister needs the instance, the key and the holding address.
    CHECK(h.send(kAlice, Unregister{kAliceRun}).empty());                 // the old address
    CHECK(h.send(rebound, Unregister{kCarolRun}).empty());                // another run
    CHECK(h.send_as(rebound, kCarolRun, Unregister{kAliceRun}).empty());  // another key
    CHECK(h.server.counters().names == 1);
    CHECK(h.send(rebound, Unregister{kAliceRun}).empty());
    CHECK(h.server.counters().names == 0);
}

// ---- limits ------------------------------------------------------------------------------------

TEST_CASE("honest clients are registered and introduced while one IP floods from many ports",
          "[unit][limits]") {
    Harness h;
    std::uint64_t flood_bytes_in = 0;
    std::uint64_t flood_bytes_out = 0;
    std::uint16_t port = 1024;
    // Mallory seals real requests under one key and sends them from port after port: a Hello,
    // and sealed datagrams whose cookie is for the first port only.
    std::uint64_t mallory_run = 7;
    h.hello(Address{kMallory, 1023}, mallory_run);
    const auto flood = [&](int datagrams) {
        for (int i = 0; i < datagrams; ++i) {
            const Address from{kMallory, port++};
            const auto request =
                i % 3 == 0 ? hello_bytes(h.channel(mallory_run))
                : i % 3 == 1
                    ? h.sealed(from, mallory_run, RegisterRequest{mallory_run, "mallory", {}})
                    : h.sealed(from, mallory_run, IntroduceRequest{mallory_run, "alice"});
            flood_bytes_in += request.size();
            for (const auto& s : h.raw(from, request)) {
                CHECK(s.to.ip == kMallory);
                flood_bytes_out += s.bytes.size();
            }
        }
    };
    // 2 s of 10 000 datagrams a second, in steps of 10 ms, the honest ones in between.
    flood(100);
    h.registered(kAlice, kAliceRun, "alice");
    flood(100);
    h.registered(kBob, kBobRun, "bob");
    for (int step = 0; step < 200; ++step) {
        h.advance(milliseconds(10));
        flood(100);
        if (step == 100) {
            const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
            REQUIRE(sent.size() == 2);
            CHECK(sent[1].to == kBob);
            CHECK(sent[1].as<Introduction>().peer == "alice");
        }
    }
    const auto c = h.server.counters();
    // Mallory got the burst plus 2 s at the rate, nothing more, and each answer no larger than
    // its request.
    const auto admitted = 20'200 + 1 - c.rate_limited;  // + the first Hello
    CHECK(admitted <= 40 + 2 * 20 + 1);
    CHECK(c.unauthenticated == 0);  // nothing of Mallory's was even opened: no cookie
    CHECK(flood_bytes_out <= flood_bytes_in);
    CHECK(c.names == 2);
    CHECK(c.introduced == 1);
}

TEST_CASE("answers larger than the request are capped per IP", "[unit][limits]") {
    Config config;
    config.limits.rate = 1e9;  // only the answer cap acts here
    config.limits.burst = 1e9;
    Harness h(config);
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    int introduced = 0;
    for (int i = 0; i < 100; ++i)
        introduced += !h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}).empty();
    CHECK(introduced == 20);  // the answer burst
    CHECK(h.server.counters().answers_limited == 80);
    h.advance(milliseconds(100));  // 10/s: one more
    CHECK(h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}).size() == 2);
    CHECK(h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}).empty());
    // Bob, from another IP, is not held back by Alice's use of hers.
    CHECK(h.send(kBob, IntroduceRequest{kBobRun, "alice"}).size() == 2);
}

TEST_CASE("pending introductions are bounded: a new pair beyond the cap is dropped and counted",
          "[unit][limits]") {
    Config config;
    config.max_introductions = 2;
    Harness h(config);
    const Address at[6] = {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {6, 6}};
    const char* names[6] = {"n0", "n1", "n2", "n3", "n4", "n5"};
    for (std::size_t i = 0; i < 6; ++i) h.registered(at[i], 100 + i, names[i]);
    CHECK(h.send(at[0], IntroduceRequest{100, "n1"}).size() == 2);
    CHECK(h.send(at[2], IntroduceRequest{102, "n3"}).size() == 2);
    CHECK(h.send(at[4], IntroduceRequest{104, "n5"}).empty());
    CHECK(h.server.counters().introductions_full == 1);
    CHECK(h.server.counters().pending_introductions == 2);
    // A pending pair is still served (same token).
    CHECK(h.send(at[1], IntroduceRequest{101, "n0"}).size() == 2);
    // Once its token is stale, a pair still remembered (for relay offers) gets a fresh one in the
    // room it had; a new pair still finds none.
    h.advance(h.server.config().intro_ttl);
    h.server.tick(h.now);
    CHECK(h.send(at[0], IntroduceRequest{100, "n1"}).size() == 2);
    CHECK(h.server.counters().introduced == 3);
    CHECK(h.send(at[4], IntroduceRequest{104, "n5"}).empty());
    // Room comes back when they are forgotten.
    h.advance(h.server.config().relay_offer_window);
    h.server.tick(h.now);
    CHECK(h.server.counters().pending_introductions == 0);
    CHECK(h.send(at[4], IntroduceRequest{104, "n5"}).size() == 2);
}

TEST_CASE("the stats line shows the validation and limit counters", "[unit][limits]") {
    Harness h;
    h.hello(kAlice, kAliceRun);
    const auto line = to_string(h.server.counters());
    for (const char* key :
         {" sources=1", " challenged=1", " bad_cookies=0", " rate_limited=0", " answers_limited=0",
          " amplification_refused=0", " introductions_full=0", " sources_evicted=0"}) {
        INFO(key);
        CHECK(line.find(key) != std::string::npos);
    }
}

TEST_CASE("a Config with a limit that is not positive is refused", "[unit][limits]") {
    Config c;
    c.limits.rate = 0;
    CHECK(validate(c) == "--rate must be positive");
    c = Config{};
    c.limits.burst = 0.5;
    CHECK(validate(c) == "--burst must be at least 1");
    c = Config{};
    c.max_introductions = 0;
    CHECK(validate(c) == "--max-introductions must be at least 1");
    c = Config{};
    c.limits.max_sources = 0;
    CHECK(validate(c) == "--max-sources must be at least 1");
}

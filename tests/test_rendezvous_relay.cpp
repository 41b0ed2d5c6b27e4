// TURN relays at the rendezvous (PROTOCOL.md §4.11): TURN-REST credentials in Introductions, and
// RelayOffers forwarded as PeerRelay between the two sides of an introduction, and nobody else.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "rendezvous_test_support.hpp"
#include "turn_credentials.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;
using netcore::Address;
using std::chrono::milliseconds;

namespace {

// Alice and Bob registered, Alice asked for Bob: returns the two Introductions' datagrams.
std::vector<Sent> introduced(Harness& h) {
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(sent.size() == 2);
    REQUIRE(sent[0].to == kAlice);
    REQUIRE(sent[1].to == kBob);
    return sent;
}

RelayOffer offer(std::uint64_t instance, std::uint64_t token, std::string_view peer) {
    return RelayOffer{instance, token, peer, Address{kTurn1.ip, 49200}, Address{kAlice.ip, 5000}};
}

}  // namespace

// ---- credentials
// ---------------------------------------------------------------------------------

TEST_CASE("a TURN-REST credential is expiry:user and base64(HMAC-SHA1(secret, username))",
          "[unit][relay]") {
    const TurnCredentials credentials(kSecret);
    const auto alice = credentials.make("alice", kExpiry);
    CHECK(alice.username == "1800000000:alice");
    CHECK(alice.password == kAlicePassword);  // openssl's answer, above
    CHECK(credentials.make("bob", kExpiry).password == kBobPassword);
    CHECK(credentials.make("alice", kExpiry + 1).password != alice.password);
    CHECK(TurnCredentials("another secret").make("alice", kExpiry).password != alice.password);
    // The longest a name makes, with its pair id, still fits a grant.
    const auto longest =
        credentials.make(std::string(kMaxNameLength, 'x') + "." + std::string(16, 'f'), kExpiry);
    CHECK(longest.username.size() <= kMaxCredentialLength);
    CHECK(longest.password.size() == 28);
}

TEST_CASE("the TURN secret file holds the secret alone, or is a coturn configuration",
          "[unit][relay]") {
    std::string why;
    CHECK(turn_secret_from("s3cret\n", why) == "s3cret");
    CHECK(turn_secret_from("s3cret\r\n", why) == "s3cret");
    CHECK(turn_secret_from("s3cret", why) == "s3cret");
    CHECK(turn_secret_from(" spaces are the secret's ", why) == " spaces are the secret's ");
    const std::string coturn =
        "# /etc/turnserver.conf\n"
        "listening-port=3478\n"
        "use-auth-secret\n"
        "static-auth-secret-something=no\n"
        "  static-auth-secret = from-coturn  \r\n"
        "static-auth-secret=second\n"
        "realm=example.org\n";
    CHECK(turn_secret_from(coturn, why) == "from-coturn");  // the first, trimmed as coturn does

    for (const char* bad : {"", "\n", "one\ntwo\n", "# static-auth-secret=x\nrealm=y\n"}) {
        INFO(bad);
        why.clear();
        CHECK(turn_secret_from(bad, why).empty());
        CHECK_FALSE(why.empty());
    }
    why.clear();
    CHECK(turn_secret_from("realm=x\nstatic-auth-secret=\n", why).empty());
    CHECK(why == "its static-auth-secret line is empty");
}

TEST_CASE("a TURN configuration is valid only with one or two servers, a secret and a sane TTL",
          "[unit][relay]") {
    CHECK(validate(TurnConfig{}).empty());  // no relay
    CHECK(validate(with_turn()).empty());
    auto c = with_turn();
    c.turn.secret.clear();
    CHECK(validate(c) ==
          "--turn-server needs --turn-secret-file (the TURN server's static-auth-secret)");
    c = with_turn();
    c.turn.servers.clear();
    CHECK(validate(c) == "--turn-secret-file needs --turn-server");
    c = with_turn();
    c.turn.servers.push_back(kTurn1);
    CHECK(validate(c) == "--turn-server: at most 2 (an Introduction carries no more)");
    c = with_turn();
    c.turn.servers[1] = Address{0, 3478};
    CHECK(validate(c) == "--turn-server: 0.0.0.0:3478 is not an address clients can reach");
    for (const auto ttl : {std::chrono::seconds(0), kMaxTurnTtl + std::chrono::seconds(1)}) {
        c = with_turn();
        c.turn.ttl = ttl;
        CHECK(validate(c) == "--turn-ttl must be between 1 and 3600 seconds");
    }
    c = with_turn();
    CHECK(c.turn.ttl == std::chrono::seconds(600));  // minutes: renewed while the session lives
    c.grants.ip_rate = 0;
    CHECK(validate(c) == "--grant-rate must be positive");
    c = with_turn();
    c.grants.name_burst = 0.5;
    CHECK(validate(c) == "--name-grant-burst must be at least 1");
}

// ---- grants in Introductions
// ---------------------------------------------------------------------

TEST_CASE("with TURN configured each side's Introduction grants the servers and its own credential",
          "[unit][relay]") {
    Harness h(with_turn());
    const auto sent = introduced(h);
    const auto to_alice = sent[0].as<Introduction>();
    const auto to_bob = sent[1].as<Introduction>();

    CHECK(to_alice.relay.count == 2);
    CHECK(to_alice.relay.servers[0] == kTurn1);  // in the operator's order
    CHECK(to_alice.relay.servers[1] == kTurn2);
    // "<expiry>:<name>.<pair id>": the clock + the default TTL, the side's own name, and the
    // introduction's id, the same on both sides.
    const std::string alice_user(to_alice.relay.username);
    REQUIRE(alice_user.rfind("1800000000:alice.", 0) == 0);
    const std::string pair_id = alice_user.substr(std::string("1800000000:alice.").size());
    CHECK(pair_id.size() == 16);
    CHECK(pair_id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(to_bob.relay.username == "1800000000:bob." + pair_id);
    const TurnCredentials credentials(kSecret);
    CHECK(to_alice.relay.password == credentials.make("alice." + pair_id, kExpiry).password);
    CHECK(to_bob.relay.password == credentials.make("bob." + pair_id, kExpiry).password);
    CHECK(to_bob.relay.view().size() == 2);
    CHECK(h.server.counters().relay_grants == 2);
    // The pair id tells nothing of the token, which stays the pair's secret.
    char token_hex[17];
    std::snprintf(token_hex, sizeof token_hex, "%016llx",
                  static_cast<unsigned long long>(to_alice.token));
    CHECK(pair_id != token_hex);

    // The rest of the Introduction is as without TURN.
    CHECK(to_alice.peer == "bob");
    CHECK(to_alice.peer_public == kBob);
    CHECK(to_alice.role == Role::initiator);
    CHECK(to_bob.token == to_alice.token);

    // The secret itself is never sent, not even sealed, and no credential is logged.
    for (const auto& s : sent) {
        for (const auto& b : {s.bytes, s.plain}) {
            const std::string bytes(b.begin(), b.end());
            CHECK(bytes.find(kSecret) == std::string::npos);
        }
    }
    for (const auto& line : h.log) {
        INFO(line);
        CHECK(line.find(kSecret) == std::string::npos);
        CHECK(line.find(to_alice.relay.password) == std::string::npos);
        CHECK(line.find("1800000000") == std::string::npos);
    }
}

TEST_CASE("a credential's expiry is the clock when the introduction is made plus --turn-ttl",
          "[unit][relay]") {
    auto c = with_turn();
    c.turn.ttl = std::chrono::seconds(3600);
    std::int64_t clock = 1700000000;
    c.turn.unix_clock = [&clock] { return clock; };
    Harness h(c);
    const auto first = introduced(h);
    const std::string alice(first[0].as<Introduction>().relay.username);
    const std::string bob(first[1].as<Introduction>().relay.username);
    CHECK(alice.rfind("1700003600:alice.", 0) == 0);
    // A re-sent introduction (same token) repeats the same credentials: neither a new grant nor
    // counted again, so a requester's retries never cost the pair its grants.
    clock += 5;
    const auto again = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
    REQUIRE(again.size() == 2);
    CHECK(again[0].as<Introduction>().relay.username == bob);
    CHECK(again[1].as<Introduction>().relay.username == alice);
    CHECK(h.server.counters().relay_grants == 2);
    // The pair introduced afresh (a new token) has a new pair id and new credentials.
    h.advance(milliseconds(12000));
    const auto fresh = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(fresh.size() == 2);
    const std::string renewed(fresh[0].as<Introduction>().relay.username);
    CHECK(renewed.rfind("1700003605:alice.", 0) == 0);
    CHECK(renewed.substr(17) != alice.substr(17));
    CHECK(h.server.counters().relay_grants == 4);
}

TEST_CASE("without TURN configured an Introduction grants nothing", "[unit][relay]") {
    Harness h;
    const auto sent = introduced(h);
    for (const auto& s : sent) {
        const auto m = s.as<Introduction>();
        CHECK(m.relay.count == 0);
        CHECK(m.relay.username.empty());
        CHECK(m.relay.password.empty());
        // The sealed head, type, token, role, name, address, LAN count, the grant (1 byte), the
        // peer's key, the tag.
        CHECK(s.bytes.size() ==
              kServerSealedHead + 1 + 8 + 1 + 1 + m.peer.size() + 6 + 1 + 1 + 32 + 1 + kTagSize);
    }
    CHECK(h.server.counters().relay_grants == 0);
}

TEST_CASE("the largest Introduction with a grant fits a datagram", "[unit][relay]") {
    Harness h(with_turn());
    const std::string a(kMaxNameLength, 'a');
    const std::string b(kMaxNameLength, 'b');
    AddressList four;
    for (std::uint16_t i = 1; i <= kMaxLanAddresses; ++i) four.push(Address{0x0A000001u, i});
    h.registered(kAlice, kAliceRun, a, four);
    h.registered(kBob, kBobRun, b, four);
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, b});
    REQUIRE(sent.size() == 2);
    for (const auto& s : sent) {
        // Version 1's 222 bytes (its 6-byte header and a 216-byte body), now behind the 14-byte
        // sealed head and a type byte, with the 32-byte peer key and the 16-byte tag: 279.
        CHECK(s.bytes.size() <= kServerSealedHead + 1 + 216 + 32 + kTagSize);
        CHECK(s.bytes.size() <= kMaxDatagramSize);
        CHECK(s.as<Introduction>().relay.count == 2);
    }
}

TEST_CASE("Introductions with grants stay under the per-IP cap on answers larger than the request",
          "[unit][relay]") {
    auto c = with_turn();
    c.limits.rate = 1e9;  // only the answer cap acts here
    c.limits.burst = 1e9;
    Harness h(c);
    introduced(h);  // one answer of the burst of 20
    int answered = 0;
    for (int i = 0; i < 100; ++i)
        answered += !h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}).empty();
    CHECK(answered == 19);
    CHECK(h.server.counters().answers_limited == 81);
    CHECK(h.server.counters().relay_grants == 2);  // re-sent Introductions repeat them
}

// ---- RelayOffer -> PeerRelay
// ---------------------------------------------------------------------

TEST_CASE(
    "a RelayOffer is forwarded as PeerRelay to the other side of the introduction, and only there",
    "[unit][relay]") {
    Harness h(with_turn());
    const auto token = introduced(h)[0].as<Introduction>().token;

    const RelayOffer from_alice{kAliceRun, token, "bob", Address{0xCB00710Au, 49152},
                                Address{0xCB007107u, 61000}};
    const auto request = h.sealed(kAlice, from_alice);
    const auto sent = h.raw(kAlice, request);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kBob);
    CHECK(sent[0].as<PeerRelay>() == PeerRelay{token, from_alice.relayed, from_alice.mapped});
    CHECK(sent[0].bytes.size() < request.size());  // no amplification, to anyone

    // And the other way, responder to initiator.
    const RelayOffer from_bob{kBobRun, token, "alice", Address{0xCB00710Au, 49153},
                              Address{0xC6336409u, 6000}};
    const auto back = h.send(kBob, from_bob);
    REQUIRE(back.size() == 1);
    CHECK(back[0].to == kAlice);
    CHECK(back[0].as<PeerRelay>() == PeerRelay{token, from_bob.relayed, from_bob.mapped});

    // Re-sent offers (sealed anew, as a client re-sends) are forwarded again: the server keeps no
    // state for them. The very same datagram again is a replay, and dropped.
    CHECK(h.send(kAlice, from_alice).size() == 1);
    CHECK(h.raw(kAlice, request).empty());
    const auto c = h.server.counters();
    CHECK(c.relay_offers_forwarded == 3);
    CHECK(c.replayed == 1);
    CHECK(c.relay_offers_not_registered + c.relay_offers_unknown_introduction +
              c.relay_offers_token_mismatch ==
          0);
    CHECK(c.unexpected == 0);
    CHECK(h.logged("forwarded RelayOffer alice -> bob"));
}

TEST_CASE("offers are forwarded without TURN configured too: the server only checks the pairing",
          "[unit][relay]") {
    Harness h;
    const auto token = introduced(h)[0].as<Introduction>().token;
    const auto sent = h.send(kBob, offer(kBobRun, token, "alice"));
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kAlice);
}

TEST_CASE(
    "a RelayOffer from an address that holds no name under its instance is dropped and counted",
    "[unit][relay]") {
    Harness h(with_turn());
    const auto token = introduced(h)[0].as<Introduction>().token;
    // Alice's instance and token, from an address that is not hers: a spoofer who saw them, or
    // Alice after a NAT rebinding before she registered again. And her address with another run.
    CHECK(h.send(Address{kAlice.ip, 5001}, offer(kAliceRun, token, "bob")).empty());
    CHECK(h.send(kCarol, offer(kAliceRun, token, "bob")).empty());
    CHECK(h.send(kAlice, offer(kAliceRun + 1, token, "bob")).empty());
    const auto c = h.server.counters();
    CHECK(c.relay_offers_not_registered == 3);
    CHECK(c.relay_offers_forwarded == 0);
    CHECK(h.logged("dropped RelayOffer from 203.0.113.7:5001: not registered"));
}

TEST_CASE("a RelayOffer from a source that never proved its address never causes a send",
          "[unit][relay]") {
    Harness h(with_turn());
    const auto token = introduced(h)[0].as<Introduction>().token;
    // Carol got only a Challenge; her offers come sealed under her key but without its cookie:
    // only a Challenge, to her. Never opened, so never forwarded.
    const auto challenge = h.hello(kCarol, kCarolRun).challenge();
    const auto key = h.signal_key(kCarolRun, challenge.salt);
    const auto offers = {offer(kCarolRun, token, "bob"), offer(kAliceRun, token, "bob"),
                         offer(kBobRun, token, "alice"), offer(kCarolRun, 0, "carol")};
    std::uint64_t counter = 0;
    for (const auto& m : offers) {
        const auto sent = h.raw(kCarol, hand_sealed(key, h.channel(kCarolRun).key_pair().public_key,
                                                    Cookie{}, ++counter, inner_bytes(m)));
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].to == kCarol);
        CHECK(sent[0].is_challenge());
    }
    CHECK(h.server.counters().relay_offers_not_registered == 0);
    // With the cookie she proved her address, but she holds no name: dropped, never answered.
    for (const auto& m : offers) CHECK(h.send_as(kCarol, kCarolRun, m).empty());
    CHECK(h.server.counters().relay_offers_not_registered == 4);
    CHECK(h.server.counters().relay_offers_forwarded == 0);
}

TEST_CASE("a RelayOffer naming no live introduction is dropped and counted", "[unit][relay]") {
    Harness h(with_turn());
    h.registered(kCarol, kCarolRun, "carol");
    const auto token = introduced(h)[0].as<Introduction>().token;
    // Carol is registered but was never introduced to Alice: she cannot reach Alice this way,
    // even with the token of Alice's introduction to Bob.
    CHECK(h.send(kCarol, offer(kCarolRun, token, "alice")).empty());
    CHECK(h.send(kAlice, offer(kAliceRun, token, "carol")).empty());  // the wrong peer
    CHECK(h.send(kAlice, offer(kAliceRun, token, "dave")).empty());   // nobody
    CHECK(h.send(kAlice, offer(kAliceRun, token, "alice")).empty());  // herself
    CHECK(h.server.counters().relay_offers_unknown_introduction == 4);
    CHECK(h.logged("dropped RelayOffer carol -> alice: no introduction"));

    CHECK(h.server.counters().relay_offers_forwarded == 0);

    // Once Bob re-registers from elsewhere, the introduction is forgotten (as for a retry), but
    // not the pair's grant record: a relayed session outlives a side's new address (§4.11), so
    // the offer goes on the record, to where Bob is now.
    const Address moved{kBob.ip, 6001};
    h.registered(moved, kBobRun, "bob");
    const auto sent = h.send(kAlice, offer(kAliceRun, token, "bob"));
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == moved);
    CHECK(h.server.counters().relay_offers_granted == 1);

    // Without TURN there is no grant record, and the offer is dropped.
    Harness plain;
    const auto t = introduced(plain)[0].as<Introduction>().token;
    plain.registered(moved, kBobRun, "bob");
    CHECK(plain.send(kAlice, offer(kAliceRun, t, "bob")).empty());
    CHECK(plain.server.counters().relay_offers_unknown_introduction == 1);
    CHECK(plain.server.counters().relay_offers_forwarded == 0);
}

TEST_CASE("a RelayOffer with another token than the pair's is dropped and counted",
          "[unit][relay]") {
    Harness h(with_turn());
    const auto token = introduced(h)[0].as<Introduction>().token;
    CHECK(h.send(kAlice, offer(kAliceRun, token + 1, "bob")).empty());
    CHECK(h.send(kBob, offer(kBobRun, token + 2, "alice")).empty());
    CHECK(h.server.counters().relay_offers_token_mismatch == 2);
    CHECK(h.server.counters().relay_offers_forwarded == 0);
    CHECK(h.logged("dropped RelayOffer alice -> bob: another token"));
}

TEST_CASE("offers are forwarded for relay_offer_window after the introduction, past its reuse",
          "[unit][relay]") {
    Harness h;  // no TURN: no grant record to forward on past the window
    const auto token = introduced(h)[0].as<Introduction>().token;
    const auto window = h.server.config().relay_offer_window;
    REQUIRE(window == milliseconds(30000));
    REQUIRE(h.server.config().intro_ttl == milliseconds(10000));

    // 20 s on: the token is no longer handed out, but a session set up with it may still be
    // punching (it started from a retry up to 10 s in, and punches for 10 s).
    h.advance(milliseconds(15000));
    h.registered(kAlice, kAliceRun, "alice");  // both keep refreshing
    h.registered(kBob, kBobRun, "bob");
    h.advance(milliseconds(5000));
    h.server.tick(h.now);
    CHECK(h.send(kAlice, offer(kAliceRun, token, "bob")).size() == 1);
    CHECK(h.send(kBob, offer(kBobRun, token, "alice")).size() == 1);

    // 30 s on, it is forgotten.
    h.advance(window - milliseconds(20000));
    CHECK(h.send(kAlice, offer(kAliceRun, token, "bob")).empty());
    CHECK(h.server.counters().relay_offers_unknown_introduction == 1);
    h.server.tick(h.now);
    CHECK(h.server.counters().pending_introductions == 0);
    CHECK(h.server.counters().relay_offers_granted == 0);
}

TEST_CASE(
    "past the window, a granted pair's re-offer is forwarded on its grant record while it "
    "renews; a pair never introduced, or another token, is dropped",
    "[unit][relay]") {
    auto config = with_turn();
    std::int64_t clock = kClock;
    config.turn.unix_clock = [&clock] { return clock; };
    Harness h(config);
    h.registered(kCarol, kCarolRun, "carol");
    const auto token = introduced(h)[0].as<Introduction>().token;
    // Five minutes on (everyone keeps registered): the introduction is long forgotten, and the
    // session renews its credentials at half their life, as a relayed one does.
    for (int i = 0; i < 20; ++i) {
        h.advance(milliseconds(15000));
        h.registered(kAlice, kAliceRun, "alice");
        h.registered(kBob, kBobRun, "bob");
        h.registered(kCarol, kCarolRun, "carol");
    }
    h.server.tick(h.now);
    REQUIRE(h.server.counters().pending_introductions == 0);
    clock += 300;
    REQUIRE(h.send(kAlice, RelayRenew{kAliceRun, token, "bob"}).size() == 1);

    // Alice's TURN server restarted: her new allocation's address goes to Bob, to Bob only,
    // smaller than the offer, and nothing to Alice.
    const RelayOffer moved{kAliceRun, token, "bob", Address{kTurn1.ip, 49300},
                           Address{kAlice.ip, 5000}};
    const auto request = h.sealed(kAlice, moved);
    const auto sent = h.raw(kAlice, request);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kBob);
    CHECK(sent[0].as<PeerRelay>() == PeerRelay{token, moved.relayed, moved.mapped});
    CHECK(sent[0].bytes.size() < request.size());
    CHECK(h.send(kBob, offer(kBobRun, token, "alice")).size() == 1);  // and Bob's, both ways
    CHECK(h.server.counters().relay_offers_granted == 2);
    CHECK(h.server.counters().relay_offers_forwarded == 2);

    // Carol was never introduced to either: dropped, however she names them.
    CHECK(h.send(kCarol, offer(kCarolRun, token, "bob")).empty());
    CHECK(h.send(kCarol, offer(kCarolRun, token, "alice")).empty());
    CHECK(h.server.counters().relay_offers_unknown_introduction == 2);
    // The pair with another token: dropped.
    CHECK(h.send(kAlice, offer(kAliceRun, token + 1, "bob")).empty());
    CHECK(h.server.counters().relay_offers_token_mismatch == 1);

    // Once nobody renews, the record lapses with the pair's last credential: dropped again.
    for (int i = 0; i < 41; ++i) {
        h.advance(milliseconds(15000));
        h.registered(kAlice, kAliceRun, "alice");
        h.registered(kBob, kBobRun, "bob");
    }
    h.server.tick(h.now);
    CHECK(h.send(kAlice, offer(kAliceRun, token, "bob")).empty());
    CHECK(h.server.counters().relay_offers_unknown_introduction == 3);
    CHECK(h.server.counters().relay_offers_granted == 2);
}

TEST_CASE("once a pair is introduced afresh, offers under the old token are dropped",
          "[unit][relay]") {
    Harness h(with_turn());
    const auto old_token = introduced(h)[0].as<Introduction>().token;
    h.advance(milliseconds(12000));  // past the token's reuse: a new request gets a new one
    const auto again = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
    REQUIRE(again.size() == 2);
    const auto new_token = again[0].as<Introduction>().token;
    REQUIRE(new_token != old_token);
    CHECK(h.send(kAlice, offer(kAliceRun, old_token, "bob")).empty());
    CHECK(h.server.counters().relay_offers_token_mismatch == 1);
    CHECK(h.send(kAlice, offer(kAliceRun, new_token, "bob")).size() == 1);
}

TEST_CASE("RelayOffers pass the per-IP token bucket like every datagram", "[unit][relay]") {
    Harness h(with_turn());
    const auto token = introduced(h)[0].as<Introduction>().token;
    int forwarded = 0;
    for (int i = 0; i < 100; ++i) {
        const auto request = h.sealed(kAlice, offer(kAliceRun, token, "bob"));  // each sealed anew
        forwarded += static_cast<int>(h.raw(kAlice, request).size());
    }
    // Alice's IP had spent 3 of its 40 on the Hello, the Register and the request.
    CHECK(forwarded == 40 - 3);
    CHECK(h.server.counters().rate_limited == 100 - 37);
}

TEST_CASE("the stats line shows the relay counters", "[unit][relay]") {
    Harness h(with_turn());
    const auto token = introduced(h)[0].as<Introduction>().token;
    h.send(kAlice, offer(kAliceRun, token, "bob"));
    h.send(kAlice, offer(kAliceRun, token + 1, "bob"));
    h.send(kCarol, offer(kCarolRun, token, "bob"));
    h.send(kAlice, offer(kAliceRun, token, "dave"));
    const auto line = to_string(h.server.counters());
    for (const char* key :
         {" relay_grants=2", " relay_offers_forwarded=1", " relay_offer_drop_not_registered=1",
          " relay_offer_drop_unknown_introduction=1", " relay_offer_drop_token_mismatch=1"}) {
        INFO(key);
        CHECK(line.find(key) != std::string::npos);
    }
}

// ---- RelayRenew -> RelayCredentials (scoped, renewable grants)
// ------------------------------------------------------

namespace {

// The pair id in a username "<expiry>:<name>.<pair id>".
std::string pair_id_of(std::string_view username) {
    return std::string(username.substr(username.rfind('.') + 1));
}

std::int64_t expiry_of(std::string_view username) {
    return std::stoll(std::string(username.substr(0, username.find(':'))));
}

}  // namespace

TEST_CASE("a RelayRenew from a side of a granted pair gets fresh credentials for the same pair",
          "[unit][relay]") {
    auto c = with_turn();
    std::int64_t clock = kClock;
    c.turn.unix_clock = [&clock] { return clock; };
    Harness h(c);
    const auto intro = introduced(h);
    const auto token = intro[0].as<Introduction>().token;
    const std::string pair = pair_id_of(intro[0].as<Introduction>().relay.username);

    // 5 minutes on (both keep registered): half the credential's life, when a client renews.
    for (int i = 0; i < 20; ++i) {
        h.advance(milliseconds(15000));
        h.registered(kAlice, kAliceRun, "alice");
        h.registered(kBob, kBobRun, "bob");
    }
    h.server.tick(h.now);
    clock += 300;
    const auto request = h.sealed(kAlice, RelayRenew{kAliceRun, token, "bob"});
    const auto sent = h.raw(kAlice, request);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kAlice);  // to the sender alone
    const auto fresh = sent[0].as<RelayCredentials>();
    CHECK(fresh.token == token);
    CHECK(fresh.relay.count == 2);
    CHECK(fresh.relay.servers[0] == kTurn1);
    CHECK(fresh.relay.username == std::to_string(kClock + 300 + 600) + ":alice." + pair);
    CHECK(fresh.relay.password ==
          TurnCredentials(kSecret).make("alice." + pair, kClock + 900).password);
    // Bob renews his own side, under his own name.
    const auto bobs = h.send(kBob, RelayRenew{kBobRun, token, "alice"});
    REQUIRE(bobs.size() == 1);
    CHECK(bobs[0].as<RelayCredentials>().relay.username ==
          std::to_string(kClock + 900) + ":bob." + pair);
    CHECK(h.server.counters().relay_renewals == 2);
    CHECK(h.server.counters().relay_grants == 2);  // the Introductions' only

    // Renewals keep the grant alive while the session lives: an hour on, renewing every 5 min.
    for (int round = 0; round < 12; ++round) {
        for (int i = 0; i < 20; ++i) {
            h.advance(milliseconds(15000));
            h.registered(kAlice, kAliceRun, "alice");
            h.registered(kBob, kBobRun, "bob");
        }
        h.server.tick(h.now);
        clock += 300;
        const auto renewed = h.send(kAlice, RelayRenew{kAliceRun, token, "bob"});
        REQUIRE(renewed.size() == 1);
        CHECK(expiry_of(renewed[0].as<RelayCredentials>().relay.username) == clock + 600);
    }
    // Once nobody renews, the grant lapses with its last credential, and is swept.
    h.advance(milliseconds(600000));
    h.registered(kAlice, kAliceRun, "alice");
    h.server.tick(h.now);
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, token, "bob"}).empty());
    CHECK(h.server.counters().relay_renewals_unknown_introduction == 1);
}

TEST_CASE(
    "a RelayRenew for another pair, with another token or from a non-holder is dropped "
    "unanswered and counted",
    "[unit][relay]") {
    Harness h(with_turn());
    h.registered(kCarol, kCarolRun, "carol");
    const auto token = introduced(h)[0].as<Introduction>().token;
    // Not the holder: another address, another run, or nobody's.
    CHECK(h.send(Address{kAlice.ip, 5001}, RelayRenew{kAliceRun, token, "bob"}).empty());
    CHECK(h.send(kAlice, RelayRenew{kAliceRun + 1, token, "bob"}).empty());
    CHECK(h.server.counters().relay_renewals_not_registered == 2);
    // Carol holds her name and knows the token (say), but was never introduced to Bob or Alice.
    CHECK(h.send(kCarol, RelayRenew{kCarolRun, token, "bob"}).empty());
    CHECK(h.send(kCarol, RelayRenew{kCarolRun, token, "alice"}).empty());
    // Alice for a pair she is not in, herself, nobody.
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, token, "carol"}).empty());
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, token, "alice"}).empty());
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, token, "dave"}).empty());
    CHECK(h.server.counters().relay_renewals_unknown_introduction == 5);
    // The right pair, the wrong token.
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, token + 1, "bob"}).empty());
    CHECK(h.send(kBob, RelayRenew{kBobRun, token + 2, "alice"}).empty());
    CHECK(h.server.counters().relay_renewals_token_mismatch == 2);
    CHECK(h.logged("dropped RelayRenew alice -> bob: another token"));
    CHECK(h.server.counters().relay_renewals == 0);
    // And the good one is answered.
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, token, "bob"}).size() == 1);
    CHECK(h.server.counters().relay_renewals == 1);

    // Without TURN, nothing is ever granted nor renewed.
    Harness plain;
    const auto t = introduced(plain)[0].as<Introduction>().token;
    CHECK(plain.send(kAlice, RelayRenew{kAliceRun, t, "bob"}).empty());
    CHECK(plain.server.counters().relay_renewals_unknown_introduction == 1);
}

TEST_CASE("a new introduction of the pair ends the old one's renewals", "[unit][relay]") {
    Harness h(with_turn());
    const auto old_token = introduced(h)[0].as<Introduction>().token;
    h.advance(milliseconds(12000));
    const auto again = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
    REQUIRE(again.size() == 2);
    const auto new_token = again[0].as<Introduction>().token;
    REQUIRE(new_token != old_token);
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, old_token, "bob"}).empty());
    CHECK(h.server.counters().relay_renewals_token_mismatch == 1);
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, new_token, "bob"}).size() == 1);
}

TEST_CASE("the per-name grant limit: beyond its burst an Introduction goes out without credentials",
          "[unit][relay]") {
    auto c = with_turn();
    c.intro_ttl = milliseconds(1);  // every request a new introduction (and a new grant)
    c.relay_offer_window = milliseconds(1);
    c.grants.name_burst = 3;
    c.grants.name_rate = 0.01;  // one a 100 s
    Harness h(c);
    h.registered(kAlice, kAliceRun, "alice");
    // Bob's side comes from a new address each time (many players), so only Alice's name
    // limits: her IP has the default burst of 20.
    int with_credentials = 0;
    int without = 0;
    for (std::uint16_t i = 0; i < 6; ++i) {
        const Address bob{kBob.ip + i, 6000};
        const std::string name = "bob" + std::to_string(i);
        h.registered(bob, kBobRun + i, name);
        h.advance(milliseconds(10));
        const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, name});
        REQUIRE(sent.size() == 2);  // the introduction itself is never refused for this
        const auto to_alice = sent[0].as<Introduction>();
        CHECK(to_alice.peer == name);
        (to_alice.relay.count > 0 ? with_credentials : without) += 1;
        CHECK(to_alice.relay.username.empty() == (to_alice.relay.count == 0));
        CHECK(sent[1].as<Introduction>().relay.count == 2);  // each bob has his own bucket
    }
    CHECK(with_credentials == 3);
    CHECK(without == 3);
    CHECK(h.server.counters().relay_grants == 3 + 6);
    CHECK(h.server.counters().relay_grants_refused == 3);
    CHECK(h.logged("relay grant limit: no relay for alice at 203.0.113.7:5000"));
    // The bucket refills at its rate: 100 s on, one more.
    h.advance(milliseconds(100000));
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(Address{kBob.ip, 6000}, kBobRun, "bob0");
    CHECK(h.send(kAlice, IntroduceRequest{kAliceRun, "bob0"})[0].as<Introduction>().relay.count ==
          2);
}

TEST_CASE("the per-IP grant limit: names behind one IP share its burst", "[unit][relay]") {
    auto c = with_turn();
    c.grants.ip_burst = 4;
    c.grants.ip_rate = 0.01;
    Harness h(c);
    h.registered(kBob, kBobRun, "bob");
    // Six names at one IP (ports differ), each introduced once to Bob: a grant each until the
    // IP's burst is spent, whatever the names.
    int granted = 0;
    for (std::uint16_t i = 0; i < 6; ++i) {
        const Address from{kAlice.ip, static_cast<std::uint16_t>(5000 + i)};
        const std::string name = "alice" + std::to_string(i);
        h.registered(from, kAliceRun + i, name);
        const auto sent = h.send(from, IntroduceRequest{kAliceRun + i, "bob"});
        REQUIRE(sent.size() == 2);
        granted += sent[0].as<Introduction>().relay.count > 0;
    }
    CHECK(granted == 4);
    // Bob's IP and name: 6 grants against his burst of 4 too.
    CHECK(h.server.counters().relay_grants == 4 + 4);
    CHECK(h.server.counters().relay_grants_refused == 2 + 2);
}

TEST_CASE("a renewal beyond the grant limit is not answered, and counted", "[unit][relay]") {
    auto c = with_turn();
    c.grants.name_burst = 3;
    c.grants.name_rate = 0.001;
    Harness h(c);
    const auto token = introduced(h)[0].as<Introduction>().token;  // one of Alice's 3
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, token, "bob"}).size() == 1);
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, token, "bob"}).size() == 1);
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, token, "bob"}).empty());
    CHECK(h.server.counters().relay_renewals == 2);
    CHECK(h.server.counters().relay_grants_refused == 1);
    const auto line = to_string(h.server.counters());
    for (const char* key : {" relay_grants=2", " relay_grants_refused=1", " relay_renewals=2"}) {
        INFO(key);
        CHECK(line.find(key) != std::string::npos);
    }
}

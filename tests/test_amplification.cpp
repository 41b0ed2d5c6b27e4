// How much the rendezvous sends for what it receives, per request type (docs/RENDEZVOUS.md,
// "Amplification"): the bytes it sends back to the requester, and to anyone else, against the
// bytes of the request. Measured on the server's own handle() with real sealing, so every figure
// is the exact size of the datagrams on the wire (UDP payload). The table is printed by
//
//   build/default/tests/rendezvous_tests "[amplification]" -s
//
// and the bounds the protocol promises are asserted: to a source that proved nothing, never
// more than it sent; to anyone else, never more than the request's size times a documented
// factor.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "rendezvous_test_support.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;

namespace {

struct Figure {
    std::string request;
    std::size_t in = 0;         // bytes of the request
    std::size_t to_sender = 0;  // bytes the server sent back to the request's source
    std::size_t to_others = 0;  // bytes the server sent to anyone else because of it
};

Figure measure(std::string request, netcore::Address from, std::span<const std::uint8_t> bytes,
               Harness& h) {
    Figure f{std::move(request), bytes.size(), 0, 0};
    for (const auto& s : h.raw(from, bytes))
        (s.to == from ? f.to_sender : f.to_others) += s.bytes.size();
    return f;
}

void print(const std::vector<Figure>& figures) {
    std::printf("\n%-44s %6s %10s %8s %10s %8s\n", "request", "in", "to sender", "ratio",
                "to others", "ratio");
    for (const auto& f : figures) {
        const double in = static_cast<double>(f.in);
        std::printf("%-44s %6zu %10zu %8.2f %10zu %8.2f\n", f.request.c_str(), f.in, f.to_sender,
                    static_cast<double>(f.to_sender) / in, f.to_others,
                    static_cast<double>(f.to_others) / in);
    }
}

std::vector<std::uint8_t> stun_binding_request() {
    return {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
}

}  // namespace

TEST_CASE("per request type, the server's answers stay within the documented factors",
          "[unit][amplification]") {
    Config config;
    config.turn.servers = {{0x7F000001u, 3478}};
    config.turn.secret = "amplification";
    Harness h(config);
    std::vector<Figure> figures;

    // Unproven sources: answered with no more than they sent, or not at all.
    figures.push_back(measure("Hello (unproven)", kAlice, hello_bytes(h.channel(kAliceRun)), h));
    CHECK(figures.back().to_sender == figures.back().in);  // a Challenge is exactly a Hello's size
    std::vector<std::uint8_t> v1 = {'N', 'C', 'R', 'V', 1, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    figures.push_back(measure("version-1 request (unproven)", kCarol, v1, h));
    CHECK(figures.back().to_sender <= figures.back().in);
    figures.push_back(measure("STUN Binding request", kCarol, stun_binding_request(), h));
    const std::vector<std::uint8_t> garbage(100, 0xEE);
    figures.push_back(measure("garbage", kCarol, garbage, h));
    CHECK(figures.back().to_sender == 0);

    // A Register with the cookie of its Challenge.
    h.hello(kAlice, kAliceRun);
    figures.push_back(measure("Register (new name)", kAlice,
                              h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", {}}), h));
    figures.push_back(measure("Register (refresh)", kAlice,
                              h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", {}}), h));
    h.registered(kBob, kBobRun, "bob", {}, 0);  // mutual: introduced only when it asks too

    // Requests for a name that is not there, and for one that did not consent: the same answer.
    figures.push_back(measure("IntroduceRequest (unknown name)", kAlice,
                              h.sealed(kAlice, IntroduceRequest{kAliceRun, "nobody"}), h));
    const Figure unknown = figures.back();
    figures.push_back(measure("IntroduceRequest (not consented)", kAlice,
                              h.sealed(kAlice, IntroduceRequest{kAliceRun, "bob"}), h));
    // "bob" is 3 bytes shorter than "nobody"; nothing else differs.
    CHECK(figures.back().to_sender + 3 == unknown.to_sender);
    // What the asked player is told (IntroductionAsked) is smaller than the request.
    CHECK(figures.back().to_others <= figures.back().in);

    // Consented: both sides get an Introduction with relay credentials.
    figures.push_back(measure("IntroduceRequest (consented, with TURN)", kBob,
                              h.sealed(kBob, IntroduceRequest{kBobRun, "alice"}), h));
    const Figure introduced = figures.back();
    CHECK(introduced.to_sender > 0);
    CHECK(introduced.to_others > 0);

    // Standing relays (PROTOCOL.md §4.11, token 0): the grant goes to its asker alone, the offer
    // is stored unanswered, and then each Introduction carries the peer's relay right behind it.
    const netcore::Address turn{0x7F000001u, 49152};
    figures.push_back(measure("RelayRenew (standing grant, with TURN)", kAlice,
                              h.sealed(kAlice, RelayRenew{kAliceRun, 0, "alice"}), h));
    CHECK(figures.back().to_sender > 0);
    CHECK(figures.back().to_others == 0);
    figures.push_back(measure("RelayOffer (standing offer, stored)", kAlice,
                              h.sealed(kAlice, RelayOffer{kAliceRun, 0, "alice", turn, kAlice}),
                              h));
    CHECK(figures.back().to_sender + figures.back().to_others == 0);
    REQUIRE(h.send(kBob, RelayRenew{kBobRun, 0, "bob"}).size() == 1);
    REQUIRE(h.send(kBob, RelayOffer{kBobRun, 0, "bob", turn, kBob}).empty());
    figures.push_back(measure("IntroduceRequest (consented, both standing)", kBob,
                              h.sealed(kBob, IntroduceRequest{kBobRun, "alice"}), h));
    CHECK(figures.back().to_sender > introduced.to_sender);  // the Introduction and a PeerRelay
    CHECK(figures.back().to_others > introduced.to_others);

    // Parties (PROTOCOL.md §4.15): 5-byte names, players at IPs of their own.
    const std::size_t pairs_end = figures.size();
    std::vector<std::pair<netcore::Address, std::uint64_t>> cast;
    for (std::uint32_t i = 0; i < 17; ++i) {
        cast.emplace_back(netcore::Address{0xC6336500u + i, 7000}, 0x500u + i);
        const std::string name = "pl-" + std::string(i < 10 ? "0" : "") + std::to_string(i);
        h.registered(cast.back().first, cast.back().second, name, {}, 0);
    }
    const auto party_join = [&](std::size_t i, std::string_view party, std::uint8_t flags,
                                std::uint32_t epoch) {
        return h.sealed(cast[i].first, PartyJoin{cast[i].second, party, flags, epoch});
    };
    figures.push_back(
        measure("PartyJoin (creates a party)", cast[0].first, party_join(0, "party", 0, 0), h));
    figures.push_back(measure("PartyJoin (joins a party of 1, with TURN)", cast[1].first,
                              party_join(1, "party", 0, 0), h));
    const Figure joined_one = figures.back();
    for (std::size_t i = 2; i < 15; ++i) h.raw(cast[i].first, party_join(i, "party", 0, 0));
    figures.push_back(measure("PartyJoin (joins a party of 15, with TURN)", cast[15].first,
                              party_join(15, "party", 0, 0), h));
    const Figure joined_full = figures.back();
    figures.push_back(measure("PartyJoin (refresh, current epoch)", cast[15].first,
                              party_join(15, "party", 0, 16), h));
    CHECK(figures.back().to_sender == 0);
    figures.push_back(measure("PartyJoin (refresh, stale epoch, 16 members)", cast[15].first,
                              party_join(15, "party", 0, 1), h));
    figures.push_back(
        measure("PartyJoin (the party is full)", cast[16].first, party_join(16, "party", 0, 0), h));
    CHECK(figures.back().to_sender < figures.back().in);
    figures.push_back(measure("PartyLeave (a party of 16)", cast[15].first,
                              h.sealed(cast[15].first, PartyLeave{cast[15].second, "party"}), h));
    CHECK(figures.back().to_sender == 0);
    h.raw(cast[15].first, party_join(15, "den", PartyFlags::admit, 0));  // its host
    figures.push_back(measure("PartyJoin (an admit-party: waiting)", cast[16].first,
                              party_join(16, "den", 0, 0), h));
    CHECK(figures.back().to_sender < figures.back().in);
    CHECK(figures.back().to_others < figures.back().in);  // PartyJoinAsked to the host

    print(figures);
    // The largest factor any request earns, to the requester or to anyone else: docs/RENDEZVOUS.md
    // quotes these; a change that makes an answer larger must update the figures there.
    for (std::size_t i = 0; i < pairs_end; ++i) {
        const auto& f = figures[i];
        INFO(f.request);
        CHECK(f.to_sender <= 4 * f.in);
        CHECK(f.to_others <= 4 * f.in);
    }
    // A party join earns, to the joiner, an Introduction per member and the list; to each member
    // an Introduction and the list: bounded by the party cap, and only to registered players who
    // proved their address and joined (docs/RENDEZVOUS.md, "Amplification").
    CHECK(joined_one.to_sender <= 4 * joined_one.in);
    CHECK(joined_one.to_others <= 4 * joined_one.in);
    CHECK(joined_full.to_sender <= 32 * joined_full.in);
    CHECK(joined_full.to_others <= 64 * joined_full.in);
    for (std::size_t i = pairs_end; i < figures.size(); ++i) {
        const auto& f = figures[i];
        INFO(f.request);
        CHECK(f.to_sender <= 32 * f.in);
        CHECK(f.to_others <= 64 * f.in);
    }
}

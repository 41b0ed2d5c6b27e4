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

    print(figures);
    // The largest factor any request earns, to the requester or to anyone else: docs/RENDEZVOUS.md
    // quotes these; a change that makes an answer larger must update the figures there.
    for (const auto& f : figures) {
        INFO(f.request);
        CHECK(f.to_sender <= 4 * f.in);
        CHECK(f.to_others <= 4 * f.in);
    }
}

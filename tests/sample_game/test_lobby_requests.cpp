// The lobby's incoming requests: who asked to play with us, and what Accept does. The net
// module runs a real netcore session (towards a rendezvous port on loopback where nothing
// listens: it stays registering, where connect() is allowed); the session's
// introduction_requested event is fed to the module's handle(), as update() would.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

#include "host/host.hpp"
#include "modules/net/net_module.hpp"
#include "modules/net/requests.hpp"

namespace {

using namespace std::chrono_literals;

netcore::Event asked_by(const std::string& name) {
    netcore::Event e;
    e.type = netcore::EventType::introduction_requested;
    e.peer = name;
    return e;
}

// A player who pressed "Go online" without typing a friend's name.
struct Online {
    host::Host host;
    net::NetModule* net = nullptr;

    explicit Online(net::AutoAccept auto_accept = {}, std::string peer = {}) {
        net::NetOptions o;
        o.server = "127.0.0.1:9";  // discard: no rendezvous answers there
        o.name = "alice";
        o.peer = std::move(peer);
        o.autoconnect = true;
        o.auto_accept = std::move(auto_accept);
        net = static_cast<net::NetModule*>(&host.add(std::make_unique<net::NetModule>(o)));
        host.start(host::Clock::now());
    }
    ~Online() { host.shutdown(); }
};

}  // namespace

TEST_CASE("Going online without a friend's name asks the server for mutual consent",
          "[sample][lobby]") {
    Online alice;
    REQUIRE(alice.net->session() != nullptr);
    CHECK(alice.net->session()->config().consent == netcore::Consent::mutual);
    CHECK(alice.net->screen() == net::NetModule::Screen::connecting);
    CHECK(alice.net->asked_peer().empty());
}

TEST_CASE("A request is listed, and Accept asks for that player in return", "[sample][lobby]") {
    Online alice;
    const auto t0 = netcore::Clock::now();
    alice.net->handle(asked_by("bob"), t0);
    alice.net->handle(asked_by("carol"), t0 + 1s);
    alice.net->handle(asked_by("bob"), t0 + 2s);  // bob asks again: still one line
    REQUIRE(alice.net->requests().list().size() == 2);
    const auto& bob = alice.net->requests().list()[0];
    CHECK(bob.name == "bob");
    CHECK(net::IncomingRequests::describe(bob, t0 + 3s) == "bob wants to play (3 s ago)");
    CHECK(alice.net->asked_peer().empty());  // nothing happens before the player accepts

    REQUIRE(alice.net->accept("bob", t0 + 3s));
    CHECK(alice.net->asked_peer() == "bob");
    CHECK(alice.net->screen() == net::NetModule::Screen::connecting);
    REQUIRE(alice.net->requests().list().size() == 1);
    CHECK(alice.net->requests().list()[0].name == "carol");
    CHECK(alice.net->session()->config().consent == netcore::Consent::mutual);
}

TEST_CASE(
    "The headless --accept-from option accepts that player's request without a click, and no other",
    "[sample][lobby]") {
    Online alice(net::AutoAccept{false, {"carol"}});
    const auto t0 = netcore::Clock::now();
    alice.net->handle(asked_by("bob"), t0);
    CHECK(alice.net->asked_peer().empty());
    alice.net->handle(asked_by("carol"), t0);
    CHECK(alice.net->asked_peer() == "carol");
    REQUIRE(alice.net->requests().list().size() == 1);
    CHECK(alice.net->requests().list()[0].name == "bob");

    Online dave(net::AutoAccept{true, {}});
    dave.net->handle(asked_by("erin"), t0);
    CHECK(dave.net->asked_peer() == "erin");
}

TEST_CASE("A request from the friend we asked for is not listed: the introduction follows",
          "[sample][lobby]") {
    Online alice({}, "bob");
    CHECK(alice.net->asked_peer() == "bob");
    alice.net->handle(asked_by("bob"), netcore::Clock::now());
    CHECK(alice.net->requests().empty());
}

TEST_CASE("Requests are dropped when not made again in time, the oldest first when full",
          "[sample][lobby]") {
    net::IncomingRequests r;
    const netcore::TimePoint t0{};
    r.add("bob", t0);
    r.add("carol", t0 + 30s);
    r.expire(t0 + 59s);
    CHECK(r.list().size() == 2);
    r.add("bob", t0 + 59s);  // asked again: kept, first asked still t0
    r.expire(t0 + 90s);
    REQUIRE(r.list().size() == 1);
    CHECK(r.list()[0].name == "bob");
    CHECK(r.list()[0].first == t0);
    r.expire(t0 + 118s);
    CHECK(r.list().size() == 1);
    r.expire(t0 + 59s + net::IncomingRequests::kShownFor);
    CHECK(r.empty());

    for (std::size_t i = 0; i <= net::IncomingRequests::kMaxShown; ++i)
        r.add("p" + std::to_string(i), t0);
    CHECK(r.list().size() == net::IncomingRequests::kMaxShown);
    CHECK(r.list().front().name == "p1");
    r.remove("p3");
    CHECK(r.list().size() == net::IncomingRequests::kMaxShown - 1);
    CHECK(net::IncomingRequests::describe(r.list().front(), t0) == "p1 wants to play (just now)");
}

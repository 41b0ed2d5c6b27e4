// From start() to the Introduction in fewer round trips (issue 15 part 3, PROTOCOL.md §6 step 1
// and 3): the request rides with the Register, and a resumption ticket skips the Challenge.
// Each round trip is proved by what the server did while only the server was stepped (the
// client received nothing meanwhile), not by wall time.
#include <catch2/catch.hpp>

#include <optional>

#include "attacker.hpp"
#include "crypto.hpp"
#include "loopback.hpp"
#include "netcore/protocol.hpp"

using namespace netcore;
using namespace loopback;  // Lab, Node, connected
using namespace std::chrono_literals;

namespace {

// Steps only the server (no session reads its socket) until `done`, for at most a second.
bool server_until(Lab& lab, const std::function<bool()>& done) {
    const auto deadline = Clock::now() + 1s;
    while (!done()) {
        if (Clock::now() > deadline) return false;
        lab.server().poll(1, Clock::now());
    }
    return true;
}

// Steps only `node` (the server reads nothing meanwhile) until `done`, for at most a second.
bool node_until(Node& node, const std::function<bool()>& done) {
    const auto deadline = Clock::now() + 1s;
    while (!done()) {
        if (Clock::now() > deadline) return false;
        node.session->update(Clock::now());
        Event e;
        while (node.session->poll(e)) node.events.push_back(std::move(e));
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// A client whose retries could not happen within a test: whatever reaches the server did so
// on the first try.
Config no_retries(Config c) {
    c.register_retry = Duration(10000);
    c.register_timeout = Duration(20000);
    c.request_retry = Duration(10000);
    return c;
}

// Alice registered and gone (her session closed and her socket with it): her ticket and port.
struct Gone {
    ResumeTicket ticket;
    std::uint16_t port = 0;
};
Gone register_and_leave(Lab& lab) {
    Node& first = lab.add(lab.config("alice"));
    REQUIRE(lab.run_until([&] { return first.count(EventType::registered) == 1; }));
    const auto ticket = first.session->resume_ticket();
    REQUIRE(ticket);
    CHECK(ticket->server == lab.server_address());
    CHECK(ticket->server_key == lab.server().public_key());
    CHECK(ticket->observed == first.session->public_address());
    CHECK(ResumeTicket::parse(ticket->to_text()) == ticket);
    const std::uint16_t port = first.session->local_address().port;
    const auto unregistered = lab.server().counters().unregistered;
    first.frozen = true;
    first.session.reset();  // unregisters, closes the socket
    REQUIRE(server_until(lab, [&] { return lab.server().counters().unregistered > unregistered; }));
    return {*ticket, port};
}

// A UDP relay between one client and the server that hands the client's first sealed datagram
// (its Register) to the server only after the next one (the request right behind it): UDP
// reordering them on the way.
class Reorderer {
  public:
    explicit Reorderer(Address server) : server_(server) {}
    [[nodiscard]] Address address() const { return socket_.address(); }
    void step() {
        while (auto d = socket_.receive()) {
            auto& [bytes, from] = *d;
            if (from == server_) {
                socket_.send(client_, bytes);
                continue;
            }
            if (client_.empty()) client_ = from;
            if (from != client_) continue;  // only the one client (bob's probes may come here)
            const bool sealed = bytes.size() > 5 && bytes[5] == 0x32;  // ClientSealed (§2.2)
            if (sealed && !held_ && !released_) {
                held_ = bytes;
                continue;
            }
            socket_.send(server_, bytes);
            if (sealed && held_) {
                socket_.send(server_, *held_);
                held_.reset();
                released_ = true;
            }
        }
    }
    [[nodiscard]] bool reordered() const { return released_; }

  private:
    attacker::Udp socket_;
    Address server_;
    Address client_;
    std::optional<std::vector<std::uint8_t>> held_;
    bool released_ = false;
};

}  // namespace

// ---- A: the request rides with the Register ----------------------------------------------------

TEST_CASE("a peer asked for while registering is introduced in the Register's round trip",
          "[session][resume]") {
    Lab lab;
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    Node& alice = lab.add(no_retries(lab.config("alice")), false);
    alice.frozen = true;                             // stepped by hand below
    REQUIRE(alice.session->start() == Error::none);  // the Hello
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    const auto before = lab.server().counters();

    // Round trip 1: Hello -> Challenge. Round trip 2: the Register and the request right behind
    // it -> RegisterAck and Introduction. The server makes the introduction before alice read
    // anything after the Challenge: the request cannot have waited for the RegisterAck.
    REQUIRE(
        server_until(lab, [&] { return lab.server().counters().challenged > before.challenged; }));
    REQUIRE(node_until(alice, [&] { return alice.session->stats().registrations_sent == 2; }));
    REQUIRE(
        server_until(lab, [&] { return lab.server().counters().introduced > before.introduced; }));
    const auto c = lab.server().counters();
    CHECK(c.registered == before.registered + 1);
    CHECK(c.not_registered == before.not_registered);

    alice.frozen = false;
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
    CHECK(alice.count(EventType::registered) == 1);
    CHECK(alice.count(EventType::error) == 0);
    CHECK(alice.session->stats().registrations_sent == 2);  // the Hello and one Register
}

TEST_CASE("a request that overtakes its Register is asked again once registered, and connects",
          "[session][resume]") {
    Lab lab;
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    Reorderer path(lab.server_address());
    lab.each_step.push_back([&] { path.step(); });
    Config c = lab.config("alice");
    c.server = path.address();
    c.register_retry = Duration(1000);  // no Register retry meets the reordered pair
    Node& alice = lab.add(c, false);
    REQUIRE(alice.session->start() == Error::none);
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);

    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
    CHECK(path.reordered());
    // The server saw the request first and said not_registered; the client took that as "ask
    // again once registered", not as a lost registration: one Register, no error.
    CHECK(lab.server().counters().not_registered == 1);
    CHECK(alice.session->stats().registrations_sent == 2);  // the Hello and one Register
    CHECK(alice.count(EventType::registered) == 1);
    CHECK(alice.count(EventType::error) == 0);
}

// ---- B: the resumption ticket ------------------------------------------------------------------

TEST_CASE(
    "a session from the same port with the last one's ticket registers without a Challenge, "
    "and is introduced in the same round trip",
    "[session][resume]") {
    Lab lab;
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    const Gone gone = register_and_leave(lab);

    Config c = no_retries(lab.config("alice"));
    c.local_port = gone.port;
    c.resume = gone.ticket;
    const auto before = lab.server().counters();
    Node& alice = lab.add(c, false);
    alice.frozen = true;
    REQUIRE(alice.session->start() == Error::none);  // the sealed Register, at once
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);  // right behind it

    // Registered and introduced before alice read a single datagram: one round trip.
    REQUIRE(
        server_until(lab, [&] { return lab.server().counters().introduced > before.introduced; }));
    auto after = lab.server().counters();
    CHECK(after.registered == before.registered + 1);
    CHECK(after.challenged == before.challenged);  // no Challenge sent to it
    CHECK(after.bad_cookies == before.bad_cookies);

    alice.frozen = false;
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
    const Stats s = alice.session->stats();
    CHECK(s.resumed);
    CHECK(s.challenges == 0);
    CHECK(s.registrations_sent == 1);  // no Hello at all
    CHECK(alice.session->public_address() == gone.ticket.observed);
    CHECK(lab.server().counters().challenged == before.challenged);
    // Its own ticket holds the same cookie, still good for the next run.
    const auto next = alice.session->resume_ticket();
    REQUIRE(next);
    CHECK(next->cookie == gone.ticket.cookie);
}

TEST_CASE("a ticket from another server run still registers, through the Challenge it draws",
          "[session][resume]") {
    // The same server key on a restarted server (--key-file): a new salt and new cookie keys.
    rendezvous::Config server;
    server.secret_key = crypto::generate_key_pair().secret_key;
    std::optional<Lab> before_restart(std::in_place, server);
    const Gone gone = register_and_leave(*before_restart);
    before_restart.reset();
    Lab lab(server);
    ResumeTicket ticket = gone.ticket;
    ticket.server = lab.server_address();  // the restarted server (here on another port)
    REQUIRE(ticket.server_key == lab.server().public_key());

    Config c = no_retries(lab.config("alice"));
    c.local_port = gone.port;
    c.resume = ticket;
    Node& alice = lab.add(c);
    REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
    const Stats s = alice.session->stats();
    CHECK_FALSE(s.resumed);
    CHECK(s.challenges == 1);
    CHECK(s.registrations_sent == 2);  // the Register on the ticket, then one on the Challenge
    CHECK(lab.server().counters().bad_cookies == 1);
    CHECK(alice.count(EventType::error) == 0);
}

TEST_CASE("a ticket whose salt is not the server's registers through the Hello of its retry",
          "[session][resume]") {
    // A damaged ticket: its cookie is valid, so the server opens nothing and answers nothing
    // (the box does not open under its salt). The retry adds a Hello: one retry later, today's
    // path.
    Lab lab;
    Gone gone = register_and_leave(lab);
    gone.ticket.salt[0] ^= 0x01;
    Config c = lab.config("alice");
    c.local_port = gone.port;
    c.resume = gone.ticket;
    Node& alice = lab.add(c);
    REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
    const Stats s = alice.session->stats();
    CHECK_FALSE(s.resumed);
    CHECK(s.challenges == 1);
    CHECK(lab.server().counters().unauthenticated >= 1);
    CHECK(alice.count(EventType::error) == 0);
}

TEST_CASE("a ticket for another server or another pinned key is not used", "[session][resume]") {
    Lab lab;
    const Gone gone = register_and_leave(lab);
    SECTION("another server") {
        ResumeTicket t = gone.ticket;
        t.server.port = static_cast<std::uint16_t>(t.server.port + 1);
        Config c = lab.config("alice");
        c.resume = t;
        Node& alice = lab.add(c);
        REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
        CHECK(alice.session->stats().challenges == 1);
        CHECK(lab.server().counters().bad_cookies == 0);  // no Register went out on it
    }
    SECTION("another pinned key") {
        Config c = lab.config("alice");
        c.local_port = gone.port;
        c.resume = gone.ticket;
        c.resume->server_key = crypto::generate_key_pair().public_key;
        Node& alice = lab.add(c);
        REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
        CHECK(alice.session->stats().challenges == 1);
        CHECK(lab.server().counters().unauthenticated == 0);
    }
}

TEST_CASE("without a pinned key, a ticket naming another key gives way to the server's Challenge",
          "[session][resume]") {
    // Trust on first use, as without a ticket: the ticket's key is taken until the server's
    // Challenge names another (here: a ticket from another server at this address).
    Lab lab;
    Gone gone = register_and_leave(lab);
    gone.ticket.server_key = crypto::generate_key_pair().public_key;
    Config c = lab.config("alice");
    c.server_key.reset();
    c.local_port = gone.port;
    c.resume = gone.ticket;
    Node& alice = lab.add(c);
    REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
    CHECK(alice.session->stats().challenges == 1);
    CHECK_FALSE(alice.session->stats().resumed);
    const auto next = alice.session->resume_ticket();
    REQUIRE(next);
    CHECK(next->server_key == lab.server().public_key());
}

TEST_CASE(
    "a ticket stolen by another address does not register the name there without a "
    "Challenge round trip",
    "[session][resume][attack]") {
    // Guards rendezvous/src/server.cpp on_sealed: `if (!cookies_.valid(envelope.cookie, from,
    // now))` -> challenge. Without it the stolen cookie would register alice's name at mallory's
    // address on its first datagram, from an address the server never saw receive anything.
    Lab lab;
    const Gone gone = register_and_leave(lab);
    Config c = no_retries(lab.config("alice"));
    c.resume = gone.ticket;  // from another local port: another source address
    const auto before = lab.server().counters();
    Node& mallory = lab.add(c, false);
    mallory.frozen = true;
    REQUIRE(mallory.session->start() == Error::none);
    REQUIRE(mallory.session->local_address().port != gone.port);
    REQUIRE(
        server_until(lab, [&] { return lab.server().counters().challenged > before.challenged; }));
    auto after = lab.server().counters();
    CHECK(after.bad_cookies == before.bad_cookies + 1);
    CHECK(after.registered == before.registered);
    CHECK(after.names == before.names);

    // An honest client from another port (a NAT that gave another port) goes on as without a
    // ticket: the Challenge proves its address, then it registers.
    mallory.frozen = false;
    REQUIRE(lab.run_until([&] { return mallory.count(EventType::registered) == 1; }));
    CHECK(mallory.session->stats().challenges == 1);
    CHECK_FALSE(mallory.session->stats().resumed);
}

TEST_CASE("a session that outlived its cookie renews it, and the next session resumes on it",
          "[session][resume]") {
    rendezvous::Config server;
    server.cookie_window = std::chrono::milliseconds(150);  // a cookie lives 150 to 300 ms
    Lab lab(server);
    Node& first = lab.add(lab.config("alice"));
    REQUIRE(lab.run_until([&] { return first.count(EventType::registered) == 1; }));
    const auto stale = first.session->resume_ticket();
    REQUIRE(stale);
    lab.run_for(400ms);  // a match: longer than the cookie's life
    const auto challenged = lab.server().counters().challenged;
    const auto registers = first.session->stats().registrations_sent;
    REQUIRE(first.session->renew_resume_ticket() == Error::none);
    REQUIRE(lab.run_until([&] { return first.session->resume_ticket()->cookie != stale->cookie; }));
    CHECK(lab.server().counters().challenged == challenged + 1);    // one Hello, one Challenge
    CHECK(first.session->stats().registrations_sent == registers);  // the name needed nothing
    const ResumeTicket fresh = *first.session->resume_ticket();
    const std::uint16_t port = first.session->local_address().port;
    first.frozen = true;
    first.session.reset();

    Config c = no_retries(lab.config("alice"));
    c.local_port = port;
    c.resume = fresh;
    Node& second = lab.add(c);
    REQUIRE(lab.run_until([&] { return second.count(EventType::registered) == 1; }));
    CHECK(second.session->stats().resumed);
    CHECK(second.session->stats().challenges == 0);
    CHECK(lab.server().counters().bad_cookies == 0);
}

TEST_CASE("renew_resume_ticket() before registration is refused", "[session][resume]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"), false);
    CHECK(alice.session->renew_resume_ticket() == Error::invalid_state);
}

TEST_CASE("a ticket's text form reads back, and anything else is refused", "[session][resume]") {
    ResumeTicket t;
    t.server = Address{0xCB00710Au, 7777};
    t.server_key = crypto::generate_key_pair().public_key;
    t.salt.fill(0x5A);
    t.cookie.fill(0xC0);
    t.observed = Address{0xC6336401u, 5000};
    const std::string text = t.to_text();
    CHECK(text.size() == 2 * ResumeTicket::kSize);
    CHECK(ResumeTicket::parse(text) == t);
    CHECK(ResumeTicket::parse("  " + text + "\n") == t);
    CHECK_FALSE(ResumeTicket::parse(text.substr(1)));
    CHECK_FALSE(ResumeTicket::parse(text + "00"));
    std::string bad_digit = text;
    bad_digit[10] = 'g';
    CHECK_FALSE(ResumeTicket::parse(bad_digit));
    std::string bad_magic = text;
    bad_magic[0] = '0';
    CHECK_FALSE(ResumeTicket::parse(bad_magic));
    std::string bad_version = text;
    bad_version[9] = '2';
    CHECK_FALSE(ResumeTicket::parse(bad_version));
    ResumeTicket no_cookie = t;
    no_cookie.cookie = {};
    CHECK_FALSE(ResumeTicket::parse(no_cookie.to_text()));
    ResumeTicket no_port = t;
    no_port.observed.port = 0;
    CHECK_FALSE(ResumeTicket::parse(no_port.to_text()));
    CHECK_FALSE(ResumeTicket::parse(""));
}

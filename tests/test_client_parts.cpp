// The session's inner parts, stepped by hand: the rendezvous client and the puncher.
#include <catch2/catch.hpp>

#include <vector>

#include "puncher.hpp"
#include "rendezvous_client.hpp"

using namespace netcore;
using namespace netcore::protocol;
using namespace std::chrono_literals;

namespace {

struct Sent {
    Address to;
    MessageType type;
    Message message;
};

// Records what a part sends (names in the recorded messages view the caller's strings).
class RecordingOutbox final : public detail::Outbox {
  public:
    void send(Address to, const Message& m) override { sent.push_back({to, type_of(m), m}); }
    [[nodiscard]] std::size_t count(MessageType t) const {
        std::size_t n = 0;
        for (const auto& s : sent) n += s.type == t;
        return n;
    }
    std::vector<Sent> sent;
};

const Address kServer{0xCB00710Au, 7777};
const Address kBobPublic{0xCB007116u, 40000};
const Address kBobLan{0x0A02000Au, 40000};

Config config() {
    Config c;
    c.server = kServer;
    c.name = "alice";
    return c;
}

}  // namespace

TEST_CASE("the client registers, retries, and gives up with server_unreachable", "[client]") {
    const Config c = config();
    detail::RendezvousClient client(c, 42, {});
    RecordingOutbox out;
    const TimePoint t0{};
    client.start(t0, out);
    CHECK(out.count(MessageType::register_request) == 1);
    CHECK(client.update(t0 + 499ms, out).kind == detail::RendezvousClient::Signal::Kind::none);
    CHECK(out.count(MessageType::register_request) == 1);
    client.update(t0 + 500ms, out);
    CHECK(out.count(MessageType::register_request) == 2);
    const auto s = client.update(t0 + 5000ms, out);
    CHECK(s.kind == detail::RendezvousClient::Signal::Kind::failed);
    CHECK(s.error == Error::server_unreachable);
    CHECK(client.phase() == detail::RendezvousClient::Phase::failed);
}

TEST_CASE("after an introduction the asking side reminds the server until told to stop",
          "[client]") {
    Config c = config();
    c.request_retry = 1000ms;
    detail::RendezvousClient client(c, 42, {});
    RecordingOutbox out;
    const TimePoint t0{};
    client.start(t0, out);
    REQUIRE(client.handle(RegisterAck{42, {0xC6336401u, 5000}, 15000, 45000}, t0, out).kind ==
            detail::RendezvousClient::Signal::Kind::registered);
    CHECK(client.public_address() == Address{0xC6336401u, 5000});

    client.request("bob", 30s, t0);
    client.update(t0 + 1ms, out);
    REQUIRE(out.count(MessageType::introduce_request) == 1);
    const auto s =
        client.handle(Introduction{9, Role::initiator, "bob", kBobPublic, {}, {}}, t0, out);
    REQUIRE(s.kind == detail::RendezvousClient::Signal::Kind::introduced);
    client.cancel_request();  // as the session does once it starts punching

    client.remind("bob", t0 + 500ms, out);  // too soon after the last request
    CHECK(out.count(MessageType::introduce_request) == 1);
    client.remind("bob", t0 + 1001ms, out);
    CHECK(out.count(MessageType::introduce_request) == 2);
    const auto& last = std::get<IntroduceRequest>(out.sent.back().message);
    CHECK(last.peer == "bob");
    CHECK(last.instance == 42);
    CHECK(out.sent.back().to == kServer);
}

TEST_CASE("the client refreshes at the interval the server gave", "[client]") {
    const Config c = config();
    detail::RendezvousClient client(c, 7, {});
    RecordingOutbox out;
    const TimePoint t0{};
    client.start(t0, out);
    client.handle(RegisterAck{7, {1, 2}, 3000, 9000}, t0, out);
    client.update(t0 + 2999ms, out);
    CHECK(out.count(MessageType::register_request) == 1);
    client.update(t0 + 3000ms, out);
    CHECK(out.count(MessageType::register_request) == 2);
    // Acks for another instance are not ours.
    CHECK(client.handle(RegisterError{8, RegisterErrorCode::name_taken}, t0, out).kind ==
          detail::RendezvousClient::Signal::Kind::none);
}

TEST_CASE("the puncher probes LAN first, answers valid probes and learns their source",
          "[puncher]") {
    detail::Puncher p;
    RecordingOutbox out;
    AddressList lan;
    lan.push(kBobLan);
    const TimePoint t0{};
    p.begin(Introduction{77, Role::initiator, "bob", kBobPublic, lan, {}}, t0);
    p.update(t0, 40ms, out);
    REQUIRE(out.sent.size() == 2);
    CHECK(out.sent[0].to == kBobLan);
    CHECK(out.sent[1].to == kBobPublic);
    p.update(t0 + 39ms, 40ms, out);  // paced: nothing before the interval
    CHECK(out.sent.size() == 2);

    // A probe with another token is not for us and is not answered.
    CHECK_FALSE(p.handle_probe(Probe{78, 1}, {0xCB007116u, 50001}, out));
    CHECK(out.sent.size() == 2);

    // Behind a symmetric NAT bob's probes come from a port the server never saw.
    const Address reflexive{0xCB007116u, 50001};
    CHECK(p.handle_probe(Probe{77, 1}, reflexive, out));
    CHECK(out.sent.back().to == reflexive);
    CHECK(std::get<ProbeAck>(out.sent.back().message).observed == reflexive);
    CHECK(p.knows(reflexive));
    CHECK(p.path_of(reflexive) == Path::direct);
    CHECK(p.path_of(kBobLan) == Path::lan);
    p.update(t0 + 40ms, 40ms, out);  // the next round includes the new candidate
    CHECK(out.sent.back().to == reflexive);
}

TEST_CASE("the first acknowledgement from each candidate is reported, with its round trip",
          "[puncher]") {
    detail::Puncher p;
    RecordingOutbox out;
    const TimePoint t0{};
    p.begin(Introduction{5, Role::initiator, "bob", kBobPublic, {}, {}}, t0);
    p.update(t0, 40ms, out);                                               // round 1 at t0
    p.update(t0 + 40ms, 40ms, out);                                        // round 2 at t0+40
    CHECK_FALSE(p.handle_ack(ProbeAck{6, 2, {}}, kBobPublic, t0 + 50ms));  // wrong token
    const auto first = p.handle_ack(ProbeAck{5, 2, {}}, kBobPublic, t0 + 52ms);
    REQUIRE(first);
    CHECK(first->address == kBobPublic);
    CHECK(first->kind == Path::direct);
    REQUIRE(p.rtt());
    CHECK(*p.rtt() == 12ms);
    CHECK_FALSE(p.handle_ack(ProbeAck{5, 1, {}}, kBobPublic, t0 + 60ms));  // not the first
    CHECK(*p.rtt() == 12ms);  // round 1's 60 ms is not smaller
    CHECK(p.heard_from_peer());
    CHECK(p.verified(kBobPublic));
}

TEST_CASE(
    "the peer's relay is a candidate of its own kind, left out when looking for a "
    "direct path",
    "[puncher]") {
    detail::Puncher p;
    RecordingOutbox out;
    const TimePoint t0{};
    const Address relay{0xCB00710Au, 49152};
    p.begin(Introduction{5, Role::responder, "bob", kBobPublic, {}, {}}, t0);
    p.add_relay(relay);
    CHECK(p.path_of(relay) == Path::relay);
    CHECK_FALSE(p.verified(relay));  // known, but the peer has not proved it is there
    p.update(t0, 40ms, out);
    REQUIRE(out.sent.size() == 2);
    CHECK(out.sent[1].to == relay);  // after the direct candidate

    const auto through = p.handle_ack(ProbeAck{5, 1, {}}, relay, t0 + 90ms);
    REQUIRE(through);
    CHECK(through->kind == Path::relay);
    CHECK(p.verified(relay));
    CHECK(*p.rtt_of(relay) == 90ms);

    out.sent.clear();
    p.update(t0 + 40ms, 40ms, out, detail::Puncher::Targets::no_relay);
    REQUIRE(out.sent.size() == 1);
    CHECK(out.sent[0].to == kBobPublic);

    // The direct path opening later is reported too: its first acknowledgement.
    const auto direct = p.handle_ack(ProbeAck{5, 2, {}}, kBobPublic, t0 + 50ms);
    REQUIRE(direct);
    CHECK(direct->kind == Path::direct);
    CHECK(*p.rtt_of(kBobPublic) == 10ms);
    CHECK(*p.rtt() == 10ms);
}

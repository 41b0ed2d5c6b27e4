// The session's inner parts, stepped by hand: the rendezvous client (against the server half of
// signal_server.hpp, over the sealed signal channel) and the puncher.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "puncher.hpp"
#include "rendezvous_client.hpp"
#include "signal_server.hpp"

using namespace netcore;
using namespace netcore::protocol;
using namespace std::chrono_literals;
using netcore::test::Bytes;
using netcore::test::envelope_of;
using netcore::test::SignalServer;
using Client = netcore::detail::RendezvousClient;
using Kind = Client::Signal::Kind;

namespace {

const Address kServer{0xCB00710Au, 7777};
const Address kBobPublic{0xCB007116u, 40000};
const Address kBobLan{0x0A02000Au, 40000};
const Address kObserved{0xC6336401u, 5000};
constexpr std::uint64_t kInstance = 42;

// ---- the rendezvous client -------------------------------------------------------------------

// Records the datagrams the client sends; they must all be envelopes for the server.
class RawRecorder final : public detail::RawOutbox {
  public:
    void send_raw(Address to, std::span<const std::uint8_t> bytes) override {
        CHECK(to == kServer);
        sent.emplace_back(bytes.begin(), bytes.end());
        envelope_of(sent.back());  // decodes, or fails the test
    }
    [[nodiscard]] std::size_t count(EnvelopeType t) const {
        std::size_t n = 0;
        for (const auto& b : sent) n += envelope_of(b).type == t;
        return n;
    }
    std::vector<Bytes> sent;
};

// A client named alice and the test playing its server: a key pair, a salt, a cookie.
struct Rig {
    explicit Rig(bool pin = false) {
        config.server = kServer;
        config.name = "alice";
        if (pin) config.server_key = server.public_key();
        client.emplace(config, kInstance, AddressList{});
    }

    // What the client sealed that `by` opens as a message of type `t`.
    std::size_t sealed(MessageType t, SignalServer& by) {
        std::size_t n = 0;
        for (const auto& b : out.sent)
            if (const auto m = by.open(b)) n += type_of(*m) == t;
        return n;
    }
    std::size_t sealed(MessageType t) { return sealed(t, server); }
    std::size_t hellos() const { return out.count(EnvelopeType::hello); }
    // The last datagram, opened by `by` (names view `by`'s buffer until its next open).
    std::optional<Message> last(SignalServer& by) {
        REQUIRE_FALSE(out.sent.empty());
        return by.open(out.sent.back());
    }

    Client::Signal give(const Bytes& datagram, TimePoint now) {
        return client->handle(envelope_of(datagram), now, out);
    }
    PublicKey me() const { return client->channel().key_pair().public_key; }
    Bytes from_server(const Message& m) { return server.seal(me(), m); }

    // Hello -> Challenge -> Register -> RegisterAck, all at t0; the ack's refresh in ms.
    void register_at(TimePoint t0, std::uint32_t refresh_ms = 15000) {
        client->start(t0, out);
        REQUIRE(hellos() == 1);
        give(server.challenge(), t0);
        REQUIRE(sealed(MessageType::register_request) == 1);
        REQUIRE(give(from_server(RegisterAck{kInstance, kObserved, refresh_ms, 3 * refresh_ms}), t0)
                    .kind == Kind::registered);
    }

    Config config;
    SignalServer server;
    RawRecorder out;
    std::optional<Client> client;
};

const TimePoint t0{};

}  // namespace

TEST_CASE("the client says Hello, registers once challenged, and is told its address", "[client]") {
    Rig r;
    r.client->start(t0, r.out);
    REQUIRE(r.out.sent.size() == 1);
    const auto hello = envelope_of(r.out.sent[0]);
    CHECK(hello.type == EnvelopeType::hello);
    CHECK(hello.client_key == r.me());
    CHECK(r.client->phase() == Client::Phase::registering);

    // The Challenge is answered at once with a sealed Register carrying its cookie.
    CHECK(r.give(r.server.challenge(), t0).kind == Kind::none);
    REQUIRE(r.out.sent.size() == 2);
    const auto reg = r.last(r.server);
    REQUIRE(reg);
    const auto& request = std::get<RegisterRequest>(*reg);
    CHECK(request.instance == kInstance);
    CHECK(request.name == "alice");
    CHECK(r.server.last_cookie() == r.server.cookie());
    CHECK(r.server.last_client() == r.me());
    REQUIRE(r.client->channel().server_key());
    CHECK(*r.client->channel().server_key() == r.server.public_key());  // trust on first use

    const auto s = r.give(r.from_server(RegisterAck{kInstance, kObserved, 15000, 45000}), t0);
    CHECK(s.kind == Kind::registered);
    CHECK(r.client->phase() == Client::Phase::registered);
    CHECK(r.client->public_address() == kObserved);
}

TEST_CASE("the client retries, and gives up with server_unreachable", "[client]") {
    Rig r;
    r.client->start(t0, r.out);
    CHECK(r.hellos() == 1);
    CHECK(r.client->update(t0 + 499ms, r.out).kind == Kind::none);
    CHECK(r.hellos() == 1);
    r.client->update(t0 + 500ms, r.out);
    CHECK(r.hellos() == 2);  // no Challenge yet: Hello again

    // Challenged, but the Registers go unanswered: they are retried, sealed.
    r.give(r.server.challenge(), t0 + 600ms);
    CHECK(r.sealed(MessageType::register_request) == 1);
    r.client->update(t0 + 1099ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 1);
    r.client->update(t0 + 1100ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 2);
    CHECK(r.hellos() == 2);

    const auto s = r.client->update(t0 + 5000ms, r.out);
    CHECK(s.kind == Kind::failed);
    CHECK(s.error == Error::server_unreachable);
    CHECK(r.client->phase() == Client::Phase::failed);
    // Failed is final: nothing more is sent, nothing is taken.
    const auto sent = r.out.sent.size();
    r.client->update(t0 + 9000ms, r.out);
    CHECK(r.give(r.server.challenge(), t0 + 9000ms).kind == Kind::none);
    CHECK(r.client->last_drop() == Client::Drop::unexpected);
    CHECK(r.out.sent.size() == sent);
}

TEST_CASE("the server's port refusing two Register attempts fails registration at once",
          "[client]") {
    Rig r;
    r.client->start(t0, r.out);
    // However many errors come for one attempt (a forger's, or a burst), they count once.
    for (int i = 0; i < 5; ++i) r.client->note_port_unreachable(kServer);
    CHECK_FALSE(r.client->refused());
    CHECK(r.client->update(t0 + 499ms, r.out).kind == Kind::none);
    CHECK(r.client->phase() == Client::Phase::registering);

    r.client->update(t0 + 500ms, r.out);  // the second attempt
    REQUIRE(r.hellos() == 2);
    r.client->note_port_unreachable(kServer);
    CHECK(r.client->refused());
    const auto s = r.client->update(t0 + 501ms, r.out);
    CHECK(s.kind == Kind::failed);
    CHECK(s.error == Error::server_unreachable);
    CHECK(r.client->phase() == Client::Phase::failed);
}

TEST_CASE("port unreachables for other addresses, or once registered, change nothing", "[client]") {
    SECTION("another destination: a peer candidate, or the server's IP at another port") {
        Rig r;
        r.client->start(t0, r.out);
        for (auto t = t0; t < t0 + r.config.register_timeout; t += 100ms) {
            r.client->note_port_unreachable(kBobPublic);
            r.client->note_port_unreachable(
                Address{kServer.ip, static_cast<std::uint16_t>(kServer.port + 1)});
            CHECK(r.client->update(t, r.out).kind == Kind::none);
        }
        CHECK_FALSE(r.client->refused());
        CHECK(r.client->registrations_sent() == 10);  // it went on retrying
        // And the usual timeout still ends it, as no answer.
        CHECK(r.client->update(t0 + r.config.register_timeout, r.out).error ==
              Error::server_unreachable);
        CHECK_FALSE(r.client->refused());
    }
    SECTION("registered: refreshes that draw them, answered or not, go on") {
        Rig r;
        r.register_at(t0, 1000);
        for (auto t = t0 + 1000ms; t <= t0 + 5000ms; t += 500ms) {
            r.client->update(t, r.out);
            r.client->note_port_unreachable(kServer);
        }
        CHECK_FALSE(r.client->refused());
        CHECK(r.client->phase() == Client::Phase::registered);
        CHECK(r.client->update(t0 + 5001ms, r.out).kind == Kind::none);
    }
}

TEST_CASE("a Challenge it has already taken is not answered again (no loop)", "[client]") {
    Rig r;
    r.client->start(t0, r.out);
    const auto challenge = r.server.challenge();
    r.give(challenge, t0);
    REQUIRE(r.sealed(MessageType::register_request) == 1);
    // A server that keeps answering with the same Challenge is answered by the retry timer only.
    for (int i = 0; i < 10; ++i) r.give(challenge, t0 + 1ms);
    CHECK(r.sealed(MessageType::register_request) == 1);
    r.client->update(t0 + 500ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 2);
    // A new cookie is answered at once, and carried.
    r.server.new_cookie();
    r.give(r.server.challenge(), t0 + 501ms);
    CHECK(r.sealed(MessageType::register_request) == 3);
    CHECK(r.server.last_cookie() == r.server.cookie());
}

TEST_CASE("a pinned key and Challenges naming another key fail with server_unauthenticated",
          "[client]") {
    Rig r(true);
    SignalServer impostor;
    r.client->start(t0, r.out);
    for (int i = 0; i < 3; ++i) {
        CHECK(r.give(impostor.challenge(), t0 + i * 100ms).kind == Kind::none);
        CHECK(r.client->last_drop() == Client::Drop::unauthenticated);
    }
    CHECK(r.client->foreign_challenges() == 3);
    CHECK_FALSE(r.client->channel().keyed());
    CHECK(r.out.count(EnvelopeType::client_sealed) == 0);  // nothing sealed for the impostor
    r.client->update(t0 + 4999ms, r.out);
    CHECK(r.client->phase() == Client::Phase::registering);
    const auto s = r.client->update(t0 + 5000ms, r.out);
    CHECK(s.kind == Kind::failed);
    CHECK(s.error == Error::server_unauthenticated);
}

TEST_CASE("a pinned key registers with the server that holds it", "[client]") {
    Rig r(true);
    r.register_at(t0);
    CHECK(r.client->foreign_challenges() == 0);
}

TEST_CASE("a VersionRefused fails registration with version_mismatch when no Challenge came",
          "[client]") {
    Rig r;
    r.client->start(t0, r.out);
    Bytes refused(kVersionRefusedSize);
    REQUIRE(encode_version_refused(refused) == kVersionRefusedSize);
    // In clear, so anyone could send it: noted, and it explains the failure at the timeout.
    CHECK(r.give(refused, t0 + 10ms).kind == Kind::none);
    CHECK(r.client->phase() == Client::Phase::registering);
    const auto s = r.client->update(t0 + r.config.register_timeout, r.out);
    CHECK(s.kind == Kind::failed);
    CHECK(s.error == Error::version_mismatch);
    CHECK(r.client->phase() == Client::Phase::failed);
}

TEST_CASE("a VersionRefused sent to a registered client changes nothing", "[client]") {
    Rig r;
    r.register_at(t0);
    Bytes refused(kVersionRefusedSize);
    REQUIRE(encode_version_refused(refused) == kVersionRefusedSize);
    CHECK(r.give(refused, t0 + 10ms).kind == Kind::none);
    CHECK(r.client->phase() == Client::Phase::registered);
    CHECK(r.client->update(t0 + 10s, r.out).kind == Kind::none);
    CHECK(r.client->phase() == Client::Phase::registered);
}

TEST_CASE("name_taken fails registration; not_registered registers again at once", "[client]") {
    SECTION("name_taken") {
        Rig r;
        r.client->start(t0, r.out);
        r.give(r.server.challenge(), t0);
        const auto s =
            r.give(r.from_server(RegisterError{kInstance, RegisterErrorCode::name_taken}), t0);
        CHECK(s.kind == Kind::failed);
        CHECK(s.error == Error::name_taken);
        CHECK(r.client->phase() == Client::Phase::failed);
    }
    SECTION("not_registered") {
        Rig r;
        r.register_at(t0);
        const auto s = r.give(
            r.from_server(RegisterError{kInstance, RegisterErrorCode::not_registered}), t0 + 1s);
        CHECK(s.kind == Kind::none);
        CHECK(r.sealed(MessageType::register_request) == 2);
        CHECK(r.client->phase() == Client::Phase::registered);
    }
    SECTION("an error for another instance is not ours") {
        Rig r;
        r.register_at(t0);
        const auto s =
            r.give(r.from_server(RegisterError{kInstance + 1, RegisterErrorCode::name_taken}), t0);
        CHECK(s.kind == Kind::none);
        CHECK(r.client->last_drop() == Client::Drop::unexpected);
        CHECK(r.client->phase() == Client::Phase::registered);
    }
}

TEST_CASE("the client refreshes at the interval the server gave", "[client]") {
    Rig r;
    r.register_at(t0, 3000);
    r.client->update(t0 + 2999ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 1);
    r.client->update(t0 + 3000ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 2);
    // Acks for another instance are not ours.
    CHECK(r.give(r.from_server(RegisterAck{kInstance + 1, {1, 2}, 1000, 3000}), t0).kind ==
          Kind::none);
    CHECK(r.client->last_drop() == Client::Drop::unexpected);
}

TEST_CASE("a refresh that goes unanswered is sent again after register_retry", "[client]") {
    Rig r;
    r.register_at(t0, 3000);
    r.client->update(t0 + 3000ms, r.out);
    REQUIRE(r.sealed(MessageType::register_request) == 2);
    r.client->update(t0 + 3499ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 2);
    r.client->update(t0 + 3500ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 3);
    r.client->update(t0 + 4000ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 4);
    // Answered: back to the refresh interval.
    CHECK(r.give(r.from_server(RegisterAck{kInstance, kObserved, 3000, 9000}), t0 + 4010ms).kind ==
          Kind::none);
    r.client->update(t0 + 6999ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 4);
    r.client->update(t0 + 7000ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 5);
    CHECK(r.client->phase() == Client::Phase::registered);
}

TEST_CASE("a new salt while registered is taken only once a refresh goes unanswered", "[client]") {
    Rig r(true);
    r.register_at(t0, 3000);
    // The server restarts (same key, new salt and cookie); its Challenge reaches us at once. It
    // could be forged (it is clear): a registered client holds on to its working key for now.
    SignalServer old_run = r.server;  // a copy: the same key pair and the old salt
    r.server.new_run();
    const auto sent = r.out.sent.size();
    CHECK(r.give(r.server.challenge(), t0 + 100ms).kind == Kind::none);
    CHECK(r.out.sent.size() == sent);  // not answered at once

    // The refresh goes out under the old key still.
    r.client->update(t0 + 3000ms, r.out);
    REQUIRE(r.out.sent.size() == sent + 1);
    CHECK(r.last(old_run));
    CHECK_FALSE(r.last(r.server));
    // Unanswered: after register_retry the held Challenge is taken, and the Register sealed
    // under the new salt with the new cookie.
    r.client->update(t0 + 3500ms, r.out);
    REQUIRE(r.out.sent.size() == sent + 2);
    const auto again = r.last(r.server);
    REQUIRE(again);
    CHECK(std::holds_alternative<RegisterRequest>(*again));
    CHECK(r.server.last_cookie() == r.server.cookie());
    CHECK(r.give(r.from_server(RegisterAck{kInstance, kObserved, 3000, 9000}), t0 + 3510ms).kind ==
          Kind::none);
    CHECK(r.client->phase() == Client::Phase::registered);
}

TEST_CASE("a new salt while registered is dropped when the refresh is answered", "[client]") {
    Rig r(true);
    r.register_at(t0, 3000);
    SignalServer old_run = r.server;
    SignalServer forged_salt = r.server;
    forged_salt.new_run();
    r.give(forged_salt.challenge(), t0 + 100ms);
    r.client->update(t0 + 3000ms, r.out);
    REQUIRE(r.last(old_run));
    CHECK(r.give(old_run.seal(r.me(), RegisterAck{kInstance, kObserved, 3000, 9000}), t0 + 3010ms)
              .kind == Kind::none);
    // The next refreshes stay under the working key.
    r.client->update(t0 + 6010ms, r.out);
    CHECK(r.last(old_run));
    r.client->update(t0 + 6510ms, r.out);
    CHECK(r.last(old_run));
    CHECK_FALSE(r.last(forged_salt));
}

TEST_CASE("server datagrams that do not open, or open twice, are dropped", "[client]") {
    Rig r;
    r.client->start(t0, r.out);
    // Before any Challenge nothing can open.
    const auto early = r.from_server(RegisterAck{kInstance, kObserved, 3000, 9000});
    CHECK(r.give(early, t0).kind == Kind::none);
    CHECK(r.client->last_drop() == Client::Drop::unauthenticated);
    r.give(r.server.challenge(), t0);
    const auto ack = r.from_server(RegisterAck{kInstance, kObserved, 3000, 9000});
    CHECK(r.give(ack, t0).kind == Kind::registered);
    CHECK(r.client->last_drop() == Client::Drop::none);
    CHECK(r.give(ack, t0).kind == Kind::none);
    CHECK(r.client->last_drop() == Client::Drop::replayed);
    SignalServer stranger;
    CHECK(r.give(stranger.seal(r.me(), PeerUnknown{"bob"}), t0).kind == Kind::none);
    CHECK(r.client->last_drop() == Client::Drop::unauthenticated);
    // Envelopes a server never sends.
    Bytes hello(kHelloSize);
    REQUIRE(encode_hello(r.me(), hello) == kHelloSize);
    r.give(hello, t0);
    CHECK(r.client->last_drop() == Client::Drop::unexpected);
}

TEST_CASE("a request goes out once registered, is retried, and fails after the wait", "[client]") {
    Rig r;
    r.config.request_retry = 1000ms;
    r.client->start(t0, r.out);
    r.client->request("bob", 3s, t0);
    r.client->update(t0 + 1ms, r.out);
    CHECK(r.sealed(MessageType::introduce_request) == 0);  // not registered yet
    r.give(r.server.challenge(), t0 + 2ms);
    // The request rides right behind the sealed Register (§6 step 3) ...
    REQUIRE(r.out.sent.size() == 3);  // Hello, Register, IntroduceRequest
    CHECK(r.sealed(MessageType::register_request) == 1);
    CHECK(r.sealed(MessageType::introduce_request) == 1);
    const auto req = r.last(r.server);
    REQUIRE(req);
    CHECK(std::get<IntroduceRequest>(*req) == IntroduceRequest{kInstance, "bob"});
    // ... so the first RegisterAck does not send it again: its answer follows the ack.
    REQUIRE(r.give(r.from_server(RegisterAck{kInstance, kObserved, 15000, 45000}), t0 + 3ms).kind ==
            Kind::registered);
    CHECK(r.sealed(MessageType::introduce_request) == 1);

    r.client->update(t0 + 1001ms, r.out);
    CHECK(r.sealed(MessageType::introduce_request) == 1);
    r.client->update(t0 + 1002ms, r.out);
    CHECK(r.sealed(MessageType::introduce_request) == 2);

    // PeerUnknown is reported once per request, and only for the peer asked for.
    CHECK(r.give(r.from_server(PeerUnknown{"carol"}), t0 + 1004ms).kind == Kind::none);
    CHECK(r.give(r.from_server(PeerUnknown{"bob"}), t0 + 1004ms).kind == Kind::peer_offline);
    CHECK(r.give(r.from_server(PeerUnknown{"bob"}), t0 + 2004ms).kind == Kind::none);

    const auto s = r.client->update(t0 + 3000ms, r.out);
    CHECK(s.kind == Kind::request_failed);
    CHECK(s.error == Error::peer_not_online);
    CHECK(r.client->wanted().empty());
    r.client->update(t0 + 5000ms, r.out);
    CHECK(r.sealed(MessageType::introduce_request) == 2);
}

TEST_CASE("a request asked for before registering rides with every Register until the ack",
          "[client]") {
    Rig r;
    r.config.request_retry = 1000ms;
    r.client->start(t0, r.out);
    r.client->request("bob", 30s, t0, &r.out);
    CHECK(r.sealed(MessageType::introduce_request) == 0);  // no key yet: only the Hello is out
    r.give(r.server.challenge(), t0 + 1ms);
    CHECK(r.sealed(MessageType::introduce_request) == 1);
    // The Register goes unanswered: its retry carries the request again.
    r.client->update(t0 + 501ms, r.out);
    CHECK(r.sealed(MessageType::register_request) == 2);
    CHECK(r.sealed(MessageType::introduce_request) == 2);
    REQUIRE(
        r.give(r.from_server(RegisterAck{kInstance, kObserved, 15000, 45000}), t0 + 502ms).kind ==
        Kind::registered);
    CHECK(r.sealed(MessageType::introduce_request) == 2);
    const auto key = crypto::generate_key_pair().public_key;
    CHECK(r.give(r.from_server(Introduction{9, Role::initiator, "bob", kBobPublic, {}, {}, key}),
                 t0 + 503ms)
              .kind == Kind::introduced);
}

TEST_CASE("an Introduction that overtakes the RegisterAck is asked for again at the ack",
          "[client]") {
    Rig r;
    r.client->start(t0, r.out);
    r.client->request("bob", 30s, t0, &r.out);
    r.give(r.server.challenge(), t0 + 1ms);
    REQUIRE(r.sealed(MessageType::introduce_request) == 1);
    const auto key = crypto::generate_key_pair().public_key;
    const auto intro =
        r.from_server(Introduction{9, Role::initiator, "bob", kBobPublic, {}, {}, key});
    CHECK(r.give(intro, t0 + 2ms).kind == Kind::none);  // not registered yet: dropped
    CHECK(r.client->last_drop() == Client::Drop::unexpected);
    REQUIRE(r.give(r.from_server(RegisterAck{kInstance, kObserved, 15000, 45000}), t0 + 3ms).kind ==
            Kind::registered);
    CHECK(r.sealed(MessageType::introduce_request) == 2);  // at once, not a request_retry later
    CHECK(r.give(r.from_server(Introduction{9, Role::initiator, "bob", kBobPublic, {}, {}, key}),
                 t0 + 4ms)
              .kind == Kind::introduced);
}

TEST_CASE("a not_registered for a request that overtook its Register is no lost registration",
          "[client]") {
    SECTION("before the RegisterAck: the request goes again with the ack, no new Register") {
        Rig r;
        r.client->start(t0, r.out);
        r.client->request("bob", 30s, t0, &r.out);
        r.give(r.server.challenge(), t0 + 1ms);
        REQUIRE(r.sealed(MessageType::introduce_request) == 1);
        const auto s = r.give(
            r.from_server(RegisterError{kInstance, RegisterErrorCode::not_registered}), t0 + 2ms);
        CHECK(s.kind == Kind::none);
        CHECK(r.client->phase() == Client::Phase::registering);
        CHECK(r.sealed(MessageType::register_request) == 1);
        CHECK(r.sealed(MessageType::introduce_request) == 1);
        REQUIRE(
            r.give(r.from_server(RegisterAck{kInstance, kObserved, 15000, 45000}), t0 + 3ms).kind ==
            Kind::registered);
        CHECK(r.sealed(MessageType::introduce_request) == 2);
        CHECK(r.sealed(MessageType::register_request) == 1);
    }
    SECTION("after the RegisterAck: the request goes again at once, no new Register") {
        Rig r;
        r.client->start(t0, r.out);
        r.client->request("bob", 30s, t0, &r.out);
        r.give(r.server.challenge(), t0 + 1ms);
        REQUIRE(
            r.give(r.from_server(RegisterAck{kInstance, kObserved, 15000, 45000}), t0 + 2ms).kind ==
            Kind::registered);
        const auto s = r.give(
            r.from_server(RegisterError{kInstance, RegisterErrorCode::not_registered}), t0 + 3ms);
        CHECK(s.kind == Kind::none);
        CHECK(r.sealed(MessageType::introduce_request) == 2);
        CHECK(r.sealed(MessageType::register_request) == 1);
        // A second one is the server's word that it forgot us: register again, as before.
        r.give(r.from_server(RegisterError{kInstance, RegisterErrorCode::not_registered}),
               t0 + 4ms);
        CHECK(r.sealed(MessageType::register_request) == 2);
    }
}

TEST_CASE(
    "a ticket keys the client at start: the Register goes out sealed with its cookie, "
    "no Hello",
    "[client]") {
    Rig r(true);
    r.config.resume =
        ResumeTicket{kServer, r.server.public_key(), r.server.salt(), r.server.cookie(), kObserved};
    r.client.emplace(r.config, kInstance, AddressList{});
    r.client->start(t0, r.out);
    CHECK(r.hellos() == 0);
    REQUIRE(r.sealed(MessageType::register_request) == 1);
    CHECK(r.server.last_cookie() == r.server.cookie());
    r.client->request("bob", 30s, t0, &r.out);  // right behind the Register
    CHECK(r.sealed(MessageType::introduce_request) == 1);
    REQUIRE(r.give(r.from_server(RegisterAck{kInstance, kObserved, 15000, 45000}), t0 + 1ms).kind ==
            Kind::registered);
    CHECK(r.client->resumed());
    CHECK(r.client->challenges() == 0);
    const auto ticket = r.client->ticket();
    REQUIRE(ticket);
    CHECK(*ticket == *r.config.resume);
}

TEST_CASE("a ticket whose Register is challenged goes on as without one", "[client]") {
    Rig r(true);
    r.config.resume =
        ResumeTicket{kServer, r.server.public_key(), r.server.salt(), r.server.cookie(), kObserved};
    r.client.emplace(r.config, kInstance, AddressList{});
    r.server.new_run();  // the server restarted: another salt, another cookie
    r.client->start(t0, r.out);
    CHECK(r.sealed(MessageType::register_request) == 0);  // sealed under the old salt
    r.give(r.server.challenge(), t0 + 1ms);               // the server's answer to it
    CHECK(r.sealed(MessageType::register_request) == 1);  // under the new one
    CHECK(r.client->challenges() == 1);
    REQUIRE(r.give(r.from_server(RegisterAck{kInstance, kObserved, 15000, 45000}), t0 + 2ms).kind ==
            Kind::registered);
    CHECK_FALSE(r.client->resumed());
}

TEST_CASE("a ticket's unanswered Register is retried with a Hello beside it", "[client]") {
    Rig r(true);
    r.config.resume =
        ResumeTicket{kServer, r.server.public_key(), r.server.salt(), r.server.cookie(), kObserved};
    r.config.resume->salt[0] ^= 1;  // damaged: a Register the server cannot open, never answered
    r.client.emplace(r.config, kInstance, AddressList{});
    r.client->start(t0, r.out);
    CHECK(r.hellos() == 0);
    r.client->update(t0 + 500ms, r.out);
    CHECK(r.hellos() == 1);
    r.give(r.server.challenge(), t0 + 501ms);  // same cookie, the server's salt
    CHECK(r.sealed(MessageType::register_request) == 1);
    REQUIRE(
        r.give(r.from_server(RegisterAck{kInstance, kObserved, 15000, 45000}), t0 + 502ms).kind ==
        Kind::registered);
    CHECK_FALSE(r.client->resumed());
}

TEST_CASE("a ticket for another pinned key or another server is not used", "[client]") {
    Rig r(true);
    const SignalServer other;
    SECTION("another key") {
        r.config.resume =
            ResumeTicket{kServer, other.public_key(), other.salt(), other.cookie(), kObserved};
    }
    SECTION("another server") {
        r.config.resume = ResumeTicket{Address{kServer.ip, 7778}, r.server.public_key(),
                                       r.server.salt(), r.server.cookie(), kObserved};
    }
    r.client.emplace(r.config, kInstance, AddressList{});
    r.client->start(t0, r.out);
    CHECK(r.hellos() == 1);
    CHECK(r.out.sent.size() == 1);
}

TEST_CASE("after an introduction the asking side reminds the server until told to stop",
          "[client]") {
    Rig r;
    r.config.request_retry = 1000ms;
    r.register_at(t0);
    CHECK(r.client->public_address() == kObserved);

    r.client->request("bob", 30s, t0);
    r.client->update(t0 + 1ms, r.out);
    REQUIRE(r.sealed(MessageType::introduce_request) == 1);
    const auto bob_key = crypto::generate_key_pair().public_key;
    const auto s = r.give(
        r.from_server(Introduction{9, Role::initiator, "bob", kBobPublic, {}, {}, bob_key}), t0);
    REQUIRE(s.kind == Kind::introduced);
    CHECK(r.client->introduction().peer == "bob");
    CHECK(r.client->introduction().peer_key == bob_key);
    CHECK(r.client->introduction().token == 9);
    r.client->cancel_request();  // as the session does once it starts punching

    r.client->remind("bob", t0 + 500ms, r.out);  // too soon after the last request
    CHECK(r.sealed(MessageType::introduce_request) == 1);
    r.client->remind("bob", t0 + 1001ms, r.out);
    CHECK(r.sealed(MessageType::introduce_request) == 2);
    const auto last = r.last(r.server);
    REQUIRE(last);
    CHECK(std::get<IntroduceRequest>(*last) == IntroduceRequest{kInstance, "bob"});
}

TEST_CASE("an Introduction before registration is unexpected; a PeerRelay is passed on",
          "[client]") {
    Rig r;
    r.client->start(t0, r.out);
    r.give(r.server.challenge(), t0);
    const auto key = crypto::generate_key_pair().public_key;
    CHECK(
        r.give(r.from_server(Introduction{9, Role::responder, "bob", kBobPublic, {}, {}, key}), t0)
            .kind == Kind::none);
    CHECK(r.client->last_drop() == Client::Drop::unexpected);
    const PeerRelay relay{9, {0xCB00710Au, 50001}, {0xC6336405u, 7001}};
    CHECK(r.give(r.from_server(relay), t0).kind == Kind::peer_relay);
    CHECK(r.client->peer_relay() == relay);
}

TEST_CASE("unregister sends a sealed Unregister and goes idle", "[client]") {
    Rig r;
    r.register_at(t0);
    r.client->unregister(r.out);
    const auto m = r.last(r.server);
    REQUIRE(m);
    CHECK(std::get<Unregister>(*m) == Unregister{kInstance});
    CHECK(r.client->phase() == Client::Phase::idle);
}

// ---- the puncher -----------------------------------------------------------------------------

namespace {

struct Sent {
    Address to;
    MessageType type;
    Message message;
};

// Records what the puncher sends (names in the recorded messages view the caller's strings).
class RecordingOutbox final : public detail::Outbox {
  public:
    void send(Address to, const Message& m) override { sent.push_back({to, type_of(m), m}); }
    std::vector<Sent> sent;
};

}  // namespace

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

TEST_CASE("LAN candidates outside the LAN ranges are ignored and counted", "[puncher]") {
    detail::Puncher p;
    RecordingOutbox out;
    AddressList lan;
    const Address victim{0x08080808u, 53};  // a public address posing as a LAN one
    lan.push(victim);
    lan.push(kBobLan);
    const TimePoint t0{};
    p.begin(Introduction{77, Role::initiator, "bob", kBobPublic, lan, {}}, t0);
    CHECK(p.lan_ignored() == 1);
    CHECK_FALSE(p.knows(victim));
    p.update(t0, 40ms, out);
    REQUIRE(out.sent.size() == 2);
    CHECK(out.sent[0].to == kBobLan);
    CHECK(out.sent[1].to == kBobPublic);
}

TEST_CASE("LAN candidates are probed for a short window only, unless one answered", "[puncher]") {
    const Address other_lan{0xC0A80107u, 40000};  // 192.168.1.7
    AddressList lan;
    lan.push(kBobLan);
    lan.push(other_lan);
    const TimePoint t0{};
    const auto targets_at = [&](detail::Puncher& p, TimePoint t) {
        RecordingOutbox out;
        p.update(t, 40ms, out);
        std::vector<Address> to;
        for (const auto& s : out.sent) to.push_back(s.to);
        return to;
    };
    detail::Puncher silent;
    silent.begin(Introduction{77, Role::initiator, "bob", kBobPublic, lan, {}}, t0);
    CHECK(targets_at(silent, t0 + 1960ms) == std::vector<Address>{kBobLan, other_lan, kBobPublic});
    CHECK(targets_at(silent, t0 + detail::Puncher::kLanProbeWindow) ==
          std::vector<Address>{kBobPublic});

    detail::Puncher answered;
    RecordingOutbox out;
    answered.begin(Introduction{77, Role::initiator, "bob", kBobPublic, lan, {}}, t0);
    answered.update(t0, 40ms, out);
    REQUIRE(answered.handle_ack(ProbeAck{77, 1, {}}, kBobLan, t0 + 5ms));
    CHECK(targets_at(answered, t0 + 3000ms) == std::vector<Address>{kBobLan, kBobPublic});
}

TEST_CASE(
    "a side that did not ask sends one probe per Introduction, to the requester's public "
    "address, until it hears the peer",
    "[puncher]") {
    detail::Puncher p;
    RecordingOutbox out;
    AddressList lan;
    lan.push(kBobLan);
    const TimePoint t0{};
    p.begin(Introduction{77, Role::responder, "bob", kBobPublic, lan, {}}, t0, false);
    p.add_relay({0xCB00710Au, 49152});
    for (int round = 0; round < 50; ++round) p.update(t0 + round * 40ms, 40ms, out);
    REQUIRE(out.sent.size() == 1);  // one Introduction: one probe in two seconds
    CHECK(out.sent[0].to == kBobPublic);

    p.reintroduced();  // the requester reminded the server
    p.reintroduced();
    for (int round = 50; round < 100; ++round) p.update(t0 + round * 40ms, 40ms, out);
    REQUIRE(out.sent.size() == 3);
    CHECK(out.sent[1].to == kBobPublic);
    CHECK(out.sent[2].to == kBobPublic);

    // Heard: the full pace, to every candidate (the LAN one's window is over by now).
    REQUIRE(p.handle_probe(Probe{77, 1}, kBobPublic, out));
    out.sent.clear();
    p.update(t0 + 4000ms, 40ms, out);
    p.update(t0 + 4040ms, 40ms, out);
    CHECK(out.sent.size() == 4);  // public and relay, twice
    p.reintroduced();             // changes nothing once heard
    CHECK(p.heard_from_peer());
}
